using Tremor.Pdk;

namespace Tremor.Connectors.Testing;

/// <summary>
/// An <see cref="IPluginHost"/> that records what a connector asks of the runtime (logs, shutdowns, acks, fails,
/// ConnectionLost), with a clock tests can drive. The recorded lists are snapshots, safe to poll while the connector runs.
/// </summary>
internal sealed class TestHost : IPluginHost
{
    private readonly Lock _lock = new();
    private readonly List<(PluginLogLevel Level, string Message)> _logs = [];
    private readonly List<(int Code, string Reason)> _shutdowns = [];
    private readonly List<EventId> _acked = [];
    private readonly List<(EventId Id, string Reason)> _failed = [];
    private readonly List<string> _connectionsLost = [];
    private ulong _clockNs;
    private int _roomSignals;

    public string Alias { get; init; } = "test::connector";

    /// <summary>What <see cref="StateDirectory"/> answers; null: a host that keeps no state (PDK 1.1).</summary>
    public string? StateDir { get; init; }

    public string StateDirectory => StateDir ?? throw new NotSupportedException($"{Alias}: this host keeps no state directory");

    public StringWriter OutText { get; } = new();

    public StringWriter ErrorText { get; } = new();

    public TextWriter Out => OutText;

    public TextWriter Error => ErrorText;

    /// <summary>When set, <see cref="NowNs"/> reads this clock instead of the wall clock.</summary>
    public bool ManualClock { get; init; }

    /// <summary>With the manual clock: how far each <see cref="NowNs"/> call moves it.</summary>
    public ulong TickNs { get; init; }

    public List<(PluginLogLevel Level, string Message)> Logs
    {
        get { lock (_lock) return [.. _logs]; }
    }

    public List<(int Code, string Reason)> Shutdowns
    {
        get { lock (_lock) return [.. _shutdowns]; }
    }

    public List<EventId> Acked
    {
        get { lock (_lock) return [.. _acked]; }
    }

    public List<(EventId Id, string Reason)> Failed
    {
        get { lock (_lock) return [.. _failed]; }
    }

    public List<string> ConnectionsLost
    {
        get { lock (_lock) return [.. _connectionsLost]; }
    }

    /// <summary>How often the connector said its sink has room again (<see cref="IPluginHost.SinkHasRoom"/>).</summary>
    public int RoomSignals => Volatile.Read(ref _roomSignals);

    /// <summary>Completes the first time the connector reports a lost connection.</summary>
    public TaskCompletionSource<string> FirstConnectionLost { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ulong ClockNs
    {
        get { lock (_lock) return _clockNs; }
        set { lock (_lock) _clockNs = value; }
    }

    public void Advance(TimeSpan by) => ClockNs += (ulong)(by.Ticks * 100);

    public bool Logged(string fragment) => Logs.Exists(l => l.Message.Contains(fragment, StringComparison.Ordinal));

    public ulong NowNs()
    {
        if (!ManualClock) return (ulong)(DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;
        lock (_lock)
        {
            var now = _clockNs;
            _clockNs += TickNs;
            return now;
        }
    }

    public void Log(PluginLogLevel level, string message)
    {
        lock (_lock) _logs.Add((level, message));
    }

    public void RequestShutdown(int exitCode, string reason)
    {
        lock (_lock) _shutdowns.Add((exitCode, reason));
    }

    public void Ack(IReadOnlyList<EventId> ids)
    {
        lock (_lock) _acked.AddRange(ids);
    }

    public void Fail(IReadOnlyList<EventId> ids, string reason)
    {
        lock (_lock)
        {
            foreach (var id in ids) _failed.Add((id, reason));
        }
    }

    public void ConnectionLost(string reason)
    {
        lock (_lock) _connectionsLost.Add(reason);
        FirstConnectionLost.TrySetResult(reason);
    }

    public void SinkHasRoom() => Interlocked.Increment(ref _roomSignals);
}
