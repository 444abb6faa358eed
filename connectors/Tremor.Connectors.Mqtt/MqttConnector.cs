using System.Buffers;
using System.Collections.Concurrent;
using System.Threading.Channels;
using System.Text;
using MQTTnet;
using MQTTnet.Adapter;
using MQTTnet.Exceptions;
using MQTTnet.Protocol;
using Tremor.Pdk;

namespace Tremor.Connectors.Mqtt;

/// <summary>
/// <c>mqtt</c>: one MQTT 5 client. The source subscribes to <c>topics</c> and yields one chunk per message; with QoS 1
/// it sends the PUBACK only when the runtime acks the event (every sink took it), and a failed event makes the client
/// resume its persistent session so the broker redelivers what was not acknowledged. The sink publishes each event
/// and acks the batch only once the broker confirmed every QoS 1 publish. A lost broker is reported through
/// <see cref="IPluginHost.ConnectionLost"/>; the runtime reconnects with the connector's <c>reconnect</c> backoff.
/// </summary>
internal sealed class MqttConnector : ConnectorBase, ISource, ISink
{
    /// <summary>Messages taken from the broker but not pulled yet: when full, the client's receive loop waits.</summary>
    internal const int QueueCapacity = 1024;

    private readonly IPluginHost _host;
    private readonly MqttOptions _options;
    private readonly ConnectionLoss _loss;
    private readonly IMqttClient _client;
    private readonly Channel<Received> _inbound = Channel.CreateBounded<Received>(new BoundedChannelOptions(QueueCapacity)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });
    private readonly ConcurrentDictionary<ulong, MqttApplicationMessageReceivedEventArgs> _unacked = new();
    private readonly CancellationTokenSource _stop = new();
    private int _redeliver;
    private volatile bool _resuming;

    public MqttConnector(IPluginHost host, MqttOptions options)
    {
        _host = host;
        _loss = new ConnectionLoss(host);
        _options = options;
        _client = new MqttClientFactory().CreateMqttClient();
        _client.ApplicationMessageReceivedAsync += OnMessageAsync;
        _client.DisconnectedAsync += OnDisconnectedAsync;
    }

    public bool IsTransactional => _options.Qos == MqttQualityOfServiceLevel.AtLeastOnce;

    /// <summary>Messages handed to the runtime whose PUBACK waits for the event's ack (for tests and status).</summary>
    internal int Unacknowledged => _unacked.Count;

    public override async ValueTask<bool> ConnectAsync(int attempt, CancellationToken cancellationToken)
    {
        if (_loss.IsStopped) return false;
        if (_client.IsConnected) return true;
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
        try
        {
            await ConnectAndSubscribeAsync(linked.Token).ConfigureAwait(false);
            return true;
        }
        catch (BrokerRefusedException e)
        {
            _host.Log(PluginLogLevel.Error, e.Message);
            return false;
        }
        catch (MqttConnectingFailedException e)
        {
            _host.Log(PluginLogLevel.Error, $"mqtt: {_options.Where} refused the connection: {e.Message} (check username, password and client-id)");
            return false;
        }
        catch (Exception e) when (e is MqttCommunicationException or OperationCanceledException or IOException or System.Net.Sockets.SocketException)
        {
            if (_stop.IsCancellationRequested || cancellationToken.IsCancellationRequested) throw new OperationCanceledException(cancellationToken);
            _host.Log(PluginLogLevel.Warning, $"mqtt: connecting to {_options.Where} failed (attempt {attempt}): {e.Message} (is the broker running and the url right?)");
            return false;
        }
    }

    private async Task ConnectAndSubscribeAsync(CancellationToken cancellationToken)
    {
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(_options.Host, _options.Port)
            .WithClientId(_options.ClientId)
            .WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500)
            // A persistent session: the broker keeps what was not acknowledged and redelivers it when we come back.
            .WithCleanStart(false)
            .WithSessionExpiryInterval(_options.SessionExpirySeconds)
            .WithKeepAlivePeriod(_options.KeepAlive)
            .WithTimeout(_options.ConnectTimeout);
        if (_options.Username is not null) builder = builder.WithCredentials(_options.Username, _options.Password);
        if (_options.Tls) builder = builder.WithTlsOptions(o => o.UseTls());
        var connected = await _client.ConnectAsync(builder.Build(), cancellationToken).ConfigureAwait(false);
        if (connected.ResultCode != MqttClientConnectResultCode.Success)
        {
            var hint = connected.ResultCode is MqttClientConnectResultCode.BadUserNameOrPassword or MqttClientConnectResultCode.NotAuthorized
                ? "check username and password"
                : "check the broker's configuration and client-id";
            throw new BrokerRefusedException($"mqtt: {_options.Where} refused the connection ({connected.ResultCode}{(connected.ReasonString is { Length: > 0 } r ? $": {r}" : "")}): {hint}");
        }
        _loss.Connected();

        if (_options.Topics.Count > 0)
        {
            var subscribe = new MqttClientSubscribeOptionsBuilder();
            foreach (var topic in _options.Topics)
            {
                subscribe = subscribe.WithTopicFilter(f => f
                    .WithTopic(topic)
                    .WithQualityOfServiceLevel(_options.Qos)
                    .WithRetainHandling(MqttRetainHandling.SendAtSubscribeIfNewSubscriptionOnly));
            }
            var result = await _client.SubscribeAsync(subscribe.Build(), cancellationToken).ConfigureAwait(false);
            var refused = result.Items.Where(i => i.ResultCode > MqttClientSubscribeResultCode.GrantedQoS2).ToList();
            if (refused.Count > 0)
            {
                var what = string.Join(", ", refused.Select(i => $"'{i.TopicFilter.Topic}' ({i.ResultCode})"));
                _host.Log(PluginLogLevel.Error, $"mqtt: {_options.Where} refused the subscription to {what}: check the topic filters and the broker's ACLs");
            }
        }
        _host.Log(PluginLogLevel.Info, $"mqtt: connected to {_options.Where} as '{_options.ClientId}'");
    }

    private async Task OnMessageAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        var message = e.ApplicationMessage;
        var qos1 = message.QualityOfServiceLevel != MqttQualityOfServiceLevel.AtMostOnce;
        // The PUBACK waits for the runtime's ack; QoS 0 has none to send.
        e.AutoAcknowledge = !qos1;
        var received = new Received(message.Payload.ToArray(), Meta(message), _host.NowNs(), qos1 ? e : null);
        try
        {
            // Waits while the runtime does not pull: the broker stops sending once its in-flight window is full.
            await _inbound.Writer.WriteAsync(received, _stop.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ChannelClosedException)
        {
            // Stopping: not acknowledged, so the broker redelivers it to the next session.
        }
    }

    private static Value Meta(MqttApplicationMessage message)
    {
        var inner = new ValueRecord(6);
        inner.Append("topic", message.Topic);
        inner.Append("qos", (long)message.QualityOfServiceLevel);
        inner.Append("retain", message.Retain);
        inner.Append("dup", message.Dup);
        if (message.ContentType is { } contentType) inner.Append("content_type", contentType);
        if (message.UserProperties is { Count: > 0 } properties)
        {
            var record = new ValueRecord(properties.Count);
            foreach (var p in properties) record.Set(p.Name, Encoding.UTF8.GetString(p.ValueBuffer.Span));
            inner.Append("properties", Value.From(record));
        }
        var meta = new ValueRecord(1);
        meta.Append("mqtt", Value.From(inner));
        return Value.From(meta);
    }

    private Task OnDisconnectedAsync(MqttClientDisconnectedEventArgs e)
    {
        if (_loss.IsStopped || _resuming || !e.ClientWasConnected) return Task.CompletedTask;
        _loss.Report($"mqtt: the connection to {_options.Where} was lost: {e.Reason}{(e.Exception is null ? "" : $" ({e.Exception.Message})")}");
        return Task.CompletedTask;
    }

    public async ValueTask<PullStatus> PullAsync(SourceBatch batch, CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _redeliver, 0) == 1) await ResumeSessionAsync(cancellationToken).ConfigureAwait(false);
        var reader = _inbound.Reader;
        if (await PullWait.ForInputAsync(reader, cancellationToken).ConfigureAwait(false) is { } waited) return waited;
        while (!batch.IsFull && reader.TryRead(out var item))
        {
            // A copy of the message's payload that nothing changes again: decoding may keep slices of it.
            var pullId = batch.AddImmutable(item.Payload, 0, item.IngestNs, item.Meta);
            if (item.Delivery is { } delivery) _unacked[pullId] = delivery;
        }
        return batch.Count > 0 ? PullStatus.Data : PullStatus.Empty;
    }

    /// <summary>
    /// MQTT redelivers only when a session resumes: disconnect (the session stays on the broker) and connect again, so
    /// the broker resends every QoS 1 message not acknowledged yet, the failed one included (with dup set).
    /// </summary>
    private async Task ResumeSessionAsync(CancellationToken cancellationToken)
    {
        if (!_client.IsConnected) return;
        _host.Log(PluginLogLevel.Info, $"mqtt: resuming the session with {_options.Where} so the broker redelivers the failed messages");
        _resuming = true;
        try
        {
            await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().WithReason(MqttClientDisconnectOptionsReason.NormalDisconnection).Build(), cancellationToken).ConfigureAwait(false);
            await ConnectAndSubscribeAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is MqttCommunicationException or BrokerRefusedException or IOException or System.Net.Sockets.SocketException)
        {
            _loss.Report($"mqtt: reconnecting to {_options.Where} for redelivery failed: {e.Message}");
        }
        finally
        {
            _resuming = false;
        }
    }

    public void Ack(ulong streamId, ulong pullId)
    {
        if (_unacked.TryRemove(pullId, out var delivery)) _ = AcknowledgeAsync(delivery);
    }

    private async Task AcknowledgeAsync(MqttApplicationMessageReceivedEventArgs delivery)
    {
        try
        {
            await delivery.AcknowledgeAsync(_stop.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The connection went away before the PUBACK: the broker redelivers the message (a duplicate, not a loss).
            _host.Log(PluginLogLevel.Debug, $"mqtt: PUBACK for '{delivery.ApplicationMessage.Topic}' not sent ({e.Message}); the broker will redeliver it");
        }
    }

    public void Fail(ulong streamId, ulong pullId)
    {
        if (!_unacked.TryRemove(pullId, out var delivery)) return;
        _host.Log(PluginLogLevel.Warning, $"mqtt: an event from '{delivery.ApplicationMessage.Topic}' failed downstream; it is not acknowledged and will be redelivered");
        Volatile.Write(ref _redeliver, 1);
    }

    public async ValueTask<SinkReply> OnBatchAsync(SinkBatch batch, CancellationToken cancellationToken)
    {
        if (!_client.IsConnected)
        {
            var reason = $"mqtt: not connected to {_options.Where}";
            _loss.Report(reason);
            return SinkReply.Failed(reason);
        }
        var events = batch.Events;
        var publishes = new Task<MqttClientPublishResult>?[events.Count];
        List<(EventId Id, string Reason)>? failed = null;
        for (var i = 0; i < events.Count; i++)
        {
            var message = Message(events[i], out var error);
            if (message is null)
            {
                (failed ??= []).Add((events[i].Id, error!));
                continue;
            }
            // All publishes of the batch in flight at once; the batch is acked when the broker confirmed each one.
            publishes[i] = _client.PublishAsync(message, cancellationToken);
        }
        var lost = false;
        for (var i = 0; i < events.Count; i++)
        {
            if (publishes[i] is not { } publish) continue;
            try
            {
                var result = await publish.ConfigureAwait(false);
                if (result.ReasonCode is not (MqttClientPublishReasonCode.Success or MqttClientPublishReasonCode.NoMatchingSubscribers))
                {
                    (failed ??= []).Add((events[i].Id, $"mqtt: {_options.Where} refused the publish to '{TopicOf(events[i])}': {result.ReasonCode} {result.ReasonString}"));
                }
            }
            catch (Exception e) when (e is MqttCommunicationException or MqttClientNotConnectedException or OperationCanceledException or IOException)
            {
                lost = !_client.IsConnected || lost;
                (failed ??= []).Add((events[i].Id, $"mqtt: publishing to {_options.Where} failed: {e.Message}"));
            }
        }
        if (lost) _loss.Report($"mqtt: the connection to {_options.Where} was lost while publishing");
        return SinkReply.Settle(_host, batch, failed);
    }

    private string? TopicOf(SinkEvent e) => e.Event.Meta["mqtt"]["topic"].AsString() ?? _options.Topic;

    private MqttApplicationMessage? Message(SinkEvent e, out string? error)
    {
        error = null;
        var meta = e.Event.Meta["mqtt"];
        var topic = TopicOf(e);
        if (string.IsNullOrEmpty(topic))
        {
            error = "mqtt: no topic to publish to: set the connector's config.topic or the event's $mqtt.topic";
            return null;
        }
        var qos = _options.Qos;
        if (meta["qos"].TryGetI64(out var q))
        {
            if (q is not (0 or 1))
            {
                error = $"mqtt: $mqtt.qos must be 0 or 1, found {q}";
                return null;
            }
            qos = (MqttQualityOfServiceLevel)q;
        }
        var retain = meta["retain"].TryGetBool(out var r) ? r : _options.Retain;
        var builder = new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(new ReadOnlySequence<byte>(e.Payload))
            .WithQualityOfServiceLevel(qos)
            .WithRetainFlag(retain);
        if (meta["content_type"].AsString() is { } contentType) builder = builder.WithContentType(contentType);
        if (meta["properties"].AsRecord() is { } properties)
        {
            foreach (var (name, value) in properties)
            {
                builder = builder.WithUserProperty(name, Encoding.UTF8.GetBytes(value.AsString() ?? value.ToString()).AsMemory());
            }
        }
        return builder.Build();
    }

    public ValueTask OnEndAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public override async ValueTask OnStopAsync(CancellationToken cancellationToken) => await ShutdownAsync().ConfigureAwait(false);

    private async Task ShutdownAsync()
    {
        if (!_loss.Stop()) return;
        await _stop.CancelAsync().ConfigureAwait(false);
        _inbound.Writer.TryComplete();
        if (_client.IsConnected)
        {
            try
            {
                // A normal disconnect keeps the session: what was not acknowledged is redelivered to the next run.
                using var timeout = new CancellationTokenSource(_options.ConnectTimeout);
                await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build(), timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                _host.Log(PluginLogLevel.Debug, $"mqtt: disconnecting from {_options.Where}: {e.Message}");
            }
        }
    }

    public override async ValueTask DisposeAsync()
    {
        await ShutdownAsync().ConfigureAwait(false);
        _client.Dispose();
        _stop.Dispose();
        await base.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>One message taken from the broker: its bytes, meta, ingest time and, for QoS 1, what sends its PUBACK.</summary>
    private sealed record Received(byte[] Payload, Value Meta, ulong IngestNs, MqttApplicationMessageReceivedEventArgs? Delivery);

    /// <summary>The broker answered the CONNECT with a refusal (credentials, client id): retrying alone will not help.</summary>
    private sealed class BrokerRefusedException(string message) : Exception(message);
}
