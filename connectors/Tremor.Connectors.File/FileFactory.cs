using Tremor.Pdk;

namespace Tremor.Connectors.File;

/// <summary>How the <c>file</c> connector opens its file.</summary>
internal enum FileOpenMode
{
    /// <summary>Source: stream the file's bytes, then finish.</summary>
    Read,
    /// <summary>Sink: create the file or truncate it (Tremor's <c>write</c> and <c>truncate</c>).</summary>
    Truncate,
    /// <summary>Sink: create the file or append to it.</summary>
    Append,
    /// <summary>Sink: create the file or write over it from the start without truncating.</summary>
    Overwrite,
}

/// <summary>
/// <c>file</c>: <c>mode = read</c> (default) makes a source that streams <c>path</c> in chunks of <c>chunk_size</c>
/// bytes (default 64 KiB; add the <c>separate</c> preprocessor for lines), decompressing it when the path ends in
/// <c>.xz</c>, and finishes at end of file. <c>write</c> / <c>truncate</c>, <c>append</c> and <c>overwrite</c> make a
/// sink that writes each batch's encoded bytes, flushes per batch and syncs to disk on drain and stop.
/// </summary>
public sealed class FileFactory : IConnectorFactory
{
    internal const int DefaultChunkSize = 64 * 1024;

    /// <inheritdoc />
    public string Type => "file";

    /// <inheritdoc />
    public string Description => "Reads or writes a file (keys: path, mode = read|write|append|truncate|overwrite, chunk_size)";

    /// <inheritdoc />
    public ConnectorKinds Kinds => ConnectorKinds.Both;

    /// <inheritdoc />
    public string? DefaultCodec => "json";

    /// <inheritdoc />
    public IConnector Create(ConnectorContext context)
    {
        var config = context.Config;
        config.RejectUnknownKeys("path", "mode", "chunk_size");

        var path = config.GetString("path");
        string fullPath;
        try
        {
            if (path.Length == 0 || path.Contains('\0')) throw new ArgumentException("empty or contains NUL");
            fullPath = Path.GetFullPath(path);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new ConfigException($"{config.Path}.path", $"'{path}' is not a valid file path ({e.Message})");
        }

        var modeText = config.GetString("mode", "read");
        var mode = modeText switch
        {
            "read" => FileOpenMode.Read,
            "write" or "truncate" => FileOpenMode.Truncate,
            "append" => FileOpenMode.Append,
            "overwrite" => FileOpenMode.Overwrite,
            _ => throw new ConfigException($"{config.Path}.mode", $"expected read, write, append, truncate or overwrite, found '{modeText}'"),
        };

        var chunkSize = config.GetInt("chunk_size", DefaultChunkSize);
        if (chunkSize is < 1 or > 64 * 1024 * 1024)
        {
            throw new ConfigException($"{config.Path}.chunk_size", $"must be between 1 and 67108864 bytes, found {chunkSize}");
        }

        return mode == FileOpenMode.Read
            ? new FileReader(context.Host, fullPath, (int)chunkSize)
            : new FileWriter(fullPath, mode);
    }
}
