using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

/// <summary>
/// The bound for bench/net's HTTP figure: Kestrel set up as http_server sets it up (empty builder, no server header),
/// answering each POST the way bench/net's flow does — the body parsed as JSON, then
/// <c>{"received": body, "status": "ok"}</c> — on the request's own thread, with no queue, no actor and no pipeline
/// between. What this does per second on the same machine with the same client is what Kestrel allows; the runtime's
/// figure over it is the share the flow's hand-offs leave.
/// </summary>
internal static class HttpEcho
{
    private static readonly byte[] Head = "{\"received\":"u8.ToArray();
    private static readonly byte[] Tail = ",\"status\":\"ok\"}"u8.ToArray();

    public static async Task<int> RunAsync(int port)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(IPAddress.Loopback, port);
        });
        var app = builder.Build();
        app.Run(HandleAsync);
        await app.StartAsync();
        Console.WriteLine($"LOADGEN {{\"mode\":\"http-echo\",\"port\":{port}}}");
        var stop = new TaskCompletionSource();
        using var term = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true;
            stop.TrySetResult();
        });
        await stop.Task;
        await app.StopAsync();
        return 0;
    }

    private static async Task HandleAsync(HttpContext context)
    {
        var length = (int)(context.Request.ContentLength ?? 0);
        var body = new byte[length];
        var filled = 0;
        while (filled < length)
        {
            var read = await context.Request.Body.ReadAsync(body.AsMemory(filled));
            if (read == 0) break;
            filled += read;
        }
        // Parsed as the flow's codec does, so the comparison does not favour the bound by skipping the decode.
        using var document = JsonDocument.Parse(body.AsMemory(0, filled));
        var reply = new byte[Head.Length + filled + Tail.Length];
        Head.CopyTo(reply, 0);
        body.AsSpan(0, filled).CopyTo(reply.AsSpan(Head.Length));
        Tail.CopyTo(reply, Head.Length + filled);
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = reply.Length;
        await context.Response.Body.WriteAsync(reply);
    }
}
