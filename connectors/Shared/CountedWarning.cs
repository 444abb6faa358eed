using Tremor.Pdk;

namespace Tremor.Connectors;

/// <summary>
/// A warning that can repeat very often (a connection flood, a UDP overflow): counted always, logged at once the first
/// time and then at most once per <see cref="Interval"/> as a summary line carrying the total, so neither the log
/// floods nor the count is lost. The runtime has no metric surface for plugins yet; the count is what an operator
/// reads in the log (and at stop, when anything happened since the last line). Shared by the net and http plugins as a
/// linked source file (plugins reference nothing but the Pdk).
/// </summary>
internal sealed class CountedWarning(IPluginHost host)
{
    internal static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    private readonly Lock _lock = new();
    private long _count;
    private long _logged;
    private long _lastLogMs = long.MinValue;

    /// <summary>The total so far.</summary>
    public long Count => Interlocked.Read(ref _count);

    /// <summary>Counts <paramref name="howMany"/>; logs <paramref name="message"/>(total) when the last line is old enough.</summary>
    public void Add(long howMany, Func<long, string> message)
    {
        if (howMany <= 0) return;
        var total = Interlocked.Add(ref _count, howMany);
        var now = Environment.TickCount64;
        lock (_lock)
        {
            if (_lastLogMs != long.MinValue && now - _lastLogMs < (long)Interval.TotalMilliseconds) return;
            _lastLogMs = now;
            _logged = total;
        }
        host.Log(PluginLogLevel.Warning, message(total));
    }

    /// <summary>At stop: one last line when the count grew since the last one.</summary>
    public void Flush(Func<long, string> message)
    {
        var total = Count;
        lock (_lock)
        {
            if (total == _logged) return;
            _logged = total;
        }
        host.Log(PluginLogLevel.Warning, message(total));
    }
}
