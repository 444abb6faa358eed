using System.Text;
using Tremor.Connectors.File;
using Tremor.Pdk;

namespace Tremor.Connectors.Tests;

/// <summary><c>file</c> with <c>mode = follow</c>, driven as the runtime drives a source: pulls, then acks.</summary>
public sealed class FileFollowTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly string _state;

    public FileFollowTests()
    {
        _state = _dir.File("state");
        Directory.CreateDirectory(_state);
    }

    public void Dispose() => _dir.Dispose();

    private sealed record Line(string Text, ulong PullId, string Path);

    /// <summary>A follow source over a real directory, with the acks a test decides.</summary>
    private sealed class Follower : IAsyncDisposable
    {
        private readonly IConnector _connector;
        private readonly SourceBatch _batch = new(64);

        private Follower(IConnector connector) => _connector = connector;

        public HostWithState Host { get; private init; } = null!;

        public static async Task<Follower> StartAsync(string state, params (string Key, Value Value)[] config)
        {
            var host = new HostWithState(state);
            var all = config.Append(("mode", "follow")).Append(("poll-interval", "20ms")).ToArray();
            var connector = new FileFactory().Create(Fixtures.Context(host.Inner, all) with { Host = host });
            Assert.True(await connector.ConnectAsync(1, CancellationToken.None));
            return new Follower(connector) { Host = host };
        }

        /// <summary>Pulls until <paramref name="count"/> lines came (each pull waits for a change or the poll), bounded.</summary>
        public async Task<List<Line>> ReadAsync(int count, TimeSpan? within = null)
        {
            var lines = new List<Line>();
            var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(10));
            while (lines.Count < count && DateTime.UtcNow < deadline)
            {
                _batch.Clear();
                var status = await _connector.Source!.PullAsync(_batch, CancellationToken.None);
                Assert.NotEqual(PullStatus.Finished, status);
                for (var i = 0; i < _batch.Count; i++)
                {
                    var chunk = _batch[i];
                    lines.Add(new Line(Encoding.UTF8.GetString(chunk.Data.Span), chunk.PullId, chunk.Meta["file"]["path"].AsString()!));
                }
            }
            Assert.True(lines.Count >= count, $"expected {count} line(s) within the time, got {lines.Count}: {string.Join(" | ", lines.Select(l => l.Text))}");
            return lines;
        }

        /// <summary>Pulls (each waits for a change or the poll) until <paramref name="done"/>, bounded; nothing may come meanwhile.</summary>
        public async Task PullUntilAsync(Func<bool> done)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (!done())
            {
                Assert.True(DateTime.UtcNow < deadline, "the condition did not come true within 10s");
                await ExpectNothingAsync(1);
            }
        }

        /// <summary>Pulls a few times and expects nothing (the pulls wait on the poll, so this also lets time pass).</summary>
        public async Task ExpectNothingAsync(int pulls = 3)
        {
            for (var i = 0; i < pulls; i++)
            {
                _batch.Clear();
                await _connector.Source!.PullAsync(_batch, CancellationToken.None);
                Assert.Equal(0, _batch.Count);
            }
        }

        public void Ack(IEnumerable<Line> lines)
        {
            foreach (var line in lines) _connector.Source!.Ack(0, line.PullId);
        }

        public async ValueTask DisposeAsync()
        {
            await _connector.OnStopAsync(CancellationToken.None);
            await _connector.DisposeAsync();
        }
    }

    /// <summary>The shared test host with a state directory (PDK 1.2).</summary>
    private sealed class HostWithState(string state) : IPluginHost
    {
        public TestHost Inner { get; } = new();

        public string Alias => Inner.Alias;

        public TextWriter Out => Inner.Out;

        public TextWriter Error => Inner.Error;

        public string StateDirectory => state;

        public void Log(PluginLogLevel level, string message) => Inner.Log(level, message);

        public ulong NowNs() => Inner.NowNs();

        public void RequestShutdown(int exitCode, string reason) => Inner.RequestShutdown(exitCode, reason);

        public void Ack(IReadOnlyList<EventId> ids) => Inner.Ack(ids);

        public void Fail(IReadOnlyList<EventId> ids, string reason) => Inner.Fail(ids, reason);
    }

    private static void Append(string path, string text)
    {
        using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        stream.Write(Encoding.UTF8.GetBytes(text));
    }

    private static string[] Texts(IEnumerable<Line> lines) => lines.Select(l => l.Text).ToArray();

    [Fact]
    public async Task Appended_lines_are_one_event_each_and_a_partial_line_waits_for_its_newline()
    {
        var path = _dir.File("app.log");
        Append(path, "one\r\ntwo\npar");
        await using var follower = await Follower.StartAsync(_state, ("path", path));
        Assert.Equal(["one", "two"], Texts(await follower.ReadAsync(2)));
        await follower.ExpectNothingAsync();
        Append(path, "tial\nthree\n");
        var next = await follower.ReadAsync(2);
        Assert.Equal(["partial", "three"], Texts(next));
        Assert.All(next, l => Assert.Equal(path, l.Path));
    }

    [Fact]
    public async Task A_partial_line_is_emitted_after_the_partial_line_timeout()
    {
        var path = _dir.File("app.log");
        Append(path, "whole\nno newline yet");
        await using var follower = await Follower.StartAsync(_state, ("path", path), ("partial-line-timeout", "50ms"));
        Assert.Equal(["whole", "no newline yet"], Texts(await follower.ReadAsync(2)));
    }

    [Fact]
    public async Task Rotation_by_rename_reads_the_old_file_to_its_end_and_the_new_one_from_its_start()
    {
        var path = _dir.File("app.log");
        Append(path, "1\n2\n");
        await using var follower = await Follower.StartAsync(_state, ("path", path));
        Assert.Equal(["1", "2"], Texts(await follower.ReadAsync(2)));
        System.IO.File.Move(path, path + ".1");
        Append(path + ".1", "3\n"); // the writer had it open still
        Append(path, "4\n5\n");
        var lines = await follower.ReadAsync(3);
        Assert.Equal(["3", "4", "5"], Texts(lines).Order(StringComparer.Ordinal));
        Assert.Equal(path, lines.Single(l => l.Text == "5").Path);
        // The old file is let go once read to its end and idle for a poll; what is written to it after that is not read.
        await follower.PullUntilAsync(() => follower.Host.Inner.Logged("is no longer named by any path"));
        Append(path + ".1", "late\n");
        Append(path, "6\n");
        Assert.Equal(["6"], Texts(await follower.ReadAsync(1)));
        await follower.ExpectNothingAsync();
    }

    [Fact]
    public async Task Rotation_by_copy_truncate_reads_the_file_again_from_its_start()
    {
        var path = _dir.File("app.log");
        Append(path, "old 1\nold 2\n");
        await using var follower = await Follower.StartAsync(_state, ("path", path));
        Assert.Equal(["old 1", "old 2"], Texts(await follower.ReadAsync(2)));
        System.IO.File.Copy(path, path + ".1");
        using (new FileStream(path, FileMode.Truncate, FileAccess.Write, FileShare.ReadWrite))
        {
        }
        Append(path, "new\n");
        Assert.Equal(["new"], Texts(await follower.ReadAsync(1)));
        Assert.True(follower.Host.Inner.Logged("was truncated"));
    }

    [Fact]
    public async Task A_glob_follows_every_file_it_names_and_a_new_file_from_its_start()
    {
        Append(_dir.File("a.log"), "a1\n");
        Append(_dir.File("b.log"), "b1\n");
        Append(_dir.File("c.txt"), "not followed\n");
        await using var follower = await Follower.StartAsync(_state, ("path", _dir.File("*.log")));
        var first = await follower.ReadAsync(2);
        Assert.Equal(["a1", "b1"], Texts(first).Order(StringComparer.Ordinal));
        Assert.Equal(_dir.File("b.log"), first.Single(l => l.Text == "b1").Path);
        Append(_dir.File("new.log"), "n1\nn2\n");
        Append(_dir.File("a.log"), "a2\n");
        Assert.Equal(["a2", "n1", "n2"], Texts(await follower.ReadAsync(3)).Order(StringComparer.Ordinal));
        await follower.ExpectNothingAsync();
    }

    [Fact]
    public async Task Multiline_joins_continuation_lines_to_the_line_they_belong_to()
    {
        var path = _dir.File("app.log");
        Append(path, "2024 error\n  at A\n  at B\n2024 ok\n");
        var multiline = Fixtures.Record(("start-pattern", "^\\d{4} "), ("flush-timeout", "50ms"));
        await using var follower = await Follower.StartAsync(_state, ("path", path), ("multiline", multiline));
        // The second event waits for a line that cannot join it, or the flush timeout.
        Assert.Equal(["2024 error\n  at A\n  at B", "2024 ok"], Texts(await follower.ReadAsync(2)));
    }

    [Fact]
    public async Task A_restart_resumes_right_after_the_last_line_acknowledged_with_every_line_before_it()
    {
        var path = _dir.File("app.log");
        Append(path, string.Concat(Enumerable.Range(1, 10).Select(i => $"{i}\n")));
        await using (var first = await Follower.StartAsync(_state, ("path", path)))
        {
            var lines = await first.ReadAsync(10);
            // 1..6 and 8 acknowledged; 7 is not, so 8 does not move the checkpoint past it.
            first.Ack(lines.Take(6));
            first.Ack([lines[7]]);
        }
        Assert.True(System.IO.File.Exists(Path.Combine(_state, "follow-checkpoint.json")));
        Assert.False(System.IO.File.Exists(Path.Combine(_state, "follow-checkpoint.json.tmp")));
        Append(path, "11\n");
        await using var second = await Follower.StartAsync(_state, ("path", path));
        Assert.Equal(["7", "8", "9", "10", "11"], Texts(await second.ReadAsync(5)));
        await second.ExpectNothingAsync();
    }

    [Fact]
    public async Task A_checkpoint_that_is_not_readable_fails_the_connect_naming_it_and_what_to_do()
    {
        var path = _dir.File("app.log");
        Append(path, "1\n");
        var checkpoint = Path.Combine(_state, "follow-checkpoint.json");
        await System.IO.File.WriteAllTextAsync(checkpoint, "{\"version\": 1, \"files\": [ {\"path\"");
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => Follower.StartAsync(_state, ("path", path)));
        Assert.Contains(checkpoint, error.Message);
        Assert.Contains("delete it", error.Message);
    }

    [Fact]
    public void Follow_config_errors_name_the_key()
    {
        var factory = new FileFactory();
        Fixtures.AssertRefusedNaming(factory, [("mode", "follow"), ("path", _dir.File("a")), ("paths", _dir.File("b"))], "path");
        Fixtures.AssertRefusedNaming(factory, [("mode", "follow"), ("path", _dir.File("*/a.log"))], "path");
        Fixtures.AssertRefusedNaming(factory, [("mode", "follow"), ("path", _dir.File("a")), ("poll-interval", "0ms")], "poll-interval");
        Fixtures.AssertRefusedNaming(factory, [("mode", "follow"), ("path", _dir.File("a")), ("read-from", "middle")], "read-from");
        Fixtures.AssertRefusedNaming(factory, [("mode", "follow"), ("path", _dir.File("a")), ("multiline", Fixtures.Record(("start-pattern", "(")))], "multiline.start-pattern");
        Fixtures.AssertRefusedNaming(factory, [("mode", "follow"), ("path", _dir.File("a")), ("chunk_size", 10)], "chunk_size");
    }
}
