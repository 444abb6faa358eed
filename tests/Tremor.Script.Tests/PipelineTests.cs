namespace Tremor.Script.Tests;

/// <summary>Sub-pipelines (<c>define</c>/<c>create pipeline</c>), scripts with several ports, and <c>state</c> sections.</summary>
public class PipelineTests
{
    [Fact]
    public void A_created_pipeline_runs_its_query_with_its_arguments_defaults_overridden_by_with()
    {
        var output = Harness.Run("""
            define pipeline above
            args
              limit = 10, label
            pipeline
              select {"v": event, "label": args.label} from in where event > args.limit into out;
            end;
            create pipeline low from above with label = "low" end;
            create pipeline high from above with label = "high", limit = 100 end;
            select event from in into low;
            select event from in into high;
            select event from low into out;
            select event from high into out;
            """, "5", "50", "500");

        Assert.Equal(["""{"v":50,"label":"low"}""", """{"v":500,"label":"low"}""", """{"v":500,"label":"high"}"""], output.Data());
    }

    [Fact]
    public void Pipelines_nest_and_args_do_not_leak_into_an_inner_pipeline()
    {
        var output = Harness.Run("""
            define pipeline outer
            args
              factor = 3
            pipeline
              define pipeline inner
              args
                factor
              pipeline
                select {"inner_args": args, "v": event * args.factor} from in into out;
              end;
              define pipeline bare
              pipeline
                select args from in into out;
              end;
              create pipeline inner with factor = args.factor * 2 end;
              create pipeline bare;
              select event from in into inner;
              select event from in into bare;
              select event from inner into out;
              select event from bare into out;
            end;
            create pipeline outer;
            select event from in into outer;
            select event from outer into out;
            """, "7");

        Assert.Equal(["""{"inner_args":{"factor":6},"v":42}""", "{}"], output.Data());
    }

    [Fact]
    public void A_pipeline_with_declared_ports_is_selected_into_and_from_by_port()
    {
        var output = Harness.Run("""
            define pipeline split
            from data
            into good, bad
            pipeline
              select event from data where event.ok into good;
              select event.why from data where not event.ok into bad;
            end;
            create pipeline split;
            select event from in into split/data;
            select {"good": event} from split/good into out;
            select {"bad": event} from split/bad into out;
            """, """{"ok":true}""", """{"ok":false,"why":"broken"}""");

        Assert.Equal(["""{"good":{"ok":true}}""", """{"bad":"broken"}"""], output.Data());
    }

    [Fact]
    public void A_run_time_error_inside_a_created_pipeline_reaches_the_outer_err_with_its_position()
    {
        var q = Query.Compile("""
            define pipeline p
            pipeline
              select event.missing from in into out;
            end;
            create pipeline p;
            select event from in into p;
            select event from p into out;
            """, "sub.trickle").Instantiate();
        var output = new Collector();

        q.Process("in", [Harness.Ev(Harness.J("""{"a":1}"""))], 0, output);

        var failed = Assert.Single(output.On("err"));
        // Line of the inner select; the column is where the path fails.
        Assert.Matches(@"^sub\.trickle:3:1[56]: .*`missing`", failed.Data["error"].AsString());
        Assert.Equal(1, q.ErrorCount);
    }

    [Theory]
    [InlineData("define pipeline p pipeline select event from in into out; end; create pipeline p; select event from in into p/other;", "bad.trickle:1:109: `p` has no input port `other`")]
    [InlineData("define pipeline p pipeline select event from in into out; end; create pipeline p; select event from p/snot into out;", "bad.trickle:1:101: `p` has no output port `snot`")]
    [InlineData("define pipeline p from input pipeline select event from in into out; end;", "bad.trickle:1:57: unknown stream `in` in this pipeline")]
    [InlineData("define pipeline p from s pipeline create stream s; select event from s into out; end;", "bad.trickle:1:35: `s` is a port of pipeline `p`")]
    [InlineData("create pipeline snot;", "bad.trickle:1:1: unknown pipeline `snot`")]
    [InlineData("define pipeline p pipeline select event from in into out; end;\ncreate pipeline p;\ncreate pipeline p;", "bad.trickle:3:1: `p` is already created")]
    [InlineData("define pipeline out pipeline select event from in into out; end; create pipeline out;", "bad.trickle:1:66: `out` is a port of this pipeline and cannot be created")]
    [InlineData("define operator counter from generic::counter;\ncreate operator metrics from counter;", "bad.trickle:2:1: `metrics` is reserved for the pipeline's built-in metrics node")]
    [InlineData("define pipeline p args x pipeline select event from in into out; end; create pipeline p;", "bad.trickle:1:71: pipeline `p` needs the argument `x`")]
    [InlineData("define pipeline p args x = 1 pipeline select event from in into out; end; create pipeline p with y = 2 end;", "bad.trickle:1:98: pipeline `p` has no argument `y`")]
    public void Pipeline_mistakes_are_compile_errors_where_they_are(string query, string expected)
    {
        Assert.StartsWith(expected, Harness.CompileError(query));
    }

    [Fact]
    public void Script_from_port_runs_the_block_of_the_port_an_event_arrives_on_and_shares_state()
    {
        var q = Query.Compile("""
            define script add
            args
              summand
            state
              args.summand
            script from cfg
              let state = event;
              drop
            script
              event + state
            end;
            create script add with summand = 1 end;
            select event from in into add;
            select event from in/control into add/cfg;
            select event from add into out;
            """, "ports.trickle").Instantiate();
        var output = new Collector();

        q.Process("in", [Harness.Ev(10)], 0, output);
        q.Process("control", [Harness.Ev(100)], 0, output);
        q.Process("in", [Harness.Ev(10)], 0, output);

        Assert.Equal(["11", "110"], output.Data());
    }

    [Fact]
    public void State_persists_across_events_and_each_created_script_has_its_own()
    {
        var output = Harness.Run("""
            define script counter
            args
              start = 0
            state
              {"n": args.start}
            script
              let state.n = state.n + 1;
              state.n
            end;
            create script from_zero from counter;
            create script from_hundred from counter with start = 100 end;
            select event from in into from_zero;
            select event from in into from_hundred;
            select event from from_zero into out;
            select event from from_hundred into out;
            """, "null", "null");

        Assert.Equal(["1", "101", "2", "102"], output.Data());
    }

    [Fact]
    public void Without_a_state_section_state_starts_as_null()
    {
        var output = Harness.Run("""
            define script seen
            script
              let was = state;
              let state = event;
              was
            end;
            create script seen;
            select event from in into seen;
            select event from seen into out;
            """, "1", "2");

        Assert.Equal(["null", "1"], output.Data());
    }

    [Theory]
    [InlineData("define script s script from in event script event end;", "bad.trickle:1:29: script port `in` is reserved")]
    [InlineData("define script s script from p event script from p event script event end;", "bad.trickle:1:49: script port `p` is already defined")]
    [InlineData("define script s script from p event end; create script s; select event from in into s;", "bad.trickle:1:85: `s` has no input port `in`")]
    [InlineData("define script s args zero = 0 state 1 / args.zero script event end; create script s;", "bad.trickle:1:37: the state of script `s`")]
    [InlineData("define script s script event.a + nope end;", "bad.trickle:1:34: unknown local `nope`")]
    [InlineData("define script s script from p f(1) script fn f(x) with x end; event end;", "bad.trickle:1:31: unknown function `f`")]
    public void Script_mistakes_are_compile_errors_even_in_a_script_never_created_and_blocks_keep_their_definitions(string query, string expected)
    {
        Assert.StartsWith(expected, Harness.CompileError(query));
    }
}
