using System.Text.Json;
using System.Text.Json.Serialization;

namespace Tremor.Connectors.File;

/// <summary>
/// Where the follow source resumes: per file, its identity (device, inode and its first bytes, since inodes are reused)
/// and the offset right after the last line every sink acknowledged. Written whole to a temporary file, synced and
/// renamed over the last one, so a crash at any moment leaves either the old checkpoint or the new one, never half.
/// </summary>
internal sealed class FileCheckpoint(string directory)
{
    public const string FileName = "follow-checkpoint.json";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public string Path { get; } = System.IO.Path.Combine(directory, FileName);

    /// <summary>One file's entry.</summary>
    public sealed record Entry(
        [property: JsonPropertyName("path")] string FilePath,
        [property: JsonPropertyName("device")] ulong Device,
        [property: JsonPropertyName("inode")] ulong Inode,
        [property: JsonPropertyName("head")] string Head,
        [property: JsonPropertyName("offset")] long Offset);

    private sealed record Document(
        [property: JsonPropertyName("version")] int Version,
        [property: JsonPropertyName("files")] List<Entry> Files);

    /// <summary>The entries last written; none when there is no checkpoint yet.</summary>
    /// <exception cref="InvalidDataException">The checkpoint cannot be read (named, with what to do).</exception>
    public List<Entry>? Load()
    {
        if (!System.IO.File.Exists(Path)) return null;
        try
        {
            var document = JsonSerializer.Deserialize<Document>(System.IO.File.ReadAllBytes(Path), Json);
            if (document is not { Version: 1, Files: { } files }) throw new JsonException("not a version 1 checkpoint");
            return files;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"the follow checkpoint '{Path}' is not readable ({e.Message}); delete it to read the files from their start again", e);
        }
    }

    /// <summary>Replaces the checkpoint atomically (temporary file, sync, rename).</summary>
    public void Save(List<Entry> entries)
    {
        var temporary = Path + ".tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            JsonSerializer.Serialize(stream, new Document(1, entries), Json);
            stream.Flush(flushToDisk: true);
        }
        System.IO.File.Move(temporary, Path, overwrite: true);
    }
}
