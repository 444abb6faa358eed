using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Tremor.Connectors.Http.Tests;

/// <summary>A small real HTTP server for the client tests: records each request, answers what the test says.</summary>
internal sealed class TestServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    public sealed record Seen(string Method, string Path, string Query, Dictionary<string, string> Headers, string Body);

    private TestServer(WebApplication app, Uri url)
    {
        _app = app;
        Url = url;
    }

    public Uri Url { get; }

    public ConcurrentQueue<Seen> Requests { get; } = new();

    /// <summary>The status to answer with (200 unless set).</summary>
    public int Status { get; set; } = 200;

    public static async Task<TestServer> StartAsync(int port = 0, X509Certificate2? certificate = null)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, l =>
        {
            if (certificate is not null) l.UseHttps(certificate);
        }));
        var app = builder.Build();
        TestServer? server = null;
        app.Run(async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync();
            var headers = context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString(), StringComparer.Ordinal);
            server!.Requests.Enqueue(new Seen(context.Request.Method, context.Request.Path.Value ?? "", context.Request.QueryString.Value ?? "", headers, body));
            context.Response.StatusCode = server.Status;
            context.Response.Headers["x-server"] = "test";
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync($$"""{"echo":{{(body.Length == 0 ? "null" : body)}},"path":"{{context.Request.Path}}"}""");
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server = new TestServer(app, new Uri(address));
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
