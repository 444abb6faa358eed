using System.Text;
using Tremor.Connectors.File;
using Tremor.Pdk;

namespace Tremor.Connectors.Tests;

public sealed class FileConnectorTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static byte[] Lines(int count)
    {
        var text = new StringBuilder();
        for (var i = 0; i < count; i++) text.Append("{\"line\":").Append(i).Append(",\"padding\":\"0123456789abcdef\"}\n");
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    private static async Task<List<Fixtures.Pull>> ReadAllAsync(string path)
    {
        var host = new TestHost();
        await using var connector = new FileFactory().Create(Fixtures.Context(host, ("path", path)));
        Assert.Null(connector.Sink);
        Assert.True(await connector.ConnectAsync(1, CancellationToken.None));
        return await Fixtures.PullUntilFinishedAsync(connector.Source!);
    }

    private static void AssertStreamedThenFinished(byte[] expected, List<Fixtures.Pull> pulls)
    {
        var chunks = pulls.SelectMany(p => p.Chunks.Zip(p.Data)).ToList();
        var data = chunks.Where(c => !c.First.IsStreamEnd).ToList();
        Assert.All(data, c => Assert.InRange(c.Second.Length, 1, 64 * 1024));
        Assert.All(data, c => Assert.Equal(0UL, c.First.StreamId));
        Assert.Equal(expected, Fixtures.Concat(data.Select(c => c.Second)));
        Assert.True(chunks[^1].First.IsStreamEnd, "the last chunk ends the stream");
        Assert.Single(chunks, c => c.First.IsStreamEnd);
        Assert.Equal(PullStatus.Finished, pulls[^1].Status);
        Assert.All(pulls[..^1], p => Assert.Equal(PullStatus.Data, p.Status));
    }

    [Fact]
    public async Task Read_streams_a_plain_file_in_chunks_then_ends_the_stream_and_finishes()
    {
        var content = Lines(5000);
        Assert.True(content.Length > 3 * 64 * 1024);
        var path = _dir.File("in.json");
        await System.IO.File.WriteAllBytesAsync(path, content);

        AssertStreamedThenFinished(content, await ReadAllAsync(path));
    }

    [Fact]
    public async Task Read_decompresses_an_xz_file()
    {
        var content = Lines(5000);
        var plain = _dir.File("in.json");
        await System.IO.File.WriteAllBytesAsync(plain, content);
        var xz = Fixtures.Xz(plain);
        Assert.True(new FileInfo(xz).Length < content.Length);

        AssertStreamedThenFinished(content, await ReadAllAsync(xz));
    }

    [Fact]
    public async Task Read_of_a_missing_file_fails_to_connect_naming_the_path()
    {
        var host = new TestHost();
        var path = _dir.File("nope.json");
        await using var connector = new FileFactory().Create(Fixtures.Context(host, ("path", path)));

        var error = await Assert.ThrowsAsync<FileNotFoundException>(() => connector.ConnectAsync(1, CancellationToken.None).AsTask());

        Assert.Contains(path, error.Message);
    }

    [Fact]
    public async Task Append_adds_each_batch_to_the_end_of_the_file()
    {
        var path = _dir.File("out.log");
        await System.IO.File.WriteAllTextAsync(path, "before\n");
        var host = new TestHost();
        await using (var connector = new FileFactory().Create(Fixtures.Context(host, ("path", path), ("mode", "append"))))
        {
            Assert.Null(connector.Source);
            Assert.True(await connector.ConnectAsync(1, CancellationToken.None));
            var sink = connector.Sink!;
            Assert.Equal(SinkStatus.Ack, (await sink.OnBatchAsync(Fixtures.SinkBatch("a\n", "b\n"), CancellationToken.None)).Status);
            Assert.Equal("before\na\nb\n", ReadShared(path));
            await sink.OnBatchAsync(Fixtures.SinkBatch("c\n"), CancellationToken.None);
            await connector.OnDrainAsync(CancellationToken.None);
            await connector.OnStopAsync(CancellationToken.None);
        }

        Assert.Equal("before\na\nb\nc\n", await System.IO.File.ReadAllTextAsync(path));
    }

    [Theory]
    [InlineData("write")]
    [InlineData("truncate")]
    public async Task Write_and_truncate_replace_what_was_there(string mode)
    {
        var path = _dir.File("out.log");
        await System.IO.File.WriteAllTextAsync(path, "old content that is longer\n");
        var host = new TestHost();
        await using (var connector = new FileFactory().Create(Fixtures.Context(host, ("path", path), ("mode", mode))))
        {
            await connector.ConnectAsync(1, CancellationToken.None);
            await connector.Sink!.OnBatchAsync(Fixtures.SinkBatch("new\n"), CancellationToken.None);
            await connector.Sink!.OnEndAsync(CancellationToken.None);
        }

        Assert.Equal("new\n", await System.IO.File.ReadAllTextAsync(path));
    }

    [Fact]
    public async Task Write_into_a_missing_directory_fails_to_connect_naming_the_path()
    {
        var path = _dir.File("missing/out.log");
        await using var connector = new FileFactory().Create(Fixtures.Context(new TestHost(), ("path", path), ("mode", "append")));

        var error = await Assert.ThrowsAsync<DirectoryNotFoundException>(() => connector.ConnectAsync(1, CancellationToken.None).AsTask());

        Assert.Contains(path, error.Message);
    }

    private static string ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
