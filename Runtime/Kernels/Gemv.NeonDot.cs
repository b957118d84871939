using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace Edge.Runtime.Kernels;

// qs8-gemv 8x4c4 (grouped) neondot (sdot by element). fp32 uses the NEON Vector128 kernel.
public sealed partial class Gemv
{
    /// <summary>
    /// sdot (ARMv8.2 dotprod) adds four s8·s8 products into each int32 lane exactly, so signed x and w go in
    /// as they are. One 16-byte load of x holds four k groups; "by element" sdot picks group L for the
    /// 16-byte weight load of rows 0-3 (and 4-7) of that group. Two accumulator pairs alternate groups.
    /// </summary>
    private static void Int8NeonDot(PackedInt8Matrix w, ReadOnlySpan<byte> xp, int nb, int blockStart, int blockEnd, Span<int> y, int yStride)
    {
        int kp = w.PaddedCols;
        const int tile = PackedInt8Matrix.TileRows;
        ref sbyte wRef = ref w.DataStart;
        ref sbyte xs = ref Unsafe.As<byte, sbyte>(ref MemoryMarshal.GetReference(xp));
        ref int yRef = ref MemoryMarshal.GetReference(y);
        for (int blk = blockStart; blk < blockEnd; blk++)
        {
            var (start, octetStride) = PackedInt8Matrix.BlockAddress(blk, w.RowBlocks, kp);
            ref sbyte wb = ref Unsafe.Add(ref wRef, start);
            nint outRow = (blk - blockStart) * tile;
            int valid = Math.Min(tile, w.Rows - blk * tile);
            for (int b = 0; b < nb; b++)
            {
                ref sbyte x = ref Unsafe.Add(ref xs, b * kp);
                Vector128<int> lo0 = default, hi0 = default, lo1 = default, hi1 = default;
                nuint at = 0;
                nuint k = 0;
                for (; k + 16 <= (nuint)kp; k += 16, at += 2 * (nuint)octetStride)
                {
                    var xv = Vector128.LoadUnsafe(ref x, k);
                    nuint at2 = at + (nuint)octetStride; // the next k-octet
                    lo0 = Dp.DotProductBySelectedQuadruplet(lo0, Vector128.LoadUnsafe(ref wb, at), xv, 0);
                    hi0 = Dp.DotProductBySelectedQuadruplet(hi0, Vector128.LoadUnsafe(ref wb, at + 16), xv, 0);
                    lo1 = Dp.DotProductBySelectedQuadruplet(lo1, Vector128.LoadUnsafe(ref wb, at + 32), xv, 1);
                    hi1 = Dp.DotProductBySelectedQuadruplet(hi1, Vector128.LoadUnsafe(ref wb, at + 48), xv, 1);
                    lo0 = Dp.DotProductBySelectedQuadruplet(lo0, Vector128.LoadUnsafe(ref wb, at2), xv, 2);
                    hi0 = Dp.DotProductBySelectedQuadruplet(hi0, Vector128.LoadUnsafe(ref wb, at2 + 16), xv, 2);
                    lo1 = Dp.DotProductBySelectedQuadruplet(lo1, Vector128.LoadUnsafe(ref wb, at2 + 32), xv, 3);
                    hi1 = Dp.DotProductBySelectedQuadruplet(hi1, Vector128.LoadUnsafe(ref wb, at2 + 48), xv, 3);
                }
                if (k < (nuint)kp)
                {
                    // One k-octet left: its 8 bytes of x in the low half (no read past the padded row).
                    var xv = Vector128.Create(Vector64.LoadUnsafe(ref x, k), Vector64<sbyte>.Zero);
                    lo0 = Dp.DotProductBySelectedQuadruplet(lo0, Vector128.LoadUnsafe(ref wb, at), xv, 0);
                    hi0 = Dp.DotProductBySelectedQuadruplet(hi0, Vector128.LoadUnsafe(ref wb, at + 16), xv, 0);
                    lo1 = Dp.DotProductBySelectedQuadruplet(lo1, Vector128.LoadUnsafe(ref wb, at + 32), xv, 1);
                    hi1 = Dp.DotProductBySelectedQuadruplet(hi1, Vector128.LoadUnsafe(ref wb, at + 48), xv, 1);
                }
                StoreBlock(lo0 + lo1, hi0 + hi1, ref yRef, b * yStride + outRow, valid);
            }
        }
    }
}
