using System.Collections.Concurrent;
using System.Diagnostics;
using Akka.Actor;
using Akka.Streams;
using Tremor.Actors.Configuration;

namespace Tremor.Actors.Connectors;

/// <summary>
/// What every part of one runtime shares: where output goes, the clock, the directory of sources for acks, and who
/// to tell when a plugin asks to shut down.
/// </summary>
public sealed class RuntimeServices
{
    private static readonly long EpochNsAtStart = (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;
    private static readonly long TimestampAtStart = Stopwatch.GetTimestamp();
    private readonly ConcurrentDictionary<uint, IActorRef> _sources = new();
    private readonly Dictionary<string, Task> _instanceStops = new(StringComparer.Ordinal);
    private int _nextSourceId;
    private IMaterializer? _materializer;

    /// <summary>Services writing to the given writers, keeping connector state under <paramref name="dataDirectory"/>.</summary>
    public RuntimeServices(TextWriter output, TextWriter error, string dataDirectory = TremorSettings.DefaultDataDir)
    {
        Out = output;
        Error = error;
        Data = new DataDirectory(dataDirectory);
    }

    /// <summary><c>tremor.data-dir</c>: connector state that survives restarts, locked against a second runtime.</summary>
    public DataDirectory Data { get; }

    /// <summary>Where connectors print (stdout).</summary>
    public TextWriter Out { get; }

    /// <summary>Where connectors print errors (stderr).</summary>
    public TextWriter Error { get; }

    /// <summary>The bound on second decode threads all sources of this runtime share.</summary>
    internal DecodeHelpers DecodeHelpers { get; } = DecodeHelpers.ForThisMachine();

    /// <summary>Where every connector and pipeline reports, when it stops, what it delivered and what it lost.</summary>
    public Flows.DeliveryLedger Ledger { get; } = new();

    /// <summary>The world actor, once it exists; plugin shutdown requests go there.</summary>
    public IActorRef World { get; set; } = ActorRefs.Nobody;

    /// <summary>The actor system the world runs in, once it exists; stream connectors materialise on it.</summary>
    public ActorSystem? System { get; set; }

    /// <summary>
    /// The materializer of stream connectors (<c>Tremor.Pdk.Streams</c>), created on first use: its stages run on the
    /// plugin dispatcher, like every other plugin call, never on Akka's own.
    /// </summary>
    public IMaterializer Materializer
    {
        get
        {
            lock (_instanceStops)
            {
                var system = System ?? throw new InvalidOperationException("no actor system yet: stream connectors materialise once the world runs");
                return _materializer ??= system.Materializer(ActorMaterializerSettings.Create(system).WithDispatcher(PluginProxy.Dispatcher), "tremor-streams");
            }
        }
    }

    /// <summary>Wall-clock nanoseconds since the Unix epoch, from a monotonic clock (cheap, ns resolution).</summary>
    public static ulong NowNs()
    {
        var elapsed = Stopwatch.GetTimestamp() - TimestampAtStart;
        return (ulong)(EpochNsAtStart + (long)(elapsed * (1_000_000_000.0 / Stopwatch.Frequency)));
    }

    /// <summary>Gives a source connector its number for event ids and acks.</summary>
    internal uint RegisterSource(IActorRef source)
    {
        var id = (uint)Interlocked.Increment(ref _nextSourceId);
        _sources[id] = source;
        return id;
    }

    /// <summary>Forgets a stopped source.</summary>
    internal void UnregisterSource(uint id) => _sources.TryRemove(id, out _);

    /// <summary>The connector actor of a source, for acks.</summary>
    internal IActorRef? Source(uint id) => _sources.TryGetValue(id, out var r) ? r : null;

    /// <summary>
    /// Records that a plugin instance of connector <paramref name="alias"/> is being stopped and disposed by
    /// <paramref name="stop"/> (off the plugin dispatcher, bounded in time). The next instance of that connector starts
    /// after it (it may need the port or file the old one holds), and the run ends after every one.
    /// </summary>
    internal void TrackInstanceStop(string alias, Task stop)
    {
        Task tracked;
        lock (_instanceStops)
        {
            tracked = _instanceStops.TryGetValue(alias, out var earlier) && !earlier.IsCompleted ? Task.WhenAll(earlier, stop) : stop;
            _instanceStops[alias] = tracked;
        }
        // Forgotten once done, so flows deployed and undeployed for days do not pile up entries.
        tracked.ContinueWith(
            _ =>
            {
                lock (_instanceStops)
                {
                    if (_instanceStops.TryGetValue(alias, out var current) && current == tracked) _instanceStops.Remove(alias);
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <summary>Completes once every instance of <paramref name="alias"/> stopped so far is stopped and disposed.</summary>
    internal Task InstanceStopped(string alias)
    {
        lock (_instanceStops) return _instanceStops.TryGetValue(alias, out var stop) ? stop : Task.CompletedTask;
    }

    /// <summary>Completes once every plugin instance stopped so far is stopped and disposed (before plugins are unloaded).</summary>
    public Task AllInstancesStopped()
    {
        lock (_instanceStops) return Task.WhenAll(_instanceStops.Values.ToArray());
    }
}
