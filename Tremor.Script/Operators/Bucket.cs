using Tremor.Pdk;

namespace Tremor.Script.Operators;

/// <summary>
/// grouper::bucket: rate-limits per <c>$class</c> and <c>$dimensions</c> to <c>$rate</c> events over a sliding
/// one-second window (ten 100 ms slots). Events over the rate leave on <c>overflow</c>; events without
/// <c>$class</c> or <c>$rate</c> go to <c>err</c>. At most <c>cardinality</c> dimension buckets per class are
/// kept; the least recently used one is dropped beyond that.
/// </summary>
internal sealed class Bucket(int cardinality) : IOperatorInstance
{
    private const ulong SlotNs = 100_000_000;
    private const int Slots = 10;
    private readonly Dictionary<string, Dictionary<Value, Limiter>> _classes = new(StringComparer.Ordinal);

    public void Process(Event e, ulong nowNs, IEmitter output)
    {
        var meta = e.Meta;
        if (meta["class"].AsString() is not { } cls)
        {
            output.Error(e, "grouper::bucket: the event has no `$class` (a string); set it in a script before the bucket");
            return;
        }
        if (!meta["rate"].TryGetI64(out var rate) || rate < 0)
        {
            output.Error(e, "grouper::bucket: the event has no `$rate` (a non-negative integer); set it in a script before the bucket");
            return;
        }
        if (!_classes.TryGetValue(cls, out var buckets))
        {
            buckets = new Dictionary<Value, Limiter>(DimensionsComparer.Instance);
            _classes[cls] = buckets;
        }
        var dimensions = meta["dimensions"];
        if (!buckets.TryGetValue(dimensions, out var limiter))
        {
            if (buckets.Count >= cardinality) EvictOldest(buckets);
            limiter = new Limiter();
            buckets[dimensions] = limiter;
        }
        output.Emit(limiter.TryTake(nowNs, rate) ? "out" : "overflow", e);
    }

    private static void EvictOldest(Dictionary<Value, Limiter> buckets)
    {
        var oldest = buckets.MinBy(kv => kv.Value.LastSlot);
        buckets.Remove(oldest.Key);
    }

    private sealed class Limiter
    {
        private readonly long[] _counts = new long[Slots];
        private readonly ulong[] _slotIds = new ulong[Slots];
        // The events counted in the window that ends with slot _totalSlot: summed over the slots once when an event
        // comes in a new slot, then kept by each take (most events fall in the slot of the event before).
        private long _total;
        private ulong _totalSlot = ulong.MaxValue;

        public ulong LastSlot { get; private set; }

        public bool TryTake(ulong nowNs, long rate)
        {
            var slot = nowNs / SlotNs;
            LastSlot = slot;
            if (slot != _totalSlot)
            {
                _total = 0;
                for (var i = 0; i < Slots; i++)
                {
                    if (InWindow(_slotIds[i], slot)) _total += _counts[i];
                }
                _totalSlot = slot;
            }
            if (_total >= rate) return false;
            var idx = (int)(slot % Slots);
            if (_slotIds[idx] != slot)
            {
                // The slot is reused for this one. What it counted is in the window only when event time went back
                // (its id is a later slot, counted by the sum above); otherwise it slid out before and counts nothing.
                if (InWindow(_slotIds[idx], slot)) _total -= _counts[idx];
                _slotIds[idx] = slot;
                _counts[idx] = 0;
            }
            _counts[idx]++;
            _total++;
            return true;
        }

        private static bool InWindow(ulong slotId, ulong slot) => slotId + Slots > slot;
    }
}
