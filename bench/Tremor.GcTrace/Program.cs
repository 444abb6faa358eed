// Reads a trace of the runtime's GC events (dotnet-trace, provider Microsoft-Windows-DotNETRuntime:0x1:5) and says
// where the GC's work comes from: bytes allocated by type (from the allocation ticks, one per ~100 KB), why each
// collection ran, what survived them, how long the pauses were, and the stacks of large-object allocations (and of
// the types named on the command line). Used by bench/gc-trace.sh.
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

if (args.Length < 1)
{
    Console.Error.WriteLine("usage: Tremor.GcTrace TRACE.nettrace [TYPE-SUBSTRING...]");
    return 2;
}
using var log = new TraceLog(TraceLog.CreateFromEventPipeDataFile(args[0]));
var watched = args.Skip(1).ToArray();
var byType = new Dictionary<string, (long Bytes, int Ticks)>();
var stacks = new Dictionary<string, long>();
var collections = new Dictionary<string, int>();
long promotedGen0 = 0, promotedGen1 = 0;
var heapStats = 0;
var pauses = new List<double>();
double suspendedAt = -1;
foreach (var e in log.Events)
{
    switch (e)
    {
        case GCAllocationTickTraceData tick:
            var key = $"{tick.AllocationKind,-6} {tick.TypeName}";
            var (bytes, ticks) = byType.GetValueOrDefault(key);
            byType[key] = (bytes + tick.AllocationAmount64, ticks + 1);
            if (tick.AllocationKind != GCAllocationKind.Small || watched.Any(w => tick.TypeName.Contains(w, StringComparison.Ordinal)))
            {
                var frames = new List<string>();
                for (var frame = e.CallStack(); frame is not null && frames.Count < 8; frame = frame.Caller) frames.Add(Short(frame.CodeAddress.FullMethodName));
                var stack = key + "\n      " + string.Join("\n      ", frames);
                stacks[stack] = stacks.GetValueOrDefault(stack) + tick.AllocationAmount64;
            }
            break;
        case GCStartTraceData start:
            var reason = $"gen{start.Depth} {start.Reason}";
            collections[reason] = collections.GetValueOrDefault(reason) + 1;
            break;
        case GCHeapStatsTraceData stats:
            promotedGen0 += stats.TotalPromotedSize0;
            promotedGen1 += stats.TotalPromotedSize1;
            heapStats++;
            break;
        case GCSuspendEETraceData:
            suspendedAt = e.TimeStampRelativeMSec;
            break;
        default:
            if (suspendedAt >= 0 && e.EventName.EndsWith("RestartEEStop", StringComparison.Ordinal))
            {
                pauses.Add(e.TimeStampRelativeMSec - suspendedAt);
                suspendedAt = -1;
            }
            break;
    }
}
var seconds = log.SessionDuration.TotalSeconds;
Console.WriteLine($"trace of {seconds:0.0} s");
Console.WriteLine("allocated (sampled by allocation ticks), MB per second of trace:");
foreach (var (type, (bytes, _)) in byType.OrderByDescending(t => t.Value.Bytes).Take(20)) Console.WriteLine($"  {bytes / 1e6 / seconds,9:0.0}  {type}");
Console.WriteLine("collections (generation, reason):");
foreach (var (reason, count) in collections.OrderByDescending(c => c.Value)) Console.WriteLine($"  {count,6}  {reason}");
if (heapStats > 0)
{
    Console.WriteLine($"survivors per collection: {promotedGen0 / heapStats / 1e6:0.00} MB promoted out of gen0, {promotedGen1 / heapStats / 1e6:0.00} MB out of gen1");
}
if (pauses.Count > 0)
{
    Console.WriteLine($"pauses: {pauses.Count}, {pauses.Sum():0} ms in all ({100 * pauses.Sum() / 1000 / seconds:0.0} % of the time), mean {pauses.Average():0.00} ms, max {pauses.Max():0.00} ms");
}
if (stacks.Count > 0)
{
    Console.WriteLine("stacks of large-object (and watched) allocations, MB per second:");
    foreach (var (stack, bytes) in stacks.OrderByDescending(s => s.Value).Take(10)) Console.WriteLine($"  {bytes / 1e6 / seconds,9:0.0}  {stack}");
}
return 0;

// Akka's generated handlers name every generic argument: the first part says enough.
static string Short(string method) => method.Length <= 140 ? method : method[..140] + "…";
