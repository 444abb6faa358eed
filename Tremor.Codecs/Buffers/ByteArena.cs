namespace Tremor.Codecs;

/// <summary>
/// Hands out fresh byte regions for preprocessor output that cannot alias the input. Regions are carved from 64 KiB
/// blocks that are never reused (a full block is simply dropped for the GC), so every chunk handed out stays valid for
/// as long as anyone holds it, whatever order the runtime consumes a chain's output in, at the cost of one allocation
/// per block rather than one per chunk.
/// </summary>
internal sealed class ByteArena
{
    private const int BlockSize = 64 * 1024;
    private const int OwnArrayThreshold = BlockSize / 4;

    private byte[] _block = [];
    private int _used;

    /// <summary>A fresh writable region of exactly <paramref name="length"/> bytes.</summary>
    public Memory<byte> Allocate(int length)
    {
        if (length >= OwnArrayThreshold) return new byte[length];
        if (_block.Length - _used < length)
        {
            // Not zeroed: every region is written in full before it is handed out.
            _block = GC.AllocateUninitializedArray<byte>(BlockSize);
            _used = 0;
        }
        var region = _block.AsMemory(_used, length);
        _used += length;
        return region;
    }
}
