using System.Diagnostics;
using Tremor.Pdk;
using Tremor.Script.Runtime;

namespace Tremor.Script.Tests;

/// <summary>Collects what a query emits, per port.</summary>
internal sealed class Collector : IQueryOutput
{
    public List<(string Port, Event Event)> All { get; } = [];

    public void Emit(string port, Event e) => All.Add((port, e));

    public List<Event> On(string port) => All.Where(x => x.Port == port).Select(x => x.Event).ToList();

    public List<string> Data(string port = "out") => On(port).Select(e => e.Data.ToString()).ToList();
}

internal static class Harness
{
    private static ulong _seq;

    public static Event Ev(Value data, Value meta = default) =>
        new() { Id = new EventId(1, 0, 0, ++_seq), IngestNs = 1000, Data = data, Meta = meta };

    public static Value J(string json) => Json.Decode(json);

    /// <summary>Runs each JSON document through the query at time 0 and returns what left on every port.</summary>
    public static Collector Run(string query, params string[] events)
    {
        var instance = Query.Compile(query, "test.trickle").Instantiate();
        var output = new Collector();
        foreach (var e in events) instance.Process("in", [Ev(J(e))], 0, output);
        return output;
    }

    /// <summary>The value of one expression for one event.</summary>
    public static string Eval(string expr, string eventJson = "{}")
    {
        var output = Run($"select {expr} from in into out;", eventJson);
        var err = output.On("err");
        if (err.Count > 0) return "ERR: " + ErrorOf(err[0]);
        return output.Data().Single();
    }

    /// <summary>Output of a script body for one event.</summary>
    public static Collector Script(string body, string eventJson = "{}", string? meta = null)
    {
        var q = Query.Compile($"define script s script\n{body}\nend;\ncreate script s;\nselect event from in into s;\nselect event from s into out;\nselect event from s/err into err;", "test.trickle");
        var instance = q.Instantiate();
        var output = new Collector();
        instance.Process("in", [Ev(J(eventJson), meta is null ? default : J(meta))], 0, output);
        return output;
    }

    /// <summary>The first line (origin:line:col: message) of the error an event on <c>err</c> carries.</summary>
    public static string ErrorOf(Event e)
    {
        var text = e.Data["error"].AsString();
        Assert.NotNull(text);
        return text.Split('\n')[0];
    }

    public static string CompileError(string query)
    {
        var e = Assert.Throws<ScriptException>(() => Query.Compile(query, "bad.trickle"));
        return e.Message;
    }

    /// <summary>The 100 records of data/data.json.xz, decompressed with xz.</summary>
    public static List<Value> DataJson()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "data", "data.json.xz"))) dir = Path.GetDirectoryName(dir);
        Assert.NotNull(dir);
        var psi = new ProcessStartInfo("xz", ["-dc", Path.Combine(dir, "data", "data.json.xz")]) { RedirectStandardOutput = true };
        using var p = Process.Start(psi)!;
        var text = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(J).ToList();
    }

    public static string ExamplePath(string name) => Path.Combine(AppContext.BaseDirectory, "examples", name);
}
