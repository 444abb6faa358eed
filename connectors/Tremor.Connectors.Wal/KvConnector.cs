using System.Text;
using System.Threading.Channels;
using Tremor.Pdk;

namespace Tremor.Connectors.Wal;

/// <summary>
/// <c>kv</c>: a key-value store driven by events, as Tremor's. The command is in the event's metadata
/// (<c>$kv</c>), the value is the event:
/// <c>{"get": K}</c>, <c>{"put": K}</c> (the event is the value), <c>{"swap": K}</c> (put, answering the old value),
/// <c>{"cas": K, "old": V}</c> (put only if the current value is V; without <c>old</c>, only if K is not set),
/// <c>{"delete": K}</c>, <c>{"scan": START, "end": END}</c> (one reply per key in [START, END)).
/// Replies go out on <c>out</c> with <c>$kv = {"op": OP, "ok": K}</c> and the command's <c>$correlation</c>;
/// a command that cannot be carried out answers on <c>err</c> with <c>$error</c> and fails its event upstream.
/// Every change is on disk before its reply is emitted and its event acknowledged.
/// </summary>
internal sealed class KvConnector : ConnectorBase, ISource, ISink
{
    private const int MaxQueuedReplies = 100_000;

    private readonly IPluginHost _host;
    private string _directory = "";
    private readonly Channel<(bool Error, Value Data, Value Meta)> _replies =
        Channel.CreateBounded<(bool, Value, Value)>(new BoundedChannelOptions(MaxQueuedReplies) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true, SingleWriter = true });
    private KvStore? _store;
    private long _droppedReplies;

    public KvConnector(IPluginHost host)
    {
        _host = host;
    }

    public bool IsTransactional => false;

    public override ValueTask<bool> ConnectAsync(int attempt, CancellationToken cancellationToken)
    {
        _store?.Dispose();
        _store = null;
        try
        {
            _directory = _host.StateDirectory;
        }
        catch (InvalidOperationException e)
        {
            _host.Log(PluginLogLevel.Error, $"no state directory for the kv store: {e.Message}");
            return ValueTask.FromResult(false);
        }
        try
        {
            _store = KvStore.Open(_directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _host.Log(PluginLogLevel.Error, $"cannot open the kv store in {_directory}: {e.Message}; no command is carried out until it can be written (check that the directory exists, is writable and has space)");
            return ValueTask.FromResult(false);
        }
        var r = _store.Recovery;
        if (r.SetAside is { } aside)
        {
            _host.Log(PluginLogLevel.Error, $"{r.CutReason}; it was moved to {aside} and the store starts empty");
        }
        else if (r.CutReason is { } reason)
        {
            _host.Log(PluginLogLevel.Error, $"the kv store in {_directory} was damaged ({reason}); cut at the last good change: {r.CutEntries} change(s) ({r.CutBytes} bytes) dropped");
        }
        return ValueTask.FromResult(true);
    }

    // ---- sink: commands ----

    public async ValueTask<SinkReply> OnBatchAsync(SinkBatch batch, CancellationToken cancellationToken)
    {
        var store = _store ?? throw new InvalidOperationException("the kv store is not open");
        var replies = new List<(bool Error, Value Data, Value Meta)>();
        List<(EventId, string)>? failed = null;
        foreach (var e in batch.Events)
        {
            var meta = e.Event.Meta;
            var correlation = meta["correlation"];
            string? op = null;
            Value key = Value.Null;
            try
            {
                var command = meta["kv"];
                (op, key) = Command(command);
                var keyBytes = KeyBytes(key, op);
                switch (op)
                {
                    case "get":
                        replies.Add(Ok(op, key, store.TryGet(keyBytes, out var got) ? got : Value.Null, correlation));
                        break;
                    case "put":
                        store.Put(keyBytes, e.Event.Data);
                        replies.Add(Ok(op, key, e.Event.Data, correlation));
                        break;
                    case "swap":
                        replies.Add(Ok(op, key, store.Put(keyBytes, e.Event.Data) ?? Value.Null, correlation));
                        break;
                    case "delete":
                        replies.Add(Ok(op, key, store.Delete(keyBytes) ?? Value.Null, correlation));
                        break;
                    case "cas":
                        var found = store.TryGet(keyBytes, out var current);
                        var expectsValue = command.AsRecord()!.TryGetValue("old", out var old);
                        if (expectsValue ? !found || !current.Equals(old) : found)
                        {
                            throw new KvException($"cas: expected {(expectsValue ? old.ToString() : "the key not to be set")} but found {(found ? current.ToString() : "it not set")}");
                        }
                        store.Put(keyBytes, e.Event.Data);
                        replies.Add(Ok(op, key, Value.Null, correlation));
                        break;
                    default: // scan
                        var end = command["end"];
                        var endBytes = end.IsNull ? null : KeyBytes(end, "scan");
                        foreach (var (k, v) in store.Scan(keyBytes, endBytes)) replies.Add(Ok(op, KeyValue(k, key), v, correlation));
                        break;
                }
            }
            catch (KvException error)
            {
                (failed ??= []).Add((e.Id, error.Message));
                var errorMeta = new ValueRecord(3);
                errorMeta.Append("error", error.Message);
                if (op is not null)
                {
                    var kv = new ValueRecord(2);
                    kv.Append("op", op);
                    kv.Append("key", key);
                    errorMeta.Append("kv", Value.From(kv));
                }
                if (!correlation.IsNull) errorMeta.Append("correlation", correlation);
                replies.Add((true, Value.Null, Value.From(errorMeta)));
            }
        }
        // Changes are on disk before anyone hears of them.
        if (store.HasUncommitted) await store.CommitAsync(cancellationToken).ConfigureAwait(false);
        foreach (var reply in replies)
        {
            if (!_replies.Writer.TryWrite(reply) || _replies.Reader.Count >= MaxQueuedReplies)
            {
                if (++_droppedReplies % 10_000 == 1)
                {
                    _host.Log(PluginLogLevel.Warning, $"{MaxQueuedReplies} replies wait to be emitted (out not linked, or downstream too slow): the oldest are dropped ({_droppedReplies} so far); the changes themselves are stored");
                }
            }
        }
        return SinkReply.Settle(_host, batch, failed);
    }

    public ValueTask OnEndAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    private static (string Op, Value Key) Command(Value command)
    {
        if (command.AsRecord() is not { } record)
        {
            throw new KvException($"the event has no command: expected $kv = {{\"get\" | \"put\" | \"swap\" | \"cas\" | \"delete\" | \"scan\": KEY}}, found $kv = {command}");
        }
        foreach (var op in (ReadOnlySpan<string>)["get", "put", "swap", "cas", "delete", "scan"])
        {
            if (record.TryGetValue(op, out var key)) return (op, key);
        }
        throw new KvException($"unknown kv command {command}: expected one of get, put, swap, cas, delete, scan");
    }

    private static byte[] KeyBytes(Value key, string op) => key.Kind switch
    {
        ValueKind.String => Encoding.UTF8.GetBytes(key.AsString()!),
        ValueKind.Bytes => key.AsBytes()!,
        _ => throw new KvException($"{op}: the key must be a string or bytes, found {key}"),
    };

    /// <summary>A scanned key as the command spelled its keys: a string when it used strings (and the key is UTF-8).</summary>
    private static Value KeyValue(byte[] key, Value like)
    {
        if (like.Kind != ValueKind.Bytes)
        {
            try
            {
                return Value.From(new UTF8Encoding(false, true).GetString(key));
            }
            catch (DecoderFallbackException)
            {
            }
        }
        return Value.From(key);
    }

    private static (bool, Value, Value) Ok(string op, Value key, Value data, Value correlation)
    {
        var kv = new ValueRecord(2);
        kv.Append("op", op);
        kv.Append("ok", key);
        var meta = new ValueRecord(2);
        meta.Append("kv", Value.From(kv));
        if (!correlation.IsNull) meta.Append("correlation", correlation);
        return (false, data, Value.From(meta));
    }

    // ---- source: replies ----

    public async ValueTask<PullStatus> PullAsync(SourceBatch batch, CancellationToken cancellationToken)
    {
        while (true)
        {
            while (!batch.IsFull && _replies.Reader.TryRead(out var reply))
            {
                if (reply.Error) batch.AddError(reply.Data, 0, 0, reply.Meta);
                else batch.AddStructured(reply.Data, 0, 0, reply.Meta);
            }
            if (batch.Count > 0) return PullStatus.Data;
            if (await PullWait.ForInputAsync(_replies.Reader, cancellationToken).ConfigureAwait(false) is { } waited) return waited;
        }
    }

    public void Ack(ulong streamId, ulong pullId)
    {
    }

    public void Fail(ulong streamId, ulong pullId)
    {
    }

    public override async ValueTask DisposeAsync()
    {
        _store?.Dispose();
        _store = null;
        await base.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary><c>kv</c>: a durable key-value store; commands in <c>$kv</c>, replies on out, errors on err. No keys.</summary>
public sealed class KvFactory : IConnectorFactory
{
    /// <inheritdoc />
    public string Type => "kv";

    /// <inheritdoc />
    public string Description => "durable key-value store: commands in $kv (get, put, swap, cas, delete, scan), replies on out, errors on err (no keys)";

    /// <inheritdoc />
    public ConnectorKinds Kinds => ConnectorKinds.Both;

    /// <inheritdoc />
    public string? DefaultCodec => null;

    /// <inheritdoc />
    public IConnector Create(ConnectorContext context)
    {
        context.Config.RejectUnknownKeys();
        return new KvConnector(context.Host);
    }
}
