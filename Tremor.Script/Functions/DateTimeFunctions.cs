using System.Globalization;
using Tremor.Pdk;
using Tremor.Script.Runtime;

namespace Tremor.Script.Functions;

// Tremor's std::datetime: a datetime is UTC nanoseconds since the epoch, or {"timestamp": nanos, "tz": zone} from
// datetime::with_timezone; components and formats are read in that zone.
internal static partial class FunctionRegistry
{
    private static readonly Dictionary<string, Value> Constants = new(StringComparer.Ordinal);

    /// <summary>A standard constant (<c>datetime::formats::RFC3339</c>, <c>datetime::timezones::EUROPE_BERLIN</c>), or null.</summary>
    public static Value? FindConstant(string name)
    {
        if (name.StartsWith("std::", StringComparison.Ordinal)) name = name[5..];
        if (Constants.TryGetValue(name, out var v)) return v;
        // The zone table is read from the machine on first use only.
        const string zones = "datetime::timezones::";
        if (!name.StartsWith(zones, StringComparison.Ordinal)) return null;
        var wanted = name[zones.Length..];
        var ids = Zone.KnownIds;
        for (var i = 0; i < ids.Count; i++)
        {
            if (string.Equals(Zone.ConstantName(ids[i]), wanted, StringComparison.Ordinal)) return Value.From((long)i);
        }
        return null;
    }

    private static void RegisterDateTime()
    {
        Constants["datetime::formats::RFC3339"] = Value.From("%Y-%m-%dT%H:%M:%S%.f%:z");
        Constants["datetime::formats::RFC2822"] = Value.From("%a, %d %b %Y %H:%M:%S %z");
        Constants["datetime::formats::RFC5322"] = Value.From("%a, %d %b %Y %H:%M:%S %z");
        Constants["integer::signed::MAX"] = Value.From(long.MaxValue);
        Constants["integer::signed::MIN"] = Value.From(long.MinValue);
        Constants["integer::unsigned::MAX"] = Value.From(ulong.MaxValue);
        Constants["integer::unsigned::MIN"] = Value.From(0L);

        Add("datetime::parse", 2, a =>
        {
            var input = Str(a, 0, "datetime::parse");
            var format = Str(a, 1, "datetime::parse");
            return Chrono.TryParse(input, format, out var nanos, out var error)
                ? Value.From(nanos)
                : throw new FunctionError($"datetime::parse: cannot parse \"{input}\" with \"{format}\": {error}");
        });
        Add("datetime::format", 2, a =>
        {
            var (nanos, zone) = DateTimeArg(a, 0, "datetime::format");
            var format = Str(a, 1, "datetime::format");
            try
            {
                return Value.From(Chrono.Format(nanos, zone, format));
            }
            catch (FormatException e)
            {
                throw new FunctionError($"datetime::format: invalid format \"{format}\": {e.Message}");
            }
        });
        Add("datetime::with_timezone", 2, a =>
        {
            var nanos = Int(a, 0, "datetime::with_timezone");
            if (!Zone.TryResolve(a[1], out _, out var error)) throw new FunctionError($"datetime::with_timezone: {error}");
            var r = new ValueRecord(2);
            r.Append("timestamp", Value.From(nanos));
            r.Append("tz", a[1]);
            return Value.From(r);
        });
        Add("datetime::rfc3339", 1, a =>
        {
            var (nanos, zone) = DateTimeArg(a, 0, "datetime::rfc3339");
            return Value.From(Chrono.Format(nanos, zone, "%Y-%m-%dT%H:%M:%S%.f%:z"));
        });
        Add("datetime::rfc2822", 1, a =>
        {
            var (nanos, zone) = DateTimeArg(a, 0, "datetime::rfc2822");
            return Value.From(Chrono.Format(nanos, zone, "%a, %d %b %Y %H:%M:%S %z"));
        });
        Component("year", (d, _) => d.Year);
        Component("month", (d, _) => d.Month);
        Component("iso_week", (d, _) => ISOWeek.GetWeekOfYear(d));
        Component("day_of_month", (d, _) => d.Day);
        Component("day_of_year", (d, _) => d.DayOfYear);
        Component("hour", (d, _) => d.Hour);
        Component("minute", (d, _) => d.Minute);
        Component("second", (d, _) => d.Second);
        Component("subsecond_millis", (_, ns) => ns / 1_000_000);
        Component("subsecond_micros", (_, ns) => ns / 1_000);
        Component("subsecond_nanos", (_, ns) => ns);

        // Older Tremor releases: rounding to the nearest unit (half up), UTC nanoseconds in and out.
        Nearest("second", 1_000_000_000);
        Nearest("millisecond", 1_000_000);
        Nearest("microsecond", 1_000);
    }

    private static void Component(string name, Func<DateTime, long, long> part)
    {
        var fn = "datetime::" + name;
        Add(fn, 1, a =>
        {
            var (nanos, zone) = DateTimeArg(a, 0, fn);
            var local = Chrono.LocalDateTime(nanos, zone, out var subsecond);
            return Value.From(part(local, subsecond));
        });
    }

    private static void Nearest(string unit, long nanosPerUnit)
    {
        var fn = "datetime::to_nearest_" + unit;
        Add(fn, 1, a =>
        {
            var n = Int(a, 0, fn);
            var rest = ((n % nanosPerUnit) + nanosPerUnit) % nanosPerUnit;
            return Value.From(n - rest + (rest * 2 >= nanosPerUnit ? nanosPerUnit : 0));
        });
    }

    /// <summary>A datetime argument: UTC nanoseconds, or the record <c>datetime::with_timezone</c> makes.</summary>
    private static (long Nanos, Zone Zone) DateTimeArg(ReadOnlySpan<Value> a, int i, string fn)
    {
        var v = a[i];
        if (v.TryGetI64(out var nanos)) return (nanos, Zone.Utc);
        if (v.AsRecord() is { } r && r.TryGetValue("timestamp", out var ts) && ts.TryGetI64(out nanos) && r.TryGetValue("tz", out var tz))
        {
            return Zone.TryResolve(tz, out var zone, out var error) ? (nanos, zone) : throw new FunctionError($"{fn}: {error}");
        }
        throw new FunctionError($"{fn}: argument {i + 1} must be a datetime (integer nanoseconds, or datetime::with_timezone(nanos, zone)), got {ValueOps.TypeName(v)} {ValueOps.Short(v)}");
    }
}
