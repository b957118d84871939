using System.Runtime.InteropServices;

namespace Edge.Runtime.Kernels;

/// <summary>
/// Arrays whose used part starts on a 64-byte boundary (a cache line, a 512-bit vector), so that the kernels'
/// vector loads never straddle two cache lines (a split load costs two L1 accesses; with 512-bit loads from an
/// ordinary array, 16 bytes off the boundary, that is every load). Pinned: the pinned object heap never moves an
/// array, so the offset found at allocation stays true.
/// </summary>
internal static class AlignedArray
{
    public const int Alignment = 64;

    /// <summary>A pinned array with room for <paramref name="length"/> elements from <paramref name="origin"/>, the first aligned index.</summary>
    public static T[] Allocate<T>(int length, out int origin) where T : unmanaged
    {
        int size = Marshal.SizeOf<T>();
        var array = GC.AllocateArray<T>(length + Alignment / size, pinned: true);
        origin = (int)((Alignment - Marshal.UnsafeAddrOfPinnedArrayElement(array, 0) % Alignment) % Alignment) / size;
        return array;
    }
}

/// <summary>
/// <c>length</c> elements of a pinned array starting on a 64-byte boundary (<see cref="AlignedArray"/>),
/// for buffers a class keeps and the kernels stream through.
/// </summary>
internal readonly struct AlignedBuffer<T> where T : unmanaged
{
    private readonly T[] _array;
    private readonly int _origin;

    public AlignedBuffer(int length)
    {
        _array = AlignedArray.Allocate<T>(length, out _origin);
        Length = length;
    }

    public int Length { get; }

    public Span<T> Span => _array.AsSpan(_origin, Length);
}
