using System.Buffers;
using System.Text;
using Tremor.Pdk;

namespace Tremor.Connectors.Std;

/// <summary>
/// <c>stdio</c>: the source reads the runtime's stdin as raw bytes on stream 0 (add the <c>separate</c> preprocessor for
/// lines) and finishes at end of input; the sink writes each batch's encoded bytes to stdout, or stderr with
/// <c>output = stderr</c>, and flushes per batch.
/// </summary>
public sealed class StdioFactory : IConnectorFactory
{
    /// <inheritdoc />
    public string Type => "stdio";

    /// <inheritdoc />
    public string Description => "Reads stdin, writes stdout or stderr (keys: output)";

    /// <inheritdoc />
    public ConnectorKinds Kinds => ConnectorKinds.Both;

    /// <inheritdoc />
    public string? DefaultCodec => "json";

    /// <inheritdoc />
    public IConnector Create(ConnectorContext context)
    {
        var config = context.Config;
        config.RejectUnknownKeys("output");
        var output = config.GetString("output", "stdout");
        var toStderr = output switch
        {
            "stdout" => false,
            "stderr" => true,
            _ => throw new ConfigException($"{config.Path}.output", $"expected stdout or stderr, found '{output}'"),
        };
        return new StdioConnector(context.Host, toStderr, Console.OpenStandardInput);
    }
}

internal sealed class StdioConnector(IPluginHost host, bool toStderr, Func<Stream> openInput) : ConnectorBase, ISource, ISink
{
    private const int ChunkSize = 64 * 1024;

    private readonly byte[] _readBuffer = new byte[ChunkSize];
    private Stream? _input;
    private Task<int>? _pendingRead;
    private bool _inputEnded;

    private Stream? _rawOutput;
    private Decoder? _decoder;
    private bool _outputChosen;

    public bool IsTransactional => false;

    public async ValueTask<PullStatus> PullAsync(SourceBatch batch, CancellationToken cancellationToken)
    {
        if (_inputEnded) return PullStatus.Finished;
        _input ??= openInput();

        // A console read cannot be cancelled: on cancellation keep it pending and pick its bytes up on the next pull.
        _pendingRead ??= _input.ReadAsync(_readBuffer, 0, _readBuffer.Length, CancellationToken.None);
        int read;
        try
        {
            read = await _pendingRead.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return PullStatus.Empty;
        }
        _pendingRead = null;

        if (read == 0)
        {
            _inputEnded = true;
            batch.EndStream(0);
            return PullStatus.Finished;
        }
        batch.Add(_readBuffer.AsMemory(0, read), 0, host.NowNs());
        return PullStatus.Data;
    }

    public void Ack(ulong streamId, ulong pullId)
    {
    }

    public void Fail(ulong streamId, ulong pullId)
    {
    }

    public async ValueTask<SinkReply> OnBatchAsync(SinkBatch batch, CancellationToken cancellationToken)
    {
        var writer = toStderr ? host.Error : host.Out;
        if (!_outputChosen)
        {
            _outputChosen = true;
            // When the host's writer is the process console, write bytes straight through: no decode, no re-encode.
            if (ReferenceEquals(writer, toStderr ? Console.Error : Console.Out))
            {
                _rawOutput = toStderr ? Console.OpenStandardError() : Console.OpenStandardOutput();
            }
            else
            {
                _decoder = Encoding.UTF8.GetDecoder();
            }
        }

        if (_rawOutput is not null)
        {
            await _rawOutput.WriteAsync(batch.Bytes, cancellationToken).ConfigureAwait(false);
            await _rawOutput.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            WriteDecoded(writer, batch.Bytes.Span);
            await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        return SinkReply.Acked;
    }

    private void WriteDecoded(TextWriter writer, ReadOnlySpan<byte> bytes)
    {
        // The decoder keeps a UTF-8 sequence split across two batches intact.
        var chars = ArrayPool<char>.Shared.Rent(_decoder!.GetCharCount(bytes, flush: false) + 1);
        try
        {
            var count = _decoder.GetChars(bytes, chars, flush: false);
            writer.Write(chars, 0, count);
        }
        finally
        {
            ArrayPool<char>.Shared.Return(chars);
        }
    }

    public ValueTask OnEndAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public override async ValueTask DisposeAsync()
    {
        if (_rawOutput is not null) await _rawOutput.DisposeAsync().ConfigureAwait(false);
        if (_input is not null && _pendingRead is null) await _input.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
