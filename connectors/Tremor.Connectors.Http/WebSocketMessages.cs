using System.Net.WebSockets;
using System.Threading.Channels;
using Tremor.Pdk;

namespace Tremor.Connectors.Http;

/// <summary>One received WebSocket message, or the end of its connection's stream.</summary>
internal readonly record struct InboundMessage(ulong StreamId, byte[]? Data, bool Binary, Value Meta, ulong IngestNs)
{
    public bool IsEnd => Data is null;
}

/// <summary>Reading whole messages from a WebSocket and moving them through a bounded queue to pulls.</summary>
internal static class WebSocketMessages
{
    /// <summary>
    /// Reads one whole message (frames joined). Null when the peer closed; throws <see cref="WebSocketException"/> with
    /// <see cref="WebSocketError.Faulted"/> and answers the peer 1009 when it is larger than <paramref name="maxSize"/>.
    /// </summary>
    public static async Task<(byte[] Data, bool Binary)?> ReceiveAsync(WebSocket socket, int maxSize, CancellationToken cancellationToken)
    {
        var buffer = new byte[Math.Min(maxSize + 1, 16 * 1024)];
        using var message = new MemoryStream();
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (result.MessageType == WebSocketMessageType.Close) return null;
            if (message.Length + result.Count > maxSize)
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.MessageTooBig, $"messages are limited to {maxSize} bytes", cancellationToken).ConfigureAwait(false);
                throw new WebSocketException(WebSocketError.Faulted, $"a message over max-message-size ({maxSize} bytes); connection closed with 1009");
            }
            message.Write(buffer, 0, result.Count);
            if (result.EndOfMessage) return (message.ToArray(), result.MessageType == WebSocketMessageType.Binary);
        }
    }

    /// <summary>
    /// Queues each whole message of connection <paramref name="stream"/> until the peer closes. Receives and waits for room
    /// in the queue take separate tokens, since a cancelled receive aborts the socket.
    /// </summary>
    public static async Task ReceiveIntoAsync(
        WebSocket socket,
        int maxSize,
        ChannelWriter<InboundMessage> inbound,
        ulong stream,
        Func<bool, Value> meta,
        IPluginHost host,
        CancellationToken receiveToken,
        CancellationToken queueToken)
    {
        while (await ReceiveAsync(socket, maxSize, receiveToken).ConfigureAwait(false) is { } message)
        {
            await inbound.WriteAsync(new InboundMessage(stream, message.Data, message.Binary, meta(message.Binary), host.NowNs()), queueToken).ConfigureAwait(false);
        }
    }

    /// <summary>Completes the close handshake when the peer started it.</summary>
    public static async Task AnswerCloseAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        if (socket.State == WebSocketState.CloseReceived)
        {
            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A pull: what is queued, else a wait for more that gives the sink side its turns (see SinkTurns).</summary>
    public static async ValueTask<PullStatus> PullAsync(ChannelReader<InboundMessage> reader, SourceBatch batch, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (Fill(reader, batch)) return PullStatus.Data;
            // Events to send may come at any time while the source waits for messages.
            if (!await SinkTurns.WaitAsync(reader.WaitToReadAsync, cancellationToken).ConfigureAwait(false))
            {
                return PullStatus.Empty;
            }
        }
    }

    /// <summary>Moves queued messages into a pull's batch: each message one chunk, each ended connection its stream end.</summary>
    private static bool Fill(ChannelReader<InboundMessage> reader, SourceBatch batch)
    {
        while ((batch.Count == 0 || batch.Count < batch.Capacity) && reader.TryRead(out var message))
        {
            // A message is an array of its own that nothing changes again: decoding may keep slices of it.
            if (message.IsEnd) batch.EndStream(message.StreamId);
            else batch.AddImmutable(message.Data, message.StreamId, message.IngestNs, message.Meta);
        }
        return batch.Count > 0;
    }

    /// <summary>How a sink event is sent: meta <c>{prefix}.binary</c> when set, else the configured mode.</summary>
    public static WebSocketMessageType TypeFor(Value meta, bool binaryByDefault) =>
        meta.TryGetBool(out var binary) ? (binary ? WebSocketMessageType.Binary : WebSocketMessageType.Text)
            : binaryByDefault ? WebSocketMessageType.Binary : WebSocketMessageType.Text;
}
