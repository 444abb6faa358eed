namespace Tremor.Script.Tests;

/// <summary>Binary literals with parts of any bit size, and bit patterns in match that read them back.</summary>
public class BitsTests
{
    [Theory]
    [InlineData("<<1:4, 1:4>>", "[17]")]
    [InlineData("<<1:4>>", "[1]")]
    [InlineData("<<3:2, 1:6>>", "[193]")]
    [InlineData("<<1:1, 0:1, 5:3>>", "[21]")]
    [InlineData("<<1:12, 2:12>>", "[0,16,2]")]
    [InlineData("<<258:16/little>>", "[2,1]")]
    [InlineData("<<66051:24/little-unsigned-integer>>", "[3,2,1]")]
    [InlineData("<<(-1):4/signed-integer, 0:4>>", "[240]")]
    [InlineData("<<(-2):16/big_signed_integer>>", "[255,254]")]
    [InlineData("<<15:4, <<1, 2>>/binary>>", "[240,16,2]")]
    [InlineData("<<\"abc\":2/binary, 1:8>>", "[97,98,1]")]
    [InlineData("<<1:64>>", "[0,0,0,0,0,0,0,1]")]
    public void Parts_pack_most_significant_bit_first_with_a_short_last_byte_kept_low(string literal, string bytes) =>
        Assert.Equal(bytes, Harness.Eval($"binary::into_bytes({literal})"));

    [Theory]
    [InlineData("<<event:4>>", "16", "ERR: test.trickle:1:10: 16 does not fit 4 unsigned bits")]
    [InlineData("<<event:8>>", "-1", "ERR: test.trickle:1:10: -1 is not an unsigned integer: write it as (n):8/signed-integer")]
    [InlineData("<<event:3/binary>>", "\"ab\"", "ERR: test.trickle:1:10: a /binary part of 3 bytes needs a longer value, got 2 bytes")]
    public void Values_that_do_not_fit_their_part_are_errors_at_the_part(string literal, string eventJson, string expected) =>
        Assert.Equal(expected, Harness.Eval(literal, eventJson));

    [Fact]
    public void A_type_Tremor_does_not_know_is_a_compile_error_at_the_part() =>
        Assert.StartsWith("bad.trickle:1:10: `signed` is not a binary part type", Harness.CompileError("select <<1:8/signed>> from in into out;"), StringComparison.Ordinal);

    [Theory]
    [InlineData("match <<1:4, 2:4>> of case <<a:4, b:4>> => [a, b] end", "[1,2]")]
    [InlineData("match <<0x12>> of case <<a:4, b:4>> => [a, b] end", "[1,2]")]
    [InlineData("match <<1:1, 0:1, 5:3>> of case <<x:1, y:1, z:3>> => [x, y, z] end", "[1,0,5]")]
    [InlineData("match <<258:16/little>> of case <<n:16/little>> => n end", "258")]
    [InlineData("match <<66051:24/little>> of case <<n:24/little-integer>> => n end", "66051")]
    [InlineData("match <<(-2):4/signed-integer, 7:4>> of case <<n:4/signed-integer, m:4>> => [n, m] end", "[-2,7]")]
    [InlineData("match <<69, 0, 0, 28, 9, 8>> of case <<version:4, ihl:4, _:8, length:16, rest/binary>> => [version, ihl, length, binary::into_bytes(rest)] end", "[4,5,28,[9,8]]")]
    [InlineData("match <<7:4, 1:12>> of case <<7:4, n:12>> => n default => \"no\" end", "1")]
    [InlineData("match <<6:4, 1:12>> of case <<7:4, n:12>> => n default => \"no\" end", "\"no\"")]
    [InlineData("match <<1, 2>> of case <<n:8>> => n default => \"no\" end", "\"no\"")]
    [InlineData("match <<17>> of case <<n:4>> => n default => \"no\" end", "\"no\"")]
    [InlineData("match <<1:4>> of case <<n:4>> => n default => \"no\" end", "1")]
    [InlineData("match \"ab\" of case <<a, b>> => a default => \"not binary\" end", "\"not binary\"")]
    [InlineData("match <<\"ab\"/binary, 1>> of case <<\"ab\":2/binary, n>> => n default => \"no\" end", "1")]
    [InlineData("match <<>> of case <<>> => \"empty\" default => \"no\" end", "\"empty\"")]
    public void Bit_patterns_read_back_what_the_literal_wrote(string expr, string expected) => Assert.Equal(expected, Harness.Eval(expr));

    [Fact]
    public void Bit_patterns_compare_expressions_in_parentheses_and_bind_names()
    {
        var output = Harness.Run("""
            select match <<event.kind:4, event.n:12>> of
              case r = <<(event.want):4, n:12>> => {"n": n, "len": binary::len(r)}
              default => "other"
            end from in into out;
            """, """{"kind":3,"n":300,"want":3}""", """{"kind":2,"n":300,"want":3}""");
        Assert.Equal(["{\"n\":300,\"len\":2}", "\"other\""], output.Data());
    }

    [Theory]
    [InlineData("select match event of case <<rest/binary, n>> => n default => 0 end from in into out;", "bad.trickle:1:30: only the last part of a bit pattern can take the rest of the binary")]
    [InlineData("select match event of case <<a:4, rest/binary>> => a default => 0 end from in into out;", "bad.trickle:1:35: the rest of the binary starts at bit 4, inside a byte")]
    [InlineData("select match event of case <<a:12/little>> => a default => 0 end from in into out;", "bad.trickle:1:30: a little-endian part of 12 bits cannot be read back")]
    public void Bit_patterns_that_cannot_work_are_compile_errors_at_the_part(string query, string expected) =>
        Assert.StartsWith(expected, Harness.CompileError(query), StringComparison.Ordinal);
}
