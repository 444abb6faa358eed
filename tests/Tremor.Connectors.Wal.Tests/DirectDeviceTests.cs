using System.Globalization;
using System.Runtime.InteropServices;
using FASTER.core;
using static Tremor.Connectors.Wal.Tests.LogEntries;

namespace Tremor.Connectors.Wal.Tests;

/// <summary>The wal's own storage: segments written past the page cache (O_DIRECT, and where that is refused), commits in two slots of one file.</summary>
public sealed class DirectDeviceTests : IDisposable
{
    private const long Segment = 1 << 23;
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static async Task WriteAsync(WalLog log, int from, int count)
    {
        for (var i = from; i < from + count; i++) log.Append(Entry((ulong)i, $"entry {i}"), (ulong)i);
        await log.CommitAsync(CancellationToken.None);
    }

    /// <summary>The open-file flags (octal, as the kernel shows them) of this process's descriptors on <paramref name="path"/>.</summary>
    private static List<int> FlagsOfOpen(string path)
    {
        var flags = new List<int>();
        foreach (var fd in Directory.GetFiles("/proc/self/fd"))
        {
            string? target;
            try
            {
                target = new FileInfo(fd).LinkTarget;
            }
            catch (IOException)
            {
                continue; // closed while listing
            }
            if (target != path) continue;
            var info = File.ReadAllLines($"/proc/self/fdinfo/{Path.GetFileName(fd)}");
            var line = info.Single(l => l.StartsWith("flags:", StringComparison.Ordinal));
            flags.Add(Convert.ToInt32(line["flags:".Length..].Trim(), 8));
        }
        return flags;
    }

    private static int DirectFlag => RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x10000 : 0x4000;

    [Fact]
    public async Task The_wal_writes_its_segments_past_the_page_cache_and_each_write_is_durable_when_it_completes()
    {
        Assert.True(OperatingSystem.IsLinux(), "the wal's direct I/O is Linux's O_DIRECT: these tests run on Linux");
        using var log = WalLog.Open(_dir.Path, Segment);
        await WriteAsync(log, 1, 200);

        var segment = Directory.GetFiles(Path.Combine(_dir.Path, "log"), "*.log.*").Single();
        var flags = FlagsOfOpen(segment);
        Assert.NotEmpty(flags);
        Assert.All(flags, f =>
        {
            Assert.True((f & DirectFlag) != 0, $"flags {Convert.ToString(f, 8)}: no O_DIRECT");
            Assert.True((f & 0x1000) != 0, $"flags {Convert.ToString(f, 8)}: no O_DSYNC");
        });
        Assert.Equal(200, ReadAll(log).Count);
    }

    [Fact]
    public async Task A_wal_of_an_earlier_build_opens_with_every_entry_and_its_commit_files_go_at_the_next_commit()
    {
        // An earlier build's wal: FASTER's own device (page cache, 512-byte sectors) and a commit file per commit.
        using (var old = WalLog.Open(_dir.Path, Segment, earlierFormat: true))
        {
            await WriteAsync(old, 1, 120);
        }
        var legacyCommits = Path.Combine(_dir.Path, "log", "log-commits");
        Assert.True(Directory.Exists(legacyCommits));
        using (var log = WalLog.Open(_dir.Path, Segment))
        {
            Assert.Null(log.Recovery.CutReason);
            Assert.Equal(120, log.Recovery.Entries);
            Assert.Equal(121UL, log.NextSequence);
            await WriteAsync(log, 121, 80);
            Assert.False(Directory.Exists(legacyCommits));
        }
        using var again = WalLog.Open(_dir.Path, Segment);
        Assert.Null(again.Recovery.CutReason);
        Assert.Equal(Enumerable.Range(1, 200).Select(i => $"entry {i}"), ReadAll(again));
    }

    [Fact]
    public async Task Commits_go_to_two_slots_of_one_file_and_a_torn_newest_slot_leaves_the_commit_before_it()
    {
        using (var log = WalLog.Open(_dir.Path, Segment))
        {
            for (var c = 0; c < 10; c++) await WriteAsync(log, c * 10 + 1, 10);
        }
        var logDir = Path.Combine(_dir.Path, "log");
        // Ten commits, one file of two slots: no file per commit.
        Assert.Equal([SlotCommitManager.FileName], Directory.GetFileSystemEntries(logDir).Select(Path.GetFileName).Where(n => !n!.Contains(".log.", StringComparison.Ordinal)));
        var commits = Path.Combine(logDir, SlotCommitManager.FileName);
        Assert.Equal(2L * SlotCommitManager.SlotSize, Math.Max(new FileInfo(commits).Length, 2L * SlotCommitManager.SlotSize));

        // A crash tore the newest record (the tenth commit, in the second slot): the ninth is recovered.
        var bytes = File.ReadAllBytes(commits);
        bytes[SlotCommitManager.SlotSize + 30] ^= 0xff;
        File.WriteAllBytes(commits, bytes);
        using (var log = WalLog.Open(_dir.Path, Segment))
        {
            Assert.Equal(90, log.Recovery.Entries);
            Assert.Equal(91UL, log.NextSequence);
            Assert.Equal(90, ReadAll(log).Count);
            // The next commit goes over the torn slot, not over the ninth.
            await WriteAsync(log, 91, 5);
        }
        using var again = WalLog.Open(_dir.Path, Segment);
        Assert.Equal(Enumerable.Range(1, 95).Select(i => $"entry {i}"), ReadAll(again));
    }

