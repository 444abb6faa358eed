using System.Buffers;
using System.Text;
using Tremor.Pdk;

namespace Tremor.Codecs;

/// <summary>
/// What <c>collect</c> and <c>chunk</c> share: events are joined into one payload (with a separator between them)
/// until the next would make it larger than <c>max-bytes</c>, it holds <c>max-events</c>, or <c>max-wait</c> passed
/// since its first event; the end of the stream sends what is held. An event is never split.
/// </summary>
public abstract class JoiningPostprocessor : IPayloadPostprocessor
{
    private const string MaxBytesKey = "max-bytes";
    private const string MaxEventsKey = "max-events";
    private const string MaxWaitKey = "max-wait";

    private readonly int _maxBytes;
    private readonly int _maxEvents;
    private readonly byte[] _separator;
    private readonly bool _refuseLarger;
    private int _count;

    /// <summary>A joiner; 0 for <paramref name="maxBytes"/> or <paramref name="maxEvents"/> means no such limit.</summary>
    protected JoiningPostprocessor(int maxBytes, int maxEvents, TimeSpan? maxWait, byte[] separator, bool refuseLarger)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxBytes);
        ArgumentOutOfRangeException.ThrowIfNegative(maxEvents);
        if (maxWait is { } wait) ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(wait, TimeSpan.Zero);
        _maxBytes = maxBytes;
        _maxEvents = maxEvents;
        MaxHold = maxWait;
        _separator = separator;
        _refuseLarger = refuseLarger;
    }

    /// <inheritdoc />
    public TimeSpan? MaxHold { get; }

    /// <inheritdoc />
    public bool TryProcess(ReadOnlySpan<byte> data, ulong ingestNs, IPayloadWriter output, out string? error)
    {
        if (_refuseLarger && data.Length > _maxBytes)
        {
            error = $"payload of {data.Length} bytes exceeds max-bytes {_maxBytes}; event not sent (raise max-bytes if payloads this big are expected)";
            return false;
        }
        error = null;
        if (_count > 0 && _maxBytes > 0 && (long)output.OpenLength + _separator.Length + data.Length > _maxBytes)
        {
            output.EndPayload();
            _count = 0;
        }
        if (_count > 0) output.Write(_separator);
        output.Write(data);
        _count++;
        if ((_maxEvents > 0 && _count >= _maxEvents) || (_maxBytes > 0 && output.OpenLength >= _maxBytes))
        {
            output.EndPayload();
            _count = 0;
        }
        return true;
    }

    /// <inheritdoc />
    public bool TryFlush(IPayloadWriter output, bool endOfStream, out string? error)
    {
        if (_count > 0) output.EndPayload();
        _count = 0;
        error = null;
        return true;
    }

    /// <summary>Not used by the runtime (it calls the payload form): one event, unjoined, for a caller that knows no payloads.</summary>
    public bool TryProcess(ReadOnlySpan<byte> data, IBufferWriter<byte> output, out string? error)
    {
        if (_refuseLarger && data.Length > _maxBytes)
        {
            error = $"payload of {data.Length} bytes exceeds max-bytes {_maxBytes}; event not sent (raise max-bytes if payloads this big are expected)";
            return false;
        }
        output.Write(data);
        error = null;
        return true;
    }

    /// <summary>Reads <c>max-bytes</c> (required when <paramref name="required"/>, else 0 = no limit).</summary>
    protected static int ReadMaxBytes(PluginConfig config, bool required) =>
        ProcessorConfig.ReadBytes(config, MaxBytesKey, required ? null : 0, min: required ? 1 : 0, max: int.MaxValue / 2);

    /// <summary>Reads <c>max-events</c> (0 = no limit).</summary>
    protected static int ReadMaxEvents(PluginConfig config)
    {
        var value = config.GetInt(MaxEventsKey, 0);
        if (value is < 0 or > int.MaxValue) throw new ConfigException(ProcessorConfig.PathOf(config, MaxEventsKey), $"must be 0 (no limit) or a positive number of events, found {value}");
        return (int)value;
    }

    /// <summary>Reads <c>max-wait</c> (absent: held until full or the end of the stream).</summary>
    protected static TimeSpan? ReadMaxWait(PluginConfig config)
    {
        if (!config.Has(MaxWaitKey)) return null;
        var wait = config.GetDuration(MaxWaitKey);
        if (wait <= TimeSpan.Zero) throw new ConfigException(ProcessorConfig.PathOf(config, MaxWaitKey), $"must be a positive duration such as \"100ms\", found {wait}");
        return wait;
    }

    /// <summary>Reads <c>separator</c>: a string (its UTF-8, may be empty) or a byte 0-255; absent: none.</summary>
    protected static byte[] ReadSeparator(PluginConfig config)
    {
        if (!config.Raw.TryGetValue(SeparatorConfig.Key, out var raw) || raw.IsNull) return [];
        if (raw.TryGetI64(out var b))
        {
            return b is >= 0 and <= 255 ? [(byte)b] : throw new ConfigException(ProcessorConfig.PathOf(config, SeparatorConfig.Key), $"a separator byte must be 0-255, found {b}");
        }
        return Encoding.UTF8.GetBytes(config.GetString(SeparatorConfig.Key));
    }

    /// <summary>The keys every joiner knows.</summary>
    protected static string[] Keys(params string[] more) => [MaxBytesKey, MaxWaitKey, .. more];
}

/// <summary>
/// The <c>collect</c> postprocessor (Tremor's, with more limits): joins events into one payload, with an optional
/// <c>separator</c> between them, until the next would pass <c>max-bytes</c> (default 0: no limit), <c>max-events</c>
/// are in (default 0: no limit) or <c>max-wait</c> passed since the first (default: none). An event larger than
/// <c>max-bytes</c> goes alone, as Tremor's. With no limit at all, everything is sent at the end of the stream.
/// Each event is acknowledged once the payload that carried it was delivered.
/// </summary>
public sealed class CollectPostprocessor : JoiningPostprocessor
{
    /// <summary>The name written in a flow.</summary>
    public const string Name = "collect";

    /// <summary>A collector; 0 means no such limit.</summary>
    public CollectPostprocessor(int maxBytes = 0, int maxEvents = 0, TimeSpan? maxWait = null, byte[]? separator = null)
        : base(maxBytes, maxEvents, maxWait, separator ?? [], refuseLarger: false)
    {
    }

    /// <summary>A postprocessor from its flow configuration.</summary>
    public CollectPostprocessor(PluginConfig config)
        : this(ReadMaxBytes(config, required: false), ReadMaxEvents(config), ReadMaxWait(config), ReadSeparator(config))
    {
        config.RejectUnknownKeys(Keys("max-events", SeparatorConfig.Key));
    }
}
