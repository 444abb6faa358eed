using System.Globalization;
using HdrHistogram;
using Tremor.Pdk;
using Tremor.Script.Functions;
using Tremor.Script.Runtime;

namespace Tremor.Script.Aggregates;

/// <summary>
/// The running state of one aggregate call in one window of one group. Chained windows merge the lower
/// window's state into the higher one when the lower closes.
/// </summary>
internal interface IAggregator
{
    void Accumulate(ReadOnlySpan<Value> args);

    Value Emit();

    void Merge(IAggregator lower);

    void Reset();
}

internal sealed record AggregateDef(string Name, int MinArgs, int MaxArgs, Func<IAggregator> Create);

/// <summary>The <c>aggr::</c> functions, only valid in a windowed select.</summary>
internal static class AggregateRegistry
{
    private static readonly Dictionary<string, AggregateDef> Defs = new(StringComparer.Ordinal)
    {
        ["aggr::stats::count"] = new("aggr::stats::count", 0, 1, () => new Count()),
        ["aggr::stats::sum"] = new("aggr::stats::sum", 1, 1, () => new Sum()),
        ["aggr::stats::min"] = new("aggr::stats::min", 1, 1, () => new MinMax("aggr::stats::min", -1)),
        ["aggr::stats::max"] = new("aggr::stats::max", 1, 1, () => new MinMax("aggr::stats::max", 1)),
        ["aggr::stats::mean"] = new("aggr::stats::mean", 1, 1, () => new Moments("aggr::stats::mean", Moments.Output.Mean)),
        ["aggr::stats::var"] = new("aggr::stats::var", 1, 1, () => new Moments("aggr::stats::var", Moments.Output.Variance)),
        ["aggr::stats::stdev"] = new("aggr::stats::stdev", 1, 1, () => new Moments("aggr::stats::stdev", Moments.Output.Stdev)),
        ["aggr::stats::hdr"] = new("aggr::stats::hdr", 1, 2, () => new Hdr()),
        ["aggr::win::first"] = new("aggr::win::first", 1, 1, () => new FirstLast(first: true)),
        ["aggr::win::last"] = new("aggr::win::last", 1, 1, () => new FirstLast(first: false)),
        ["aggr::win::collect_flattened"] = new("aggr::win::collect_flattened", 1, 1, () => new Collect(nested: false)),
        ["aggr::win::collect_nested"] = new("aggr::win::collect_nested", 1, 1, () => new Collect(nested: true)),
        ["aggr::stats::dds"] = new("aggr::stats::dds", 1, 2, () => new Dds()),
    };

    // Older Tremor named the window aggregates win::first, win::last, win::collect.
    private static readonly Dictionary<string, string> Aliases = new(StringComparer.Ordinal)
    {
        ["win::first"] = "aggr::win::first",
        ["win::last"] = "aggr::win::last",
        ["win::collect"] = "aggr::win::collect_flattened",
        ["win::collect_flattened"] = "aggr::win::collect_flattened",
        ["win::collect_nested"] = "aggr::win::collect_nested",
    };

    public static IEnumerable<string> Names => Defs.Keys;

    public static AggregateDef? Find(string name)
    {
        if (name.StartsWith("std::", StringComparison.Ordinal)) name = name[5..];
        if (Aliases.TryGetValue(name, out var canonical)) name = canonical;
        return Defs.GetValueOrDefault(name);
    }

    internal static double Number(Value v, string fn) =>
        v.TryGetF64(out var d) ? d : throw new FunctionError($"{fn}: expected a number, got {ValueOps.TypeName(v)} {ValueOps.Short(v)}");

    private sealed class Count : IAggregator
    {
        private long _n;

        public void Accumulate(ReadOnlySpan<Value> args) => _n++;

        public Value Emit() => Value.From(_n);

        public void Merge(IAggregator lower) => _n += ((Count)lower)._n;

        public void Reset() => _n = 0;
    }

    /// <summary>Tremor's sum is a float whatever it adds (an f64 accumulator), so a window of integers sums to `3.0`.</summary>
    private sealed class Sum : IAggregator
    {
        private double _sum;

        public void Accumulate(ReadOnlySpan<Value> args) => _sum += Number(args[0], "aggr::stats::sum");

        public Value Emit() => Value.From(_sum);

        public void Merge(IAggregator lower) => _sum += ((Sum)lower)._sum;

        public void Reset() => _sum = 0;
    }

    private sealed class MinMax(string name, int sign) : IAggregator
    {
        private Value _best;
        private bool _any;

        public void Accumulate(ReadOnlySpan<Value> args) => Add(args[0]);

        private void Add(Value v)
        {
            Number(v, name);
            if (!_any || ValueOps.Compare(v, _best, name, 0) * sign > 0) _best = v;
            _any = true;
        }

        public Value Emit() => _any ? _best : Value.Null;

