using System.Buffers;
using System.Text;
using Tremor.Codecs;
using Tremor.Pdk;
using Tremor.Script;

namespace Tremor.Cli;

/// <summary>
/// <c>tremor run query.trickle &lt; events.jsonl</c> (or <c>script.tremor</c>): runs a query or script over JSON lines on
/// stdin, without a flow, and prints what it emits, one JSON value per line, as Tremor's <c>tremor run</c> does.
/// </summary>
public static class QueryRunCommand
{
    /// <summary>How an event's <c>ingest_ns</c> is chosen.</summary>
    public enum IngestTime
    {
        /// <summary>The time the line was read (what a flow's source stamps).</summary>
        Now,

        /// <summary>The line's 0-based index among the events, as Tremor's language tests do: interval windows become reproducible.</summary>
        Index,
    }

    /// <summary>Whether <paramref name="file"/> is a query or a script rather than a HOCON file.</summary>
    public static bool Handles(FileInfo file) => file.Extension is ".trickle" or ".tremor";

    /// <summary>
    /// Compiles <paramref name="file"/>, runs every JSON line of <paramref name="input"/> through it and writes each output
    /// event, whatever its port, to <paramref name="output"/>; an event that failed (in Tremor's shape,
    /// <c>{"error": "...", "event": ...}</c>) goes to <paramref name="error"/> when it reached the pipeline's <c>err</c>
    /// port (the query did not route it). At the end of the input the query ends as a flow whose source finished does
    /// (open windows and batches emit) unless <paramref name="flush"/> is false. Returns the exit code: 0, 1 when a line
    /// was not JSON, 2 when the file does not compile.
    /// </summary>
    public static int Run(FileInfo file, TextReader input, TextWriter output, TextWriter error, IngestTime ingest, bool flush)
    {
        Query query;
        try
        {
            var text = File.ReadAllText(file.FullName);
            query = file.Extension == ".tremor" ? Query.CompileScript(text, file.FullName) : Query.Compile(text, file.FullName);
        }
        catch (ScriptException e)
        {
            error.WriteLine($"error: {e.Message}");
            return RunCommand.ConfigError;
        }
        catch (IOException e)
        {
            error.WriteLine($"error: cannot read {file.FullName}: {e.Message}");
            return RunCommand.ConfigError;
        }
        catch (UnauthorizedAccessException e)
        {
            error.WriteLine($"error: cannot read {file.FullName}: {e.Message}");
            return RunCommand.ConfigError;
        }

        var instance = query.Instantiate();
        var printer = new Printer(output, error);
        var codec = new JsonCodec();
        var badLines = 0;
        ulong index = 0;
        ulong lineNumber = 0;
        var batch = new Event[1];
        while (input.ReadLine() is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            if (!codec.TryDecode(Encoding.UTF8.GetBytes(line), out var value, out var reason))
            {
                // One bad line is reported and skipped; the lines after it still run.
                error.WriteLine($"error: stdin:{lineNumber}: not JSON ({reason}); line skipped");
                badLines++;
                continue;
            }
            var now = Now();
            batch[0] = new Event
            {
                Id = new EventId(0, 0, 0, index),
                IngestNs = ingest == IngestTime.Index ? index : now,
                Data = value,
                Meta = Value.NewRecord(0),
            };
            index++;
            instance.Process("in", batch, now, printer);
        }
        if (flush) instance.Finish(Now(), printer);
        output.Flush();
        return badLines > 0 ? 1 : 0;
    }

    private static ulong Now() => (ulong)(DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;

    private sealed class Printer(TextWriter output, TextWriter error) : IQueryOutput
    {
        private readonly JsonCodec _codec = new();
        private readonly ArrayBufferWriter<byte> _buffer = new();

        public void Emit(string port, Event e)
        {
            // A failed event is data in Tremor's shape, {"error": ..., "event": ...}. One the query did not route itself
            // (it reached the pipeline's err) goes to stderr, as Tremor's tremor run reports errors there.
            var writer = port == "err" && IsError(e.Data) ? error : output;
            _buffer.ResetWrittenCount();
            _codec.Encode(e.Data, _buffer);
            writer.WriteLine(Encoding.UTF8.GetString(_buffer.WrittenSpan));
        }

        private static bool IsError(Value data) =>
            data.AsRecord() is { Count: 2 } r && r.TryGetValue("error", out var text) && text.Kind == ValueKind.String && r.TryGetValue("event", out _);
    }
}
