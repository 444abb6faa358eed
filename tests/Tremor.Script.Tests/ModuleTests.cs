namespace Tremor.Script.Tests;

/// <summary>fn, recur, intrinsic, const, mod, use (inline and module files) and script args.</summary>
public sealed class ModuleTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tremor-modules-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Functions_are_called_from_selects_and_scripts()
    {
        var output = Harness.Run("""
            fn add(a, b) with a + b end;
            fn twice(x) with let y = add(x, x); y end;
            select {"sum": add(event.x, 1), "twice": twice(event.x)} from in into out;
            """, """{"x": 2}""");
        Assert.Equal("""{"sum":3,"twice":4}""", output.Data().Single());
    }

    [Fact]
    public void Recur_loops_in_constant_stack_and_case_functions_match_their_arguments()
    {
        // 100000 iterations would overflow the stack if recur were a plain call.
        var output = Harness.Run("""
            fn sum(n, acc) of
              case (0, acc) => acc
              default => recur(n - 1, acc + n)
            end;
            fn fib_(a, b, n) of
              case (a, b, n) when n > 0 => recur(b, a + b, n - 1)
              default => a
            end;
            fn fib(n) with fib_(0, 1, n) end;
            select [sum(event.n, 0), fib(10)] from in into out;
            """, """{"n": 100000}""");
        Assert.Equal("[5000050000,55]", output.Data().Single());
    }

    [Fact]
    public void A_case_function_may_end_with_case_underscore_as_with_default()
    {
        var output = Harness.Run("""
            fn fib_(a, b, n) of
              case (a, b, n) when n > 0 => recur(b, a + b, n - 1)
              case _ => a
            end;
            select fib_(0, 1, event) from in into out;
            """, "10");
        Assert.Equal("55", output.Data().Single());
    }

    [Fact]
    public void Runaway_recursion_is_an_error_event_not_a_crash()
    {
        var output = Harness.Run("""
            fn down(n) with match n of case 0 => 0 default => 1 + down(n - 1) end end;
            select down(event.n) from in into out;
            """, """{"n": 100000}""", """{"n": 3}""");
        var error = Harness.ErrorOf(Assert.Single(output.On("err")));
        Assert.StartsWith("test.trickle:1:55:", error);
        Assert.Contains("`down` recursed deeper than", error);
        Assert.Contains("recur(", error);
        Assert.Equal("3", output.Data().Single());
    }

    [Fact]
    public void Open_functions_get_the_extra_arguments_as_args_and_intrinsics_call_the_standard_library()
    {
        var output = Harness.Run("""
            intrinsic fn len(s) as string::len;
            fn count(first, ...) with [first, array::len(args)] end;
            select [len("hello"), count(1, 2, 3)] from in into out;
            """, "{}");
        Assert.Equal("[5,[1,2]]", output.Data().Single());
    }

    [Fact]
    public void Constants_and_module_paths_resolve_inside_and_outside_the_module()
    {
        var output = Harness.Run("""
            const base = 10;
            mod geo with
              const scale = base * 2;
              fn scaled(x) with x * scale end;
              mod inner with
                fn twice_scaled(x) with scaled(x) * 2 end;
              end;
            end;
            select [base, geo::scale, geo::scaled(event.x), geo::inner::twice_scaled(1)] from in into out;
            """, """{"x": 3}""");
        Assert.Equal("[10,20,60,40]", output.Data().Single());
    }

    [Fact]
    public void Use_and_fn_inside_a_script_body_stay_in_that_script()
    {
        var output = Harness.Script("""
            use std::string;
            fn shout(s) with string::uppercase(s) end;
            shout(event.msg)
            """, """{"msg": "hi"}""");
        Assert.Equal("\"HI\"", output.Data().Single());

        var error = Harness.CompileError("""
            define script a script fn f(x) with x end; f(event) end;
            define script b script f(event) end;
            create script a; create script b;
            select event from in into a; select event from in into b;
            select event from a into out; select event from b into out;
            """);
        Assert.StartsWith("bad.trickle:2:24: unknown function `f`", error);
    }

    [Fact]
    public void Script_args_have_defaults_that_create_overrides()
    {
        var output = Harness.Run("""
            define script tag
            args label = "default", weight
            script
              {"label": args.label, "weight": args.weight, "value": event}
            end;
            create script light from tag with weight = 1 end;
            create script heavy from tag with label = "heavy", weight = 100 end;
            select event from in into light;
            select event from in into heavy;
            select event from light into out;
            select event from heavy into out;
            """, "7");
        Assert.Equal(["""{"label":"default","weight":1,"value":7}""", """{"label":"heavy","weight":100,"value":7}"""], output.Data());
    }

    [Fact]
    public void A_required_script_arg_left_out_or_an_unknown_one_is_a_compile_error_at_the_create()
    {
        var missing = Harness.CompileError("define script s args x script event end;\ncreate script n from s;\nselect event from in into n;");
        Assert.StartsWith("bad.trickle:2:15: script `s` needs the argument `x`", missing);
        var unknown = Harness.CompileError("define script s args x = 1 script event end;\ncreate script n from s with y = 2 end;\nselect event from in into n;");
        Assert.StartsWith("bad.trickle:2:29: script `s` has no argument `y`", unknown);
    }

    [Fact]
    public void Use_loads_module_files_next_to_the_query_file()
    {
        File.WriteAllText(Path.Combine(_dir, "units.tremor"), """
            # conversion helpers
            const factor = 1000;
            fn to_milli(x) with x * factor end;
            """);
        Directory.CreateDirectory(Path.Combine(_dir, "lib"));
        File.WriteAllText(Path.Combine(_dir, "lib", "text.tremor"), "use std::string;\nfn loud(s) with string::uppercase(s) end;\n");
        var queryFile = Path.Combine(_dir, "main.trickle");
        var text = """
            use units;
            use lib::text as t;
            select [units::to_milli(event.x), units::factor, t::loud("a")] from in into out;
            """;
        var instance = Query.Compile(text, queryFile).Instantiate();
        var output = new Collector();
        instance.Process("in", [Harness.Ev(Harness.J("""{"x": 2}"""))], 0, output);
        Assert.Equal("[2000,1000,\"A\"]", output.Data().Single());
    }

    [Fact]
    public void A_missing_module_is_a_compile_error_at_the_use()
    {
        var queryFile = Path.Combine(_dir, "main.trickle");
        var e = Assert.Throws<ScriptException>(() => Query.Compile("select 1 from in into out;\n  use nowhere;\n", queryFile));
        Assert.Equal((2, 3), (e.Line, e.Column));
        Assert.Contains("module `nowhere` not found", e.Reason);
        Assert.Contains("nowhere.tremor", e.Reason);

        // An inline query has no directory: the module cannot be found, and the error says why.
        var inline = Harness.CompileError("use helpers;\nselect event from in into out;");
        Assert.StartsWith("bad.trickle:1:1: module `helpers` not found", inline);
    }

    [Fact]
    public void Errors_inside_a_module_file_name_the_module_file()
    {
        File.WriteAllText(Path.Combine(_dir, "broken.tremor"), "fn ok(x) with x end;\nfn bad(x) with x + end;\n");
        File.WriteAllText(Path.Combine(_dir, "picky.tremor"), "fn first(a) with a[0] end;\n");
        var queryFile = Path.Combine(_dir, "main.trickle");
        var compile = Assert.Throws<ScriptException>(() => Query.Compile("use broken;\nselect event from in into out;", queryFile));
        Assert.Equal(Path.Combine(_dir, "broken.tremor"), compile.Origin);
        Assert.Equal(2, compile.Line);

        var instance = Query.Compile("use picky;\nselect picky::first(event) from in into out;", queryFile).Instantiate();
        var output = new Collector();
        instance.Process("in", [Harness.Ev(Harness.J("[]"))], 0, output);
        var error = Harness.ErrorOf(Assert.Single(output.On("err")));
        Assert.StartsWith($"{queryFile}:2:8: in `picky::first` ({Path.Combine(_dir, "picky.tremor")}:1:20):", error);
    }

    [Fact]
    public void A_module_file_defines_windows_scripts_operators_and_pipelines_the_query_creates_by_module_name()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "lib"));
        File.WriteAllText(Path.Combine(_dir, "lib", "shared.tremor"), """
            fn tag(e, label) with let e.label = label; e end;
            define window pairs from tumbling with size = 2 end;
            define script labelled args label = "none" script tag(event, args.label) end;
            define operator counted from generic::counter;
            define pipeline doubled pipeline select event * 2 from in into out; end;
            """);
        var queryFile = Path.Combine(_dir, "main.trickle");
        var text = """
            use lib::shared as s;
            create script l from s::labelled with label = "seen" end;
            create operator c from s::counted;
            create pipeline d from s::doubled;
            select event from in into l;
            select event from l into out;
            select event.n from in into d;
            select event from d into c;
            select event from c into out/counted;
            select aggr::win::collect_flattened(event.n) from in[s::pairs] into out/pairs;
            """;
        var instance = Query.Compile(text, queryFile).Instantiate();
        var output = new Collector();
        instance.Process("in", [Harness.Ev(Harness.J("""{"n": 1}""")), Harness.Ev(Harness.J("""{"n": 2}"""))], 0, output);
        Assert.Equal(["""{"n":1,"label":"seen"}""", """{"n":2,"label":"seen"}"""], output.Data());
        Assert.Equal(["""{"count":1,"event":2}""", """{"count":2,"event":4}"""], output.Data("counted"));
        Assert.Equal(["[1,2]"], output.Data("pairs"));
    }

    [Fact]
    public void A_mistake_in_a_script_a_module_file_defines_names_that_file()
    {
        File.WriteAllText(Path.Combine(_dir, "scripts.trickle"), "define script picky\nscript\n  event.missing\nend;\n");
        var queryFile = Path.Combine(_dir, "main.trickle");
        var instance = Query.Compile("use scripts;\ncreate script p from scripts::picky;\nselect event from in into p;\nselect event from p/err into err;", queryFile).Instantiate();
        var output = new Collector();
        instance.Process("in", [Harness.Ev(Harness.J("{}"))], 0, output);
        Assert.StartsWith($"{Path.Combine(_dir, "scripts.trickle")}:3:9: Trying to access a non existing event key `missing`", Harness.ErrorOf(Assert.Single(output.On("err"))));

        var e = Assert.Throws<ScriptException>(() => Query.Compile("use scripts;\ncreate script p from scripts::pickyy;", queryFile));
        Assert.Equal((2, 22), (e.Line, e.Column));
        Assert.Contains("did you mean `scripts::picky`?", e.Message);
    }

    [Fact]
    public void Recur_outside_a_function_and_a_wrong_recur_arity_are_compile_errors()
    {
        Assert.StartsWith("bad.trickle:1:8: `recur` is only allowed inside a function", Harness.CompileError("select recur(1) from in into out;"));
        Assert.StartsWith("bad.trickle:1:14: `recur` in `f` takes 1 argument, got 2", Harness.CompileError("fn f(n) with recur(n, 1) end;\nselect f(1) from in into out;"));
        // Only as the last thing the function does (its last statement, or the last of a match case that is).
        Assert.StartsWith("bad.trickle:2:3: `recur` can only be the last thing a function does", Harness.CompileError("fn f(a) with\n  recur(a);\n  a + 1\nend;\nselect f(1) from in into out;"));
        Assert.StartsWith("bad.trickle:1:18: `recur` can only be the last thing a function does", Harness.CompileError("fn f(a) with 1 + recur(a) end;\nselect f(1) from in into out;"));
    }
}
