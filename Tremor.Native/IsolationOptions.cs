namespace Tremor.Native;

/// <summary>How a native connector runs when <c>isolation = process</c>.</summary>
/// <param name="CallTimeout">A call into the plugin longer than this kills the plugin host process (watchdog).</param>
/// <param name="MemoryLimitBytes">Address-space limit applied to the plugin host process; null for none.</param>
/// <param name="MaxRegionBytes">
/// The largest the shared region between the runtime and the plugin host may grow (<c>max-region-size</c>); a
/// plugin host that reports a larger region is a protocol violation, a batch or pull that needs more fails.
/// </param>
public sealed record IsolationOptions(TimeSpan CallTimeout, long? MemoryLimitBytes, long MaxRegionBytes = IsolationOptions.DefaultMaxRegionBytes)
{
    /// <summary>The default <c>max-region-size</c>: 256 MiB.</summary>
    public const long DefaultMaxRegionBytes = 256L << 20;

    /// <summary>
    /// <c>host-cpu = follow</c> (the default): the plugin host's serving thread is kept on the CPU of the runtime thread
    /// that calls it, for sink and pull calls, so a call's two wake-ups stay on one CPU; false (<c>any</c>): the
    /// scheduler places the host.
    /// </summary>
    public bool FollowCallerCpu { get; init; } = true;
}
