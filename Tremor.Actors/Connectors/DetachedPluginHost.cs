using Tremor.Pdk;

namespace Tremor.Actors.Connectors;

/// <summary>
/// A plugin host for instances that are not part of a running flow (config checks at deploy, <c>plugins verify</c>):
/// output is discarded, shutdown requests and acks go nowhere, error-level log lines are kept for the caller.
/// </summary>
public sealed class DetachedPluginHost(string alias) : IPluginHost
{
    private readonly List<string> _errors = [];

    /// <summary>Error-level lines the plugin logged.</summary>
    public IReadOnlyList<string> Errors
    {
        get
        {
            lock (_errors) return _errors.ToList();
        }
    }

    /// <inheritdoc />
    public string Alias => alias;

    /// <inheritdoc />
    public TextWriter Out => TextWriter.Null;

    /// <inheritdoc />
    public TextWriter Error => TextWriter.Null;

    /// <inheritdoc />
    public void Log(PluginLogLevel level, string message)
    {
        if (level != PluginLogLevel.Error) return;
        lock (_errors) _errors.Add(message);
    }

    /// <inheritdoc />
    public ulong NowNs() => RuntimeServices.NowNs();

    /// <inheritdoc />
    public void RequestShutdown(int exitCode, string reason)
    {
    }

    /// <inheritdoc />
    public void Ack(IReadOnlyList<EventId> ids)
    {
    }

    /// <inheritdoc />
    public void Fail(IReadOnlyList<EventId> ids, string reason)
    {
    }
}
