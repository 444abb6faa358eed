using System.Collections.Concurrent;
using System.Text;
using System.Threading.Channels;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;
using Tremor.Pdk;

namespace Tremor.Connectors.Amqp;

/// <summary>
/// <c>amqp</c>: one AMQP 0-9-1 connection (RabbitMQ.Client) per connector, a channel per side. The source consumes a
/// queue with manual acks: at most <c>prefetch</c> messages unacknowledged, a message is acked when the runtime acks
/// its event, nacked with requeue when it fails, and rejected (dead-lettered) or acked when its payload could not be
/// decoded. The sink publishes with publisher confirms and acks an event only once the broker confirmed it; a nack
/// or the return of a mandatory message fails the event. A lost broker is reported through
/// <see cref="IPluginHost.ConnectionLost"/>; the runtime reconnects with the connector's <c>reconnect</c> backoff.
/// </summary>
internal sealed class AmqpConnector : ConnectorBase, ISource, ISink
{
    private readonly IPluginHost _host;
    private readonly AmqpOptions _options;
    private readonly ConnectionLoss _loss;

    // Deliveries arrive at most prefetch at a time (the broker waits for acks), so this never grows beyond it.
    private readonly Channel<Received> _inbound = Channel.CreateUnbounded<Received>(new UnboundedChannelOptions { SingleReader = true });

    // Acks, nacks and rejects go out in order on one loop, never concurrently with each other on the channel.
    private readonly Channel<Settlement> _settlements = Channel.CreateUnbounded<Settlement>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<ulong, Received> _unacked = new();
    private readonly CancellationTokenSource _stop = new();
    private IConnection? _connection;
    private IChannel? _sourceChannel;
    private IChannel? _sinkChannel;
    private Task? _settling;
    private int _generation;

    public AmqpConnector(IPluginHost host, AmqpOptions options)
    {
        _host = host;
        _loss = new ConnectionLoss(host);
        _options = options;
    }

    public bool IsTransactional => _options.Source is not null;

    /// <summary>Messages handed to the runtime whose ack waits for the event's (for tests and status).</summary>
    internal int Unacknowledged => _unacked.Count;

    public override async ValueTask<bool> ConnectAsync(int attempt, CancellationToken cancellationToken)
    {
        if (_loss.IsStopped) return false;
        if (_connection is { IsOpen: true } && (_options.Source is null || _sourceChannel is { IsOpen: true }) && (_options.Sink is null || _sinkChannel is { IsOpen: true }))
        {
            return true;
        }
        // A channel the broker closes over a declaration while connecting is this connect's error, not a lost peer.
        _loss.HoldUntilConnected();
        await CloseAsync().ConfigureAwait(false);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
        var factory = new ConnectionFactory
        {
            HostName = _options.Host,
            Port = _options.Port,
            VirtualHost = _options.VirtualHost,
            UserName = _options.Username,
            Password = _options.Password,
            RequestedConnectionTimeout = _options.ConnectTimeout,
            // The runtime reconnects (with the connector's backoff and the circuit breaker open meanwhile).
            AutomaticRecoveryEnabled = false,
            TopologyRecoveryEnabled = false,
            ClientProvidedName = _host.Alias,
        };
        if (_options.Tls) factory.Ssl = new SslOption(_options.Host) { Enabled = true };
        try
        {
            _connection = await factory.CreateConnectionAsync(linked.Token).ConfigureAwait(false);
        }
        catch (BrokerUnreachableException e) when (Find<AuthenticationFailureException>(e) is not null || Find<PossibleAuthenticationFailureException>(e) is not null)
        {
            _host.Log(PluginLogLevel.Error, $"amqp: {_options.Where} refused the credentials of user '{_options.Username}': check username and password");
            return false;
        }
        catch (Exception e) when (e is BrokerUnreachableException or OperationInterruptedException or IOException or System.Net.Sockets.SocketException or TimeoutException or OperationCanceledException)
        {
            if (_stop.IsCancellationRequested || cancellationToken.IsCancellationRequested) throw new OperationCanceledException(cancellationToken);
            var why = Innermost(e);
            var hint = why.Contains("vhost", StringComparison.OrdinalIgnoreCase)
                ? "check the virtual host in the url and the user's permissions on it"
                : "is the broker running and the url right?";
            _host.Log(PluginLogLevel.Warning, $"amqp: connecting to {_options.Where} failed (attempt {attempt}): {why} ({hint})");
            return false;
        }
        var generation = Interlocked.Increment(ref _generation);
        _connection.ConnectionShutdownAsync += (_, e) =>
        {
            if (e.Initiator != ShutdownInitiator.Application) _loss.Report($"amqp: the connection to {_options.Where} was lost: {e.ReplyCode} {e.ReplyText}");
            return Task.CompletedTask;
        };
        try
        {
            if (_options.Source is { } source) await OpenSourceAsync(_connection, source, generation, linked.Token).ConfigureAwait(false);
            if (_options.Sink is { } sink) await OpenSinkAsync(_connection, sink, linked.Token).ConfigureAwait(false);
        }
        catch (OperationInterruptedException e)
        {
            // The broker closed the channel over a declaration (a missing queue, arguments that differ, no access).
            _host.Log(PluginLogLevel.Error, $"amqp: {_options.Where} refused {e.ShutdownReason?.ReplyText ?? e.Message}: {TopologyHint(e.ShutdownReason?.ReplyCode)}");
            await CloseAsync().ConfigureAwait(false);
            return false;
        }
        catch (Exception e) when (e is AlreadyClosedException or IOException or TimeoutException)
        {
            _host.Log(PluginLogLevel.Warning, $"amqp: {_options.Where} went away while the channels were opened (attempt {attempt}): {e.Message}");
            await CloseAsync().ConfigureAwait(false);
            return false;
        }
        _loss.Connected();
        _host.Log(PluginLogLevel.Info, $"amqp: connected to {_options.Where}");
        return true;
    }

