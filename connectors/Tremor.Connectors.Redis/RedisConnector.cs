using System.Collections.Concurrent;
using System.Threading.Channels;
using StackExchange.Redis;
using Tremor.Pdk;

namespace Tremor.Connectors.Redis;

/// <summary>
/// <c>redis</c>: one connection (StackExchange.Redis multiplexer) per connector. The source reads a stream through a
/// consumer group and sends XACK only when the runtime acks the event; a failed event stays pending and is read again
/// from the group's pending list. Lists are popped (LPOP) and channels subscribed: neither can be acknowledged. The
/// sink pipelines a batch's XADD / RPUSH / PUBLISH and acks it when Redis answered every command.
/// </summary>
internal sealed class RedisConnector : ConnectorBase, ISource, ISink
{
    /// <summary>Pub/sub messages waiting for a pull; Redis cannot push back, so beyond this they are dropped (and counted).</summary>
    internal const int PubSubCapacity = 4096;

    private readonly IPluginHost _host;
    private readonly RedisOptions _options;
    private readonly ConnectionLoss _loss;
    private readonly ConcurrentDictionary<ulong, RedisValue> _inFlight = new();
    private readonly HashSet<RedisValue> _inFlightIds = [];
    private readonly Lock _inFlightLock = new();
    private readonly Channel<(byte[] Payload, Value Meta)> _messages = Channel.CreateBounded<(byte[], Value)>(new BoundedChannelOptions(PubSubCapacity)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.DropWrite,
    });
    private ConnectionMultiplexer? _connection;
    private int _readPending = 1;
    private long _dropped;

    public RedisConnector(IPluginHost host, RedisOptions options)
    {
        _host = host;
        _loss = new ConnectionLoss(host);
        _options = options;
    }

    public bool IsTransactional => _options.Source?.Kind == RedisKind.Stream;

    /// <summary>Pub/sub messages dropped because the flow did not keep up (for tests and status).</summary>
    internal long Dropped => Interlocked.Read(ref _dropped);

    public override async ValueTask<bool> ConnectAsync(int attempt, CancellationToken cancellationToken)
    {
        if (_loss.IsStopped) return false;
        if (_connection is not { IsConnected: true })
        {
            if (_connection is not null) await _connection.DisposeAsync().ConfigureAwait(false);
            _connection = null;
            var config = new ConfigurationOptions
            {
                EndPoints = { { _options.Host, _options.Port } },
                User = _options.Username,
                Password = _options.Password,
                Ssl = _options.Tls,
                ConnectTimeout = (int)_options.ConnectTimeout.TotalMilliseconds,
                AbortOnConnectFail = true,
                ConnectRetry = 1,
                ClientName = _host.Alias.Replace(' ', '-'),
            };
            try
            {
                _connection = await ConnectionMultiplexer.ConnectAsync(config).WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (RedisConnectionException e) when (e.FailureType == ConnectionFailureType.AuthenticationFailure || e.InnerException is RedisServerException { Message: var m } && (m.Contains("WRONGPASS", StringComparison.Ordinal) || m.Contains("NOAUTH", StringComparison.Ordinal)))
            {
                _host.Log(PluginLogLevel.Error, $"redis: {_options.Where} refused the credentials: check username and password ({e.Message})");
                return false;
            }
            catch (RedisConnectionException e)
            {
                _host.Log(PluginLogLevel.Warning, $"redis: connecting to {_options.Where} failed (attempt {attempt}): {e.FailureType} (is the server running and the url right?)");
                return false;
            }
            _connection.ConnectionFailed += (_, e) => _loss.Report($"redis: the connection to {_options.Where} was lost: {e.FailureType}");
            if (_options.Source is { Kind: RedisKind.PubSub } pubSub)
            {
                var subscriber = _connection.GetSubscriber();
                foreach (var channel in pubSub.Channels)
                {
                    // The multiplexer subscribes again by itself after it reconnected.
                    await subscriber.SubscribeAsync(RedisChannel.Literal(channel), OnMessage).ConfigureAwait(false);
                }
            }
        }
        try
        {
            if (_options.Source is { Kind: RedisKind.Stream }) await EnsureGroupAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException)
        {
            _host.Log(PluginLogLevel.Warning, $"redis: {_options.Where} is not reachable (attempt {attempt}): {e.Message}");
            return false;
        }
        _loss.Connected();
        // Entries delivered to this consumer before (a previous run, a lost connection) and never acked come first.
        Volatile.Write(ref _readPending, 1);
        _host.Log(PluginLogLevel.Info, $"redis: connected to {_options.Where}");
        return true;
    }

    private async Task EnsureGroupAsync()
    {
        var source = _options.Source!;
        try
        {
            await _connection!.GetDatabase().StreamCreateConsumerGroupAsync(source.Key, source.Group, source.Start, createStream: true).ConfigureAwait(false);
        }
        catch (RedisServerException e) when (e.Message.Contains("BUSYGROUP", StringComparison.Ordinal))
        {
            // The group exists: it remembers where it was.
        }
    }

    private void OnMessage(RedisChannel channel, RedisValue message)
    {
        var inner = new ValueRecord(1);
        inner.Append("channel", channel.ToString());
        if (!_messages.Writer.TryWrite(((byte[])message!, Meta(inner)))) Interlocked.Increment(ref _dropped);
    }

    private static Value Meta(ValueRecord inner)
    {
        var meta = new ValueRecord(1);
        meta.Append("redis", Value.From(inner));
        return Value.From(meta);
    }

    public async ValueTask<PullStatus> PullAsync(SourceBatch batch, CancellationToken cancellationToken)
    {
        if (_options.Source is not { } source || _connection is not { } connection) return PullStatus.Empty;
        var dropped = Interlocked.Exchange(ref _dropped, 0);
        if (dropped > 0) _host.Log(PluginLogLevel.Warning, $"redis: {dropped} pub/sub message(s) dropped: the flow did not keep up (pub/sub cannot push back)");
        try
        {
            switch (source.Kind)
            {
                case RedisKind.Stream:
                    await ReadStreamAsync(connection.GetDatabase(), source, batch).ConfigureAwait(false);
                    break;
                case RedisKind.List:
                    var popped = await connection.GetDatabase().ListLeftPopAsync(source.Key, batch.Capacity).ConfigureAwait(false);
                    var inner = new ValueRecord(1);
                    inner.Append("list", source.Key);
                    var meta = Meta(inner);
                    foreach (var item in popped ?? []) batch.Add((byte[])item!, 0, _host.NowNs(), meta);
                    break;
                default:
                    while (!batch.IsFull && _messages.Reader.TryRead(out var message)) batch.Add(message.Payload, 0, _host.NowNs(), message.Meta);
                    break;
            }
        }
        catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException)
        {
            _loss.Report($"redis: reading from {_options.Where} failed: {e.Message}");
            return PullStatus.Empty;
        }
        catch (RedisServerException e) when (e.Message.Contains("NOGROUP", StringComparison.Ordinal))
        {
            // The server lost the stream or group (restarted without persistence, or someone deleted it): make it again.
            _host.Log(PluginLogLevel.Warning, $"redis: the group '{source.Group}' of stream '{source.Key}' is gone on {_options.Where}; creating it again");
            await EnsureGroupAsync().ConfigureAwait(false);
            return PullStatus.Empty;
        }
        return batch.Count > 0 ? PullStatus.Data : PullStatus.Empty;
    }

    private async Task ReadStreamAsync(IDatabase db, RedisSourceOptions source, SourceBatch batch)
    {
        StreamEntry[] entries;
        if (Volatile.Read(ref _readPending) == 1)
        {
            // This consumer's pending entries (delivered, not acked): all but those still in flight downstream.
            entries = await db.StreamReadGroupAsync(source.Key, source.Group, source.Consumer, "0", batch.Capacity + InFlightCount()).ConfigureAwait(false);
            entries = entries.Where(e => !IsInFlight(e.Id)).Take(batch.Capacity).ToArray();
            if (entries.Length == 0)
            {
                Volatile.Write(ref _readPending, 0);
                entries = await db.StreamReadGroupAsync(source.Key, source.Group, source.Consumer, StreamPosition.NewMessages, batch.Capacity).ConfigureAwait(false);
            }
        }
        else
        {
            entries = await db.StreamReadGroupAsync(source.Key, source.Group, source.Consumer, StreamPosition.NewMessages, batch.Capacity).ConfigureAwait(false);
        }
        foreach (var entry in entries)
        {
            var inner = new ValueRecord(3);
            inner.Append("stream", source.Key);
            inner.Append("id", entry.Id.ToString());
            byte[] payload = [];
            ValueRecord? fields = null;
            foreach (var pair in entry.Values)
            {
                if (pair.Name == source.Field)
                {
                    payload = (byte[])pair.Value!;
                    continue;
                }
                (fields ??= new ValueRecord()).Set(pair.Name.ToString(), pair.Value.ToString());
            }
            if (fields is not null) inner.Append("fields", Value.From(fields));
            var pullId = batch.Add(payload, 0, _host.NowNs(), Meta(inner));
            _inFlight[pullId] = entry.Id;
            lock (_inFlightLock) _inFlightIds.Add(entry.Id);
        }
    }

    private int InFlightCount()
    {
        lock (_inFlightLock) return _inFlightIds.Count;
    }

    private bool IsInFlight(RedisValue id)
    {
        lock (_inFlightLock) return _inFlightIds.Contains(id);
    }

    private bool TakeInFlight(ulong pullId, out RedisValue id)
    {
        if (!_inFlight.TryRemove(pullId, out id)) return false;
        lock (_inFlightLock) _inFlightIds.Remove(id);
        return true;
    }

    public void Ack(ulong streamId, ulong pullId)
    {
        if (_options.Source is not { Kind: RedisKind.Stream } source || !TakeInFlight(pullId, out var id)) return;
        _ = AcknowledgeAsync(source, id);
    }

    private async Task AcknowledgeAsync(RedisSourceOptions source, RedisValue id)
    {
        try
        {
            await _connection!.GetDatabase().StreamAcknowledgeAsync(source.Key, source.Group, id).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or ObjectDisposedException)
        {
            // Still pending: read again after the reconnect (a duplicate, not a loss).
            _host.Log(PluginLogLevel.Debug, $"redis: XACK of {id} on '{source.Key}' failed ({e.Message}); it stays pending and is delivered again");
        }
    }

    public void Fail(ulong streamId, ulong pullId)
    {
        if (_options.Source is not { Kind: RedisKind.Stream } source || !TakeInFlight(pullId, out var id)) return;
        _host.Log(PluginLogLevel.Warning, $"redis: entry {id} of stream '{source.Key}' failed downstream; it stays pending and is read again");
        Volatile.Write(ref _readPending, 1);
    }

    public async ValueTask<SinkReply> OnBatchAsync(SinkBatch batch, CancellationToken cancellationToken)
    {
        if (_options.Sink is not { } sink) return SinkReply.Failed("redis: this connector has no sink { ... } section: set config.sink to write");
        if (_connection is not { IsConnected: true } connection)
        {
            var reason = $"redis: not connected to {_options.Where}";
            _loss.Report(reason);
            return SinkReply.Failed(reason);
        }
        var db = connection.GetDatabase();
        var events = batch.Events;
        var writes = new Task?[events.Count];
        List<(EventId Id, string Reason)>? failed = null;
        for (var i = 0; i < events.Count; i++)
        {
            var e = events[i];
            var meta = e.Event.Meta["redis"];
            // The payload is lent for this call only: Redis gets a copy, the commands are awaited below anyway.
            RedisValue payload = e.Payload.ToArray();
            switch (sink.Kind)
            {
                case RedisKind.Stream:
                    var fields = new List<NameValueEntry> { new(sink.Field, payload) };
                    if (meta["fields"].AsRecord() is { } extra)
                    {
                        foreach (var (name, value) in extra) fields.Add(new NameValueEntry(name, value.AsString() ?? value.ToString()));
                    }
                    writes[i] = db.StreamAddAsync(meta["stream"].AsString() ?? sink.Key, [.. fields]);
                    break;
                case RedisKind.List:
                    writes[i] = db.ListRightPushAsync(meta["list"].AsString() ?? sink.Key, payload);
                    break;
                default:
                    writes[i] = connection.GetSubscriber().PublishAsync(RedisChannel.Literal(meta["channel"].AsString() ?? sink.Key!), payload);
                    break;
            }
        }
        var lost = false;
        for (var i = 0; i < events.Count; i++)
        {
            try
            {
                await writes[i]!.ConfigureAwait(false);
            }
            catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException)
            {
                lost = true;
                (failed ??= []).Add((events[i].Id, $"redis: writing to {_options.Where} failed: {e.Message}"));
            }
            catch (RedisServerException e)
            {
                (failed ??= []).Add((events[i].Id, $"redis: {_options.Where} refused the write: {e.Message}"));
            }
        }
        if (lost) _loss.Report($"redis: the connection to {_options.Where} was lost while writing");
        return SinkReply.Settle(_host, batch, failed);
    }

    public ValueTask OnEndAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public override async ValueTask OnStopAsync(CancellationToken cancellationToken)
    {
        _loss.Stop();
        _messages.Writer.TryComplete();
        if (_connection is { } connection)
        {
            // Waits for the XACKs already sent; entries not acked stay pending for the next run.
            await connection.CloseAsync(allowCommandsToComplete: true).ConfigureAwait(false);
        }
    }

    public override async ValueTask DisposeAsync()
    {
        _loss.Stop();
        if (_connection is { } connection) await connection.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
