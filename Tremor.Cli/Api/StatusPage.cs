using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Tremor.Cli.Api;

/// <summary>
/// The status page, <c>GET /ui/</c>: static HTML, script and style embedded in this assembly, which poll
/// <c>GET /v1/status</c> with the API's bearer token. The files hold no data, so they are served without the token
/// (a browser cannot send one when navigating); the page asks for the token once and keeps it in sessionStorage.
/// </summary>
internal static class StatusPage
{
    // The page renders names and errors that come from configs and plugins: it only ever sets them as text, and this
    // policy refuses any script, style or connection that is not the API itself, so a name cannot run code.
    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    private static readonly (string Path, string Resource, string ContentType)[] Files =
    [
        ("/ui/", "index.html", "text/html; charset=utf-8"),
        ("/ui/app.js", "app.js", "text/javascript; charset=utf-8"),
        ("/ui/style.css", "style.css", "text/css; charset=utf-8"),
    ];

    /// <summary>Maps the page's files; <c>/ui</c> redirects to <c>/ui/</c>.</summary>
    public static void Map(IEndpointRouteBuilder app)
    {
        foreach (var (path, resource, contentType) in Files)
        {
            var bytes = Read(resource);
            app.MapGet(path, async ctx =>
            {
                // Routing matches /ui as /ui/, but the page's relative links (app.js, ../v1/status) need the slash.
                if (path.EndsWith('/') && !ctx.Request.Path.Value!.EndsWith('/'))
                {
                    ctx.Response.Redirect(path + ctx.Request.QueryString);
                    return;
                }
                ctx.Response.ContentType = contentType;
                ctx.Response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
                ctx.Response.Headers.XContentTypeOptions = "nosniff";
                ctx.Response.Headers["Referrer-Policy"] = "no-referrer";
                ctx.Response.Headers.CacheControl = "no-cache";
                await ctx.Response.Body.WriteAsync(bytes);
            });
        }
    }

    private static byte[] Read(string resource)
    {
        using var stream = typeof(StatusPage).Assembly.GetManifestResourceStream($"status-page/{resource}")
            ?? throw new InvalidOperationException($"status page file {resource} is not embedded in {typeof(StatusPage).Assembly.Location}: the build is broken");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
