using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Tremor.Actors;
using Tremor.Cluster;
using Tremor.Actors.Configuration;
using Tremor.Actors.Configuration.Troy;
using Tremor.Actors.Connectors;
using Tremor.Actors.Flows;
using Tremor.Actors.Plugins;
using Tremor.Cli.Hosting;
using Tremor.Pdk;

namespace Tremor.Cli;

/// <summary><c>tremor run FILE</c>: validate everything, then start the actor system through Akka.Hosting and run.</summary>
public static class RunCommand
{
    /// <summary>Exit code for bad configuration or plugins.</summary>
    public const int ConfigError = 2;

    /// <summary>Runs the file's flows; returns the process exit code.</summary>
    public static async Task<int> RunAsync(FileInfo file, IReadOnlyList<string> pluginDirs, TextWriter output, TextWriter error)
    {
        Akka.Configuration.Config config;
        TremorSettings settings;
        var catalog = new PluginCatalog();
        PluginDiscovery discovery;
        var clustered = false;
        // Compiled and checked once, here; the world deploys what was checked.
        var validated = new Dictionary<string, ValidatedFlow>(StringComparer.Ordinal);
        // A troy file runs as its HOCON; what it maps back to lets later errors point at the troy line.
        TroyConversion? troy = null;
        try
        {
            if (TroyConfig.IsTroyFile(file.FullName))
            {
                troy = TroyConfig.Convert(file.FullName);
                config = TremorConfig.Parse(troy.Hocon, new HoconOrigin(file.FullName, file.DirectoryName));
            }
            else config = TremorConfig.LoadFile(file.FullName);
            settings = TremorConfig.ReadSettings(config, file.FullName);
            clustered = settings.ClusterOrDefault.Enabled;
            if (settings.Flows.Count == 0 && !settings.Api.Enabled && !clustered)
            {
                throw new ConfigException($"{file.FullName}: tremor.flows", "no flows to run; define at least one under tremor.flows");
            }
            discovery = new PluginDiscovery(catalog, settings.Plugins);
            foreach (var record in discovery.DiscoverAll(pluginDirs).Where(r => r.Status != PluginStatus.Loaded))
            {
                error.WriteLine(record.Status == PluginStatus.Shadowed ? $"note: plugin {record.Reason}" : $"warning: plugin refused: {record.Reason}");
            }
            foreach (var missing in discovery.MissingDirectories)
            {
                error.WriteLine($"warning: plugin directory {missing} does not exist (named by --plugins or tremor.plugins.directories); nothing loaded from it");
            }
            // Everything is checked before anything starts: nothing runs half-way on a bad file.
            foreach (var flow in settings.Flows)
            {
                // A cluster node checks the flows it could run; the others run on nodes that have their plugins.
                var missing = clustered ? FlowDefinition.Requirements(flow).Except(catalog.Inventory, StringComparer.Ordinal).ToList() : [];
                if (missing.Count > 0)
                {
                    error.WriteLine($"note: flow '{flow.Name}' needs {string.Join(", ", missing)}, which this node does not have; it runs on a cluster node that has them");
                    continue;
                }
                validated[flow.Name] = FlowValidator.Validate(flow, catalog);
            }
        }
        catch (ConfigException e)
        {
            if (troy is not null) e = troy.Locate(e);
            error.WriteLine($"error: {Prefix(e.Path, file.FullName)}{e.Message}");
            return ConfigError;
        }

        var services = new RuntimeServices(output, error, settings.DataDir);
        using var dataLock = services.Data; // released when this run ends (the kernel releases it on kill -9)
        try
        {
            services.Data.LockIfPresent();
        }
        catch (InvalidOperationException e)
        {
            error.WriteLine($"error: {e.Message}");
            return ConfigError;
        }
        var control = new RunControl();
        var exit = control.Exit;
        // One generic host for the whole run: the actor system, the management API when it is on (Kestrel only then),
        // one lifetime (signals) and one logging pipeline (tremor.log).
        var web = settings.Api.Enabled ? Api.ManagementApi.CreateBuilder(settings.Api, settings.MetricsEnabled) : null;
        IHostApplicationBuilder builder = web is not null ? web : Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        var log = settings.LogOrDefault;
        builder.Logging.AddTremorStderr(log, error);
        builder.Services.AddSingleton(control);
        builder.Services.AddSingleton<IHostLifetime, SignalLifetime>();
        // The world bounds its drain (drain-timeout) and its stop; the host must not cut them short.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = settings.DataPath.DrainTimeout + TimeSpan.FromMinutes(1));
        builder.Services.AddAkka("tremor", akka =>
        {
            akka.AddHocon(config, HoconAddMode.Prepend);
            // After the file's HOCON, so it wins: Akka logs through Microsoft.Extensions.Logging at tremor.log's level.
            akka.ConfigureLoggers(loggers =>
            {
                loggers.LogLevel = StderrLogging.AkkaLevel(log);
                // AddLoggerFactory hands Akka the host's ILoggerFactory; the bridge that uses it is ours (plain messages).
                loggers.AddLoggerFactory();
                loggers.ClearLoggers();
                loggers.AddLogger<AkkaLogBridge>();
            });
            akka.WithActors((system, registry) =>
            {
                var world = system.ActorOf(World.Props(catalog, services, settings.DataPath, exit, keepRunning: settings.Api.Enabled || clustered), "world");
                registry.Register<World>(world);
            });
            if (clustered)
            {
                // The file's flows join the cluster's desired state; the placement coordinator decides where they run.
                akka.WithTremorCluster(catalog, settings.ClusterOrDefault, FlowDefinition.FromConfig(config, settings.Flows));
            }
        });
        // After Akka: stopped before it, so the flows drain while the actor system is still up.
        builder.Services.AddHostedService<WorldService>();
        Api.ManagementApi? api = null;
        IHost host;
        if (web is not null)
        {
            var app = web.Build();
            api = Api.ManagementApi.Map(app, settings.Api, settings.Plugins, discovery);
            host = app;
        }
        else host = ((HostApplicationBuilder)builder).Build();
        using var disposeHost = host;
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        try
        {
            await host.StartAsync();
            api?.Announce(error);
        }
        catch (ConfigException e)
        {
            error.WriteLine($"error: {file.FullName}: {e.Message}");
            await host.StopAsync();
            return ConfigError;
        }
        catch (IOException e)
        {
            error.WriteLine($"error: {file.FullName}: tremor.api: cannot listen on {settings.Api.Bind}:{settings.Api.Port}: {e.Message}");
            await host.StopAsync();
            return ConfigError;
        }
        var registry = host.Services.GetRequiredService<ActorRegistry>();
        var worldRef = await registry.GetAsync<World>();
        var system = host.Services.GetRequiredService<ActorSystem>();
        if (clustered)
        {
            var cluster = Akka.Cluster.Cluster.Get(system);
            var submitting = settings.Flows.Count == 0 ? "" : $"; once up it adds this file's flows to the cluster's desired state (names already there are kept): {string.Join(", ", settings.Flows.Select(f => f.Name))}";
            error.WriteLine($"cluster: node {cluster.SelfAddress} (roles: {string.Join(", ", cluster.SelfRoles.Order(StringComparer.Ordinal))}) joining{submitting}");
            cluster.RegisterOnMemberUp(() => error.WriteLine($"cluster: node {cluster.SelfAddress} is up"));
            // Downed (e.g. on the minority side of a partition) or left: this process is done with the cluster.
            cluster.RegisterOnMemberRemoved(() =>
            {
                var leaving = lifetime.ApplicationStopping.IsCancellationRequested;
                if (!leaving) error.WriteLine($"error: cluster: node {cluster.SelfAddress} was removed from the cluster (downed); stopping");
                exit.TrySetResult(leaving ? 0 : 3);
            });
            // Registered after the world service's drain, so it runs before it: a node leaves first, so its flows are
            // placed elsewhere while it drains its own.
            lifetime.ApplicationStopping.Register(() => cluster.Leave(cluster.SelfAddress));
        }

        foreach (var flow in clustered ? [] : settings.Flows)
        {
            // A signal during the deploys: the flows deployed so far drain, the others are not started.
            if (lifetime.ApplicationStopping.IsCancellationRequested) break;
            // Handed over, not kept: a hot swap must leave nothing here holding the old plugin's factories.
            validated.Remove(flow.Name, out var checkedFlow);
            var answer = await worldRef.Ask<object>(new World.DeployFlow(flow, checkedFlow), TimeSpan.FromSeconds(30));
            if (answer is World.DeployFailed failed && !lifetime.ApplicationStopping.IsCancellationRequested)
            {
                error.WriteLine($"error: {failed.Reason}");
                await host.StopAsync();
                return ConfigError;
            }
        }
        validated.Clear();

        using var watcher = settings.Plugins.Watch
            ? new PluginWatcher(discovery, settings.Plugins, r => error.WriteLine(r.Status == PluginStatus.Loaded
                ? $"plugin loaded while running: {r.Name} {r.Version} ({r.Path})"
                : $"warning: plugin refused: {r.Reason}"))
            : null;

        // Until the run ends by itself or a signal stops the host; stopping drains (WorldService) and then stops Akka.
        await host.WaitForShutdownAsync();
        var code = await exit.Task;
        output.Flush();
        // Plugin instances stop and dispose off the plugin dispatcher (bounded): their code must stay loaded until then.
        await services.AllInstancesStopped();
        discovery.UnloadAll();
        // The run's last line: whether every accepted event was delivered, and what was not, per connector.
        if (services.Ledger.Summary is { } summary) error.WriteLine(summary.Line);
        return code;
    }

    private static string Prefix(string path, string file) => path.StartsWith(file, StringComparison.Ordinal) ? "" : $"{file}: ";
}
