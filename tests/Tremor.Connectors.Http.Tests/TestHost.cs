using Tremor.Pdk;

namespace Tremor.Connectors.Http.Tests;

/// <summary>An <see cref="IPluginHost"/> that records what a connector asks of the runtime, with a clock tests can drive.</summary>
internal sealed class TestHost : IPluginHost
{
    private readonly Lock _lock = new();
    private ulong _clockNs;

    public string Alias { get; init; } = "test::connector";

    public StringWriter OutText { get; } = new();

    public StringWriter ErrorText { get; } = new();

    public TextWriter Out => OutText;

    public TextWriter Error => ErrorText;

    /// <summary>When set, <see cref="NowNs"/> reads this clock instead of the wall clock.</summary>
    public bool ManualClock { get; init; }

    /// <summary>With the manual clock: how far each <see cref="NowNs"/> call moves it.</summary>
    public ulong TickNs { get; init; }

    public List<(PluginLogLevel Level, string Message)> Logs { get; } = [];

    public List<(int Code, string Reason)> Shutdowns { get; } = [];

    public List<EventId> Acked { get; } = [];

    public List<(EventId Id, string Reason)> Failed { get; } = [];

    public List<string> ConnectionsLost { get; } = [];

    /// <summary>Completes the first time the connector reports a lost connection.</summary>
    public TaskCompletionSource<string> FirstConnectionLost { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ulong ClockNs
    {
        get { lock (_lock) return _clockNs; }
        set { lock (_lock) _clockNs = value; }
    }

    public void Advance(TimeSpan by) => ClockNs += (ulong)(by.Ticks * 100);

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
        lock (_lock) Logs.Add((level, message));
    }

    public void RequestShutdown(int exitCode, string reason)
    {
        lock (_lock) Shutdowns.Add((exitCode, reason));
    }

    public void Ack(IReadOnlyList<EventId> ids)
    {
        lock (_lock) Acked.AddRange(ids);
    }

    public void Fail(IReadOnlyList<EventId> ids, string reason)
    {
        lock (_lock)
        {
            foreach (var id in ids) Failed.Add((id, reason));
        }
    }

    public void ConnectionLost(string reason)
    {
        lock (_lock) ConnectionsLost.Add(reason);
        FirstConnectionLost.TrySetResult(reason);
    }
}
