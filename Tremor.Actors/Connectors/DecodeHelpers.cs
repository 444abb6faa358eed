namespace Tremor.Actors.Connectors;

/// <summary>What a decode helper runs: its share of one batch (<see cref="SourceDecoder"/>).</summary>
internal interface IDecodeWork
{
    /// <summary>Decodes what is left to claim of the batch, then returns.</summary>
    void Help();
}

/// <summary>
/// The bound on the decode threads of one runtime. A source decodes a large pull on its own thread and, when the bound
/// allows, on a helper from the thread pool: the decode threads running at once (sources decoding a batch on their
/// own thread, plus helpers) never outnumber the cores. So one source on two cores decodes on two threads, and two
/// sources decoding at once on two cores run no helper: a third decode thread there was preempted mid-batch, made its
/// source wait for its last claim, and held up gen0 collections until the scheduler ran it again to reach a safe point
/// (two inputs into one pipeline cost ~20 % more CPU per event than one; BENCHMARKS.md, issue 22, session 7).
/// </summary>
/// <param name="cores">Decode threads at once: the machine's cores (one: sources decode alone, with no helper).</param>
internal sealed class DecodeHelpers(int cores)
{
    private readonly int _cores = Math.Max(1, cores);
    private int _decoding;

    /// <summary>The bound for this machine: its cores.</summary>
    public static DecodeHelpers ForThisMachine() => new(Environment.ProcessorCount);

    /// <summary>Decode threads now: sources decoding a batch on their own thread, plus helpers.</summary>
    public int Decoding => Volatile.Read(ref _decoding);

    /// <summary>A source starts decoding a batch on its own thread; <see cref="Leave"/> when done.</summary>
    public void Enter() => Interlocked.Increment(ref _decoding);

    /// <summary>A source finished decoding a batch on its own thread.</summary>
    public void Leave() => Interlocked.Decrement(ref _decoding);

    /// <summary>
    /// Starts <paramref name="work"/> on a thread-pool thread if the bound leaves room for one more decode thread;
    /// false when it does not (the caller decodes alone). The helper counts against the bound until it returns.
    /// </summary>
    public bool TryHelp(IDecodeWork work)
    {
        if (!TryTake()) return false;
        ThreadPool.UnsafeQueueUserWorkItem(static state => state.Run(), new Helping(this, work), preferLocal: false);
        return true;
    }

    /// <summary>Takes a place for a helper if the bound leaves one; <see cref="Return"/> it when the helper is done.</summary>
    internal bool TryTake()
    {
        while (true)
        {
            var decoding = Volatile.Read(ref _decoding);
            if (decoding >= _cores) return false;
            if (Interlocked.CompareExchange(ref _decoding, decoding + 1, decoding) == decoding) return true;
        }
    }

    /// <summary>A helper finished.</summary>
    internal void Return() => Interlocked.Decrement(ref _decoding);

    private sealed class Helping(DecodeHelpers helpers, IDecodeWork work)
    {
        public void Run()
        {
            try
            {
                work.Help();
            }
            finally
            {
                helpers.Return();
            }
        }
    }
}