    [Fact]
    public void A_removed_commit_never_leaves_the_next_one_to_go_over_the_only_commit_left()
    {
        var logDir = Path.Combine(_dir.Path, "commits-only");
        Directory.CreateDirectory(logDir);
        using (var commits = new SlotCommitManager(logDir, readOnly: false))
        {
            commits.Commit(0, 0, [1, 1, 1], 1, false);
            commits.Commit(0, 0, [2, 2], 2, false);
            Assert.Equal([2L, 1L], commits.ListCommits());
            commits.RemoveCommit(2);
            Assert.Equal([1L], commits.ListCommits());
            // The next commit takes the emptied slot: commit 1 stays whole until commit 3 is.
            commits.Commit(0, 0, [3], 3, false);
            Assert.Equal([3L, 1L], commits.ListCommits());
            Assert.Equal([1, 1, 1], commits.GetCommitMetadata(1));
        }
        using var reopened = new SlotCommitManager(logDir, readOnly: true);
        Assert.Equal([3L, 1L], reopened.ListCommits());
        Assert.Equal([3], reopened.GetCommitMetadata(3));
        Assert.Null(reopened.GetCommitMetadata(2));
    }

    [Fact]
    public async Task A_write_direct_io_refuses_goes_through_the_page_cache_and_reads_see_every_write()
    {
        var file = Path.Combine(_dir.Path, "device", "segment.log");
        using var device = DirectDevice.TryCreate(file);
        Assert.NotNull(device);
        device.Initialize(Segment);
        const int size = (int)DirectDevice.Sector * 2;
        var (keep, aligned) = Aligned(size + 1);
        var expected = new byte[size];
        for (var i = 0; i < size; i++) expected[i] = (byte)(i * 7 + 3);
        Marshal.Copy(expected, 0, aligned, size);

        // Whole sectors from an aligned buffer: direct.
        var (error, bytes) = await Io(callback => device.WriteAsync(aligned, 0, 0, size, callback, null!));
        Assert.Equal(0u, error);
        Assert.Equal((uint)size, bytes);
        Assert.False(device.FellBack);
        Assert.Equal(expected, File.ReadAllBytes(DeviceSegment(file)));

        // 100 bytes at offset 13 from an odd address: O_DIRECT says EINVAL, the page cache takes them.
        var patch = new byte[100];
        for (var i = 0; i < patch.Length; i++) patch[i] = (byte)(255 - i);
        var source = aligned + size - 101; // an odd address, past what the first write sent
        Marshal.Copy(patch, 0, source, patch.Length);
        (error, bytes) = await Io(callback => device.WriteAsync(source, 0, 13, 100, callback, null!));
        Assert.Equal(0u, error);
        Assert.Equal(100u, bytes);
        Assert.True(device.FellBack);
        patch.CopyTo(expected, 13);
        Assert.Equal(expected, File.ReadAllBytes(DeviceSegment(file)));

        // Reads (any alignment) come through the page cache and see both writes.
        (error, bytes) = await Io(callback => device.ReadAsync(0, 7, source, 90, callback, null!));
        Assert.Equal(0u, error);
        Assert.Equal(90u, bytes);
        var read = new byte[90];
        Marshal.Copy(source, read, 0, 90);
        Assert.Equal(expected[7..97], read);

        // A read past the end returns what there is, as FASTER's own device does.
        (error, bytes) = await Io(callback => device.ReadAsync(0, (ulong)size - DirectDevice.Sector, aligned, DirectDevice.Sector * 2, callback, null!));
        Assert.Equal(0u, error);
        Assert.Equal(DirectDevice.Sector, bytes);
        GC.KeepAlive(keep);
    }

    [Fact]
    public async Task Removing_a_segment_deletes_its_file_and_a_later_write_makes_it_again()
    {
        var file = Path.Combine(_dir.Path, "device", "segment.log");
        using var device = DirectDevice.TryCreate(file)!;
        device.Initialize(Segment);
        var (keep, buffer) = Aligned((int)DirectDevice.Sector);
        Marshal.Copy(Enumerable.Repeat((byte)0x5a, (int)DirectDevice.Sector).ToArray(), 0, buffer, (int)DirectDevice.Sector);
        Assert.Equal(0u, (await Io(callback => device.WriteAsync(buffer, 0, 0, DirectDevice.Sector, callback, null!))).Error);
        Assert.True(File.Exists(DeviceSegment(file)));
        device.RemoveSegment(0);
        Assert.False(File.Exists(DeviceSegment(file)));
        Assert.Equal(0u, (await Io(callback => device.WriteAsync(buffer, 0, 0, DirectDevice.Sector, callback, null!))).Error);
        Assert.Equal((long)DirectDevice.Sector, new FileInfo(DeviceSegment(file)).Length);
        GC.KeepAlive(keep);
    }

    /// <summary>A pinned array and an address in it aligned to a sector, with <paramref name="bytes"/> after it.</summary>
    private static (byte[] Keep, nint Address) Aligned(int bytes)
    {
        var array = GC.AllocateArray<byte>(bytes + (int)DirectDevice.Sector, pinned: true);
        var start = Marshal.UnsafeAddrOfPinnedArrayElement(array, 0);
        return (array, (start + (nint)DirectDevice.Sector - 1) & ~((nint)DirectDevice.Sector - 1));
    }

    private static string DeviceSegment(string file) => file + "." + 0.ToString(CultureInfo.InvariantCulture);

    private static Task<(uint Error, uint Bytes)> Io(Action<DeviceIOCompletionCallback> start)
    {
        var done = new TaskCompletionSource<(uint, uint)>(TaskCreationOptions.RunContinuationsAsynchronously);
        start((error, bytes, _) => done.SetResult((error, bytes)));
        return done.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }
}
