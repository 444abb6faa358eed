using System.CommandLine;
using Tremor.Cli;

var pluginsOption = new Option<string[]>("--plugins")
{
    Description = "An extra folder to load plugins from (repeatable).",
    AllowMultipleArgumentsPerToken = false,
};

var root = new RootCommand("Tremor.NET: an event processor whose connectors are plugins.");

var runFile = new Argument<FileInfo>("file") { Description = "A HOCON file with akka { } settings and tremor { flows { } }, or a troy deployment (FILE.troy); or a query (.trickle) or script (.tremor) to run over JSON lines on stdin." };
var ingestOption = new Option<QueryRunCommand.IngestTime>("--ingest-ns")
{
    Description = "For a .trickle/.tremor file: each event's ingest_ns, Now (when read) or Index (its 0-based position, reproducible interval windows).",
    DefaultValueFactory = _ => QueryRunCommand.IngestTime.Now,
};
var noFlushOption = new Option<bool>("--no-flush") { Description = "For a .trickle/.tremor file: at the end of stdin, do not emit what open windows and batches hold (as Tremor's tremor run)." };
var run = new Command("run", "Run the flows of a HOCON file until they finish, an exit connector fires, or Ctrl-C / SIGTERM (drain, then stop); or run a query or script over stdin.")
{
    runFile,
    pluginsOption,
    ingestOption,
    noFlushOption,
};
run.SetAction((parse, cancel) => QueryRunCommand.Handles(parse.GetValue(runFile)!)
    ? Task.FromResult(QueryRunCommand.Run(parse.GetValue(runFile)!, Console.In, Console.Out, Console.Error, parse.GetValue(ingestOption), !parse.GetValue(noFlushOption)))
    : RunCommand.RunAsync(parse.GetValue(runFile)!, parse.GetValue(pluginsOption) ?? [], Console.Out, Console.Error));
root.Subcommands.Add(run);

var convertFile = new Argument<FileInfo>("file") { Description = "A troy deployment (FILE.troy); use NAME; finds NAME.troy beside it." };
var convert = new Command("convert", "Print the HOCON of a troy deployment: the same flows, which tremor run accepts.") { convertFile };
convert.SetAction(parse => ConvertCommand.Convert(parse.GetValue(convertFile)!, Console.Out, Console.Error));
root.Subcommands.Add(convert);

var plugins = new Command("plugins", "List, inspect and hash plugins.");
var configOption = new Option<FileInfo?>("--config") { Description = "A HOCON file whose tremor.plugins section to use." };
var list = new Command("list", "Discover every plugin and print a table: name, version, kind, PDK version, path, status.")
{
    pluginsOption,
    configOption,
};
list.SetAction(parse => PluginsCommand.List(parse.GetValue(pluginsOption) ?? [], parse.GetValue(configOption), Console.Out, Console.Error));
plugins.Subcommands.Add(list);

var inspectPath = new Argument<FileInfo>("path") { Description = "A plugin file: NAME.dll (managed) or NAME.so (native)." };
var inspect = new Command("inspect", "Run every check on one plugin file and print what it is; exit 0 if accepted, 2 if refused.") { inspectPath };
inspect.SetAction(parse => PluginsCommand.Inspect(parse.GetValue(inspectPath)!, Console.Out, Console.Error));
plugins.Subcommands.Add(inspect);

var hashPath = new Argument<FileInfo>("path") { Description = "A plugin file." };
var hash = new Command("hash", "Print the SHA-256 of a plugin file, as tremor.plugins.trusted wants it.") { hashPath };
hash.SetAction(parse => PluginsCommand.Hash(parse.GetValue(hashPath)!, Console.Out, Console.Error));
plugins.Subcommands.Add(hash);
var newName = new Argument<string>("name") { Description = "The plugin's name (lowercase letters, digits and '-', starting with a letter); also its connector type." };
var newLang = new Option<string>("--lang") { Description = "csharp, c or rust.", DefaultValueFactory = _ => "csharp" };
var newOutput = new Option<DirectoryInfo?>("--output") { Description = "Where to create it (default: ./NAME)." };
var newKind = new Option<string>("--kind") { Description = "sink (counts what it is handed) or source (emits count events).", DefaultValueFactory = _ => "sink" };
var newCommand = new Command("new", "Create a buildable plugin project (C# on Tremor.Pdk only, C on tremor_pdk.h only, Rust with no crates).") { newName, newLang, newKind, newOutput };
newCommand.SetAction(parse => PluginKit.New(parse.GetValue(newName)!, parse.GetValue(newLang)!, parse.GetValue(newOutput), Console.Out, Console.Error, parse.GetValue(newKind)!));
plugins.Subcommands.Add(newCommand);

