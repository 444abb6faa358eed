using System.Buffers;
using Tremor.Pdk;

namespace Tremor.Connectors.Wal.Tests;

/// <summary>Entries of a <see cref="WalLog"/> as the log tests write and read them: a string value each.</summary>
internal static class LogEntries
{
    /// <summary>A structured entry holding <paramref name="text"/>.</summary>
    public static byte[] Entry(ulong sequence, string text)
    {
        var buffer = new ArrayBufferWriter<byte>();
        EntryCodec.Write(buffer, sequence, 7, Value.From(text), Value.Null);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The texts of every entry from the log's first kept one to its tail.</summary>
    public static List<string> ReadAll(WalLog log)
    {
        var texts = new List<string>();
        using var iterator = log.Read(log.BeginAddress);
        while (iterator.GetNext(out var entry, out var length, out _))
        {
            texts.Add(EntryCodec.Read(entry.AsMemory(0, length)).Data.AsString()!);
        }
        return texts;
    }
}
