using System.Text;
using Tremor.Pdk;

namespace Tremor.Codecs.Tests;

public sealed class SeparatePreprocessorTests
{
    private static List<string> Run(IPreprocessor preprocessor, IEnumerable<byte[]> chunks, List<string>? errors = null)
    {
        var output = new List<ReadOnlyMemory<byte>>();
        foreach (var chunk in chunks)
        {
            if (!preprocessor.TryProcess(chunk, output, out var error))
            {
                Assert.NotNull(error);
                if (errors is null) Assert.Fail(error);
                errors.Add(error);
            }
        }
        preprocessor.Finish(output);
        return output.Select(c => Encoding.UTF8.GetString(c.Span)).ToList();
    }

    private static byte[] Bytes(string s) => Encoding.UTF8.GetBytes(s);

    [Theory]
    [InlineData("\n", false, "alpha\nbeta\r\n\ngamma delta\nlast", new[] { "alpha", "beta\r", "gamma delta", "last" })]
    [InlineData("\n", true, "alpha\nbeta\r\n\ngamma delta\nlast\r", new[] { "alpha", "beta", "gamma delta", "last" })]
    [InlineData("\r\n", false, "a\r\nbb\r\r\n\r\nccc\nd\r\n", new[] { "a", "bb\r", "ccc\nd" })]
    [InlineData("<|>", false, "one<|>two<<|>three|><|><|>four<|", new[] { "one", "two<", "three|>", "four<|" })]
    public void Lines_are_the_same_at_every_two_and_three_way_split(string separator, bool stripCr, string input, string[] expected)
    {
        var data = Bytes(input);
        for (var i = 0; i <= data.Length; i++)
        {
            var two = Run(new SeparatePreprocessor(Bytes(separator), stripCr: stripCr), [data[..i], data[i..]]);
            Assert.Equal(expected, two);
            for (var j = i; j <= data.Length; j++)
            {
                var three = Run(new SeparatePreprocessor(Bytes(separator), stripCr: stripCr), [data[..i], data[i..j], data[j..]]);
                Assert.Equal(expected, three);
            }
        }
    }

    [Fact]
    public void Byte_by_byte_input_gives_the_benchmark_lines()
    {
        var data = TestData.Json;
        var expected = Encoding.UTF8.GetString(data).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var lines = Run(new SeparatePreprocessor("\n"u8), data.Select(b => new[] { b }));
        Assert.Equal(expected, lines);
    }

    [Fact]
    public void Complete_lines_are_slices_of_the_input()
    {
        var data = Bytes("ab\ncd\n");
        var output = new List<ReadOnlyMemory<byte>>();
        Assert.True(new SeparatePreprocessor("\n"u8).TryProcess(data, output, out _));
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(output[1], out var segment));
        Assert.Same(data, segment.Array);
        Assert.Equal(3, segment.Offset);
    }

    [Fact]
    public void Carried_lines_stay_valid_after_later_calls()
    {
        var separate = new SeparatePreprocessor("\n"u8);
        var output = new List<ReadOnlyMemory<byte>>();
        for (var i = 0; i < 50; i++)
        {
            Assert.True(separate.TryProcess(Bytes($"line-{i}-start "), output, out _));
            Assert.True(separate.TryProcess(Bytes($"end\n"), output, out _));
        }
        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"line-{i}-start end"), output.Select(o => Encoding.UTF8.GetString(o.Span)));
    }

    [Fact]
    public void A_line_over_the_limit_inside_a_chunk_is_dropped_with_an_error_naming_limit_and_length()
    {
        var errors = new List<string>();
        var lines = Run(new SeparatePreprocessor("\n"u8, maxLength: 5), [Bytes("ab\ntoolongline\ncd\n12345\n")], errors);
        Assert.Equal(["ab", "cd", "12345"], lines);
        Assert.Equal("line of 11 bytes at byte 3 of this chunk exceeds max-length 5; dropped", Assert.Single(errors));
    }

    [Fact]
    public void A_line_over_the_limit_across_chunks_is_dropped_and_splitting_goes_on()
    {
        var errors = new List<string>();
        var lines = Run(new SeparatePreprocessor("\n"u8, maxLength: 5), [Bytes("ab\ntoolo"), Bytes("ngline\ncd")], errors);
        Assert.Equal(["ab", "cd"], lines);
        Assert.Equal("line of 11 bytes ending at byte 6 of this chunk exceeds max-length 5; dropped", Assert.Single(errors));
    }

    [Fact]
    public void A_line_that_never_ends_is_reported_once_and_not_buffered()
    {
        var errors = new List<string>();
        var separate = new SeparatePreprocessor("\r\n"u8, maxLength: 8);
        var lines = Run(separate, [Bytes("ok\r\nthis is"), Bytes(" far too long"), Bytes(" and more\r"), Bytes("\nnext\r\n")], errors);
        Assert.Equal(["ok", "next"], lines);
        Assert.Equal("line exceeds max-length 8: 20 bytes without a separator so far; dropping it up to the next separator", Assert.Single(errors));
    }

    [Fact]
    public void Several_long_lines_in_one_chunk_are_counted_in_one_error()
    {
        var errors = new List<string>();
        var lines = Run(new SeparatePreprocessor("\n"u8, maxLength: 2), [Bytes("aaa\nb\ncccc\n")], errors);
        Assert.Equal(["b"], lines);
        Assert.Equal("line of 3 bytes at byte 0 of this chunk exceeds max-length 2; dropped (and 1 more line(s) over the limit in this chunk)", Assert.Single(errors));
    }

    [Fact]
    public void Configuration_sets_separator_limit_and_cr_stripping()
    {
        var config = new ValueRecord();
        config.Append("separator", "|");
        config.Append("max-length", 4);
        config.Append("strip-cr", true);
        var separate = BuiltinCodecs.FindPreprocessor("separate")!.Create(new PluginConfig("codec.pre", config));
        var errors = new List<string>();
        Assert.Equal(["a", "b"], Run(separate, [Bytes("a\r|toolong|b")], errors));
        Assert.Contains("max-length 4", Assert.Single(errors), StringComparison.Ordinal);

        var byteConfig = new ValueRecord();
        byteConfig.Append("separator", 0);
        Assert.Equal(["x", "y"], Run(BuiltinCodecs.FindPreprocessor("separate")!.Create(new PluginConfig("p", byteConfig)), [[(byte)'x', 0, (byte)'y']]));
    }

    [Theory]
    [InlineData("separator", "", "p.separator: the separator must not be empty")]
    [InlineData("separator", 256L, "p.separator: a separator byte must be 0-255, found 256")]
    [InlineData("max-length", 0L, "p.max-length: must be between 1")]
    [InlineData("max-lenght", 5L, "p.max-lenght: unknown key")]
    public void Bad_configuration_names_the_key(string key, object value, string message)
    {
        var config = new ValueRecord();
        config.Append(key, value is string s ? Value.From(s) : Value.From((long)value));
        var e = Assert.Throws<ConfigException>(() => BuiltinCodecs.FindPreprocessor("separate")!.Create(new PluginConfig("p", config)));
        Assert.StartsWith(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_default_limit_is_eight_mebibytes()
    {
        Assert.Equal(8 * 1024 * 1024, SeparatePreprocessor.DefaultMaxLength);
        var line = new byte[SeparatePreprocessor.DefaultMaxLength];
        Array.Fill(line, (byte)'x');
        var lines = Run(new SeparatePreprocessor("\n"u8), [line[..1000], line[1000..], "\n"u8.ToArray()]);
        Assert.Equal(SeparatePreprocessor.DefaultMaxLength, Assert.Single(lines).Length);
    }
}
