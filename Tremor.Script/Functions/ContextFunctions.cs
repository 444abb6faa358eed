using System.Buffers.Binary;
using System.Numerics;
using System.Text;
using Tremor.Pdk;
using Tremor.Script.Runtime;

namespace Tremor.Script.Functions;

// Functions of the event's context (random, origin, win) and Tremor's consistent hashing (chash).
internal static partial class FunctionRegistry
{
    private static void RegisterContext()
    {
        // random: seeded by the event's ingest time on every call, so an event always gets the same values (Tremor's rule).
        AddContext("random::bool", 0, 0, (c, _) => Value.From((int)(uint)(new SmallRng(c.IngestNs).NextU64() >> 32) < 0));
        AddContext("random::string", 1, 1, (c, a) =>
        {
            var n = Int(a, 0, "random::string");
            if (n < 0 || n > 1_000_000) throw new FunctionError($"random::string: the length must be 0 to 1000000, got {n}");
            const string charset = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
            var rng = new SmallRng(c.IngestNs);
            var sb = new StringBuilder((int)n);
            while (sb.Length < n)
            {
                var v = (uint)(rng.NextU64() >> 32) >> 26;
                if (v < 62) sb.Append(charset[(int)v]);
            }
            return Value.From(sb.ToString());
        });
        AddContext("random::integer", 0, 2, (c, a) =>
        {
            var rng = new SmallRng(c.IngestNs);
            switch (a.Length)
            {
                case 0: return Value.From((long)rng.NextU64());
                case 1:
                    {
                        var high = Int(a, 0, "random::integer");
                        if (high <= 0) throw new FunctionError($"random::integer: the bound must be above 0, got {high}");
                        return Value.From(rng.Range(0, high));
                    }
                default:
                    {
                        var (low, high) = (Int(a, 0, "random::integer"), Int(a, 1, "random::integer"));
                        if (low >= high) throw new FunctionError("random::integer: Invalid arguments. First argument must be lower than second argument");
                        return Value.From(rng.Range(low, high));
                    }
            }
        });
        AddContext("random::float", 0, 2, (c, a) =>
        {
            var rng = new SmallRng(c.IngestNs);
            switch (a.Length)
            {
                case 0: return Value.From((rng.NextU64() >> 11) * (1.0 / (1UL << 53)));
                case 1:
                    {
                        var high = Num(a, 0, "random::float");
                        if (!(high > 0)) throw new FunctionError($"random::float: the bound must be above 0, got {high}");
                        return Value.From(rng.Range(0.0, high));
                    }
                default:
                    {
                        var (low, high) = (Num(a, 0, "random::float"), Num(a, 1, "random::float"));
                        if (!(low < high)) throw new FunctionError("random::float: Invalid arguments. First argument must be lower than second argument");
                        return Value.From(rng.Range(low, high));
                    }
            }
        });

        // tremor::origin: where the event came from, read from the sender its connector put in the metadata.
        foreach (var prefix in (string[])["origin::", "tremor::origin::"])
        {
            AddContext(prefix + "as_uri_record", 0, 0, (c, _) => Origin(c.Meta) ?? Value.Null);
            AddContext(prefix + "scheme", 0, 0, (c, _) => Origin(c.Meta)?["scheme"] ?? Value.Null);
            AddContext(prefix + "host", 0, 0, (c, _) => Origin(c.Meta)?["host"] ?? Value.Null);
            AddContext(prefix + "port", 0, 0, (c, _) => Origin(c.Meta)?["port"] ?? Value.Null);
            AddContext(prefix + "path", 0, 0, (c, _) => Origin(c.Meta)?["path"] ?? Value.Null);
            AddContext(prefix + "as_uri_string", 0, 0, (c, _) => Origin(c.Meta) is { } o ? Value.From(UriString(o)) : Value.Null);
        }

        // The event's ingest time (nanoseconds), and Tremor's default instance name.
        AddContext("system::ingest_ns", 0, 0, (c, _) => Value.From((long)c.IngestNs));
        Add("system::instance", 0, 0, _ => Value.From("tremor"), pure: false);
        foreach (var name in (string[])["hostname", "ingest_ns", "instance", "nanotime"]) Functions.TryAdd("tremor::system::" + name, Functions["system::" + name]);

        // win::cardinality: how many groups the windowed select holds now (0 without group by).
        AddContext("win::cardinality", 0, 0, (c, _) => Value.From(c.GroupCount));

        // tremor::chash: Tremor's jump consistent hash (SipHash-1-3 of the key, keys 'tremor\0\0' and '\0\0tremor').
        foreach (var prefix in (string[])["chash::", "tremor::chash::"])
        {
            Add(prefix + "jump", 2, a => Value.From((long)Jump(8_390_880_576_440_238_080, 128_034_676_764_530, Str(a, 0, "chash::jump"), Slots(a, 1, "chash::jump"))));
            Add(prefix + "jump_with_keys", 4, a =>
                Value.From((long)Jump((ulong)Int(a, 0, "chash::jump_with_keys"), (ulong)Int(a, 1, "chash::jump_with_keys"), Str(a, 2, "chash::jump_with_keys"), Slots(a, 3, "chash::jump_with_keys"))));
            Add(prefix + "sorted_serialize", 1, a =>
            {
                var sb = new StringBuilder();
                SortedSerialize(a[0], sb);
                return Value.From(sb.ToString());
            });
        }
    }

