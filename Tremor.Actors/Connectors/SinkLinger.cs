using System.Diagnostics;

namespace Tremor.Actors.Connectors;

/// <summary>
/// When a process-isolated sink's next call waits for company. A call into the host costs a round trip to another
/// process (a sleep and a wake-up on each side, ~25-30 µs of CPU on a 2-core VM) whatever it carries, and under a
/// saturated input batches arrive one at a time every 150-250 µs while the host answers in ~12 µs: nothing ever waits
/// to be coalesced, so every batch was a call (BENCHMARKS.md, issue 22, sessions 9 and 10). So while the input is
/// saturated the call is held until <c>linger-batches</c> batches wait, or the oldest of them waited <c>linger</c>,
/// or nothing more can come (the upstreams' credit is spent); what is held stays in the outbox like any waiting batch.
/// <para>
/// The signal for "saturated" is the batch that just arrived being full (<c>batch-size</c> events): a source pull and a
/// pipeline step cut their output into full batches only while they have more than a batch to give, so a full batch
/// says the next one is already on its way, and a partial one says the upstream has run dry: it, and everything held
/// with it, goes out at once. A slow input (a lone event, a trickle) is never held. Plain, so it is tested without
/// actors; the connector actor reads it when it delivers and arms the fallback timer.
/// </para>
/// </summary>
/// <param name="batchSize">The data path's batch size: a batch this long is full.</param>
/// <param name="batches">Batches a held call waits for (<c>linger-batches</c>); 1 never holds.</param>
/// <param name="linger">How long the oldest held batch may wait (<c>linger</c>); zero never holds.</param>
internal sealed class SinkLinger(int batchSize, int batches, TimeSpan linger)
{
    private readonly long _lingerTicks = (long)(linger.TotalSeconds * Stopwatch.Frequency);
    private bool _saturated;

    /// <summary>Calls may be held at all.</summary>
    public bool Enabled => _lingerTicks > 0 && batches > 1;

    /// <summary>A batch of <paramref name="events"/> arrived: full, the upstream has more on its way; partial, it has run dry.</summary>
    public void Arrived(int events) => _saturated = events >= batchSize;

    /// <summary>Nothing follows soon (an upstream ended): what is held goes out now.</summary>
    public void Release() => _saturated = false;

    /// <summary>
    /// How many events the next call waits for (0: it goes now), given when the oldest waiting batch was accepted
    /// (<paramref name="waitingSince"/>, a <see cref="Stopwatch"/> timestamp; null: nothing waits), whether the upstreams
    /// may still send (<paramref name="moreCanCome"/>: unspent credit) and how many events fill a call's bytes bound
    /// at the last call's size per event (<paramref name="eventsThatFit"/>): waiting for more than fits gains nothing.
    /// </summary>
    public int HoldBelow(long now, long? waitingSince, bool moreCanCome, int eventsThatFit)
    {
        if (!Enabled || !_saturated || !moreCanCome || waitingSince is not { } since || now - since >= _lingerTicks) return 0;
        return (int)Math.Min((long)batches * batchSize, eventsThatFit);
    }

    /// <summary>How long until the batch accepted at <paramref name="waitingSince"/> has waited <c>linger</c> (the fallback timer's delay).</summary>
    public TimeSpan Remaining(long now, long waitingSince) =>
        TimeSpan.FromSeconds(Math.Max(0, waitingSince + _lingerTicks - now) / (double)Stopwatch.Frequency);
}
