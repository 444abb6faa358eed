using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Akka.Actor;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Akka.Hosting;
using OpenTelemetry.Metrics;
using Tremor.Actors;
using Tremor.Actors.Configuration;
using Tremor.Actors.Connectors;
using Tremor.Actors.Flows;
using Tremor.Actors.Metrics;
using Tremor.Actors.Pipelines;
using Tremor.Actors.Plugins;
using Tremor.Pdk;

namespace Tremor.Cli.Api;

/// <summary>
/// The management HTTP API of a running tremor: plugins (list, load, unload, replace), flows (list, deploy,
/// undeploy, pause, resume), connector status, <c>/v1/status</c> (one snapshot for <c>tremor top</c> and the status
/// page at <c>/ui/</c>), and <c>/metrics</c> in Prometheus text format. Every <c>/v1</c> request needs the bearer
/// token; JSON in and out; bad requests get a 4xx with <c>{"error": "..."}</c>. It runs in the run's one generic host,
/// beside the actor system (one lifetime, one logging pipeline), and finds the actors it asks through Akka.Hosting's
/// <see cref="ActorRegistry"/>.
/// </summary>
public sealed class ManagementApi
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(30);

    // The world answers a swap after tremor.data-path.drain-timeout at the latest, listing connectors still swapping.
    private static readonly TimeSpan SwapTimeout = TimeSpan.FromMinutes(10);
    private readonly WebApplication _app;
    private readonly ApiSettings _settings;
    private readonly bool _generated;

    private ManagementApi(WebApplication app, ApiSettings settings, string token, bool generated)
    {
        _app = app;
        _settings = settings;
        Token = token;
        _generated = generated;
    }

    /// <summary>Where it listens, once the host started (<see cref="Announce"/>).</summary>
    public Uri? Address { get; private set; }

    /// <summary>The bearer token.</summary>
    public string Token { get; }

    /// <summary>
    /// The builder of the host a run with the API runs in: Kestrel on <c>tremor.api.bind</c>:<c>port</c> and routing,
    /// nothing else; no <c>appsettings.json</c> from the working directory and no <c>ASPNETCORE_</c> variables, so
    /// only tremor's file configures it.
    /// </summary>
    /// <remarks>
    /// With <paramref name="metrics"/> (<c>tremor.metrics.enabled</c>) the OpenTelemetry SDK collects the runtime's
    /// meter at each scrape of <c>/metrics</c> (the observable instruments read the counters the actors keep) and its
    /// exporter writes the text, label values escaped; no response cache, so a scrape sees the counters as they are.
    /// </remarks>
    public static WebApplicationBuilder CreateBuilder(ApiSettings settings, bool metrics = true)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.Listen(IPAddress.Parse(settings.Bind), settings.Port));
        builder.Services.AddRoutingCore();
        if (metrics)
        {
            builder.Services.AddOpenTelemetry().WithMetrics(m => m
                .AddMeter(RuntimeMetrics.MeterName)
                .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0));
        }
        return builder;
    }

    /// <summary>
    /// Maps the endpoints onto <paramref name="app"/>, before the host starts. The world, the connector manager and, on
    /// a cluster node, the placement coordinator are looked up in the actor registry when a request needs them.
    /// </summary>
    public static ManagementApi Map(WebApplication app, ApiSettings settings, PluginSettings plugins, PluginDiscovery discovery)
    {
        var generated = settings.Token.Length == 0;
        var token = generated ? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)) : settings.Token;
        var expected = Encoding.UTF8.GetBytes(token);
        var registry = app.Services.GetRequiredService<ActorRegistry>();
        ActorSystem System() => app.Services.GetRequiredService<ActorSystem>();
        IActorRef? Coordinator() => registry.TryGet<Tremor.Cluster.PlacementCoordinator>(out var c) ? c : null;
        var api = new Handlers(registry, System, discovery, plugins, settings, Stopwatch.StartNew());
        // The exporter is there when CreateBuilder registered it (tremor.metrics.enabled).
        var metrics = app.Services.GetService<MeterProvider>() is not null;

        app.Use(async (context, next) =>
        {
            // /metrics is protected like /v1: it names every flow and connector, and Prometheus sends a bearer token
            // (scrape config `authorization { credentials_file = ... }`).
            if ((context.Request.Path.StartsWithSegments("/v1") || context.Request.Path.StartsWithSegments("/metrics")) &&
                !IsProbe(context.Request.Path) &&
                !Authorized(context.Request.Headers.Authorization.ToString(), expected))
            {
                await Json(context, 401, new Dictionary<string, object?> { ["error"] = "missing or wrong bearer token (Authorization: Bearer TOKEN; the token is in the token file or tremor.api.token)" });
                return;
            }
            try
            {
                await next(context);
            }
            catch (ApiError e)
            {
                await Json(context, e.Status, new Dictionary<string, object?> { ["error"] = e.Message });
            }
        });

        // Probes for orchestrators, without the token (a kubelet or load balancer has none): they say nothing an
        // outsider could use; /v1/ready names what it waits for only to a caller with the token.
        app.MapGet("/v1/health", async ctx => await Json(ctx, 200, new Dictionary<string, object?> { ["status"] = "ok" }));
        app.MapGet("/v1/version", async ctx => await Json(ctx, 200, VersionInfo()));
        app.MapGet("/v1/ready", async ctx =>
        {
            var (ready, waiting) = await api.Readiness();
            var body = new Dictionary<string, object?> { ["ready"] = ready, ["waiting"] = waiting.Count };
            if (Authorized(ctx.Request.Headers.Authorization.ToString(), expected)) body["waiting_for"] = waiting;
            await Json(ctx, ready ? 200 : 503, body);
        });
        app.MapGet("/v1/plugins", async ctx => await Json(ctx, 200, api.Plugins()));
        app.MapPost("/v1/plugins", async ctx => await Json(ctx, 201, await api.LoadPlugin(await Body(ctx))));
        app.MapDelete("/v1/plugins/{name}", async ctx => await Json(ctx, 200, await api.UnloadPlugin((string)ctx.Request.RouteValues["name"]!, ctx.Request.Query["force"] == "true")));
        app.MapPut("/v1/plugins/{name}", async ctx => await Json(ctx, 200, await api.ReplacePlugin((string)ctx.Request.RouteValues["name"]!, await Body(ctx))));
        app.MapGet("/v1/flows", async ctx => await Json(ctx, 200, await api.Flows()));
        app.MapPost("/v1/flows", async ctx => await Json(ctx, 201, await api.Deploy(await Body(ctx), ctx.Request.ContentType)));
        app.MapDelete("/v1/flows/{name}", async ctx => await Json(ctx, 200, await api.Undeploy((string)ctx.Request.RouteValues["name"]!)));
        app.MapPost("/v1/flows/{name}/pause", async ctx => await Json(ctx, 200, await api.Pause((string)ctx.Request.RouteValues["name"]!, true)));
        app.MapPost("/v1/flows/{name}/resume", async ctx => await Json(ctx, 200, await api.Pause((string)ctx.Request.RouteValues["name"]!, false)));
        app.MapGet("/v1/connectors", async ctx => await Json(ctx, 200, await api.Connectors()));
        app.MapGet("/v1/status", async ctx => await Json(ctx, 200, await api.Status(Coordinator())));
        app.MapGet("/v1/cluster", async ctx => await Json(ctx, 200, await ClusterStatus(Coordinator(), System())));
        app.MapPost("/v1/cluster/flows", async ctx => await Json(ctx, 201, await SubmitClusterFlows(Coordinator(), await Body(ctx), ctx.Request.ContentType)));
        app.MapDelete("/v1/cluster/flows/{name}", async ctx => await Json(ctx, 200, await RemoveClusterFlow(Coordinator(), (string)ctx.Request.RouteValues["name"]!)));
        if (metrics) app.MapPrometheusScrapingEndpoint("/metrics");
        else app.MapGet("/metrics", async ctx => await Json(ctx, 404, new Dictionary<string, object?> { ["error"] = "metrics are off (tremor.metrics.enabled = off); turn them on to scrape /metrics" }));
        StatusPage.Map(app);
        app.MapFallback(async ctx => await Json(ctx, 404, new Dictionary<string, object?> { ["error"] = $"no such endpoint: {ctx.Request.Method} {ctx.Request.Path}" }));

        return new ManagementApi(app, settings, token, generated);
    }

    /// <summary>
    /// Once the host started: writes a generated token to its file and prints where the API listens. A token file that
    /// cannot be written is a <see cref="ConfigException"/> (the run stops: nobody could use the API).
    /// </summary>
    public Uri Announce(TextWriter error)
    {
        var bound = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        var tokenFile = _settings.TokenFile.Length > 0 ? Path.GetFullPath(_settings.TokenFile) : ApiSettings.DefaultTokenFile(bound.Port);
        if (_generated)
        {
            try
            {
                TokenFile.Write(tokenFile, Token);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ConfigException($"tremor.api.token-file ({tokenFile})", $"cannot write the generated token: {e.Message}");
            }
        }
        var everywhere = IPAddress.Parse(_settings.Bind) is { } ip && (ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any));
        var scope = IPAddress.IsLoopback(IPAddress.Parse(_settings.Bind)) ? "loopback only" : everywhere ? "every interface" : "reachable from other hosts";
        // A client cannot connect to a wildcard address: the URL is the loopback one, the listening address follows.
        Address = everywhere ? new UriBuilder(bound) { Host = "127.0.0.1" }.Uri : bound;
        error.WriteLine($"management API on {Address} (listening on {bound.Authority}, {scope}; token in {(_generated ? tokenFile : "tremor.api.token")})");
        return Address;
    }

    /// <summary>
    /// <c>Authorization: Bearer TOKEN</c>, the scheme case-insensitive (RFC 7235), the token compared in constant time.
    /// </summary>
    internal static bool Authorized(string header, byte[] expected)
    {
        var space = header.IndexOf(' ', StringComparison.Ordinal);
        if (space < 0 || !header.AsSpan(0, space).Equals("Bearer", StringComparison.OrdinalIgnoreCase)) return false;
        var given = Encoding.UTF8.GetBytes(header[(space + 1)..].Trim());
        return CryptographicOperations.FixedTimeEquals(given, expected);
    }

    private static async Task<object> SubmitClusterFlows(IActorRef? coordinator, string body, string? contentType)
    {
        if (coordinator is null) throw new ApiError(404, "this tremor is not a cluster node (akka.actor.provider = cluster); use POST /v1/flows");
        IReadOnlyList<Tremor.Cluster.FlowDefinition> definitions;
        try
        {
            var config = TremorConfig.ParseBody(body, "request body", contentType);
            definitions = Tremor.Cluster.FlowDefinition.FromConfig(config, TremorConfig.ReadSettings(config, "request body").Flows);
        }
        catch (ConfigException e)
        {
            throw new ApiError(400, e.Message);
        }
        if (definitions.Count == 0) throw new ApiError(400, "request body: no flows; send HOCON with tremor.flows.NAME { connectors, pipelines, links, placement }");
        var answer = await AskCoordinator<Tremor.Cluster.PlacementCoordinator.FlowsSubmitted>(coordinator, new Tremor.Cluster.PlacementCoordinator.SubmitFlows(definitions));
        return new Dictionary<string, object?> { ["submitted"] = answer.Names.ToList(), ["majority"] = answer.Majority };
    }

    private static async Task<object> RemoveClusterFlow(IActorRef? coordinator, string name)
    {
        if (coordinator is null) throw new ApiError(404, "this tremor is not a cluster node (akka.actor.provider = cluster); use DELETE /v1/flows/NAME");
        var answer = await AskCoordinator<object>(coordinator, new Tremor.Cluster.PlacementCoordinator.RemoveFlow(name));
        if (answer is Tremor.Cluster.PlacementCoordinator.NoSuchFlow missing)
        {
            throw new ApiError(404, $"no flow named '{name}' in the cluster's desired state (known: {string.Join(", ", missing.Known)})");
        }
        var removed = (Tremor.Cluster.PlacementCoordinator.FlowRemoved)answer;
        return new Dictionary<string, object?> { ["removed"] = removed.Name, ["majority"] = removed.Majority };
    }

    private static async Task<T> AskCoordinator<T>(IActorRef coordinator, object message)
    {
        try
        {
            return await coordinator.Ask<T>(message, TimeSpan.FromSeconds(15));
        }
        catch (AskTimeoutException)
        {
            throw new ApiError(503, "the placement coordinator did not answer within 15 s (the cluster is forming, or this node is not up yet)");
        }
    }

    private static async Task<object> ClusterStatus(IActorRef? coordinator, ActorSystem system)
    {
        if (coordinator is null) throw new ApiError(404, "this tremor is not a cluster node (akka.actor.provider = cluster)");
        var status = await AskCoordinator<Tremor.Cluster.PlacementCoordinator.ClusterStatus>(coordinator, new Tremor.Cluster.PlacementCoordinator.GetClusterStatus());
        // This node's own view of the membership: gossip may not have reached it yet even when the coordinator sees every node up.
        var cluster = Akka.Cluster.Cluster.Get(system);
        var state = cluster.State;
        return new Dictionary<string, object?>
        {
            ["coordinator"] = status.Coordinator,
            ["self"] = cluster.SelfAddress.ToString(),
            ["view"] = state.Members.OrderBy(m => m.Address.ToString(), StringComparer.Ordinal).Select(m => new Dictionary<string, object?>
            {
                ["address"] = m.Address.ToString(),
                ["status"] = m.Status.ToString().ToLowerInvariant(),
                ["reachable"] = !state.Unreachable.Contains(m),
            }).ToList(),
            ["nodes"] = status.Nodes.Select(n => new Dictionary<string, object?>
            {
                ["address"] = n.Address,
                ["status"] = n.Status,
                ["reachable"] = n.Reachable,
                ["roles"] = n.Roles.ToList(),
                ["inventory"] = n.Inventory.ToList(),
                ["flows"] = n.Flows.ToList(),
            }).ToList(),
            ["flows"] = status.Flows.Select(f => new Dictionary<string, object?>
            {
                ["name"] = f.Name,
                ["placement"] = f.Placement,
                ["node_local"] = f.NodeLocal,
                ["note"] = f.Note,
                ["instances"] = f.Instances.Select(i => new Dictionary<string, object?> { ["node"] = i.Address, ["state"] = i.State }).ToList(),
            }).ToList(),
        };
    }

    private static async Task<string> Body(HttpContext ctx)
    {
        using var reader = new StreamReader(ctx.Request.Body, Encoding.UTF8);
        return await reader.ReadToEndAsync();
    }

    private static Task Json(HttpContext ctx, int status, object body)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        return ctx.Response.WriteAsync(JsonText.Write(body));
    }

    /// <summary>An error answered with a status code and a message.</summary>
    internal sealed class ApiError(int status, string message) : Exception(message)
    {
        public int Status { get; } = status;
    }

    /// <summary>The endpoints' logic: asks the world (Ask is for the edge), loads and unloads plugins.</summary>
    private static bool IsProbe(PathString path) =>
        path.Equals("/v1/health", StringComparison.Ordinal) || path.Equals("/v1/ready", StringComparison.Ordinal) || path.Equals("/v1/version", StringComparison.Ordinal);

    private static Dictionary<string, object?> VersionInfo() => new()
    {
        ["version"] = typeof(ManagementApi).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
            ?? typeof(ManagementApi).Assembly.GetName().Version?.ToString(),
        ["pdk"] = PdkVersion.Text,
        ["runtime"] = RuntimeInformation.FrameworkDescription,
    };

    private sealed class Handlers(ActorRegistry registry, Func<ActorSystem> system, PluginDiscovery discovery, PluginSettings plugins, ApiSettings settings, Stopwatch clock)
    {
        // Registered when the host started the actor system: the world, and the connector manager the world created.
        private IActorRef WorldActor => registry.Get<World>();

        private IActorRef ConnectorManagerActor => registry.Get<ConnectorManager>();

        private ActorSystem Actors => system();

        private readonly SemaphoreSlim _pluginChanges = new(1, 1);

        public object Plugins() => discovery.Catalog.Records.Select(Record).ToList();

        public async Task<object> LoadPlugin(string body)
        {
            var path = RequiredPath(body);
            await _pluginChanges.WaitAsync();
            try
            {
                CheckTrusted(path);
                var record = discovery.LoadOne(path);
                // A name or connector type already taken is a conflict with what is loaded, not a bad file.
                if (record.Status == PluginStatus.Refused) throw new ApiError(record.Other is null ? 422 : 409, record.Reason ?? "refused");
                return Record(record);
            }
            finally
            {
                _pluginChanges.Release();
            }
        }

        public async Task<object> UnloadPlugin(string name, bool force)
        {
            await _pluginChanges.WaitAsync();
            try
            {
                if (!discovery.Catalog.Records.Any(r => r.Name == name && r.Status == PluginStatus.Loaded))
                {
                    throw new ApiError(404, $"no loaded plugin named '{name}'");
                }
                var users = await FlowsUsing(name);
                if (users.Count > 0 && !force)
                {
                    throw new ApiError(409, $"plugin '{name}' is used by flow(s) {string.Join(", ", users.Select(u => u.Name))}; undeploy them first or unload with ?force=true (they are drained and stopped)");
                }
                foreach (var flow in users) await UndeployFlow(flow.Name);
                discovery.Unload(name);
                return new Dictionary<string, object?> { ["unloaded"] = name, ["undeployed"] = users.Select(u => u.Name).ToList() };
            }
            finally
            {
                _pluginChanges.Release();
            }
        }

        /// <summary>
        /// Hot swap, all or nothing: the new file is checked completely (trust, format, ABI and layout or PDK, name,
        /// connector types, default codecs, the running connectors' configs) before anything changes; a refusal (422)
        /// leaves the old version loaded and its flows running. Then the catalog provides the new version and the world
        /// replaces the instances of only the connectors of its types; the old version is released afterwards.
        /// </summary>
        public async Task<object> ReplacePlugin(string name, string body)
        {
            var path = RequiredPath(body);
            await _pluginChanges.WaitAsync();
            try
            {
                var old = discovery.Catalog.Records.FirstOrDefault(r => r.Name == name && r.Status == PluginStatus.Loaded)
                    ?? throw new ApiError(404, $"no loaded plugin named '{name}' (to load a new one: POST /v1/plugins)");
                var unchanged = $"nothing changed: '{name}' {old.Version} stays loaded and its flows keep running";
                if (!File.Exists(path)) throw new ApiError(422, $"the new version was refused: {path}: no such file; {unchanged}");
                CheckTrusted(path);
                var users = await FlowsUsing(name);
                StagedPlugin staged;
                try
                {
                    staged = discovery.Stage(path);
                }
                catch (PluginRefusedException e)
                {
                    throw new ApiError(422, $"the new version was refused: {e.Message}; {unchanged}");
                }
                using (staged)
                {
                    try
                    {
                        staged.CheckReplaces(name, discovery.Catalog, users);
                    }
                    catch (PluginRefusedException e)
                    {
                        throw new ApiError(422, $"the new version was refused: {e.Message}; {unchanged}");
                    }
                    var types = staged.Connectors.Select(c => c.Type).ToList();
                    var retired = discovery.Replace(name, staged);
                    var swapped = await WorldActor.Ask<World.PluginSwapped>(new World.SwapPlugin(name, types), SwapTimeout);
                    // Instances still holding the old version keep it alive: a native library is freed after its last
                    // instance, a load context is collected once nothing references it.
                    retired?.Dispose();
                    return new Dictionary<string, object?>
                    {
                        ["replaced"] = name,
                        ["version"] = staged.Record.Version,
                        ["previous_version"] = old.Version,
                        ["path"] = staged.Record.Path,
                        ["restarted"] = swapped.Restarted.ToList(),
                        ["still_swapping"] = swapped.StillSwapping.ToList(),
                    };
                }
            }
            finally
            {
                _pluginChanges.Release();
            }
        }

        public async Task<object> Flows()
        {
            var list = await WorldActor.Ask<World.FlowList>(new World.ListFlows(), AskTimeout);
            var result = new List<object>();
            foreach (var (spec, completed) in list.Flows)
            {
                var status = await WorldActor.Ask<object>(new FlowManager.SendTo(spec.Name, new FlowActor.GetFlowStatus()), AskTimeout);
                result.Add(new Dictionary<string, object?>
                {
                    ["name"] = spec.Name,
                    ["state"] = status is FlowActor.FlowStatus s ? s.State.ToString().ToLowerInvariant() : completed ? "completed" : "unknown",
                    ["connectors"] = spec.Connectors.Select(c => c.Name).ToList(),
                    ["pipelines"] = spec.Pipelines.Select(p => p.Name).ToList(),
                    ["links"] = spec.Links.Select(l => l.ToString()).ToList(),
                });
            }
            return result;
        }

        public async Task<object> Deploy(string body, string? contentType)
        {
            TremorSettings parsed;
            try
            {
                parsed = TremorConfig.ReadSettings(TremorConfig.ParseBody(body, "request body", contentType), "request body");
            }
            catch (ConfigException e)
            {
                throw new ApiError(400, e.Message);
            }
            if (parsed.Flows.Count == 0) throw new ApiError(400, "request body: no flows; send HOCON with tremor.flows.NAME { connectors, pipelines, links }");
            var deployed = new List<string>();
            foreach (var flow in parsed.Flows)
            {
                await DeployOne(flow);
                deployed.Add(flow.Name);
            }
            return new Dictionary<string, object?> { ["deployed"] = deployed };
        }

        public async Task<object> Undeploy(string name)
        {
            await UndeployFlow(name);
            return new Dictionary<string, object?> { ["undeployed"] = name };
        }

        public async Task<object> Pause(string name, bool pause)
        {
            var list = await WorldActor.Ask<World.FlowList>(new World.ListFlows(), AskTimeout);
            if (list.Flows.All(f => f.Spec.Name != name)) throw new ApiError(404, $"no flow named '{name}' is deployed");
            WorldActor.Tell(new FlowManager.SendTo(name, pause ? new FlowActor.PauseFlow() : new FlowActor.ResumeFlow()));
            return new Dictionary<string, object?> { [pause ? "paused" : "resumed"] = name };
        }

        public async Task<object> Connectors()
        {
            var result = new List<object>();
            foreach (var s in await ConnectorStatuses())
            {
                result.Add(new Dictionary<string, object?>
                {
                    ["alias"] = s.Alias,
                    ["flow"] = s.Alias[..Math.Max(0, s.Alias.IndexOf("::", StringComparison.Ordinal))],
                    ["type"] = s.Type,
                    ["plugin"] = discovery.Catalog.PluginOf(s.Type),
                    ["state"] = s.State.ToString().ToLowerInvariant(),
                    ["restarts"] = s.Restarts,
                    ["events_in"] = s.EventsIn,
                    ["events_out"] = s.EventsOut,
                    ["errors"] = s.Errors,
                    ["dropped"] = s.Dropped,
                    ["last_error"] = s.LastError,
                    ["circuit_breaker_open"] = s.CircuitBreakerOpen,
                });
            }
            return result;
        }

        /// <summary>
        /// One snapshot for live views (<c>tremor top</c>, the status page): flows, connectors with their counters,
        /// plugins and, on a cluster node, the cluster. Counters are totals; a client divides the difference between
        /// two snapshots by the difference of their <c>uptime_ms</c> (monotonic) for rates.
        /// </summary>
        public async Task<object> Status(IActorRef? coordinator)
        {
            object? cluster = null;
            if (coordinator is not null)
            {
                try
                {
                    cluster = await ClusterStatus(coordinator, Actors);
                }
                catch (ApiError e)
                {
                    // The rest of the snapshot is still worth showing while the cluster forms.
                    cluster = new Dictionary<string, object?> { ["error"] = e.Message };
                }
            }
            return new Dictionary<string, object?>
            {
                ["uptime_ms"] = clock.ElapsedMilliseconds,
                ["time"] = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
                ["version"] = VersionInfo()["version"],
                ["flows"] = await Flows(),
                ["connectors"] = await Connectors(),
                ["plugins"] = Plugins(),
                ["cluster"] = cluster,
            };
        }

        /// <summary>
        /// Ready when every flow is deployed (running, paused or completed) and every connector of it is connected
        /// (running, paused or draining); otherwise what is still waiting, e.g. <c>flow::sink connecting</c>.
        /// </summary>
        public async Task<(bool Ready, List<string> Waiting)> Readiness()
        {
            var list = await WorldActor.Ask<World.FlowList>(new World.ListFlows(), AskTimeout);
            var waiting = new List<string>();
            foreach (var (spec, completed) in list.Flows)
            {
                if (completed) continue;
                var status = await WorldActor.Ask<object>(new FlowManager.SendTo(spec.Name, new FlowActor.GetFlowStatus()), AskTimeout);
                if (status is not FlowActor.FlowStatus { State: FlowState.Running or FlowState.Paused or FlowState.Completed })
                {
                    waiting.Add($"flow {spec.Name} {(status is FlowActor.FlowStatus s ? s.State.ToString().ToLowerInvariant() : "unknown")}");
                }
            }
            foreach (var c in await ConnectorStatuses())
            {
                if (c.State is not (ConnectorState.Running or ConnectorState.Paused or ConnectorState.Draining))
                {
                    waiting.Add($"{c.Alias} {c.State.ToString().ToLowerInvariant()}");
                }
            }
            return (waiting.Count == 0, waiting);
        }

        private async Task<List<ConnectorActor.Status>> ConnectorStatuses()
        {
            var list = await WorldActor.Ask<World.FlowList>(new World.ListFlows(), AskTimeout);
            var result = new List<ConnectorActor.Status>();
            foreach (var (spec, _) in list.Flows)
            {
                foreach (var c in spec.Connectors)
                {
                    try
                    {
                        var answer = await ConnectorManagerActor.Ask<object>(new ConnectorManager.SendTo(c.Alias, new ConnectorActor.GetStatus()), TimeSpan.FromSeconds(5));
                        if (answer is ConnectorActor.Status status) result.Add(status);
                    }
                    catch (AskTimeoutException)
                    {
                        // Stopped between listing and asking.
                    }
                }
            }
            return result;
        }

        private async Task<List<FlowSpec>> FlowsUsing(string plugin)
        {
            var list = await WorldActor.Ask<World.FlowList>(new World.ListFlows(), AskTimeout);
            return list.Flows.Select(f => f.Spec).Where(s => s.Connectors.Any(c => discovery.Catalog.PluginOf(c.Type) == plugin)).ToList();
        }

        private async Task UndeployFlow(string name)
        {
            var answer = await WorldActor.Ask<object>(new World.UndeployFlow(name), AskTimeout);
            if (answer is World.UndeployFailed failed) throw new ApiError(404, failed.Reason);
        }

        private async Task DeployOne(FlowSpec flow)
        {
            var answer = await WorldActor.Ask<object>(new World.DeployFlow(flow), AskTimeout);
            if (answer is World.DeployFailed failed) throw new ApiError(failed.Reason.Contains("already deployed", StringComparison.Ordinal) ? 409 : 400, failed.Reason);
        }

        private void CheckTrusted(string path)
        {
            if (settings.AllowUntrustedLoad) return;
            if (!File.Exists(path)) throw new ApiError(400, $"{path}: no such file");
            var hash = ManagedPluginLoader.Sha256(path);
            if (!plugins.Trusted.Values.Contains(hash, StringComparer.Ordinal))
            {
                throw new ApiError(403, $"{path}: not trusted: loading a plugin runs its code, so the API loads only files listed in tremor.plugins.trusted; add {PluginsCommand.TrustedLine(path)} there, or set tremor.api.allow-untrusted-load = on");
            }
        }

        private static string RequiredPath(string body)
        {
            try
            {
                using var doc = System.Text.Json.JsonDocument.Parse(body);
                if (doc.RootElement.TryGetProperty("path", out var p) && p.GetString() is { Length: > 0 } path) return Path.GetFullPath(path);
            }
            catch (System.Text.Json.JsonException e)
            {
                throw new ApiError(400, $"request body: not JSON ({e.Message}); send {{\"path\": \"/path/to/plugin.dll or .so\"}}");
            }
            throw new ApiError(400, "request body: missing \"path\"; send {\"path\": \"/path/to/plugin.dll or .so\"}");
        }

        private static Dictionary<string, object?> Record(PluginRecord r) => new()
        {
            ["name"] = r.Name,
            ["version"] = r.Version,
            ["kind"] = r.Kind,
            ["pdk"] = r.PdkVersion,
            ["path"] = r.Path,
            ["status"] = r.Status.ToString().ToLowerInvariant(),
            ["reason"] = r.Reason,
            ["other"] = r.Other,
            ["provides"] = r.Provides.ToList(),
        };
    }
}
