using SharpCompress.Compressors.Xz;
using Tremor.Pdk;

namespace Tremor.Connectors.File;

/// <summary>The read side of <c>file</c>: one chunk per pull on stream 0, then the stream's end and Finished.</summary>
internal sealed class FileReader(IPluginHost host, string path, int chunkSize) : ConnectorBase, ISource
{
    private readonly byte[] _buffer = new byte[chunkSize];
    private Stream? _stream;
    private bool _finished;

    public override ISink? Sink => null;

    public bool IsTransactional => false;

    public override ValueTask<bool> ConnectAsync(int attempt, CancellationToken cancellationToken)
    {
        if (_stream is not null || _finished) return ValueTask.FromResult(true);
        _stream = Open(path);
        return ValueTask.FromResult(true);
    }

    internal static Stream Open(string path)
    {
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 64 * 1024, useAsync: true);
        }
        catch (FileNotFoundException e)
        {
            throw new FileNotFoundException($"file '{path}' does not exist", path, e);
        }
        catch (DirectoryNotFoundException e)
        {
            throw new DirectoryNotFoundException($"file '{path}': its directory does not exist", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new UnauthorizedAccessException($"file '{path}' cannot be read: permission denied (or it is a directory)", e);
        }
        catch (IOException e)
        {
            throw new IOException($"file '{path}' cannot be opened for reading: {e.Message}", e);
        }
        if (!path.EndsWith(".xz", StringComparison.OrdinalIgnoreCase)) return file;
        try
        {
            return new XZStream(file);
        }
        catch (Exception e)
        {
            file.Dispose();
            throw new InvalidDataException($"file '{path}' is not a valid xz file: {e.Message}", e);
        }
    }

    public async ValueTask<PullStatus> PullAsync(SourceBatch batch, CancellationToken cancellationToken)
    {
        if (_finished) return PullStatus.Finished;
        var stream = _stream ?? throw new InvalidOperationException($"file '{path}' was pulled before it was connected");

        int read;
        try
        {
            read = await stream.ReadAsync(_buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return PullStatus.Empty;
        }
        catch (Exception e) when (e is not IOException and not OperationCanceledException)
        {
            // Corrupt compressed data surfaces as assorted exception types; name the file.
            throw new InvalidDataException($"file '{path}' could not be read: {e.Message}", e);
        }

        if (read == 0)
        {
            _finished = true;
            await stream.DisposeAsync().ConfigureAwait(false);
            _stream = null;
            batch.EndStream(0);
            return PullStatus.Finished;
        }
        batch.Add(_buffer.AsMemory(0, read), 0, host.NowNs());
        return PullStatus.Data;
    }

    public void Ack(ulong streamId, ulong pullId)
    {
    }

    public void Fail(ulong streamId, ulong pullId)
    {
    }

    public override async ValueTask DisposeAsync()
    {
        if (_stream is not null) await _stream.DisposeAsync().ConfigureAwait(false);
        _stream = null;
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
