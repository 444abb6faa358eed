namespace Tremor.Pdk;

/// <summary>Severity of a log line written through <see cref="IPluginHost.Log"/>.</summary>
public enum PluginLogLevel
{
    /// <summary>Detail for debugging.</summary>
    Debug,
    /// <summary>Normal operation.</summary>
    Info,
    /// <summary>Something unexpected that was handled.</summary>
    Warning,
    /// <summary>Something failed.</summary>
    Error,
}

/// <summary>The services the runtime offers a plugin instance. Safe to call from any thread.</summary>
public interface IPluginHost
{
    /// <summary>The instance's name in its flow, e.g. <c>hello::metronome</c>.</summary>
    string Alias { get; }

    /// <summary>Writes a log line attributed to this instance.</summary>
    void Log(PluginLogLevel level, string message);

    /// <summary>Wall-clock now in nanoseconds since the Unix epoch (what ingest times are measured in).</summary>
    ulong NowNs();

    /// <summary>Where a connector prints what a user asked to see (stdout of the runtime, unless redirected).</summary>
    TextWriter Out { get; }

    /// <summary>Where a connector prints to the runtime's stderr.</summary>
    TextWriter Error { get; }

    /// <summary>Asks the runtime to drain every flow and stop with the exit code (used by <c>exit</c> and <c>bench</c>).</summary>
    void RequestShutdown(int exitCode, string reason);

    /// <summary>
    /// Acknowledges events an asynchronous sink delivered; see <see cref="SinkReply.Pending"/>.
    /// </summary>
    void Ack(IReadOnlyList<EventId> ids);

    /// <summary>Fails events an asynchronous sink could not deliver.</summary>
    void Fail(IReadOnlyList<EventId> ids, string reason);

    /// <summary>
    /// The connector lost its peer (a client whose server went away, a socket that closed). The runtime opens the
    /// circuit breaker upstream, so sources stop pulling instead of buffering, keeps the batch in flight, calls
    /// <see cref="IConnector.ConnectAsync"/> again with the connector's reconnect strategy (backoff with jitter) and
    /// closes the breaker once it connected. Safe to call from any thread, also during a sink call (return
    /// <see cref="SinkReply.Failed"/> from that call: the runtime retries the batch after the reconnect).
    /// Added in PDK 1.1; hosts that do not reconnect ignore it.
    /// </summary>
    void ConnectionLost(string reason)
    {
    }

    /// <summary>
    /// The sink has room again after it answered a batch with <see cref="SinkReply.Full"/>: the runtime offers it the
    /// batch it kept at once instead of waiting for its backoff. Safe to call from any thread, also when the runtime
    /// holds no batch (then nothing happens). Added in PDK 1.3; hosts that do not know <see cref="SinkStatus.Full"/>
    /// ignore it.
    /// </summary>
    void SinkHasRoom()
    {
    }

    /// <summary>
    /// A directory that belongs to this connector instance alone and survives restarts of the runtime (write-ahead
    /// logs, key-value data, read checkpoints): <c>DATA-DIR/flows/FLOW/CONNECTOR</c>, where DATA-DIR is
    /// <c>tremor.data-dir</c>. Created on first use. The runtime holds an exclusive lock on the data directory for
    /// as long as it runs, so a second runtime on the same directory is refused instead of corrupting it; that
    /// refusal, like a directory that cannot be created, is an <see cref="InvalidOperationException"/> whose message
    /// says which directory and what to do. Ask for it in <see cref="IConnector.ConnectAsync"/> or later, not in the
    /// factory. Added in PDK 1.2; hosts that keep no state throw <see cref="NotSupportedException"/>.
    /// </summary>
    string StateDirectory => throw new NotSupportedException($"{Alias}: this host keeps no state directory (PDK 1.2 runtimes do)");
}
