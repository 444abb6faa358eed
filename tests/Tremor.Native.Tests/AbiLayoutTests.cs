using System.Globalization;
using Tremor.Native.Abi;

namespace Tremor.Native.Tests;

[Collection(NativeCollection.Name)]
public sealed class AbiLayoutTests(NativeFixture fixture)
{
    [Fact]
    public void Csharp_mirrors_match_the_header_as_gcc_lays_it_out()
    {
        var rows = NativeFixture.Run(fixture.LayoutProbe)
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' '))
            .Select(p => (Struct: uint.Parse(p[0], CultureInfo.InvariantCulture), Member: uint.Parse(p[1], CultureInfo.InvariantCulture), Name: p[2],
                Offset: int.Parse(p[3], CultureInfo.InvariantCulture), Size: int.Parse(p[4], CultureInfo.InvariantCulture)))
            .ToList();

        Assert.Equal(AbiLayout.Rows.Count, rows.Count);
        foreach (var c in rows)
        {
            var mirror = Assert.Single(AbiLayout.Rows, r => r.StructId == c.Struct && r.MemberId == c.Member);
            Assert.Equal(c.Name, mirror.Display);
            Assert.Equal((c.Name, c.Offset, c.Size), (mirror.Display, mirror.Offset, mirror.Size));
        }
    }

    [Fact]
    public void Minimum_sizes_follow_the_minor_that_added_members()
    {
        Assert.Equal(56, AbiLayout.MinimumSize(9, 0));  // vtable without lifecycle
        Assert.Equal(64, AbiLayout.MinimumSize(9, 1));
        Assert.Equal(80, AbiLayout.MinimumSize(10, 0)); // descriptor without description
        Assert.Equal(88, AbiLayout.MinimumSize(10, 1));
        Assert.Equal(32, AbiLayout.MinimumSize(3, 0));  // frozen sink slice
        Assert.Equal(64, AbiLayout.MinimumSize(5, 1));  // host api without sink_has_room
        Assert.Equal(72, AbiLayout.MinimumSize(5, 2));
    }
}
