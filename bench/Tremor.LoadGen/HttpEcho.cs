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
/// <para>With <c>--hop</c> the same work runs behind one hand-off, the least any design with a processing stage
/// apart from Kestrel's request threads has: each request goes through a bounded channel to one reader task, which
/// answers through a <see cref="TaskCompletionSource{T}"/> (continuations run asynchronously, as http_server's).</para>
/// </summary>
internal static class HttpEcho
{
    private sealed record Hop(byte[] Body, int Length, TaskCompletionSource<(int Status, byte[] Body)> Reply);

    private static readonly System.Threading.Channels.Channel<Hop> Queue =
        System.Threading.Channels.Channel.CreateBounded<Hop>(new System.Threading.Channels.BoundedChannelOptions(1024) { SingleReader = true });

    private static readonly byte[] Head = "{\"received\":"u8.ToArray();
    private static readonly byte[] Tail = ",\"status\":\"ok\"}"u8.ToArray();

    public static async Task<int> RunAsync(int port, bool hop)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(IPAddress.Loopback, port);
        });
        var app = builder.Build();
        app.Run(hop ? HandleThroughHopAsync : HandleAsync);
        if (hop) _ = Task.Run(AnswerAsync);
        await app.StartAsync();
        Console.WriteLine($"LOADGEN {{\"mode\":\"http-echo\",\"port\":{port},\"hop\":{(hop ? "true" : "false")}}}");
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
        var (body, length) = await ReadBodyAsync(context);
        await WriteAsync(context, Answer(body, length));
    }

    private static async Task HandleThroughHopAsync(HttpContext context)
    {
        var (body, length) = await ReadBodyAsync(context);
        var hop = new Hop(body, length, new TaskCompletionSource<(int, byte[])>(TaskCreationOptions.RunContinuationsAsynchronously));
        await Queue.Writer.WriteAsync(hop);
        await WriteAsync(context, await hop.Reply.Task);
    }

    private static async Task AnswerAsync()
    {
        while (await Queue.Reader.WaitToReadAsync())
        {
            while (Queue.Reader.TryRead(out var hop)) hop.Reply.TrySetResult(Answer(hop.Body, hop.Length));
        }
    }

    private static async Task<(byte[] Body, int Length)> ReadBodyAsync(HttpContext context)
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
        return (body, filled);
    }

    /// <summary>
    /// The body parsed as JSON (System.Text.Json here; the flow's json codec parses it too, so the bound does not gain
    /// by skipping the decode) and the flow's reply around it; 400 with the parser's message when it is not JSON.
    /// </summary>
    private static (int Status, byte[] Body) Answer(byte[] body, int length)
    {
        try
        {
            using var document = JsonDocument.Parse(body.AsMemory(0, length));
        }
        catch (JsonException e)
        {
            return (400, System.Text.Encoding.UTF8.GetBytes($"the body is not JSON: {e.Message}\n"));
        }
        var reply = new byte[Head.Length + length + Tail.Length];
        Head.CopyTo(reply, 0);
        body.AsSpan(0, length).CopyTo(reply.AsSpan(Head.Length));
        Tail.CopyTo(reply, Head.Length + length);
        return (200, reply);
    }

    private static Task WriteAsync(HttpContext context, (int Status, byte[] Body) reply)
    {
        context.Response.StatusCode = reply.Status;
        context.Response.ContentType = reply.Status == 200 ? "application/json" : "text/plain; charset=utf-8";
        context.Response.ContentLength = reply.Body.Length;
        return context.Response.Body.WriteAsync(reply.Body).AsTask();
    }
}
