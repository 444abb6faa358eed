using Tremor.Pdk;

namespace Tremor.Script.Operators;

/// <summary>
/// <see cref="Value.Equals(Value)"/> with a hash that looks into arrays: <see cref="Value.GetHashCode"/> hashes an
/// array by its length only, so every <c>[host, logger]</c> pair of a bucket class would land in one chain.
/// </summary>
internal sealed class DimensionsComparer : IEqualityComparer<Value>
{
    public static DimensionsComparer Instance { get; } = new();

    public bool Equals(Value a, Value b) => a.Equals(b);

    public int GetHashCode(Value v)
    {
        switch (v.Kind)
        {
            // Numbers equal across kinds (1 and 1.0) hash alike.
            case ValueKind.I64 or ValueKind.U64 or ValueKind.F64:
                v.TryGetF64(out var d);
                return d.GetHashCode();
            case ValueKind.Array:
                {
                    var hash = new HashCode();
                    foreach (var item in v.AsArray()!) hash.Add(GetHashCode(item));
                    return hash.ToHashCode();
                }
            default: return v.GetHashCode();
        }
    }
}
