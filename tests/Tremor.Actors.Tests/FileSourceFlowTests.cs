using System.Text;
using Tremor.Actors.Connectors;
using Tremor.Connectors.File;

namespace Tremor.Actors.Tests;

/// <summary>The real <c>file</c> connector as a source through the runtime: batch sizes, drains, error events.</summary>
public sealed class FileSourceFlowTests : TremorTestKit
{
    [Fact]
    public async Task A_file_read_in_big_chunks_reaches_the_sink_in_batches_no_larger_than_batch_size()
    {
        const int total = 20_000;
        using var dir = new TempDir();
        var path = dir.Write("lines.json", Lines(total, chunkSize: null));
        var sink = new TestSinkFactory();
        Register(new FileFactory());
        Register(sink);
        var (_, exit) = Deploy(Flow("f", $$"""
            connectors {
              src { type = file, preprocessors = ["separate"], config { path = "{{path}}" } }
              snk { type = test-sink }
            }
            pipelines { main { type = passthrough } }
            links = ["src -> main", "main -> snk"]
            """), DataPath(batchSize: 100, credits: 2));

        Assert.Equal(0, await exit.WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal(Enumerable.Range(0, total).Select(i => (long)i), sink.Received.Keys.Order());
        // A 64 KiB chunk holds thousands of lines; they cross the links 100 at a time.
        Assert.InRange(sink.MaxBatch, 1, 100);
    }

    [Fact]
    public async Task A_file_source_drained_in_the_middle_of_the_file_emits_only_whole_lines()
    {
        const int total = 20_000;
        const int chunkSize = 1000;
        using var dir = new TempDir();
        // Every chunk ends inside a line, so wherever the drain stops the source, a partial line is buffered.
        var path = dir.Write("lines.json", Lines(total, chunkSize));
        var gate = new SemaphoreSlim(0);
        var sink = new TestSinkFactory { Gate = gate };
        var errors = new TestSinkFactory("err-sink") { KeepEvents = true };
        Register(new FileFactory());
        Register(sink);
        Register(errors);
        var (world, _) = Deploy(Flow("f", $$"""
            connectors {
              src { type = file, preprocessors = ["separate"], config { path = "{{path}}", chunk_size = {{chunkSize}} } }
              snk { type = test-sink }
              errs { type = err-sink }
            }
            pipelines { main { type = passthrough } }
            links = ["src -> main", "main -> snk", "src/err -> errs"]
            """), DataPath(batchSize: 10, credits: 2));
        // The sink holds its first batch: the source is held back in the middle of the file.
        AwaitCondition(() => Volatile.Read(ref sink.Calls) >= 1, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(20));

        world.Tell(new World.UndeployFlow("f"), TestActor);
        await AwaitAssertAsync(async () => Assert.Equal(ConnectorState.Draining, (await ConnectorStatus("f.src")).State), TimeSpan.FromSeconds(30));
        gate.Release(total);
        ExpectMsg<World.FlowUndeployed>(TimeSpan.FromSeconds(30));

        // Whole lines, from the first on, none missing; the partial line the drain cut off is not an (error) event.
        var received = sink.Received.Keys.Order().ToList();
        Assert.InRange(received.Count, 1, total - 1);
        Assert.Equal(Enumerable.Range(0, received.Count).Select(i => (long)i), received);
        Assert.Empty(errors.Events.Select(e => e.Data["error"].AsString()));
    }

    [Fact]
    public async Task A_line_that_fails_to_decode_reaches_err_with_its_bytes_and_its_line_number()
    {
        using var dir = new TempDir();
        var path = dir.Write("lines.json", "{\"n\":0}\n{\"n\":1}\n{\"n\": oops}\n{\"n\":3}\n");
        var sink = new TestSinkFactory();
        var errors = new TestSinkFactory("err-sink") { KeepEvents = true };
        Register(new FileFactory());
        Register(sink);
        Register(errors);
        var (_, exit) = Deploy(Flow("f", $$"""
            connectors {
              src { type = file, preprocessors = ["separate"], config { path = "{{path}}" } }
              snk { type = test-sink }
              errs { type = err-sink }
            }
            pipelines { main { type = passthrough } }
            links = ["src -> main", "main -> snk", "src/err -> errs"]
            """));

        Assert.Equal(0, await exit.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal([0L, 1L, 3L], sink.Received.Keys.Order());
        var error = Assert.Single(errors.Events).Data;
        Assert.StartsWith("codec: ", error["error"].AsString());
        Assert.Equal("{\"n\": oops}", Encoding.UTF8.GetString(error["raw"].AsBytes()!));
        Assert.True(error["frame"].TryGetI64(out var frame));
        Assert.Equal(2, frame);
        Assert.Equal("f::src", error["source"].AsString());
    }

    /// <summary>
    /// <paramref name="total"/> JSON lines <c>{"n":i}</c>; with <paramref name="chunkSize"/>, some start with spaces (still
    /// valid JSON) so that no chunk ends at a line's end or just before its newline: a chunk's last bytes are never a
    /// whole JSON document.
    /// </summary>
    private static string Lines(int total, int? chunkSize)
    {
        var text = new StringBuilder();
        for (var i = 0; i < total; i++)
        {
            var line = $"{{\"n\":{i}}}";
            while (chunkSize is { } c && (text.Length + line.Length + 1) % c is 0 or 1) line = " " + line;
            text.Append(line).Append('\n');
        }
        return text.ToString();
    }

    private sealed class TempDir : IDisposable
    {
        private readonly string _path = Directory.CreateTempSubdirectory("tremor-file-source-").FullName;

        public string Write(string name, string content)
        {
            var file = Path.Combine(_path, name);
            File.WriteAllText(file, content);
            return file;
        }

        public void Dispose() => Directory.Delete(_path, recursive: true);
    }
}
