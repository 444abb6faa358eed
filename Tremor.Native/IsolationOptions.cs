namespace Tremor.Native;

/// <summary>How a native connector runs when <c>isolation = process</c>.</summary>
/// <param name="CallTimeout">A call into the plugin longer than this kills the plugin host process (watchdog).</param>
/// <param name="MemoryLimitBytes">Address-space limit applied to the plugin host process; null for none.</param>
public sealed record IsolationOptions(TimeSpan CallTimeout, long? MemoryLimitBytes);