        public void Merge(IAggregator lower)
        {
            var o = (MinMax)lower;
            if (o._any) Add(o._best);
        }

        public void Reset()
        {
            _any = false;
            _best = default;
        }
    }

    /// <summary>Welford's running mean and variance (sample variance, n - 1), mergeable across windows.</summary>
    internal sealed class Moments(string name, Moments.Output output) : IAggregator
    {
        internal enum Output
        {
            Mean,
            Variance,
            Stdev,
        }

        private long _n;
        private double _mean;
        private double _m2;

        public void Accumulate(ReadOnlySpan<Value> args) => Add(Number(args[0], name));

        public void Add(double x)
        {
            _n++;
            var delta = x - _mean;
            _mean += delta / _n;
            _m2 += delta * (x - _mean);
        }

        public double Variance => _n > 1 ? _m2 / (_n - 1) : 0.0;

        public Value Emit()
        {
            if (_n == 0) return Value.Null;
            var variance = Variance;
            return output switch
            {
                Output.Mean => Value.From(_mean),
                Output.Variance => Value.From(variance),
                _ => Value.From(Math.Sqrt(variance)),
            };
        }

        public void Merge(IAggregator lower)
        {
            var o = (Moments)lower;
            if (o._n == 0) return;
            var n = _n + o._n;
            var delta = o._mean - _mean;
            _m2 += o._m2 + delta * delta * _n * o._n / n;
            _mean += delta * o._n / n;
            _n = n;
        }

        public void Reset()
        {
            _n = 0;
            _mean = 0;
            _m2 = 0;
        }
    }

    /// <summary>
    /// Count, min, max, mean, stdev and percentiles of non-negative values, as an HdrHistogram (2 significant digits,
    /// as Tremor's default) gives them. A window holds few values next to the histogram's ~7,000 counters (56 KiB to
    /// clear on every close, scan on every merge and percentile), so up to <see cref="SparseLimit"/> values are kept as
    /// they are and the histogram's answers computed from them with its own bucket arithmetic (<see cref="Shape"/>):
    /// the same figures, bit for bit. Past that, the values move into a real histogram.
    /// </summary>
    internal sealed class Hdr : IAggregator
    {
        // Tremor's defaults.
        private static readonly string[] DefaultPercentiles = ["0.5", "0.9", "0.95", "0.99", "0.999", "0.9999", "0.99999"];
        private static readonly double[] DefaultQuantiles = Quantiles(DefaultPercentiles);
        internal const long HighestTrackable = long.MaxValue / 4;
        internal const int SparseLimit = 1024;

        /// <summary>Never recorded into: its bucket arithmetic (equivalent values) is what the sparse form needs.</summary>
        private static readonly LongHistogram Shape = new(HighestTrackable, 2);

        private long[] _values = new long[16];
        private int _count;
        private LongHistogram? _dense;
        private bool _isDense;
        private readonly Moments _moments = new("aggr::stats::hdr", Moments.Output.Stdev);
        private string[]? _percentiles;
        private double[]? _quantiles;
        private long _min = long.MaxValue;
        private long _max = long.MinValue;

        public void Accumulate(ReadOnlySpan<Value> args)
        {
            if (_percentiles is null && args.Length > 1)
            {
                _percentiles = Percentiles(args[1]);
                _quantiles = Quantiles(_percentiles);
            }
            var d = Number(args[0], "aggr::stats::hdr");
            if (d < 0) throw new FunctionError($"aggr::stats::hdr: values must not be negative, got {ValueOps.Short(args[0])}");
            var v = (long)Math.Round(d);
            if (v > HighestTrackable) throw new FunctionError($"aggr::stats::hdr: values must not exceed {HighestTrackable}, got {ValueOps.Short(args[0])}");
            Record(v);
            _moments.Add(v);
            _min = Math.Min(_min, v);
            _max = Math.Max(_max, v);
        }

        private void Record(long v)
        {
            if (_isDense)
            {
                _dense!.RecordValue(v);
                return;
            }
            if (_count == SparseLimit)
            {
                ToDense();
                _dense!.RecordValue(v);
                return;
            }
            if (_count == _values.Length) Array.Resize(ref _values, _values.Length * 2);
            _values[_count++] = v;
        }

        private void ToDense()
        {
            _dense ??= new LongHistogram(HighestTrackable, 2);
            for (var i = 0; i < _count; i++) _dense.RecordValue(_values[i]);
            _count = 0;
            _isDense = true;
        }

        private long TotalCount => _isDense ? _dense!.TotalCount : _count;

