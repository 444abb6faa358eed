using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Tremor.Connectors.Http;

/// <summary>Where and how a server listens: address, port, TLS and Kestrel's connection limits.</summary>
internal sealed record ListenSettings(
    IPAddress Address,
    int Port,
    X509Certificate2? Certificate,
    int? MaxConnections,
    TimeSpan IdleTimeout,
    long MaxBodySize);

/// <summary>
/// A Kestrel server with one request delegate and no hosting extras (no config files, no environment variables, no
/// console logging): what http_server and ws_server put in front of their queues.
/// </summary>
internal sealed class KestrelServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private KestrelServer(WebApplication app, Uri boundUrl)
    {
        _app = app;
        BoundUrl = boundUrl;
    }

    /// <summary>The URL the server is reachable at, with the port the OS assigned when the config said 0.</summary>
    public Uri BoundUrl { get; }

    public static async Task<KestrelServer> StartAsync(ListenSettings settings, bool webSockets, RequestDelegate handler, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxConcurrentConnections = settings.MaxConnections;
            kestrel.Limits.MaxConcurrentUpgradedConnections = settings.MaxConnections;
            kestrel.Limits.KeepAliveTimeout = settings.IdleTimeout;
            // The handler enforces max-body-size itself (413 plus a log line and a count); Kestrel's cap is a backstop.
            kestrel.Limits.MaxRequestBodySize = settings.MaxBodySize + 1;
            kestrel.Listen(settings.Address, settings.Port, listen =>
            {
                if (settings.Certificate is { } certificate) listen.UseHttps(certificate);
            });
        });
        var app = builder.Build();
        if (webSockets)
        {
            // Before the WebSocket middleware takes the upgrade feature: the connection's stream must outlive the
            // WebSocket (see UpgradedStream).
            app.Use(next => context =>
            {
                if (context.Features.Get<IHttpUpgradeFeature>() is { } upgrade) context.Features.Set<IHttpUpgradeFeature>(new UpgradedStream.Feature(upgrade, context));
                return next(context);
            });
            app.UseWebSockets();
        }
        app.Run(handler);
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Port in use, bad certificate: the connect is retried with backoff, each attempt with a new app.
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? throw new InvalidOperationException("Kestrel started without an address");
        return new KestrelServer(app, new Uri(address));
    }

    /// <summary>Stops accepting, gives in-flight requests <paramref name="grace"/> to finish, then closes.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        using var timeout = new CancellationTokenSource(grace);
        try
        {
            await _app.StopAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
