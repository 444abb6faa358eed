using System.Collections.Concurrent;
using System.Threading.Channels;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Tremor.Pdk;

namespace Tremor.Connectors.Nats;

/// <summary>
/// <c>nats</c>: one NATS connection per connector. The source subscribes to a core subject, or consumes a JetStream
/// durable consumer (explicit acks) and acks a message only when the runtime acks its event, naks it when the event
/// failed (the server redelivers it). The sink publishes each event; a batch is acked once the server confirmed it (a
/// PING round trip after core publishes, the PubAck of each JetStream publish).
/// </summary>
internal sealed class NatsConnector : ConnectorBase, ISource, ISink
{
    /// <summary>Messages received but not pulled yet: when full, the receiving loop waits.</summary>
    internal const int QueueCapacity = 1024;

    private readonly IPluginHost _host;
    private readonly NatsOptions _options;
    private readonly ConnectionLoss _loss;
    private readonly Channel<Received> _inbound = Channel.CreateBounded<Received>(new BoundedChannelOptions(QueueCapacity)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });
    private readonly ConcurrentDictionary<ulong, INatsJSMsg<byte[]>> _unacked = new();
    private readonly CancellationTokenSource _stop = new();
    private NatsConnection? _connection;
    private NatsJSContext? _jetStream;
    private Task? _receiving;
    private CancellationTokenSource? _receiveStop;

    public NatsConnector(IPluginHost host, NatsOptions options)
    {
        _host = host;
        _loss = new ConnectionLoss(host);
        _options = options;
    }

    public bool IsTransactional => _options.Source is { IsJetStream: true };

    public override async ValueTask<bool> ConnectAsync(int attempt, CancellationToken cancellationToken)
    {
        if (_loss.IsStopped) return false;
        if (_connection is { } existing)
        {
            // The client reconnects by itself; wait (bounded) for it rather than making a second connection.
            var deadline = DateTime.UtcNow + _options.ConnectTimeout;
            while (existing.ConnectionState != NatsConnectionState.Open && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50, cancellationToken).ConfigureAwait(false);
            }
            if (existing.ConnectionState != NatsConnectionState.Open)
            {
                _host.Log(PluginLogLevel.Warning, $"nats: {_options.Url} is not reachable yet (attempt {attempt})");
                return false;
            }
        }
        else
        {
            var connection = new NatsConnection(new NatsOpts
            {
                Url = _options.Url,
                Name = _host.Alias,
                ConnectTimeout = _options.ConnectTimeout,
                AuthOpts = _options.Username is null ? NatsAuthOpts.Default : NatsAuthOpts.Default with { Username = _options.Username, Password = _options.Password },
            });
            try
            {
                await connection.ConnectAsync().AsTask().WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (NatsException e)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
                var message = e.InnerException?.Message ?? e.Message;
                if (message.Contains("Authorization", StringComparison.OrdinalIgnoreCase))
                {
                    _host.Log(PluginLogLevel.Error, $"nats: {_options.Url} refused the connection ({message}): check username and password");
                }
                else
                {
                    _host.Log(PluginLogLevel.Warning, $"nats: connecting to {_options.Url} failed (attempt {attempt}): {message} (is the server running and the url right?)");
                }
                return false;
            }
            connection.ConnectionDisconnected += (_, e) =>
            {
                _loss.Report($"nats: the connection to {_options.Url} was lost: {e.Message}");
                return ValueTask.CompletedTask;
            };
            _connection = connection;
            _jetStream = new NatsJSContext(connection);
        }
        if (_receiving is { IsCompleted: false } && _loss.IsReported)
        {
            // A pull consumer's outstanding pull requests died with the old server connection and the client only
            // notices after its idle heartbeat: start consuming afresh, the durable consumer resumes where it was.
            await _receiveStop!.CancelAsync().ConfigureAwait(false);
            await _receiving.ConfigureAwait(false);
        }
        if (_options.Source is { } source && _receiving is null or { IsCompleted: true })
        {
            _receiveStop?.Dispose();
            _receiveStop = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            var token = _receiveStop.Token;
            if (source.IsJetStream)
            {
                INatsJSConsumer consumer;
                try
                {
                    if (source.StreamSubjects.Count > 0) await EnsureStreamAsync(source, cancellationToken).ConfigureAwait(false);
                    consumer = await _jetStream!.CreateOrUpdateConsumerAsync(source.Stream!, new ConsumerConfig(source.Consumer!)
                    {
                        AckPolicy = ConsumerConfigAckPolicy.Explicit,
                        FilterSubject = source.Filter,
                    }, cancellationToken).ConfigureAwait(false);
                }
                catch (NatsJSApiException e)
                {
                    _host.Log(PluginLogLevel.Error, $"nats: the consumer '{source.Consumer}' on stream '{source.Stream}' could not be made on {_options.Url}: {e.Error.Description} (does the stream exist? create it, or set source.subjects so the connector creates it)");
                    return false;
                }
                _receiving = Task.Run(() => ConsumeAsync(consumer, token));
            }
            else
            {
                // Subscribed and confirmed by a round trip before connected is reported: a core subject keeps nothing,
                // so a message published right after the connect must find the subscription in place.
                var subscription = await _connection!.SubscribeCoreAsync<byte[]>(source.Subject!, source.Queue, cancellationToken: token).ConfigureAwait(false);
                await _connection.PingAsync(cancellationToken).ConfigureAwait(false);
                _receiving = Task.Run(() => SubscribeAsync(source, subscription, token));
            }
        }
        _loss.Connected();
        _host.Log(PluginLogLevel.Info, $"nats: connected to {_options.Url}");
        return true;
    }

    /// <summary>Creates the stream over <c>subjects</c> when it does not exist; an existing stream is left as its operator made it.</summary>
    private async Task EnsureStreamAsync(NatsSourceOptions source, CancellationToken cancellationToken)
    {
        try
        {
            await _jetStream!.GetStreamAsync(source.Stream!, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (NatsJSApiException e) when (e.Error.Code == 404)
        {
            await _jetStream!.CreateStreamAsync(new StreamConfig(source.Stream!, [.. source.StreamSubjects]), cancellationToken).ConfigureAwait(false);
            _host.Log(PluginLogLevel.Info, $"nats: created stream '{source.Stream}' over {string.Join(", ", source.StreamSubjects)}");
        }
    }

    private async Task ConsumeAsync(INatsJSConsumer consumer, CancellationToken cancellationToken)
    {
        try
        {
            // The client pulls in batches, follows reconnects and resumes the durable consumer where the server has it.
            await foreach (var message in consumer.ConsumeAsync<byte[]>(cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                var inner = Inner(message.Subject, message.ReplyTo, message.Headers);
                if (message.Metadata is { } metadata)
                {
                    inner.Append("stream", metadata.Stream);
                    inner.Append("consumer", metadata.Consumer);
                    inner.Append("sequence", (long)metadata.Sequence.Stream);
                    inner.Append("delivered", (long)metadata.NumDelivered);
                }
                await _inbound.Writer.WriteAsync(new Received(message.Data ?? [], Meta(inner), _host.NowNs(), message), cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is NatsException or ChannelClosedException)
        {
            _loss.Report($"nats: consuming '{_options.Source!.Consumer}' on stream '{_options.Source.Stream}' stopped: {e.Message}");
        }
    }

    private async Task SubscribeAsync(NatsSourceOptions source, INatsSub<byte[]> subscription, CancellationToken cancellationToken)
    {
        await using var owned = subscription;
        try
        {
            await foreach (var message in subscription.Msgs.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                await _inbound.Writer.WriteAsync(new Received(message.Data ?? [], Meta(Inner(message.Subject, message.ReplyTo, message.Headers)), _host.NowNs(), null), cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is NatsException or ChannelClosedException)
        {
            _loss.Report($"nats: the subscription to '{source.Subject}' stopped: {e.Message}");
        }
    }

    private static ValueRecord Inner(string subject, string? replyTo, NatsHeaders? headers)
    {
        var inner = new ValueRecord(7);
        inner.Append("subject", subject);
        if (replyTo is not null) inner.Append("reply_to", replyTo);
        if (headers is { Count: > 0 })
        {
            var record = new ValueRecord(headers.Count);
            foreach (var (name, values) in headers) record.Set(name, values.ToString());
            inner.Append("headers", Value.From(record));
        }
        return inner;
    }

    private static Value Meta(ValueRecord inner)
    {
        var meta = new ValueRecord(1);
        meta.Append("nats", Value.From(inner));
        return Value.From(meta);
    }

    public async ValueTask<PullStatus> PullAsync(SourceBatch batch, CancellationToken cancellationToken)
    {
        var reader = _inbound.Reader;
        if (await PullWait.ForInputAsync(reader, cancellationToken).ConfigureAwait(false) is { } waited) return waited;
        while (!batch.IsFull && reader.TryRead(out var item))
        {
            // The client's array for this message that nothing changes again: decoding may keep slices of it.
            var pullId = batch.AddImmutable(item.Payload, 0, item.IngestNs, item.Meta);
            if (item.Delivery is { } delivery) _unacked[pullId] = delivery;
        }
        return batch.Count > 0 ? PullStatus.Data : PullStatus.Empty;
    }

    public void Ack(ulong streamId, ulong pullId)
    {
        if (_unacked.TryRemove(pullId, out var delivery)) _ = SettleAsync(delivery, ack: true);
    }

    public void Fail(ulong streamId, ulong pullId)
    {
        if (!_unacked.TryRemove(pullId, out var delivery)) return;
        _host.Log(PluginLogLevel.Warning, $"nats: a message from '{delivery.Subject}' failed downstream; nak'd, the server redelivers it");
        _ = SettleAsync(delivery, ack: false);
    }

    private async Task SettleAsync(INatsJSMsg<byte[]> delivery, bool ack)
    {
        try
        {
            if (ack) await delivery.AckAsync(cancellationToken: _stop.Token).ConfigureAwait(false);
            else await delivery.NakAsync(cancellationToken: _stop.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Neither ack nor nak arrived: after the consumer's ack wait the server redelivers it (a duplicate, not a loss).
            _host.Log(PluginLogLevel.Debug, $"nats: {(ack ? "ack" : "nak")} for '{delivery.Subject}' not sent ({e.Message}); the server will redeliver it");
        }
    }

    public async ValueTask<SinkReply> OnBatchAsync(SinkBatch batch, CancellationToken cancellationToken)
    {
        if (_options.Sink is not { } sink) return SinkReply.Failed("nats: this connector has no sink { subject = ... } section");
        if (_connection is not { ConnectionState: NatsConnectionState.Open } connection)
        {
            var reason = $"nats: not connected to {_options.Url}";
            _loss.Report(reason);
            return SinkReply.Failed(reason);
        }
        List<(EventId Id, string Reason)>? failed = null;
        try
        {
            foreach (var e in batch.Events)
            {
                var meta = e.Event.Meta["nats"];
                var subject = meta["subject"].AsString() ?? sink.Subject;
                NatsHeaders? headers = null;
                if (meta["headers"].AsRecord() is { } record)
                {
                    headers = [];
                    foreach (var (name, value) in record) headers[name] = value.AsString() ?? value.ToString();
                }
                var payload = e.Payload.ToArray();
                if (sink.JetStream)
                {
                    try
                    {
                        var ack = await _jetStream!.PublishAsync(subject, payload, headers: headers, cancellationToken: cancellationToken).ConfigureAwait(false);
                        if (ack.Error is { } error) (failed ??= []).Add((e.Id, $"nats: JetStream refused the publish to '{subject}': {error.Description}"));
                    }
                    catch (NatsJSPublishNoResponseException)
                    {
                        (failed ??= []).Add((e.Id, $"nats: no JetStream stream takes '{subject}' on {_options.Url}: add the subject to a stream"));
                    }
                }
                else
                {
                    await connection.PublishAsync(subject, payload, headers, cancellationToken: cancellationToken).ConfigureAwait(false);
                }
            }
            // Core NATS has no per-message confirmation: a PING answered after the publishes means the server has them.
            if (!sink.JetStream) await connection.PingAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NatsException or TimeoutException or OperationCanceledException)
        {
            var reason = $"nats: publishing to {_options.Url} failed: {e.Message}";
            if (connection.ConnectionState != NatsConnectionState.Open) _loss.Report(reason);
            return SinkReply.Failed(reason);
        }
        return SinkReply.Settle(_host, batch, failed);
    }

    public ValueTask OnEndAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public override async ValueTask OnStopAsync(CancellationToken cancellationToken) => await ShutdownAsync().ConfigureAwait(false);

    private async Task ShutdownAsync()
    {
        if (!_loss.Stop()) return;
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_receiving is { } receiving)
        {
            try
            {
                await receiving.ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                _host.Log(PluginLogLevel.Debug, $"nats: the receiving loop ended with {e.Message}");
            }
        }
        _inbound.Writer.TryComplete();
    }

    public override async ValueTask DisposeAsync()
    {
        await ShutdownAsync().ConfigureAwait(false);
        if (_connection is { } connection) await connection.DisposeAsync().ConfigureAwait(false);
        _receiveStop?.Dispose();
        _stop.Dispose();
        await base.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>One message received: its bytes, meta, ingest time and, for JetStream, what acks or naks it.</summary>
    private sealed record Received(byte[] Payload, Value Meta, ulong IngestNs, INatsJSMsg<byte[]>? Delivery);
}
