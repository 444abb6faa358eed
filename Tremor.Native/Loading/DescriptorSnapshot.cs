using System.Globalization;
using Tremor.Native.Abi;

namespace Tremor.Native.Loading;

/// <summary>How one pointer field of the descriptor read.</summary>
internal enum SnapshotState
{
    /// <summary>The plugin's descriptor is too small to have the field.</summary>
    Absent,
    /// <summary>The pointer is NULL.</summary>
    Null,
    /// <summary>Reading through the pointer faulted (unmapped memory).</summary>
    Fault,
    /// <summary>A string longer than the bound, without its NUL within it.</summary>
    TooLong,
    /// <summary>The bytes were read.</summary>
    Read,
}

/// <summary>One field the descriptor points to: its state, and its bytes when read.</summary>
internal sealed record SnapshotItem(SnapshotState State, byte[] Bytes, ulong Address = 0, long Bound = 0)
{
    public static readonly SnapshotItem Absent = new(SnapshotState.Absent, []);
}

/// <summary>
/// What a plugin's descriptor says, copied out of the library: the descriptor's bytes and what its pointers point to.
/// Built from the plugin inspector's output (a child process read it, so a bad pointer cannot hurt the runtime), or
/// from the runtime's own mapping once the inspection passed and the plugin is loaded for an in-process instance. The
/// checks (<see cref="DescriptorChecks"/>) read only this.
/// </summary>
internal sealed class DescriptorSnapshot
{
    public const uint MaxDescriptor = 4096;
    public const uint MaxLayoutRows = 4096;
    public const uint MaxVtable = 4096;
    public const int MaxName = 4096;
    public const int MaxSchema = 1024 * 1024;
    public const int MaxText = 64 * 1024;

    private readonly Dictionary<string, SnapshotItem> _items = new(StringComparer.Ordinal);

    /// <summary>The descriptor's own bytes (at least the 16 frozen ones), or a fault.</summary>
    public SnapshotItem Descriptor => Item("descriptor");

    public SnapshotItem Item(string field) => _items.TryGetValue(field, out var item) ? item : SnapshotItem.Absent;

    public void Set(string field, SnapshotItem item) => _items[field] = item;

    /// <summary>
    /// Parses the inspector's protocol (see <c>host/tremor-plugin-inspect.c</c>) from <c>mem</c>/<c>str</c>/<c>null</c>/
    /// <c>fault</c>/<c>long</c> lines; null and a reason for anything it does not understand.
    /// </summary>
    public static DescriptorSnapshot? Parse(IEnumerable<string> lines, out string? violation)
    {
        violation = null;
        var snapshot = new DescriptorSnapshot();
        foreach (var line in lines)
        {
            var parts = line.Split(' ');
            if (parts.Length < 2 || !Known(parts[1]))
            {
                violation = $"unexpected line {PluginNames.Quote(Shorten(line))}";
                return null;
            }
            SnapshotItem? item = parts[0] switch
            {
                "mem" or "str" when parts.Length == 3 && TryHex(parts[2], out var bytes) => new SnapshotItem(SnapshotState.Read, bytes),
                "null" when parts.Length == 2 => new SnapshotItem(SnapshotState.Null, []),
                "fault" when parts.Length == 3 && TryAddress(parts[2], out var address) => new SnapshotItem(SnapshotState.Fault, [], address),
                "long" when parts.Length == 3 && long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var bound) => new SnapshotItem(SnapshotState.TooLong, [], 0, bound),
                _ => null,
            };
            if (item is null)
            {
                violation = $"unexpected line {PluginNames.Quote(Shorten(line))}";
                return null;
            }
            snapshot.Set(parts[1], item);
        }
        return snapshot;
    }

    /// <summary>
    /// Reads the descriptor at <paramref name="symbol"/> in this process, with the same bounds as the inspector. Only
    /// for a library whose inspection passed: the inspector already read these very bytes without a fault.
    /// </summary>
    public static unsafe DescriptorSnapshot FromMemory(byte* symbol)
    {
        var snapshot = new DescriptorSnapshot();
        var size = *(uint*)(symbol + 8);
        var copied = Math.Min(Math.Max(size, 16u), MaxDescriptor);
        snapshot.Set("descriptor", new SnapshotItem(SnapshotState.Read, new ReadOnlySpan<byte>(symbol, (int)copied).ToArray()));
        TremorPluginDescriptor d = default;
        Buffer.MemoryCopy(symbol, &d, sizeof(TremorPluginDescriptor), Math.Min(copied, (uint)sizeof(TremorPluginDescriptor)));

        if (Has(size, 24, 4)) snapshot.Set("layout", Block(d.Layout, Math.Min(d.LayoutCount, MaxLayoutRows) * (uint)sizeof(TremorLayoutEntry)));
        if (Has(size, 40, 8)) snapshot.Set("name", Text(d.Name, MaxName));
        if (Has(size, 48, 8)) snapshot.Set("version", Text(d.Version, MaxName));
        if (Has(size, 56, 8)) snapshot.Set("config_schema", Text(d.ConfigSchema, MaxSchema));
        if (Has(size, 64, 8)) snapshot.Set("default_codec", Text(d.DefaultCodec, MaxName));
        if (Has(size, 72, 8))
        {
            snapshot.Set("vtable", d.Vtable == null
                ? new SnapshotItem(SnapshotState.Null, [])
                : Block(d.Vtable, Math.Clamp(d.Vtable->Size, 4u, MaxVtable)));
        }
        if (Has(size, 80, 8)) snapshot.Set("description", Text(d.Description, MaxText));
        return snapshot;

        static bool Has(uint size, uint offset, uint width) => size >= offset + width;

        static SnapshotItem Block(void* pointer, uint length) =>
            pointer == null ? new SnapshotItem(SnapshotState.Null, []) : new SnapshotItem(SnapshotState.Read, new ReadOnlySpan<byte>(pointer, (int)length).ToArray());

        static SnapshotItem Text(byte* text, int bound)
        {
            if (text == null) return new SnapshotItem(SnapshotState.Null, []);
            // Byte by byte: the string may end right before unmapped memory.
            var length = 0;
            while (length <= bound && text[length] != 0) length++;
            return length > bound ? new SnapshotItem(SnapshotState.TooLong, [], 0, bound) : new SnapshotItem(SnapshotState.Read, new ReadOnlySpan<byte>(text, length).ToArray());
        }
    }

    private static bool Known(string field) =>
        field is "descriptor" or "layout" or "name" or "version" or "config_schema" or "default_codec" or "vtable" or "description";

    private static string Shorten(string line) => line.Length > 80 ? line[..80] + "..." : line;

    private static bool TryHex(string hex, out byte[] bytes)
    {
        bytes = [];
        if (hex.Length % 2 != 0) return false;
        try
        {
            bytes = Convert.FromHexString(hex);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static bool TryAddress(string text, out ulong address)
    {
        address = 0;
        return text.StartsWith("0x", StringComparison.Ordinal) &&
               ulong.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out address);
    }
}