        private static string[] Percentiles(Value spec)
        {
            if (spec.AsArray() is not { } list) throw new FunctionError("aggr::stats::hdr: percentiles must be an array of strings like \"0.99\"");
            var result = new string[list.Count];
            for (var i = 0; i < list.Count; i++)
            {
                var s = list[i].AsString();
                if (s is null || !double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var p) || p is < 0 or > 1)
                    throw new FunctionError($"aggr::stats::hdr: percentile {list[i]} must be a string between \"0\" and \"1\"");
                result[i] = s;
            }
            return result;
        }

        private static double[] Quantiles(string[] percentiles) =>
            [.. percentiles.Select(p => double.Parse(p, CultureInfo.InvariantCulture) * 100)];

        public Value Emit()
        {
            var r = new ValueRecord(7);
            var count = TotalCount;
            r.Append("count", Value.From(count));
            r.Append("min", count == 0 ? Value.Null : Value.From(_min));
            r.Append("max", count == 0 ? Value.Null : Value.From(_max));
            // The sparse values in order: each percentile is then one index (the histogram walks its counts to it).
            if (!_isDense) Array.Sort(_values, 0, _count);
            r.Append("mean", _moments.Emit() is { IsNull: false } && count > 0 ? Value.From(Mean()) : Value.Null);
            var stdev = _moments.Emit();
            r.Append("stdev", count == 0 ? Value.Null : stdev);
            r.Append("var", count == 0 ? Value.Null : Value.From(_moments.Variance));
            var names = _percentiles ?? DefaultPercentiles;
            var quantiles = _quantiles ?? DefaultQuantiles;
            var percentiles = new ValueRecord(names.Length);
            for (var i = 0; i < names.Length; i++)
            {
                percentiles.Append(names[i], count == 0 ? Value.Null : Value.From(ValueAtPercentile(quantiles[i])));
            }
            r.Append("percentiles", Value.From(percentiles));
            return Value.From(r);
        }

        // HdrHistogram's mean: every value counts as the middle of its bucket, summed as an integer.
        private double Mean()
        {
            if (_isDense) return _dense!.GetMean();
            long total = 0;
            for (var i = 0; i < _count; i++) total += Shape.MedianEquivalentValue(_values[i]);
            return total * 1.0 / _count;
        }

        // HdrHistogram's GetValueAtPercentile: the bucket where the running count reaches the rounded rank, reported
        // as the highest value of that bucket; in sorted values that bucket is the one of the rank-th value.
        private long ValueAtPercentile(double percentile)
        {
            if (_isDense) return _dense!.GetValueAtPercentile(percentile);
            var rank = (long)((Math.Min(percentile, 100.0) / 100.0 * _count) + 0.5);
            rank = Math.Max(rank, 1);
            return Shape.HighestEquivalentValue(_values[rank - 1]);
        }

        public void Merge(IAggregator lower)
        {
            var o = (Hdr)lower;
            if (_percentiles is null && o._percentiles is not null)
            {
                _percentiles = o._percentiles;
                _quantiles = o._quantiles;
            }
            if (o._isDense)
            {
                if (!_isDense) ToDense();
                _dense!.Add(o._dense!);
            }
            else
            {
                for (var i = 0; i < o._count; i++) Record(o._values[i]);
            }
            _moments.Merge(o._moments);
            if (o.TotalCount > 0)
            {
                _min = Math.Min(_min, o._min);
                _max = Math.Max(_max, o._max);
            }
        }

