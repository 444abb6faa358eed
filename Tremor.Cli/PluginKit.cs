using System.Globalization;
using System.Text;
using Tremor.Actors.Configuration;
using Tremor.Actors.Connectors;
using Tremor.Actors.Plugins;
using Tremor.Codecs;
using Tremor.Pdk;

namespace Tremor.Cli;

/// <summary>The plugin author's kit: <c>tremor plugins new</c> (a buildable project) and <c>tremor plugins verify</c> (a conformance run).</summary>
public static class PluginKit
{
    /// <summary>
    /// Creates a plugin project for <paramref name="language"/> and <paramref name="kind"/> (<c>sink</c> or
    /// <c>source</c>) in <paramref name="output"/>; prints how to build it.
    /// </summary>
    public static int New(string name, string language, DirectoryInfo? output, TextWriter stdout, TextWriter error, string kind = "sink")
    {
        if (!Tremor.Native.PluginNames.IsValid(name))
        {
            error.WriteLine($"error: plugin name '{Tremor.Native.PluginNames.Printable(name)}': use {Tremor.Native.PluginNames.Rule}");
            return 2;
        }
        var lang = language switch
        {
            "csharp" or "c#" or "cs" => "csharp",
            "c" => "c",
            "rust" or "rs" => "rust",
            _ => null,
        };
        if (lang is null)
        {
            error.WriteLine($"error: --lang {language}: expected csharp, c or rust");
            return 2;
        }
        if (kind is not ("sink" or "source"))
        {
            error.WriteLine($"error: --kind {kind}: expected sink or source");
            return 2;
        }
        var template = Path.Combine(AppContext.BaseDirectory, "Templates", kind == "sink" ? lang : $"{lang}-source");
        if (!Directory.Exists(template))
        {
            error.WriteLine($"error: the {lang} {kind} template is missing from {template}; reinstall tremor");
            return 2;
        }
        var dir = output?.FullName ?? Path.GetFullPath(name);
        if (Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any())
        {
            error.WriteLine($"error: {dir} exists and is not empty; choose another --output");
            return 2;
        }
        // The Tremor.Pdk package that ships beside tremor: a C# project references it from there.
        var pdkSource = Path.Combine(AppContext.BaseDirectory, "pdk");
        var pdkPackage = Directory.Exists(pdkSource) ? Directory.GetFiles(pdkSource, "Tremor.Pdk.*.nupkg").Order(StringComparer.Ordinal).LastOrDefault() : null;
        if (lang == "csharp" && pdkPackage is null)
        {
            error.WriteLine($"error: the Tremor.Pdk package is missing from {pdkSource}; reinstall tremor (or rebuild it: dotnet build Tremor.Cli)");
            return 2;
        }
        var className = string.Concat(name.Split('-').Select(p => char.ToUpperInvariant(p[0]) + p[1..]));
        var replacements = new Dictionary<string, string>
        {
            ["__NAME__"] = name,
            ["__CLASS__"] = className,
            ["__NAMESPACE__"] = className,
            ["__CRATE__"] = name.Replace('-', '_'),
            ["__PDK_SOURCE__"] = pdkSource,
            ["__PDK_VERSION__"] = pdkPackage is null ? "" : Path.GetFileNameWithoutExtension(pdkPackage)["Tremor.Pdk.".Length..],
        };
        foreach (var file in Directory.EnumerateFiles(template, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(template, file);
            foreach (var (k, v) in replacements) relative = relative.Replace(k, v, StringComparison.Ordinal);
            var target = Path.Combine(dir, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            var text = File.ReadAllText(file);
            foreach (var (k, v) in replacements) text = text.Replace(k, v, StringComparison.Ordinal);
            File.WriteAllText(target, text);
        }
        var (build, artifact) = lang switch
        {
            "csharp" => ($"dotnet build {dir}", Path.Combine(dir, "plugins", name, name + ".dll")),
            "c" => ($"gcc -std=c99 -O2 -Wall -Wextra -Werror -shared -fPIC -I{dir} -o {Path.Combine(dir, name + ".so")} {Path.Combine(dir, name + ".c")}", Path.Combine(dir, name + ".so")),
            _ => ($"cargo build --release --offline --manifest-path {Path.Combine(dir, "Cargo.toml")}", Path.Combine(dir, "target", "release", $"lib{name.Replace('-', '_')}.so")),
        };
        stdout.WriteLine($"created {dir}");
        stdout.WriteLine($"build:   {build}");
        stdout.WriteLine($"verify:  tremor plugins verify {artifact}");
        stdout.WriteLine($"use it:  tremor run FLOW.conf --plugins {Path.GetDirectoryName(Path.GetDirectoryName(artifact))}   (connector type = {name})");
        return 0;
    }

    /// <summary>Runs the conformance steps on a built plugin; prints PASS/FAIL per step; 0 when all pass, 2 otherwise.</summary>
    public static async Task<int> VerifyAsync(FileInfo file, string? configText, TextWriter stdout, TextWriter error)
    {
        var failures = 0;
        void Step(string name, bool ok, string detail = "")
        {
            if (!ok) failures++;
            stdout.WriteLine($"{(ok ? "PASS" : "FAIL")}  {name}{(detail.Length == 0 ? "" : $": {detail}")}");
        }
        async Task<bool> Try(string name, Func<Task<string>> action)
        {
            try
            {
                Step(name, true, await action());
                return true;
            }
            catch (Exception e)
            {
                Step(name, false, $"{e.GetType().Name}: {e.Message}");
                return false;
            }
        }

        if (!file.Exists)
        {
            error.WriteLine($"error: {file.FullName}: no such file");
            return 2;
        }
        var inspection = PluginInspection.Inspect(file.FullName);
        Step("inspect (every load-time check)", inspection.Accepted, inspection.Reason ?? "");
        if (!inspection.Accepted) return 2;

        var catalog = new PluginCatalog();
        var discovery = new PluginDiscovery(catalog, new PluginSettings([], new Dictionary<string, string>(), false));
        var record = discovery.LoadOne(file.FullName);
        Step("load", record.Status == PluginStatus.Loaded, record.Reason ?? $"{record.Name} {record.Version}");
        if (record.Status != PluginStatus.Loaded) return 2;

        PluginConfig config;
        try
        {
            config = ReadConfig(configText);
        }
        catch (ConfigException e)
        {
            error.WriteLine($"error: --config: {e.Message}");
            return 2;
        }
        foreach (var type in record.Provides.Where(p => p.StartsWith("connector:", StringComparison.Ordinal)).Select(p => p[10..]))
        {
            stdout.WriteLine($"connector type {type}");
            var factory = catalog.Connector(type, type);
            var host = new DetachedPluginHost(type);
            try
            {
                var bad = factory.Create(new ConnectorContext(host, new PluginConfig("config", new ValueRecord { ["tremor-verify-no-such-key"] = 1 })));
                await bad.DisposeAsync();
                Step("  refuses a bad config (an unknown key)", false, "it accepted { tremor-verify-no-such-key = 1 }: call config.RejectUnknownKeys(...) or check the schema");
            }
            catch (Exception e)
            {
                Step("  refuses a bad config (an unknown key)", true, e.Message);
            }
            IConnector? connector = null;
            if (!await Try("  create with the example config", () =>
                {
                    connector = factory.Create(new ConnectorContext(host, config));
                    return Task.FromResult("");
                }))
            {
                continue;
            }
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await Try("  connect", async () => await connector!.ConnectAsync(1, timeout.Token) ? "connected" : throw new InvalidOperationException("ConnectAsync returned false"));
            await Try("  start (resume)", async () =>
            {
                await connector!.OnResumeAsync(timeout.Token);
                return "";
            });
            if (connector!.Source is { } source)
            {
                await Try("  pull (source side)", async () =>
                {
                    var batch = new SourceBatch(16);
                    using var pullTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
                    var status = await source.PullAsync(batch, pullTimeout.Token);
                    return $"{status}, {batch.Count} chunk(s)";
                });
            }
            if (connector.Sink is { } sink)
            {
                await Try("  events through (sink side)", async () =>
                {
                    var batch = SampleBatch();
                    var reply = await sink.OnBatchAsync(batch, timeout.Token);
                    return reply.Status == SinkStatus.Fail ? throw new InvalidOperationException($"the sink failed the batch: {reply.Error}") : $"{batch.Count} events: {reply.Status}";
                });
            }
            await Try("  pause", async () =>
            {
                await connector.OnPauseAsync(timeout.Token);
                return "";
            });
            await Try("  resume", async () =>
            {
                await connector.OnResumeAsync(timeout.Token);
                return "";
            });
            await Try("  drain", async () =>
            {
                await connector.OnDrainAsync(timeout.Token);
                if (connector.Sink is { } s) await s.OnEndAsync(timeout.Token);
                return "";
            });
            await Try("  stop", async () =>
            {
                await connector.OnStopAsync(timeout.Token);
                return "";
            });
            await Try("  destroy", async () =>
            {
                await connector.DisposeAsync();
                return "";
            });
            if (host.Errors.Count > 0) Step("  no error logged", false, string.Join("; ", host.Errors));
        }
        discovery.UnloadAll();
        stdout.WriteLine(failures == 0 ? "verified: every step passed" : $"{failures} step(s) failed");
        return failures == 0 ? 0 : 2;
    }

    private static PluginConfig ReadConfig(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return new PluginConfig("config", null);
        var parsed = TremorConfig.Parse($"config {{\n{text}\n}}", "--config");
        return new PluginConfig("config", TremorConfig.ToValue(parsed.GetValue("config"), "config").AsRecord());
    }

    private static SinkBatch SampleBatch()
    {
        var codec = BuiltinCodecs.Codecs.First(c => c.Name == "json").Create(new PluginConfig("codec", null));
        var buffer = new PooledBufferWriter();
        var spans = new List<(int, int)>();
        var events = new List<Event>();
        for (var i = 0; i < 3; i++)
        {
            var record = new ValueRecord();
            record.Append("verify", i);
            var e = new Event { Id = new EventId(1, 0, (ulong)i, (ulong)i), IngestNs = (ulong)DateTime.UtcNow.Ticks * 100, Data = Value.From(record) };
            var start = buffer.WrittenCount;
            codec.Encode(e.Data, buffer);
            spans.Add((start, buffer.WrittenCount - start));
            events.Add(e);
        }
        var memory = buffer.WrittenMemory;
        return new SinkBatch(events.Select((e, i) => new SinkEvent(e.Id, e.IngestNs, memory.Slice(spans[i].Item1, spans[i].Item2), e)).ToList(), memory);
    }
}
