using Tremor.Pdk;

namespace Tremor.Connectors.Net.Tests;

/// <summary>An <see cref="IPluginHost"/> that records what a connector asks of the runtime, ConnectionLost included.</summary>
internal sealed class TestHost : IPluginHost
{
    private readonly Lock _lock = new();
    private readonly List<(PluginLogLevel Level, string Message)> _logs = [];
    private readonly List<string> _connectionLost = [];
    private readonly List<EventId> _acked = [];
    private readonly List<(EventId Id, string Reason)> _failed = [];

    public string Alias { get; init; } = "test::net";

    public TextWriter Out { get; } = new StringWriter();

    public TextWriter Error { get; } = new StringWriter();

    public List<(PluginLogLevel Level, string Message)> Logs
    {
        get { lock (_lock) return [.. _logs]; }
    }

    public List<string> ConnectionLosts
    {
        get { lock (_lock) return [.. _connectionLost]; }
    }

    public List<EventId> Acked
    {
        get { lock (_lock) return [.. _acked]; }
    }

    public List<(EventId Id, string Reason)> Failed
    {
        get { lock (_lock) return [.. _failed]; }
    }

    public bool Logged(string fragment) => Logs.Exists(l => l.Message.Contains(fragment, StringComparison.Ordinal));

    public ulong NowNs() => (ulong)(DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;

    public void Log(PluginLogLevel level, string message)
    {
        lock (_lock) _logs.Add((level, message));
    }

    public void RequestShutdown(int exitCode, string reason)
    {
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
        lock (_lock) _connectionLost.Add(reason);
    }
}
