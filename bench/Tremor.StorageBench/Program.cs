// Chooses the wal and kv connectors' storage: FASTER's FasterLog against LMDB (LightningDB), measured the way the
// wal uses it. A producer appends 1 KB entries while a committer makes them durable every 5 ms (group commit), then
// the log is read back, then reopened (recovery) and scanned again.
//
//     dotnet run -c Release --project bench/Tremor.StorageBench -- [--mb 100] [--dir DIR]
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using FASTER.core;
using LightningDB;

var megabytes = 100;
string? baseDir = null;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--mb": megabytes = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
        case "--dir": baseDir = args[++i]; break;
        default: Console.Error.WriteLine($"unknown argument '{args[i]}': --mb N, --dir DIR"); return 2;
    }
}
// LightningDB's own liblmdb.so for linux-x64 needs glibc 2.38 (Debian 12 has 2.36): use Debian's liblmdb0.
System.Runtime.InteropServices.NativeLibrary.SetDllImportResolver(typeof(LightningEnvironment).Assembly, (name, assembly, path) =>
    name == "lmdb" && System.Runtime.InteropServices.NativeLibrary.TryLoad("liblmdb.so.0", out var handle) ? handle : IntPtr.Zero);
const int EntrySize = 1024;
var entries = megabytes * 1024;
var root = Path.Combine(baseDir ?? Path.GetTempPath(), $"tremor-storage-bench-{Environment.ProcessId}");
Directory.CreateDirectory(root);
var load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";
Console.WriteLine($"{entries:N0} entries of {EntrySize} B ({megabytes} MB), group commit every 5 ms; load average before: {load}");
Console.WriteLine("| library | append+commit MB/s | commits | read back MB/s | reopen (recovery) ms | reopen + full scan ms |");
Console.WriteLine("|---|---:|---:|---:|---:|---:|");
try
{
    Faster(Path.Combine(root, "faster"), entries);
    Lmdb(Path.Combine(root, "lmdb"), entries);
}
finally
{
    Directory.Delete(root, recursive: true);
}
return 0;

static byte[] Payload(long n)
{
    var bytes = new byte[EntrySize];
    Random.Shared.NextBytes(bytes);
    BinaryPrimitives.WriteInt64LittleEndian(bytes, n);
    return bytes;
}

static double Mb(long entries, TimeSpan t) => entries * (double)EntrySize / 1e6 / t.TotalSeconds;

static FasterLog OpenFaster(string dir) =>
    new(new FasterLogSettings(dir) { LogChecksum = LogChecksumType.PerEntry, TryRecoverLatest = true, AutoRefreshSafeTailAddress = true });

static void Faster(string dir, int entries)
{
    var sample = Payload(0);
    var sw = Stopwatch.StartNew();
    long commits = 0;
    using (var log = OpenFaster(dir))
    {
        using var done = new CancellationTokenSource();
        var committer = Task.Run(async () =>
        {
            while (!done.IsCancellationRequested)
            {
                await Task.Delay(5);
                await log.CommitAsync();
                commits++;
            }
        });
        for (var n = 0; n < entries; n++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(sample, n);
            log.Enqueue(sample);
        }
        var tail = log.TailAddress;
        log.WaitForCommitAsync(tail).AsTask().GetAwaiter().GetResult();
        var written = sw.Elapsed;
        done.Cancel();
        committer.GetAwaiter().GetResult();

        sw.Restart();
        var read = ScanFaster(log);
        var readBack = sw.Elapsed;
        if (read != entries) throw new InvalidOperationException($"FasterLog read {read} entries, wrote {entries}");
        Console.Write($"| FasterLog (checksums per entry) | {Mb(entries, written):F1} | {commits} | {Mb(entries, readBack):F1} ");
    }
    sw.Restart();
    using (var log = OpenFaster(dir))
    {
        var reopen = sw.Elapsed;
        var read = ScanFaster(log);
        var full = sw.Elapsed;
        if (read != entries) throw new InvalidOperationException($"FasterLog recovered {read} entries, wrote {entries}");
        Console.WriteLine($"| {reopen.TotalMilliseconds:F0} | {full.TotalMilliseconds:F0} |");
    }
}

