namespace Tremor.Connectors.Bench;

/// <summary>
/// Tremor's throttle for <c>bench</c> (<c>interval</c>): event n is due at the first event's time plus n intervals.
/// What is due leaves at once, never held back. When nothing is due the source waits until the events of one
/// <paramref name="paceNs"/> are (at least one): the pace bounds the wake-ups, and so the CPU, at low rates.
/// A source that fell behind (a stall: a GC pause, a busy core) catches up at most one pull's worth; the slots further
/// behind are skipped, as Tremor's throttle (a sleep per event) never catches up either. Without that bound every
/// stall came back as a burst of full batches, back to back, and the last of them waited for the others in every
/// stage. Plain arithmetic on the caller's clock: <see cref="BenchPacer"/> does the waiting.
/// </summary>
internal sealed class BenchThrottle(ulong intervalNs, ulong paceNs)
{
    private ulong _nextDueNs;
    private bool _started;

    /// <summary>
    /// How long a pull with <paramref name="room"/> for events waits at <paramref name="nowNs"/>: 0 when an event is
    /// due, else until a pace's worth is (at least one event, at most the room).
    /// </summary>
    public ulong WaitNs(ulong nowNs, int room)
    {
        Start(nowNs);
        if (nowNs >= _nextDueNs) return 0;
        var release = Math.Clamp(paceNs / intervalNs, 1UL, (ulong)Math.Max(room, 1));
        return _nextDueNs + (release - 1) * intervalNs - nowNs;
    }

    /// <summary>
    /// The events due at <paramref name="nowNs"/> for a pull with <paramref name="room"/>; more than the room behind, the
    /// schedule skips ahead so that only the room's worth is due.
    /// </summary>
    public int Due(ulong nowNs, int room)
    {
        Start(nowNs);
        if (nowNs < _nextDueNs) return 0;
        var due = (nowNs - _nextDueNs) / intervalNs + 1;
        var most = (ulong)Math.Max(room, 1);
        if (due <= most) return (int)due;
        _nextDueNs += (due - most) * intervalNs;
        return (int)most;
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