var verifyPath = new Argument<FileInfo>("path") { Description = "A built plugin: NAME.dll or NAME.so." };
var verifyConfig = new Option<string?>("--config") { Description = "The example config, as HOCON fields (e.g. 'path = \"/tmp/x\"')." };
var verify = new Command("verify", "Conformance run: inspect, load, bad config refused, create, connect, events through, pause, resume, drain, stop, destroy.") { verifyPath, verifyConfig };
verify.SetAction((parse, cancel) => PluginKit.VerifyAsync(parse.GetValue(verifyPath)!, parse.GetValue(verifyConfig), Console.Out, Console.Error));
plugins.Subcommands.Add(verify);
root.Subcommands.Add(plugins);

var apiMethod = new Argument<string>("method") { Description = "GET, POST, PUT or DELETE." };
var apiPath = new Argument<string>("path") { Description = "e.g. /v1/plugins, /v1/flows, /v1/flows/NAME/pause, /v1/connectors, /metrics." };
var apiBody = new Option<string?>("--body") { Description = "Request body: a file, '-' for stdin, or the text itself (JSON, or HOCON or troy for /v1/flows)." };
var apiUrl = new Option<string>("--url") { Description = "The API's address.", DefaultValueFactory = _ => "http://127.0.0.1:9898" };
var apiToken = new Option<string>("--token-file") { Description = "File holding the bearer token (default: the file tremor writes for the --url port, ~/.local/state/tremor/api-PORT.token).", DefaultValueFactory = _ => "" };
var apiCommand = new Command("api", "Talk to a running tremor's management API (tremor.api.enabled = on).") { apiMethod, apiPath, apiBody, apiUrl, apiToken };
apiCommand.SetAction((parse, cancel) => ApiCommand.RunAsync(parse.GetValue(apiMethod)!, parse.GetValue(apiPath)!, parse.GetValue(apiBody), parse.GetValue(apiUrl)!, parse.GetValue(apiToken)!, Console.Out, Console.Error));
root.Subcommands.Add(apiCommand);

var clusterUrl = new Option<string>("--url") { Description = "A cluster node's management API.", DefaultValueFactory = _ => "http://127.0.0.1:9898" };
var clusterToken = new Option<string>("--token-file") { Description = "File holding the bearer token (default: the file tremor writes for the --url port, ~/.local/state/tremor/api-PORT.token).", DefaultValueFactory = _ => "" };
var clusterJson = new Option<bool>("--json") { Description = "Print the API's JSON instead of tables." };
var clusterStatus = new Command("status", "Nodes (status, roles, plugin inventory) and which flow runs where, from any node's management API.") { clusterUrl, clusterToken, clusterJson };
clusterStatus.SetAction((parse, cancel) => ClusterCommand.StatusAsync(parse.GetValue(clusterUrl)!, parse.GetValue(clusterToken)!, parse.GetValue(clusterJson), Console.Out, Console.Error));
var clusterCommand = new Command("cluster", "A tremor cluster (akka.actor.provider = cluster).") { clusterStatus };
root.Subcommands.Add(clusterCommand);

var topUrl = new Option<string>("--url") { Description = "The API's address.", DefaultValueFactory = _ => "http://127.0.0.1:9898" };
var topToken = new Option<string>("--token-file") { Description = "File holding the bearer token (default: the file tremor writes for the --url port, ~/.local/state/tremor/api-PORT.token); read again at every refresh.", DefaultValueFactory = _ => "" };
var topInterval = new Option<string>("--interval") { Description = "Time between refreshes: 500ms, 2s, 1m or seconds; rates are over this time.", DefaultValueFactory = _ => "1s" };
topInterval.Validators.Add(result =>
{
    if (!Tremor.Cli.Top.TopCommand.TryParseInterval(result.GetValueOrDefault<string>() ?? "", out _)) result.AddError($"--interval {result.GetValueOrDefault<string>()}: not a duration; write e.g. 500ms, 2s or 1m");
});
var topOnce = new Option<bool>("--once") { Description = "Print one frame (two snapshots one --interval apart, for the rates) and exit: 0, or 1 when the API did not answer." };
var top = new Command("top", "A live view of a running tremor (tremor.api.enabled = on): flows, connectors with state, events/s in and out, errors, restarts, circuit breakers, plugins. q or Ctrl-C quits.") { topUrl, topToken, topInterval, topOnce };
top.SetAction((parse, cancel) =>
{
    Tremor.Cli.Top.TopCommand.TryParseInterval(parse.GetValue(topInterval)!, out var interval);
    return Tremor.Cli.Top.TopCommand.RunAsync(parse.GetValue(topUrl)!, parse.GetValue(topToken)!, interval, parse.GetValue(topOnce), Tremor.Cli.Top.TopCommand.StandardConsole(), Console.Error, readKeys: !Console.IsInputRedirected, cancel);
});
root.Subcommands.Add(top);

// tremor run's host handles SIGINT / SIGTERM (Hosting/SignalLifetime: drain, then stop; a second signal stops at once):
// System.CommandLine's own handling would end the process after its termination timeout (2 s), cutting a longer drain short.
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