        public void Reset()
        {
            // The dense histogram stays for the next busy window; the next window starts sparse.
            if (_isDense) _dense!.Reset();
            _isDense = false;
            _count = 0;
            _moments.Reset();
            _min = long.MaxValue;
            _max = long.MinValue;
        }
    }

    private sealed class FirstLast(bool first) : IAggregator
    {
        private Value _value;
        private bool _any;

        public void Accumulate(ReadOnlySpan<Value> args) => Set(args[0]);

        private void Set(Value v)
        {
            if (!first || !_any) _value = v;
            _any = true;
        }

        public Value Emit() => _value;

        public void Merge(IAggregator lower)
        {
            var o = (FirstLast)lower;
            if (o._any) Set(o._value);
        }

        public void Reset()
        {
            _any = false;
            _value = default;
        }
    }

    /// <summary>
    /// Collects the window's values. Chained windows: flattened appends the lower window's values, nested appends
    /// them as one array per lower window (arrays of arrays, one level per window in the chain).
    /// </summary>
    private sealed class Collect(bool nested) : IAggregator
    {
        private List<Value> _items = [];

        public void Accumulate(ReadOnlySpan<Value> args) => _items.Add(args[0]);

        // A fresh list each time: the emitted array belongs to the output event.
        public Value Emit() => Value.From(new List<Value>(_items));

        public void Merge(IAggregator lower)
        {
            var items = ((Collect)lower)._items;
            if (nested) _items.Add(Value.From(new List<Value>(items)));
            else _items.AddRange(items);
        }

        // Emit hands out a copy, so the list is never shared and can be reused (unless a big window left it large).
        public void Reset()
        {
            if (_items.Capacity > 1024) _items = [];
            else _items.Clear();
        }
    }

    /// <summary>
    /// Tremor's <c>aggr::stats::dds</c>: a DDSketch (relative accuracy 1 %, as the sketches crate's defaults) giving
    /// count, min, max, mean and percentiles rounded up to one decimal, mergeable across chained windows. Keys grow
    /// with the logarithm of the value range only, so memory stays small however many values arrive.
    /// </summary>
    internal sealed class Dds : IAggregator
    {
        private const double Alpha = 0.01;
        private const double MinValue = 1e-9;
        private static readonly double Gamma = 1 + 2 * Alpha / (1 - Alpha);
        private static readonly double GammaLn = Math.Log(Gamma);
        private static readonly string[] DefaultPercentiles = ["0.5", "0.9", "0.95", "0.99", "0.999", "0.9999", "0.99999"];

        private readonly SortedDictionary<int, long> _positive = [];
        private readonly SortedDictionary<int, long> _negative = [];
        private long _zero;
        private long _count;
        private double _min = double.MaxValue;
        private double _max = double.MinValue;
        private double _sum;
        private string[]? _percentiles;

        public void Accumulate(ReadOnlySpan<Value> args)
        {
            if (_percentiles is null && args.Length > 1) _percentiles = Percentiles(args[1]);
            Add(Number(args[0], "aggr::stats::dds"));
        }

        private void Add(double v)
        {
            if (v > MinValue) Bump(_positive, Key(v), 1);
            else if (v < -MinValue) Bump(_negative, Key(-v), 1);
            else _zero++;
            _count++;
            _sum += v;
            _min = Math.Min(_min, v);
            _max = Math.Max(_max, v);
        }

        private static int Key(double v) => (int)Math.Ceiling(Math.Log(v) / GammaLn);

        private static double Representative(int key) => Math.Exp(key * GammaLn) * (2.0 / (1.0 + Gamma));

        private static void Bump(SortedDictionary<int, long> store, int key, long n) => store[key] = store.GetValueOrDefault(key) + n;

        private static string[] Percentiles(Value spec)
        {
            if (spec.AsArray() is not { } list) throw new FunctionError("aggr::stats::dds: percentiles must be an array of strings like \"0.99\"");
            return list.Select(p => p.AsString() is { } s && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var q) && q is >= 0 and <= 1
                ? s : throw new FunctionError($"aggr::stats::dds: percentile {p} must be a string between \"0\" and \"1\"")).ToArray();
        }

        private double Quantile(double q)
        {
            if (q <= 0) return _min;
            if (q >= 1) return _max;
            var rank = (long)(q * (_count - 1));
            var negatives = _negative.Values.Sum();
            if (rank < negatives) return -Representative(KeyAtRank(_negative, negatives - rank - 1));
            if (rank < negatives + _zero) return 0;
            return Representative(KeyAtRank(_positive, rank - negatives - _zero));
        }

        private static int KeyAtRank(SortedDictionary<int, long> store, long rank)
        {
            long seen = 0;
            var key = 0;
            foreach (var (k, n) in store)
            {
                key = k;
                seen += n;
                if (seen > rank) return k;
            }
            return key;
        }

        public Value Emit()
        {
            var percentiles = new ValueRecord();
            foreach (var p in _percentiles ?? DefaultPercentiles)
            {
                var q = _count == 0 ? 0.0 : Math.Ceiling(Quantile(double.Parse(p, CultureInfo.InvariantCulture)) * 10) / 10;
                percentiles.Append(p, Value.From(q));
            }
            var r = new ValueRecord(5);
            r.Append("count", Value.From(_count));
            r.Append("min", Value.From(_count == 0 ? 0.0 : _min));
            r.Append("max", Value.From(_count == 0 ? double.MaxValue : _max));
            // Tremor divides by a zero count here (NaN); JSON has no NaN, so an empty window's mean is null.
            r.Append("mean", _count == 0 ? Value.Null : Value.From(_sum / _count));
            r.Append("percentiles", Value.From(percentiles));
            return Value.From(r);
        }

        public void Merge(IAggregator lower)
        {
            var o = (Dds)lower;
            _percentiles ??= o._percentiles;
            foreach (var (k, n) in o._positive) Bump(_positive, k, n);
            foreach (var (k, n) in o._negative) Bump(_negative, k, n);
            _zero += o._zero;
            if (o._count == 0) return;
            _count += o._count;
            _sum += o._sum;
            _min = Math.Min(_min, o._min);
            _max = Math.Max(_max, o._max);
        }

        public void Reset()
        {
            _positive.Clear();
            _negative.Clear();
            _zero = 0;
            _count = 0;
            _sum = 0;
            _min = double.MaxValue;
            _max = double.MinValue;
        }
    }
}