    private static uint Slots(ReadOnlySpan<Value> a, int i, string fn)
    {
        var n = Int(a, i, fn);
        return n is > 0 and <= uint.MaxValue ? (uint)n : throw new FunctionError($"{fn}: the slot count must be 1 to {uint.MaxValue}, got {n}");
    }

    /// <summary>Google's jump consistent hash over SipHash-1-3 of the key as Rust hashes a str (its bytes, then 0xff).</summary>
    internal static uint Jump(ulong k0, ulong k1, string key, uint slots)
    {
        var bytes = Encoding.UTF8.GetBytes(key);
        var data = new byte[bytes.Length + 1];
        bytes.CopyTo(data, 0);
        data[^1] = 0xff;
        var h = SipHash13(k0, k1, data);
        long b = -1, j = 0;
        while (j < slots)
        {
            b = j;
            h = unchecked(h * 2862933555777941757UL + 1);
            j = (long)((b + 1) * ((double)(1UL << 31) / ((h >> 33) + 1)));
        }
        return (uint)b;
    }

    internal static ulong SipHash13(ulong k0, ulong k1, ReadOnlySpan<byte> data)
    {
        ulong v0 = k0 ^ 0x736f6d6570736575UL, v1 = k1 ^ 0x646f72616e646f6dUL, v2 = k0 ^ 0x6c7967656e657261UL, v3 = k1 ^ 0x7465646279746573UL;
        var blocks = data.Length / 8;
        for (var i = 0; i < blocks; i++)
        {
            var m = BinaryPrimitives.ReadUInt64LittleEndian(data.Slice(i * 8, 8));
            v3 ^= m;
            Round(ref v0, ref v1, ref v2, ref v3);
            v0 ^= m;
        }
        var last = (ulong)data.Length << 56;
        var tail = data[(blocks * 8)..];
        for (var i = 0; i < tail.Length; i++) last |= (ulong)tail[i] << (8 * i);
        v3 ^= last;
        Round(ref v0, ref v1, ref v2, ref v3);
        v0 ^= last;
        v2 ^= 0xff;
        for (var i = 0; i < 3; i++) Round(ref v0, ref v1, ref v2, ref v3);
        return v0 ^ v1 ^ v2 ^ v3;

        static void Round(ref ulong v0, ref ulong v1, ref ulong v2, ref ulong v3)
        {
            unchecked
            {
                v0 += v1; v1 = BitOperations.RotateLeft(v1, 13); v1 ^= v0; v0 = BitOperations.RotateLeft(v0, 32);
                v2 += v3; v3 = BitOperations.RotateLeft(v3, 16); v3 ^= v2;
                v0 += v3; v3 = BitOperations.RotateLeft(v3, 21); v3 ^= v0;
                v2 += v1; v1 = BitOperations.RotateLeft(v1, 17); v1 ^= v2; v2 = BitOperations.RotateLeft(v2, 32);
            }
        }
    }

