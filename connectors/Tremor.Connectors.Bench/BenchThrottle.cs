namespace Tremor.Connectors.Bench;

/// <summary>
/// Tremor's throttle for <c>bench</c> (<c>interval</c>): event n is due at the first event's time plus n intervals.
/// The events that fall due within <paramref name="paceNs"/> leave together (at least one, at most what a pull takes),
/// so batches leave evenly, a small one every pace, instead of whatever piled up while a coarse timer slept.
/// Plain arithmetic on the caller's clock: <see cref="BenchPacer"/> does the waiting.
/// </summary>
internal sealed class BenchThrottle(ulong intervalNs, ulong paceNs)
{
    private ulong _nextDueNs;
    private bool _started;

    /// <summary>
    /// How long to wait before a pull with <paramref name="room"/> for events should take them: 0 when a pace's worth
    /// is due at <paramref name="nowNs"/> (or behind), else the time until it is.
    /// </summary>
    public ulong WaitNs(ulong nowNs, int room)
    {
        Start(nowNs);
        var release = Math.Clamp(paceNs / intervalNs, 1UL, (ulong)Math.Max(room, 1));
        var releaseAt = _nextDueNs + (release - 1) * intervalNs;
        return nowNs < releaseAt ? releaseAt - nowNs : 0;
    }

    /// <summary>The events due at <paramref name="nowNs"/> that have not been taken.</summary>
    public int Due(ulong nowNs)
    {
        Start(nowNs);
        return nowNs < _nextDueNs ? 0 : (int)Math.Min((nowNs - _nextDueNs) / intervalNs + 1, int.MaxValue);
    }

    /// <summary><paramref name="count"/> events were taken: the next is due an interval after the last.</summary>
    public void Taken(int count) => _nextDueNs += (ulong)count * intervalNs;

    private void Start(ulong nowNs)
    {
        if (_started) return;
        _started = true;
        _nextDueNs = nowNs;
    }
}
