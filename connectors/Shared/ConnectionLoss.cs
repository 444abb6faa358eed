using Tremor.Pdk;

namespace Tremor.Connectors;

/// <summary>
/// How a broker connector tells the runtime it lost its peer: once per outage (the client's disconnect event, a failed
/// read and a failed write all see the same loss, and each <see cref="IPluginHost.ConnectionLost"/> would restart the
/// reconnect backoff), again only after a connect succeeded, and never once the connector stopped (closing the
/// connection at stop raises the same events). Shared by the amqp, mqtt, nats, postgres and redis plugins as a linked
/// source file (plugins reference nothing but the Pdk).
/// </summary>
internal sealed class ConnectionLoss(IPluginHost host)
{
    private int _reported;
    private int _stopped;

    /// <summary>Whether the connector stopped: it connects no more and reports nothing.</summary>
    public bool IsStopped => Volatile.Read(ref _stopped) == 1;

    /// <summary>Whether a loss was reported (or held back) since the last <see cref="Connected"/>.</summary>
    public bool IsReported => Volatile.Read(ref _reported) == 1;

    /// <summary>Logs <paramref name="reason"/> as a warning and tells the runtime, the first time since the last connect.</summary>
    public void Report(string reason)
    {
        if (IsStopped || Interlocked.Exchange(ref _reported, 1) != 0) return;
        host.Log(PluginLogLevel.Warning, reason);
        host.ConnectionLost(reason);
    }

    /// <summary>Reports nothing until the next <see cref="Connected"/>: what fails while connecting is the connect's error.</summary>
    public void HoldUntilConnected() => Volatile.Write(ref _reported, 1);

    /// <summary>A connect succeeded: the next loss is a new outage.</summary>
    public void Connected() => Volatile.Write(ref _reported, 0);

    /// <summary>The connector stops; true only for the first call, so a shutdown runs once.</summary>
    public bool Stop() => Interlocked.Exchange(ref _stopped, 1) == 0;
}
