using Tremor.Pdk;

namespace Tremor.Connectors.File;

/// <summary>How the <c>file</c> connector opens its file.</summary>
internal enum FileOpenMode
{
    /// <summary>Source: stream the file's bytes, then finish.</summary>
    Read,
    /// <summary>Source: tail the files the paths name, line by line, with a checkpoint (never finishes).</summary>
    Follow,
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
/// <c>.xz</c>, and finishes at end of file. <c>follow</c> makes a transactional source that tails <c>path</c> (or
/// <c>paths</c>; globs in the file name) line by line like <c>tail -F</c>, with a checkpoint in the connector's state
/// directory (see <see cref="FileFollower"/>). <c>write</c> / <c>truncate</c>, <c>append</c> and <c>overwrite</c> make a
/// sink that writes each batch's encoded bytes, flushes per batch and syncs to disk on drain and stop.
/// </summary>
public sealed class FileFactory : IConnectorFactory
{
    internal const int DefaultChunkSize = 64 * 1024;

    /// <inheritdoc />
    public string Type => "file";

    /// <inheritdoc />
    public string Description => "Reads, follows or writes files (keys: path, mode = read|follow|write|append|truncate|overwrite, chunk_size; follow: paths, poll-interval, read-from, partial-line-timeout, max-line-bytes, multiline)";

    /// <inheritdoc />
    public ConnectorKinds Kinds => ConnectorKinds.Both;

    /// <inheritdoc />
    public string? DefaultCodec => "json";

    /// <inheritdoc />
    public IConnector Create(ConnectorContext context)
    {
        var config = context.Config;
        var modeText = config.GetString("mode", "read");
        var mode = modeText switch
        {
            "read" => FileOpenMode.Read,
            "follow" => FileOpenMode.Follow,
            "write" or "truncate" => FileOpenMode.Truncate,
            "append" => FileOpenMode.Append,
            "overwrite" => FileOpenMode.Overwrite,
            _ => throw new ConfigException($"{config.Path}.mode", $"expected read, follow, write, append, truncate or overwrite, found '{modeText}'"),
        };
        if (mode == FileOpenMode.Follow)
        {
            config.RejectUnknownKeys("path", "paths", "mode", "poll-interval", "read-from", "partial-line-timeout", "max-line-bytes", "multiline");
            if (config.Has("path") == config.Has("paths"))
            {
                throw new ConfigException($"{config.Path}.path", "follow takes path = \"FILE-OR-GLOB\" or paths = [\"...\", ...], exactly one of the two");
            }
            var key = config.Has("path") ? "path" : "paths";
            var patterns = config.GetStringList(key).Select((p, i) => FullPath(config, key == "path" ? key : $"{key}[{i}]", p)).ToList();
            if (patterns.Count == 0) throw new ConfigException($"{config.Path}.paths", "names no file; give at least one path or glob");
            foreach (var (pattern, i) in patterns.Select((p, i) => (p, i)))
            {
                var directory = Path.GetDirectoryName(pattern) ?? "";
                if (directory.IndexOfAny(['*', '?']) >= 0)
                {
                    throw new ConfigException($"{config.Path}.{(key == "path" ? key : $"{key}[{i}]")}", $"'{pattern}': a glob may only be in the file name, not in the directories (one watch per directory)");
                }
            }
            return new FileFollower(context.Host, FollowOptions.From(config, patterns));
        }
        config.RejectUnknownKeys("path", "mode", "chunk_size");
        var fullPath = FullPath(config, "path", config.GetString("path"));

        var chunkSize = config.GetInt("chunk_size", DefaultChunkSize);
        if (chunkSize is < 1 or > 64 * 1024 * 1024)
        {
            throw new ConfigException($"{config.Path}.chunk_size", $"must be between 1 and 67108864 bytes, found {chunkSize}");
        }

        return mode == FileOpenMode.Read
            ? new FileReader(context.Host, fullPath, (int)chunkSize)
            : new FileWriter(fullPath, mode);
    }

    private static string FullPath(PluginConfig config, string key, string path)
    {
        try
        {
            if (path.Length == 0 || path.Contains('\0')) throw new ArgumentException("empty or contains NUL");
            return Path.GetFullPath(path);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new ConfigException($"{config.Path}.{key}", $"'{path}' is not a valid file path ({e.Message})");
        }
    }
}
