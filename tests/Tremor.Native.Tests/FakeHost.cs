using System.Collections.Concurrent;
using Tremor.Pdk;

namespace Tremor.Native.Tests;

/// <summary>An <see cref="IPluginHost"/> that records what a plugin reports.</summary>
public sealed class FakeHost : IPluginHost
{
    public string Alias { get; init; } = "test::native";

    public ConcurrentQueue<(PluginLogLevel Level, string Message)> Logs { get; } = new();

    public ConcurrentQueue<EventId> Acked { get; } = new();

    public ConcurrentQueue<(EventId Id, string Reason)> Failed { get; } = new();

    public TextWriter Out { get; } = new StringWriter();

    public TextWriter Error { get; } = new StringWriter();

    public (int Code, string Reason)? Shutdown { get; private set; }

    public void Log(PluginLogLevel level, string message) => Logs.Enqueue((level, message));

    public ulong NowNs() => (ulong)(DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;

    public void RequestShutdown(int exitCode, string reason) => Shutdown = (exitCode, reason);

    private int _roomSignals;

    /// <summary>How often the plugin said its sink has room again (host->sink_has_room).</summary>
    public int RoomSignals => Volatile.Read(ref _roomSignals);

    public void SinkHasRoom() => Interlocked.Increment(ref _roomSignals);

    public void Ack(IReadOnlyList<EventId> ids)
    {
        foreach (var id in ids) Acked.Enqueue(id);
    }

    public void Fail(IReadOnlyList<EventId> ids, string reason)
    {
        foreach (var id in ids) Failed.Enqueue((id, reason));
    }

    public static ConnectorContext Context(FakeHost host, params (string Key, Value Value)[] config)
    {
        var record = new ValueRecord();
        foreach (var (key, value) in config) record.Set(key, value);
        return new ConnectorContext(host, new PluginConfig("test.config", record));
    }

    /// <summary>A batch of events whose payloads are slices of one contiguous buffer, as the runtime builds them.</summary>
    public static SinkBatch Batch(byte[] bytes, params string[] payloads)
    {
        var events = new List<SinkEvent>();
        var offset = 0;
        for (var i = 0; i < payloads.Length; i++)
        {
            var len = System.Text.Encoding.UTF8.GetBytes(payloads[i], bytes.AsSpan(offset));
            var id = new EventId(1, 0, (ulong)i, (ulong)(100 + i));
            events.Add(new SinkEvent(id, 42, bytes.AsMemory(offset, len), new Event { Id = id, IngestNs = 42, Data = payloads[i] }));
            offset += len;
        }
        return new SinkBatch(events, bytes.AsMemory(0, offset));
    }
}