    private string TopologyHint(ushort? replyCode) => replyCode switch
    {
        404 => _options.Source is { Declare: false }
            ? "create the queue or the exchange, or set source.declare = true"
            : "create the exchange, or set exchange-type so the connector declares it",
        406 => "the queue or exchange exists with other settings: match durable, exchange-type and dead-letter-exchange to it, or set source.declare = false",
        403 => "the user lacks permissions on the virtual host",
        _ => "check the source and sink settings against the broker",
    };

    private async Task OpenSourceAsync(IConnection connection, AmqpSourceOptions source, int generation, CancellationToken cancellationToken)
    {
        var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        _sourceChannel = channel;
        channel.ChannelShutdownAsync += (_, e) =>
        {
            if (e.Initiator != ShutdownInitiator.Application) _loss.Report($"amqp: the channel consuming '{source.Queue}' on {_options.Where} was closed: {e.ReplyCode} {e.ReplyText}");
            return Task.CompletedTask;
        };
        if (source.Declare)
        {
            Dictionary<string, object?>? arguments = null;
            if (source.DeadLetterExchange is { } deadLetter) arguments = new() { ["x-dead-letter-exchange"] = deadLetter };
            await channel.QueueDeclareAsync(source.Queue, source.Durable, exclusive: false, autoDelete: false, arguments, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (source.Exchange is { } exchange)
            {
                await channel.ExchangeDeclareAsync(exchange, source.ExchangeType, durable: source.Durable, autoDelete: false, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
        }
        else
        {
            await channel.QueueDeclarePassiveAsync(source.Queue, cancellationToken).ConfigureAwait(false);
        }
        if (source.Exchange is { } bindTo)
        {
            foreach (var key in source.BindingKeys)
            {
                await channel.QueueBindAsync(source.Queue, bindTo, key, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
        }
        // prefetch is the credit the broker has: it sends no more until acks come back.
        await channel.BasicQosAsync(0, source.Prefetch, global: false, cancellationToken).ConfigureAwait(false);
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += (_, delivery) => OnDeliveryAsync(source, channel, generation, delivery);
        await channel.BasicConsumeAsync(source.Queue, autoAck: false, consumer, cancellationToken).ConfigureAwait(false);
        _settling ??= Task.Run(SettleLoopAsync);
    }

    private async Task OpenSinkAsync(IConnection connection, AmqpSinkOptions sink, CancellationToken cancellationToken)
    {
        // Confirms tracked by the client: each publish completes when the broker acked it, and throws on a nack or return.
        var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken).ConfigureAwait(false);
        _sinkChannel = channel;
        if (sink.ExchangeType is { } type)
        {
            await channel.ExchangeDeclareAsync(sink.Exchange, type, durable: true, autoDelete: false, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task OnDeliveryAsync(AmqpSourceOptions source, IChannel channel, int generation, BasicDeliverEventArgs delivery)
    {
        // The body is the client's buffer, reused after this handler: keep a copy.
        var received = new Received(delivery.Body.ToArray(), Meta(source, delivery), _host.NowNs(), channel, generation, delivery.DeliveryTag);
        try
        {
            await _inbound.Writer.WriteAsync(received, _stop.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
        {
            // Stopping: not acked, so the broker requeues it when the channel closes.
        }
    }

    private static Value Meta(AmqpSourceOptions source, BasicDeliverEventArgs delivery)
    {
        var inner = new ValueRecord(8);
        inner.Append("queue", source.Queue);
        inner.Append("exchange", delivery.Exchange);
        inner.Append("routing_key", delivery.RoutingKey);
        inner.Append("delivery_tag", (long)delivery.DeliveryTag);
        inner.Append("redelivered", delivery.Redelivered);
        var p = delivery.BasicProperties;
        if (p.IsContentTypePresent()) inner.Append("content_type", p.ContentType);
        if (p.IsContentEncodingPresent()) inner.Append("content_encoding", p.ContentEncoding);
        if (p.IsCorrelationIdPresent()) inner.Append("correlation_id", p.CorrelationId);
        if (p.IsMessageIdPresent()) inner.Append("message_id", p.MessageId);
        if (p.IsReplyToPresent()) inner.Append("reply_to", p.ReplyTo);
        if (p.IsTypePresent()) inner.Append("type", p.Type);
        if (p.IsAppIdPresent()) inner.Append("app_id", p.AppId);
        if (p.IsUserIdPresent()) inner.Append("user_id", p.UserId);
        if (p.IsExpirationPresent()) inner.Append("expiration", p.Expiration);
        if (p.IsPriorityPresent()) inner.Append("priority", (long)p.Priority);
        if (p.IsTimestampPresent()) inner.Append("timestamp", p.Timestamp.UnixTime);
        if (p.IsDeliveryModePresent()) inner.Append("persistent", p.Persistent);
        if (p.IsHeadersPresent() && p.Headers is { Count: > 0 } headers) inner.Append("headers", AmqpValues.FromTable(headers));
        var meta = new ValueRecord(1);
        meta.Append("amqp", Value.From(inner));
        return Value.From(meta);
    }

    public async ValueTask<PullStatus> PullAsync(SourceBatch batch, CancellationToken cancellationToken)
    {
        var reader = _inbound.Reader;
        if (await PullWait.ForInputAsync(reader, cancellationToken).ConfigureAwait(false) is { } waited) return waited;
        var generation = Volatile.Read(ref _generation);
        while (!batch.IsFull && reader.TryRead(out var item))
        {
            // A delivery of a channel that died is requeued by the broker and comes again on the new one.
            if (item.Generation != generation) continue;
            // A copy of the delivery's body that nothing changes again: decoding may keep slices of it.
            var pullId = batch.AddImmutable(item.Payload, 0, item.IngestNs, item.Meta);
            _unacked[pullId] = item;
        }
        return batch.Count > 0 ? PullStatus.Data : PullStatus.Empty;
    }

    public void Ack(ulong streamId, ulong pullId)
    {
        if (_unacked.TryRemove(pullId, out var delivery)) _settlements.Writer.TryWrite(new Settlement(delivery, SettlementKind.Ack, null));
    }

    public void Fail(ulong streamId, ulong pullId)
    {
        if (!_unacked.TryRemove(pullId, out var delivery)) return;
        _host.Log(PluginLogLevel.Warning, $"amqp: message {delivery.DeliveryTag} from queue '{_options.Source!.Queue}' failed downstream; nacked with requeue, the broker redelivers it");
        _settlements.Writer.TryWrite(new Settlement(delivery, SettlementKind.Requeue, null));
    }

    public void Reject(ulong streamId, ulong pullId, string reason)
    {
        if (!_unacked.TryRemove(pullId, out var delivery)) return;
        var source = _options.Source!;
        var kind = source.Undecodable == UndecodableAction.Ack ? SettlementKind.Ack : SettlementKind.Reject;
        var fate = kind == SettlementKind.Ack
            ? "acked (undecodable = ack): it lives on only on the err port"
            : source.DeadLetterExchange is { } deadLetter
                ? $"rejected without requeue: dead-lettered to '{deadLetter}'"
                : "rejected without requeue: dead-lettered when the queue has a dead-letter exchange, else dropped by the broker";
        _host.Log(PluginLogLevel.Warning, $"amqp: message {delivery.DeliveryTag} from queue '{source.Queue}' could not be decoded ({reason}); {fate}");
        _settlements.Writer.TryWrite(new Settlement(delivery, kind, reason));
    }

    private async Task SettleLoopAsync()
    {
        var reader = _settlements.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_stop.Token).ConfigureAwait(false))
            {
                while (reader.TryRead(out var s))
                {
                    await SettleAsync(s).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task SettleAsync(Settlement s)
    {
        var d = s.Delivery;
        if (d.Generation != Volatile.Read(ref _generation) || !d.Channel.IsOpen)
        {
            // Its channel is gone: the broker requeued the message and delivers it again (a duplicate, not a loss).
            _host.Log(PluginLogLevel.Debug, $"amqp: {s.Kind} of message {d.DeliveryTag} not sent: its channel closed; the broker redelivers it");
            return;
        }
        try
        {
            switch (s.Kind)
            {
                case SettlementKind.Ack:
                    await d.Channel.BasicAckAsync(d.DeliveryTag, multiple: false, _stop.Token).ConfigureAwait(false);
                    break;
                case SettlementKind.Requeue:
                    await d.Channel.BasicNackAsync(d.DeliveryTag, multiple: false, requeue: true, _stop.Token).ConfigureAwait(false);
                    break;
                default:
                    await d.Channel.BasicRejectAsync(d.DeliveryTag, requeue: false, _stop.Token).ConfigureAwait(false);
                    break;
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _host.Log(PluginLogLevel.Debug, $"amqp: {s.Kind} of message {d.DeliveryTag} not sent ({e.Message}); the broker redelivers it");
        }
    }

    public async ValueTask<SinkReply> OnBatchAsync(SinkBatch batch, CancellationToken cancellationToken)
    {
        if (_options.Sink is not { } sink) return SinkReply.Failed("amqp: this connector has no sink { ... } section: set config.sink to publish");
        if (_sinkChannel is not { IsOpen: true } channel)
        {
            var reason = $"amqp: not connected to {_options.Where}";
            _loss.Report(reason);
            return SinkReply.Failed(reason);
        }
        var events = batch.Events;
        var publishes = new ValueTask[events.Count];
        var targets = new (string Exchange, string RoutingKey)[events.Count];
        List<(EventId Id, string Reason)>? failed = null;
        for (var i = 0; i < events.Count; i++)
        {
            var meta = events[i].Event.Meta["amqp"];
            var properties = Properties(sink, meta, out var error);
            targets[i] = (meta["exchange"].AsString() ?? sink.Exchange, meta["routing_key"].AsString() ?? sink.RoutingKey);
            if (properties is null)
            {
                (failed ??= []).Add((events[i].Id, error!));
                publishes[i] = ValueTask.CompletedTask;
                continue;
            }
            // Every publish of the batch in flight at once; each completes when the broker confirmed it.
            publishes[i] = channel.BasicPublishAsync(targets[i].Exchange, targets[i].RoutingKey, sink.Mandatory, properties, events[i].Payload, cancellationToken);
        }
        var lost = false;
        for (var i = 0; i < events.Count; i++)
        {
            try
            {
                await publishes[i].ConfigureAwait(false);
            }
            catch (PublishException e)
            {
                var (exchange, routingKey) = targets[i];
                var where = $"exchange '{exchange}' with routing key '{routingKey}'";
                (failed ??= []).Add((events[i].Id, e.IsReturn
                    ? $"amqp: no queue is bound to {where} on {_options.Where}: the broker returned the mandatory message (bind a queue, or set sink.mandatory = false to let it drop)"
                    : $"amqp: {_options.Where} nacked the message to {where}"));
            }
            catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 404)
            {
                (failed ??= []).Add((events[i].Id, $"amqp: {_options.Where} has no exchange '{targets[i].Exchange}': declare it, or set sink.exchange-type so the connector does"));
                lost = true;
            }
            catch (Exception e) when (e is AlreadyClosedException or OperationInterruptedException or IOException or OperationCanceledException or TimeoutException)
            {
                lost = true;
                (failed ??= []).Add((events[i].Id, $"amqp: publishing to {_options.Where} failed: {e.Message}"));
            }
        }
        // A channel the broker closed (an unknown exchange closes it too) is opened again by the reconnect.
        if (lost || !channel.IsOpen) _loss.Report($"amqp: the channel publishing to {_options.Where} closed: {channel.CloseReason?.ReplyText ?? "connection lost"}");
        return SinkReply.Settle(_host, batch, failed);
    }

    private static BasicProperties? Properties(AmqpSinkOptions sink, Value meta, out string? error)
    {
        error = null;
        var properties = new BasicProperties { Persistent = meta["persistent"].TryGetBool(out var persistent) ? persistent : sink.Persistent };
        if (meta["content_type"].AsString() is { } contentType) properties.ContentType = contentType;
        if (meta["content_encoding"].AsString() is { } contentEncoding) properties.ContentEncoding = contentEncoding;
        if (meta["correlation_id"].AsString() is { } correlationId) properties.CorrelationId = correlationId;
        if (meta["message_id"].AsString() is { } messageId) properties.MessageId = messageId;
        if (meta["reply_to"].AsString() is { } replyTo) properties.ReplyTo = replyTo;
        if (meta["type"].AsString() is { } type) properties.Type = type;
        if (meta["app_id"].AsString() is { } appId) properties.AppId = appId;
        if (meta["expiration"].AsString() is { } expiration) properties.Expiration = expiration;
        if (meta["timestamp"].TryGetI64(out var timestamp)) properties.Timestamp = new AmqpTimestamp(timestamp);
        if (!meta["priority"].IsNull)
        {
            if (!meta["priority"].TryGetI64(out var priority) || priority is < 0 or > 255)
            {
                error = $"amqp: $amqp.priority must be an integer from 0 to 255, found {meta["priority"]}";
                return null;
            }
            properties.Priority = (byte)priority;
        }
        if (meta["headers"].AsRecord() is { } headers) properties.Headers = AmqpValues.ToTable(headers);
        return properties;
    }

    public ValueTask OnEndAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public override async ValueTask OnStopAsync(CancellationToken cancellationToken) => await ShutdownAsync().ConfigureAwait(false);

    private async Task ShutdownAsync()
    {
        if (!_loss.Stop()) return;
        // Acks already decided go out before the channel closes; the rest is requeued by the broker.
        _settlements.Writer.TryComplete();
        if (_settling is { } settling)
        {
            await settling.WaitAsync(_options.ConnectTimeout).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        await _stop.CancelAsync().ConfigureAwait(false);
        _inbound.Writer.TryComplete();
        await CloseAsync().ConfigureAwait(false);
    }

    private async Task CloseAsync()
    {
        var connection = _connection;
        _connection = null;
        _sourceChannel = null;
        _sinkChannel = null;
        if (connection is null) return;
        try
        {
            using var timeout = new CancellationTokenSource(_options.ConnectTimeout);
            if (connection.IsOpen) await connection.CloseAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _host.Log(PluginLogLevel.Debug, $"amqp: closing the connection to {_options.Where}: {e.Message}");
        }
        await connection.DisposeAsync().ConfigureAwait(false);
    }

    public override async ValueTask DisposeAsync()
    {
        await ShutdownAsync().ConfigureAwait(false);
        _stop.Dispose();
        await base.DisposeAsync().ConfigureAwait(false);
    }

    private static T? Find<T>(Exception? e)
        where T : Exception
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is T found) return found;
        }
        return null;
    }

    private static string Innermost(Exception e)
    {
        while (e.InnerException is { } inner) e = inner;
        return e.Message;
    }

    /// <summary>One delivery: its bytes, meta, ingest time, and the channel and tag that ack it.</summary>
    private sealed record Received(byte[] Payload, Value Meta, ulong IngestNs, IChannel Channel, int Generation, ulong DeliveryTag);

    private enum SettlementKind
    {
        Ack,
        Requeue,
        Reject,
    }

    /// <summary>What becomes of one delivery.</summary>
    private sealed record Settlement(Received Delivery, SettlementKind Kind, string? Reason);
}