    // Records with their keys sorted, so equal values always serialize to the same bytes.
    private static void SortedSerialize(Value v, StringBuilder sb)
    {
        if (v.AsRecord() is { } r)
        {
            sb.Append('{');
            var first = true;
            foreach (var (k, x) in r.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                if (!first) sb.Append(',');
                first = false;
                sb.Append(Json.Encode(Value.From(k), false)).Append(':');
                SortedSerialize(x, sb);
            }
            sb.Append('}');
        }
        else if (v.AsArray() is { } a)
        {
            sb.Append('[');
            for (var i = 0; i < a.Count; i++)
            {
                if (i > 0) sb.Append(',');
                SortedSerialize(a[i], sb);
            }
            sb.Append(']');
        }
        else sb.Append(Json.Encode(v, false));
    }

    /// <summary>
    /// The event's origin as Tremor's URI record: Tremor.NET's connectors put the sender in the metadata under their
    /// name (<c>$udp_server.peer</c>, <c>$tcp_server.peer</c>, ...), so the scheme is that name and host and port its peer's.
    /// </summary>
    private static Value? Origin(Value meta)
    {
        if (meta.AsRecord() is not { } m) return null;
        foreach (var (scheme, inner) in m)
        {
            if (inner.AsRecord() is not { } connector || !connector.TryGetValue("peer", out var peer) || peer.AsRecord() is not { } p) continue;
            var r = new ValueRecord(4);
            r.Append("scheme", Value.From(scheme));
            r.Append("host", p.TryGetValue("host", out var host) ? host : Value.Null);
            r.Append("port", p.TryGetValue("port", out var port) ? port : Value.Null);
            var path = new List<Value>();
            if (connector.TryGetValue("path", out var pv) && pv.AsString() is { } ps) path.AddRange(ps.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Value.From));
            r.Append("path", Value.From(path));
            return Value.From(r);
        }
        return null;
    }

    private static string UriString(Value origin)
    {
        var sb = new StringBuilder().Append(ValueOps.Display(origin["scheme"])).Append("://");
        if (!origin["host"].IsNull) sb.Append(ValueOps.Display(origin["host"]));
        if (!origin["port"].IsNull) sb.Append(':').Append(ValueOps.Display(origin["port"]));
        sb.Append('/');
        if (origin["path"].AsArray() is { } path) sb.Append(string.Join('/', path.Select(ValueOps.Display)));
        return sb.ToString();
    }
}

/// <summary>
/// The generator behind Tremor's random module: xoshiro256++ seeded by SplitMix64 (Rust rand 0.8's <c>SmallRng</c> on
/// 64-bit), with rand's sampling for ranges, so a given ingest time gives a fixed sequence.
/// </summary>
internal struct SmallRng
{
    private ulong _s0, _s1, _s2, _s3;

    public SmallRng(ulong seed)
    {
        _s0 = SplitMix(ref seed);
        _s1 = SplitMix(ref seed);
        _s2 = SplitMix(ref seed);
        _s3 = SplitMix(ref seed);
    }

    private static ulong SplitMix(ref ulong state)
    {
        unchecked
        {
            state += 0x9e3779b97f4a7c15UL;
            var z = state;
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
            return z ^ (z >> 31);
        }
    }

    public ulong NextU64()
    {
        unchecked
        {
            var result = BitOperations.RotateLeft(_s0 + _s3, 23) + _s0;
            var t = _s1 << 17;
            _s2 ^= _s0;
            _s3 ^= _s1;
            _s1 ^= _s2;
            _s0 ^= _s3;
            _s2 ^= t;
            _s3 = BitOperations.RotateLeft(_s3, 45);
            return result;
        }
    }

    /// <summary>Uniform in [low, high), by widening multiplication with rejection (rand's integer sampling).</summary>
    public long Range(long low, long high)
    {
        unchecked
        {
            var range = (ulong)(high - 1 - low) + 1;
            if (range == 0) return (long)NextU64();
            var zone = (range << BitOperations.LeadingZeroCount(range)) - 1;
            while (true)
            {
                var v = NextU64();
                var hi = Math.BigMul(v, range, out var lo);
                if (lo <= zone) return low + (long)hi;
            }
        }
    }

    /// <summary>Uniform in [low, high) (rand's float sampling: 52 random mantissa bits).</summary>
    public double Range(double low, double high)
    {
        var scale = high - low;
        while (true)
        {
            var oneToTwo = BitConverter.Int64BitsToDouble((long)((1023UL << 52) | (NextU64() >> 12)));
            var result = (oneToTwo - 1.0) * scale + low;
            if (result < high) return result;
            scale = BitConverter.Int64BitsToDouble(BitConverter.DoubleToInt64Bits(scale) - 1);
        }
    }
}
