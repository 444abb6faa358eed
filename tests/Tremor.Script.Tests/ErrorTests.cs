namespace Tremor.Script.Tests;

public class ErrorTests
{
    [Fact]
    public void Unknown_function_suggests_the_nearest_name() => Assert.Equal("""
        bad.trickle:2:8: unknown function `string::lenght`
            select string::lenght(event.a) from in into out;
                   ^
          hint: did you mean `string::len`?
        """.Replace("\r", ""), Harness.CompileError("# first line\nselect string::lenght(event.a) from in into out;"));

    [Fact]
    public void Missing_semicolon_points_at_the_token_found_instead() => Assert.Equal("""
        bad.trickle:2:1: expected `;` after the statement, found `select`
            select event from in into err;
            ^
          hint: end every statement with `;`
        """.Replace("\r", ""), Harness.CompileError("select event from in into out\nselect event from in into err;"));

    [Fact]
    public void Bad_token() => Assert.Equal("""
        bad.trickle:1:19: unexpected character `@`
            select event from @in into out;
                              ^
        """.Replace("\r", ""), Harness.CompileError("select event from @in into out;"));

    [Fact]
    public void Single_quotes_hint_at_double_quotes() => Assert.Equal("""
        bad.trickle:1:8: unexpected character `'`
            select 'a' from in into out;
                   ^
          hint: strings use double quotes: "..."
        """.Replace("\r", ""), Harness.CompileError("select 'a' from in into out;"));

    [Fact]
    public void Unknown_window_suggests_a_defined_one() => Assert.Equal("""
        bad.trickle:2:37: unknown window `tenn`
            select aggr::stats::count() from in[tenn] into out;
                                                ^
          hint: did you mean `ten`?
        """.Replace("\r", ""), Harness.CompileError("define window ten from tumbling with size = 10 end;\nselect aggr::stats::count() from in[tenn] into out;"));

    [Fact]
    public void Unknown_stream() => Assert.Equal("""
        bad.trickle:1:19: unknown stream `inn`
            select event from inn into out;
                              ^
          hint: did you mean `in`?
        """.Replace("\r", ""), Harness.CompileError("select event from inn into out;"));

    [Fact]
    public void Aggregate_outside_a_window() => Assert.Equal("""
        bad.trickle:1:8: aggregate function `aggr::stats::count` is only allowed in a select over a window
            select aggr::stats::count() from in into out;
                   ^
          hint: select aggr::stats::count() from in[my_window] into out;
        """.Replace("\r", ""), Harness.CompileError("select aggr::stats::count() from in into out;"));

    [Fact]
    public void Unknown_operator_and_parameter()
    {
        Assert.Equal("""
            bad.trickle:1:24: unknown operator `grouper::bucker`
                define operator b from grouper::bucker end;
                                       ^
              hint: did you mean `grouper::bucket`?
            """.Replace("\r", ""), Harness.CompileError("define operator b from grouper::bucker end;"));
        Assert.Equal("""
            bad.trickle:1:44: `generic::batch` has no parameter `cont`
                define operator b from generic::batch with cont = 1 end; create operator b;
                                                           ^
              hint: did you mean `count`?
            """.Replace("\r", ""), Harness.CompileError("define operator b from generic::batch with cont = 1 end; create operator b;"));
    }

    [Fact]
    public void Window_needs_size_or_interval() => Assert.Equal("""
        bad.trickle:1:15: window `w` needs exactly one of `size` or `interval`
            define window w from tumbling with emit_empty_windows = true end;
                          ^
          hint: define window w from tumbling with interval = nanos::from_seconds(1) end;
        """.Replace("\r", ""), Harness.CompileError("define window w from tumbling with emit_empty_windows = true end;"));

    [Fact]
    public void Unknown_local_and_let_outside_a_script()
    {
        Assert.Equal("""
            bad.trickle:1:8: unknown local `evnt`
                select evnt.a from in into out;
                       ^
              hint: did you mean `event`?
            """.Replace("\r", ""), Harness.CompileError("select evnt.a from in into out;"));
        Assert.Equal("""
            bad.trickle:1:8: `let` is a statement, not an expression
                select let x = 1 from in into out;
                       ^
              hint: use it in a script body: define script s script let x = 1; x end;
            """.Replace("\r", ""), Harness.CompileError("select let x = 1 from in into out;"));
    }

    [Fact]
    public void Unterminated_string_and_missing_into()
    {
        Assert.Equal("""
            bad.trickle:1:8: unterminated string
                select "abc from in into out;
                       ^
              hint: close it with "
            """.Replace("\r", ""), Harness.CompileError("select \"abc from in into out;"));
        Assert.Equal("""
            bad.trickle:1:21: expected `into`, found `;`
                select event from in;
                                    ^
              hint: a select ends with `into` a stream: ... into out;
            """.Replace("\r", ""), Harness.CompileError("select event from in;"));
    }

    [Fact]
    public void Exception_carries_origin_line_and_column()
    {
        var e = Assert.Throws<ScriptException>(() => Query.Compile("\n\n  select x from in into out;", "pipelines.main.query"));
        Assert.Equal("pipelines.main.query", e.Origin);
        Assert.Equal(3, e.Line);
        Assert.Equal(10, e.Column);
    }
}

public class SemanticErrorTests
{
    [Theory]
    [InlineData("select emit event from in into out;", "bad.trickle:1:8: `emit` is only allowed in a script, as a statement: not as a value, an operand, an argument or a guard")]
    [InlineData("define script s script match event of case 1 when drop => 1 default => 2 end end;", "bad.trickle:1:51: `drop` is only allowed in a script, as a statement: not as a value, an operand, an argument or a guard")]
    [InlineData("define script s script let merge = event; event end;", "bad.trickle:1:28: `let` needs a path, found keyword `merge`")]
    [InlineData("select event from in into in;", "bad.trickle:1:27: cannot select into `in`: it is the pipeline's input")]
    [InlineData("select event from out into out;", "bad.trickle:1:19: cannot select from `out`: it is a pipeline output")]
    [InlineData("create script s;", "bad.trickle:1:15: unknown script `s`")]
    [InlineData("define window w from sliding with size = 1 end;", "bad.trickle:1:15: unknown window kind `sliding`")]
    [InlineData("define window w from tumbling with size = 0 end;", "bad.trickle:1:36: window `size` must be a positive integer, got 0")]
    [InlineData("select string::len(1, 2) from in into out;", "bad.trickle:1:8: `string::len` takes 1 argument, got 2")]
    [InlineData("select 99999999999999999999 from in into out;", "bad.trickle:1:8: integer literal `99999999999999999999` does not fit a 64-bit signed integer")]
    [InlineData("select 5 parsecs from in into out;", "bad.trickle:1:10: expected `from`, found `parsecs`")]
    [InlineData("select 5x from in into out;", "bad.trickle:1:9: unknown duration unit `x`")]
    [InlineData("define operator b from generic::batch with count = 1 end; create operator b; select event from b/overflow into out;", "bad.trickle:1:96: `b` has no output port `overflow`")]
    public void Semantic_errors(string query, string expectedFirstLine) =>
        Assert.Equal(expectedFirstLine, Harness.CompileError(query).Split('\n')[0]);
}
