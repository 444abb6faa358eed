namespace Tremor.Actors.Connectors;

/// <summary>
/// How many second decode threads the sources of one runtime may run at once. Each source decodes a large pull on
/// its own thread and, when a helper is free, on a second: bounded per source, two sources on two cores ran four
/// decode threads and took turns on the cores with the pipelines and sinks downstream of them.
/// </summary>
/// <param name="limit">Helpers at once: one less than the cores, since every source already decodes on its own thread.</param>
internal sealed class DecodeHelpers(int limit)
{
    private readonly int _limit = Math.Max(1, limit);
    private int _running;

    /// <summary>The bound for this machine: one helper per core beyond the first (one at least).</summary>
    public static DecodeHelpers ForThisMachine() => new(Environment.ProcessorCount - 1);

    /// <summary>Helpers running now.</summary>
    public int Running => Volatile.Read(ref _running);

    /// <summary>Takes a helper slot if one is free; <see cref="Return"/> it when the helper is done.</summary>
    public bool TryTake()
    {
        while (true)
        {
            var running = Volatile.Read(ref _running);
            if (running >= _limit) return false;
            if (Interlocked.CompareExchange(ref _running, running + 1, running) == running) return true;
        }
    }

    /// <summary>A helper finished.</summary>
    public void Return() => Interlocked.Decrement(ref _running);
}