static long ScanFaster(FasterLog log)
{
    long read = 0;
    using var iterator = log.Scan(log.BeginAddress, log.CommittedUntilAddress);
    while (true)
    {
        if (iterator.GetNext(out var entry, out _, out _))
        {
            if (BinaryPrimitives.ReadInt64LittleEndian(entry) != read) throw new InvalidOperationException($"FasterLog entry {read} out of order");
            read++;
            continue;
        }
        if (iterator.Ended || iterator.NextAddress >= log.CommittedUntilAddress) return read;
        iterator.WaitAsync().AsTask().GetAwaiter().GetResult();
    }
}

static LightningEnvironment OpenLmdb(string dir)
{
    var env = new LightningEnvironment(dir, new EnvironmentConfiguration { MapSize = 4L << 30 });
    env.Open();
    return env;
}

static void Lmdb(string dir, int entries)
{
    Directory.CreateDirectory(dir);
    var sw = Stopwatch.StartNew();
    long commits = 0;
    var key = new byte[8];
    using (var env = OpenLmdb(dir))
    {
        LightningDatabase db;
        using (var tx = env.BeginTransaction())
        {
            db = tx.OpenDatabase(configuration: new DatabaseConfiguration { Flags = DatabaseOpenFlags.Create });
            tx.Commit();
        }
        // LMDB writes inside a transaction: the producer queues, the committer writes a transaction every 5 ms.
        var pending = new BlockingCollection<(long, byte[])>(boundedCapacity: 65536);
        var committer = Task.Run(async () =>
        {
            var k = new byte[8];
            var finished = false;
            while (!finished)
            {
                await Task.Delay(5);
                using var tx = env.BeginTransaction();
                while (pending.TryTake(out var item))
                {
                    BinaryPrimitives.WriteInt64BigEndian(k, item.Item1);
                    tx.Put(db, k, item.Item2, PutOptions.AppendData);
                }
                tx.Commit();
                commits++;
                finished = pending.IsCompleted;
            }
        });
        for (var n = 0; n < entries; n++) pending.Add((n, Payload(n)));
        pending.CompleteAdding();
        committer.GetAwaiter().GetResult();
        var written = sw.Elapsed;

        sw.Restart();
        var read = ScanLmdb(env, db);
        var readBack = sw.Elapsed;
        if (read != entries) throw new InvalidOperationException($"LMDB read {read} entries, wrote {entries}");
        Console.Write($"| LMDB (LightningDB) | {Mb(entries, written):F1} | {commits} | {Mb(entries, readBack):F1} ");
        db.Dispose();
    }
    sw.Restart();
    using (var env = OpenLmdb(dir))
    {
        using var tx = env.BeginTransaction(TransactionBeginFlags.ReadOnly);
        using var db = tx.OpenDatabase();
        using (var cursor = tx.CreateCursor(db)) cursor.First();
        var reopen = sw.Elapsed;
        tx.Abort();
        var read = ScanLmdb(env, db);
        var full = sw.Elapsed;
        if (read != entries) throw new InvalidOperationException($"LMDB recovered {read} entries, wrote {entries}");
        Console.WriteLine($"| {reopen.TotalMilliseconds:F0} | {full.TotalMilliseconds:F0} |");
    }
}

static long ScanLmdb(LightningEnvironment env, LightningDatabase db)
{
    long read = 0;
    using var tx = env.BeginTransaction(TransactionBeginFlags.ReadOnly);
    using var cursor = tx.CreateCursor(db);
    foreach (var (_, value) in cursor.AsEnumerable())
    {
        if (BinaryPrimitives.ReadInt64LittleEndian(value.AsSpan()) != read) throw new InvalidOperationException($"LMDB entry {read} out of order");
        read++;
    }
    return read;
}
