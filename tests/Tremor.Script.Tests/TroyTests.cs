using Tremor.Pdk;
using Tremor.Script.Troy;

namespace Tremor.Script.Tests;

/// <summary>Troy, Tremor's deployment language: one test per construct, and errors at line:col with a caret and a hint.</summary>
public sealed class TroyTests : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("tremor-troy-");

    public void Dispose() => _temp.Delete(recursive: true);

    private static IReadOnlyList<TroyFlow> Load(string text) => TroyDeployment.Load(text, "deploy.troy", null);

    private static ScriptException Fails(string text, string? directory = null) =>
        Assert.Throws<ScriptException>(() => TroyDeployment.Load(text, "deploy.troy", directory));

    private const string Minimal = """
        define flow main
        flow
          define connector tick from metronome
          with
            config = {"interval": 1000000}
          end;
          define pipeline main
          pipeline
            select event from in into out;
          end;
          create connector tick;
          create pipeline main;
          connect /connector/tick to /pipeline/main;
          connect /pipeline/main/out to /connector/tick/in;
        end;
        deploy flow main;
        """;

    [Fact]
    public void A_flow_with_a_connector_a_pipeline_and_connects_is_deployed_with_default_ports()
    {
        var flow = Assert.Single(Load(Minimal));
        Assert.Equal("main", flow.Name);
        var tick = Assert.Single(flow.Connectors);
        Assert.Equal(("tick", "metronome"), (tick.Alias, tick.Type));
        var config = Assert.Single(tick.Settings);
        Assert.Equal("config", config.Key);
        config.Value.AsRecord()!.TryGetValue("interval", out var interval);
        Assert.Equal(1000000L, interval.TryGetI64(out var ns) ? ns : -1);
        var pipeline = Assert.Single(flow.Pipelines);
        Assert.Equal("select event from in into out;\n", pipeline.Query);
        Assert.Equal(
            ["connector/tick/out -> pipeline/main/in", "pipeline/main/out -> connector/tick/in"],
            flow.Links.Select(l => $"{l.FromKind}/{l.From}/{l.FromPort} -> {l.ToKind}/{l.To}/{l.ToPort}"));
    }

    [Fact]
    public void Comments_and_doc_comments_are_ignored_and_the_last_semicolon_is_optional()
    {
        var text = "### a module comment\n# a comment\n" + Minimal.Replace("define flow main", "## a doc comment\ndefine flow main", StringComparison.Ordinal).TrimEnd().TrimEnd(';');
        Assert.Equal("main", Assert.Single(Load(text)).Name);
    }

    [Fact]
    public void Definition_args_take_their_defaults_and_create_with_overrides_them()
    {
        var flows = Load("""
            define flow main
            flow
              define connector ticks from metronome
              args every = 1000, label = "x"
              with
                config = {"interval": args.every, "iterations": 3},
                codec = "#{args.label}-codec"
              end;
              define pipeline p pipeline select event from in into out; end;
              create connector a from ticks;
              create connector b from ticks with every = 5000 end;
              create pipeline p;
              connect /connector/a to /pipeline/p;
              connect /connector/b to /pipeline/p;
              connect /pipeline/p to /connector/a;
            end;
            deploy flow main;
            """);
        var connectors = Assert.Single(flows).Connectors;
        Assert.Equal([1000L, 5000L], connectors.Select(c => Interval(c)));
        Assert.All(connectors, c => Assert.Equal("x-codec", c.Settings.Single(s => s.Key == "codec").Value.AsString()));

        static long Interval(TroyConnector c)
        {
            c.Settings.Single(s => s.Key == "config").Value.AsRecord()!.TryGetValue("interval", out var v);
            return v.TryGetI64(out var n) ? n : -1;
        }
    }

    [Fact]
    public void Flow_args_come_from_deploy_with_and_reach_creates_inside_the_flow()
    {
        var flows = Load("""
            define flow main
            args dir = "/default", name
            flow
              define connector out from file
              args path
              with config = {"path": args.path, "mode": "write"} end;
              define pipeline p pipeline select event from in into out; end;
              create connector out with path = "#{args.dir}/#{args.name}.json" end;
              create pipeline p;
              connect /pipeline/p to /connector/out;
              connect /connector/out to /pipeline/p;
            end;
            deploy flow one from main with name = "first" end;
            deploy flow two from main with name = "second", dir = "/data" end;
            """);
        Assert.Equal(["one", "two"], flows.Select(f => f.Name));
        Assert.Equal(["/default/first.json", "/data/second.json"], flows.Select(f =>
        {
            f.Connectors[0].Settings[0].Value.AsRecord()!.TryGetValue("path", out var p);
            return p.AsString();
        }));
    }

    [Fact]
    public void Pipeline_args_are_kept_for_the_query()
    {
        var flow = Assert.Single(Load("""
            define flow main
            flow
              define connector c from stdio;
              define pipeline labelled
              args label = "none",
              pipeline
                select {"label": args.label, "event": event} from in into out;
              end;
              create connector c;
              create pipeline labelled with label = "mine" end;
              connect /connector/c to /pipeline/labelled;
              connect /pipeline/labelled to /connector/c;
            end;
            deploy flow main;
            """));
        Assert.True(Assert.Single(flow.Pipelines).Args.AsRecord()!.TryGetValue("label", out var label));
        Assert.Equal("mine", label.AsString());
    }

    [Fact]
    public void A_pipeline_may_declare_its_ports_as_Tremor_allows()
    {
        var text = Minimal.Replace("define pipeline main\n", "define pipeline main from in into out, err\n", StringComparison.Ordinal);
        Assert.Equal("select event from in into out;\n", Assert.Single(Assert.Single(Load(text)).Pipelines).Query);
    }

    [Fact]
    public void The_standard_modules_define_console_exit_and_passthrough_and_one_use_imports_both()
    {
        var flow = Assert.Single(Load("""
            use tremor::{connectors, pipelines};
            define flow main
            flow
              create connector console from connectors::console;
              create connector exit from connectors::exit;
              create pipeline pass from pipelines::passthrough;
              connect /connector/console to /pipeline/pass;
              connect /pipeline/pass to /connector/console;
            end;
            deploy flow main;
            """));
        var console = flow.Connectors.Single(c => c.Alias == "console");
        Assert.Equal("stdio", console.Type);
        Assert.Equal(["preprocessors", "postprocessors", "codec"], console.Settings.Select(s => s.Key));
        Assert.Equal("exit", flow.Connectors.Single(c => c.Alias == "exit").Type);
        Assert.Equal("select event from in into out;\n", Assert.Single(flow.Pipelines).Query);
    }

    [Fact]
    public void Use_inside_a_flow_and_a_module_file_beside_the_deployment()
    {
        File.WriteAllText(Path.Combine(_temp.FullName, "shared.troy"), """
            define connector ticks from metronome with config = {"interval": 1000} end;
            define flow ticking
            flow
              use tremor::pipelines;
              create connector ticks;
              create pipeline pass from pipelines::passthrough;
              connect /connector/ticks to /pipeline/pass;
              connect /pipeline/pass to /connector/ticks;
            end;
            """);
        var flows = TroyDeployment.Load("""
            use shared;
            define flow local
            flow
              use tremor::pipelines;
              create connector t from shared::ticks;
              create pipeline pass from pipelines::passthrough;
              connect /connector/t to /pipeline/pass;
              connect /pipeline/pass to /connector/t;
            end;
            deploy flow local;
            deploy flow remote from shared::ticking;
            """, Path.Combine(_temp.FullName, "deploy.troy"), _temp.FullName);
        Assert.Equal(["local", "remote"], flows.Select(f => f.Name));
        Assert.All(flows, f => Assert.Equal("metronome", f.Connectors[0].Type));
    }

    [Fact]
    public void A_missing_module_names_where_it_was_looked_for()
    {
        var e = Fails("use nowhere;\n" + Minimal, _temp.FullName);
        Assert.Equal((1, 5), (e.Line, e.Column));
        Assert.Contains($"looked for {Path.Combine(_temp.FullName, "nowhere")}.troy", e.Message);
    }

    [Fact]
    public void A_syntax_error_points_at_the_line_and_column_with_a_caret()
    {
        var e = Fails("define flow main\nflow\n  create connector\nend;\n");
        Assert.Equal((4, 1), (e.Line, e.Column));
        Assert.Equal("deploy.troy:4:1: expected a connector name, found `end`\n    end;\n    ^", e.Message);
    }

    [Fact]
    public void A_missing_semicolon_is_reported_after_the_statement()
    {
        var e = Fails(Minimal.Replace("create pipeline main;", "create pipeline main", StringComparison.Ordinal));
        Assert.Equal((12, 23), (e.Line, e.Column));
        Assert.Contains("missing `;`", e.Reason);
    }

    [Fact]
    public void An_unknown_definition_suggests_the_nearest_name()
    {
        var e = Fails(Minimal.Replace("create connector tick;", "create connector tick from tik;", StringComparison.Ordinal));
        Assert.Equal((11, 30), (e.Line, e.Column));
        Assert.Equal("no connector definition `tik`", e.Reason);
        Assert.Equal("did you mean `tick`?", e.Hint);
    }

    [Fact]
    public void A_connect_to_something_not_created_is_an_error_at_the_endpoint()
    {
        var e = Fails(Minimal.Replace("connect /pipeline/main/out to /connector/tick/in;", "connect /pipeline/main/out to /connector/tock/in;", StringComparison.Ordinal));
        Assert.Equal((14, 33), (e.Line, e.Column));
        Assert.Equal("no connector `tock` is created in flow `main`", e.Reason);
        Assert.Equal("did you mean `tick`?", e.Hint);
    }

    [Fact]
    public void An_unknown_connector_parameter_is_an_error_with_the_known_ones()
    {
        var e = Fails(Minimal.Replace("config = {", "confg = {", StringComparison.Ordinal));
        Assert.Equal((5, 5), (e.Line, e.Column));
        Assert.Equal("did you mean `config`?", e.Hint);
    }

    [Fact]
    public void An_argument_the_definition_does_not_declare_and_a_required_one_left_out_are_errors()
    {
        var unknown = Fails(Minimal.Replace("create connector tick;", "create connector tick with every = 1 end;", StringComparison.Ordinal));
        Assert.Equal("connector `tick` has no argument `every`", unknown.Reason);
        Assert.Equal(11, unknown.Line);

        var required = Fails(Minimal.Replace("define pipeline main\n", "define pipeline main\n  args threshold\n", StringComparison.Ordinal));
        Assert.Equal("pipeline `main` needs the argument `threshold`", required.Reason);
        Assert.Equal(13, required.Line);
    }

    [Fact]
    public void A_broken_query_is_reported_at_its_place_in_the_troy_file()
    {
        var e = Fails(Minimal.Replace("select event from in into out;", "select event from in into;", StringComparison.Ordinal));
        Assert.Equal("deploy.troy", e.Origin);
        Assert.Equal(9, e.Line);
        Assert.Contains("select event from in into;", e.Message);
    }

    [Fact]
    public void A_deployment_without_deploy_or_with_a_flow_deployed_twice_is_refused()
    {
        var none = Fails(Minimal.Replace("deploy flow main;", "", StringComparison.Ordinal));
        Assert.Equal("the deployment deploys no flow", none.Reason);
        Assert.Equal("add a deploy statement: deploy flow main;", none.Hint);

        var twice = Fails(Minimal + "\ndeploy flow main;");
        Assert.Equal("flow `main` is deployed twice", twice.Reason);
    }

    [Fact]
    public void Names_in_a_flow_are_unique_and_kinds_of_endpoints_are_checked()
    {
        var twice = Fails(Minimal.Replace("create pipeline main;", "create pipeline tick from main;", StringComparison.Ordinal));
        Assert.Equal("`tick` is already created in flow `main` (as a connector)", twice.Reason);

        var kind = Fails(Minimal.Replace("connect /connector/tick to /pipeline/main;", "connect /pipeline/tick to /pipeline/main;", StringComparison.Ordinal));
        Assert.Equal("`tick` is a connector, not a pipeline", kind.Reason);
        Assert.Equal("write /connector/tick", kind.Hint);
    }

    [Fact]
    public void A_with_expression_that_fails_is_an_error_at_the_expression()
    {
        var e = Fails(Minimal.Replace("{\"interval\": 1000000}", "{\"interval\": 1 / 0}", StringComparison.Ordinal));
        Assert.Equal(5, e.Line);
    }
}
