using Tremor.Pdk;

namespace Tremor.Connectors.File;

/// <summary>The write side of <c>file</c>: bytes in order, flushed per batch, synced to disk on drain, end and stop.</summary>
internal sealed class FileWriter(string path, FileOpenMode mode) : ConnectorBase, ISink
{
    private FileStream? _stream;

    public override ISource? Source => null;

    public override ValueTask<bool> ConnectAsync(int attempt, CancellationToken cancellationToken)
    {
        if (_stream is not null) return ValueTask.FromResult(true);
        var fileMode = mode switch
        {
            FileOpenMode.Append => FileMode.Append,
            FileOpenMode.Overwrite => FileMode.OpenOrCreate,
            _ => FileMode.Create,
        };
        try
        {
            _stream = new FileStream(path, fileMode, FileAccess.Write, FileShare.Read, 64 * 1024, useAsync: true);
        }
        catch (DirectoryNotFoundException e)
        {
            throw new DirectoryNotFoundException($"file '{path}' cannot be created: its directory does not exist", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new UnauthorizedAccessException($"file '{path}' cannot be written: permission denied (or it is a directory)", e);
        }
        catch (IOException e)
        {
            throw new IOException($"file '{path}' cannot be opened for writing: {e.Message}", e);
        }
        return ValueTask.FromResult(true);
    }

    public async ValueTask<SinkReply> OnBatchAsync(SinkBatch batch, CancellationToken cancellationToken)
    {
        var stream = _stream ?? throw new InvalidOperationException($"file '{path}' was written before it was connected");
        await stream.WriteAsync(batch.Bytes, cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        return SinkReply.Acked;
    }

    public ValueTask OnEndAsync(CancellationToken cancellationToken) => SyncAsync();

    public override ValueTask OnDrainAsync(CancellationToken cancellationToken) => SyncAsync();

    public override ValueTask OnStopAsync(CancellationToken cancellationToken) => SyncAsync();

    private ValueTask SyncAsync()
    {
        _stream?.Flush(flushToDisk: true);
        return ValueTask.CompletedTask;
    }

    public override async ValueTask DisposeAsync()
    {
        if (_stream is not null)
        {
            await _stream.DisposeAsync().ConfigureAwait(false);
            _stream = null;
        }
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
