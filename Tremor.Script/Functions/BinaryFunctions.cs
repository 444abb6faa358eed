using Tremor.Pdk;
using Tremor.Script.Runtime;

namespace Tremor.Script.Functions;

// Tremor's std::binary: the bytes of a binary value, and back.
internal static partial class FunctionRegistry
{
    private static void RegisterBinary()
    {
        Add("binary::len", 1, a => Value.From((long)BinaryArg(a, 0, "binary::len").Length));
        Add("binary::into_bytes", 1, a => Value.From(BinaryArg(a, 0, "binary::into_bytes").Select(b => Value.From((long)b)).ToList()));
        Add("binary::from_bytes", 1, a =>
        {
            var items = Arr(a, 0, "binary::from_bytes");
            var bytes = new byte[items.Count];
            for (var i = 0; i < items.Count; i++)
            {
                if (!items[i].TryGetI64(out var b) || b is < 0 or > 255)
                    throw new FunctionError($"binary::from_bytes: element {i} is {ValueOps.Short(items[i])}, not a byte (0 to 255)");
                bytes[i] = (byte)b;
            }
            return Value.From(bytes);
        });
    }

    private static byte[] BinaryArg(ReadOnlySpan<Value> a, int i, string fn) =>
        a[i].AsBytes() ?? throw new FunctionError($"{fn}: argument {i + 1} must be binary, got {ValueOps.TypeName(a[i])}");
}
