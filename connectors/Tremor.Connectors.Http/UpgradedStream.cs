using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Tremor.Connectors.Http;

/// <summary>
/// The stream of an upgraded (WebSocket) connection, which the WebSocket cannot close. When a peer breaks the protocol
/// (a text message that is not UTF-8), .NET's WebSocket sends its close (1007) and aborts at once, closing the
/// connection with the peer's later frames unread: the kernel then sends a reset, which can destroy the close before
/// the peer reads it. Kept open, the server reads on until the peer closes (or a short grace passes) and closes
/// cleanly. It also remembers the close code the WebSocket sent, so the log can say what was wrong.
/// </summary>
internal sealed class UpgradedStream(Stream inner) : Stream
{
    private const string ItemKey = "tremor.upgraded-stream";

    /// <summary>The status of the close frame the server sent, if any.</summary>
    public int? SentCloseStatus { get; private set; }

    /// <summary>The upgraded stream of a request, once upgraded.</summary>
    public static UpgradedStream? Of(HttpContext context) => context.Items.TryGetValue(ItemKey, out var stream) ? stream as UpgradedStream : null;

    /// <summary>Reads and drops what the peer still sends until it closes or <paramref name="grace"/> passes; then closes.</summary>
    public async Task CloseAfterPeerAsync(TimeSpan grace)
    {
        using var timeout = new CancellationTokenSource(grace);
        var buffer = new byte[4096];
        try
        {
            while (await inner.ReadAsync(buffer, timeout.Token).ConfigureAwait(false) > 0)
            {
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException)
        {
        }
        await inner.DisposeAsync().ConfigureAwait(false);
    }

    public override bool CanRead => inner.CanRead;
    public override bool CanSeek => false;
    public override bool CanWrite => inner.CanWrite;
    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        inner.ReadAsync(buffer, offset, count, cancellationToken);

    public override void Write(byte[] buffer, int offset, int count)
    {
        Remember(buffer.AsSpan(offset, count));
        inner.Write(buffer, offset, count);
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Remember(buffer.Span);
        return inner.WriteAsync(buffer, cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        Remember(buffer.AsSpan(offset, count));
        return inner.WriteAsync(buffer, offset, count, cancellationToken);
    }

    // A server frame is unmasked: 0x88 (fin + close), the length, then the status code.
    private void Remember(ReadOnlySpan<byte> frame)
    {
        if (frame.Length >= 4 && frame[0] == 0x88 && (frame[1] & 0x7F) >= 2) SentCloseStatus = (frame[2] << 8) | frame[3];
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>The WebSocket's dispose (at abort) leaves the connection alone; <see cref="CloseAfterPeerAsync"/> closes it.</summary>
    protected override void Dispose(bool disposing)
    {
    }

    public override ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>Hands the WebSocket middleware an <see cref="UpgradedStream"/> and keeps it in the request's items.</summary>
    internal sealed class Feature(IHttpUpgradeFeature upgrade, HttpContext context) : IHttpUpgradeFeature
    {
        public bool IsUpgradableRequest => upgrade.IsUpgradableRequest;

        public async Task<Stream> UpgradeAsync()
        {
            var stream = new UpgradedStream(await upgrade.UpgradeAsync().ConfigureAwait(false));
            context.Items[ItemKey] = stream;
            return stream;
        }
    }
}
