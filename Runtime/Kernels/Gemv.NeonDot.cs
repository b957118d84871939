using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace Edge.Runtime.Kernels;

// qs8-gemv 32x4c4 / 8x4c4 (grouped) neondot (sdot by element). fp32 uses the NEON Vector128 kernel.
internal sealed partial class Gemv
{
    /// <summary>
    /// sdot (ARMv8.2 dotprod) adds four s8·s8 products into each int32 lane exactly, so signed x and w go in
    /// as they are. One 16-byte load of x holds four k groups; "by element" sdot picks group L for the
    /// 16-byte weight loads of rows 0-3 and 4-7 of that group. A whole group of four row blocks (32 rows) runs
    /// at once over the group's one sequential weight stream (<see cref="PackedInt8Matrix"/>: its blocks'
    /// k-octets alternate): per 16 k one load of x and 32 sdot on 512 consecutive bytes read at immediate
    /// offsets from one pointer, so the loop carries no per-load address arithmetic. A group of fewer blocks
    /// (the last one) runs block by block.
    /// </summary>
    private static void Int8NeonDot(PackedInt8Matrix w, ReadOnlySpan<byte> xp, int nb, int blockStart, int blockEnd, Span<int> y, int yStride)
    {
        int kp = w.PaddedCols;
        const int tile = PackedInt8Matrix.TileRows;
        const int group = PackedInt8Matrix.GroupBlocks;
        ref sbyte wRef = ref w.DataStart;
        ref sbyte xs = ref Unsafe.As<byte, sbyte>(ref MemoryMarshal.GetReference(xp));
        ref int yRef = ref MemoryMarshal.GetReference(y);
        int blocks = w.RowBlocks;
        int blk = blockStart;
        while (blk < blockEnd)
        {
            if (blk % group == 0 && blk + group <= blockEnd && blk + group <= blocks)
            {
                ref sbyte wg = ref Unsafe.Add(ref wRef, (nint)blk * kp * tile);
                nint outRow = (blk - blockStart) * tile;
                int valid = Math.Min(group * tile, w.Rows - blk * tile);
                for (int b = 0; b < nb; b++)
                    Int8NeonDotGroup(ref wg, ref Unsafe.Add(ref xs, b * kp), kp, ref Unsafe.Add(ref yRef, b * yStride + outRow), valid);
                blk += group;
                continue;
            }
            Int8NeonDotBlock(w, ref xs, nb, blk, blockStart, y, yStride);
            blk++;
        }
    }

    /// <summary>
    /// Rows 32 of one full group: y[0..valid) = the four blocks' sums. Eight accumulators (rows 0-3, 4-7 of each
    /// block); each iteration takes two k-octets, 2 x 256 bytes of weights.
    /// </summary>
    [SkipLocalsInit]
    private static void Int8NeonDotGroup(ref sbyte wg, ref sbyte x, int kp, ref int y, int valid)
    {
        Vector128<int> a0 = default, b0 = default, a1 = default, b1 = default, a2 = default, b2 = default, a3 = default, b3 = default;
        ref sbyte wp = ref wg;
        ref sbyte xk = ref x;
        ref sbyte xEnd16 = ref Unsafe.Add(ref x, kp & ~15);
        while (Unsafe.IsAddressLessThan(ref xk, ref xEnd16))
        {
            var xv = Vector128.LoadUnsafe(ref xk);
            DotGroupOctet(ref wp, xv, 0, 1, ref a0, ref b0, ref a1, ref b1, ref a2, ref b2, ref a3, ref b3);
            // octet o + 1, 256 bytes on: x's groups 2 and 3
            DotGroupOctet(ref Unsafe.Add(ref wp, 256), xv, 2, 3, ref a0, ref b0, ref a1, ref b1, ref a2, ref b2, ref a3, ref b3);
            wp = ref Unsafe.Add(ref wp, 512);
            xk = ref Unsafe.Add(ref xk, 16);
        }
        if ((kp & 8) != 0)
        {
            // One k-octet left: its 8 bytes of x in the low half (no read past the padded row).
            var xv = Vector128.Create(Vector64.LoadUnsafe(ref xk), Vector64<sbyte>.Zero);
            DotGroupOctet(ref wp, xv, 0, 1, ref a0, ref b0, ref a1, ref b1, ref a2, ref b2, ref a3, ref b3);
        }
        StoreGroup(a0, b0, a1, b1, a2, b2, a3, b3, ref y, valid);
    }

    /// <summary>One block (8 rows) of a group of <paramref name="blk"/>'s size, stepping the group's octet stride.</summary>
    private static void Int8NeonDotBlock(PackedInt8Matrix w, ref sbyte xs, int nb, int blk, int blockStart, Span<int> y, int yStride)
    {
        int kp = w.PaddedCols;
        const int tile = PackedInt8Matrix.TileRows;
        ref int yRef = ref MemoryMarshal.GetReference(y);
        var (start, octetStride) = PackedInt8Matrix.BlockAddress(blk, w.RowBlocks, kp);
        ref sbyte wb = ref Unsafe.Add(ref w.DataStart, start);
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
                DotBlockOctet(ref Unsafe.Add(ref wb, at), xv, 0, 1, ref lo0, ref hi0, ref lo1, ref hi1);
                DotBlockOctet(ref Unsafe.Add(ref wb, at + (nuint)octetStride), xv, 2, 3, ref lo0, ref hi0, ref lo1, ref hi1); // the next k-octet
            }
            if (k < (nuint)kp)
            {
                var xv = Vector128.Create(Vector64.LoadUnsafe(ref x, k), Vector64<sbyte>.Zero);
                DotBlockOctet(ref Unsafe.Add(ref wb, at), xv, 0, 1, ref lo0, ref hi0, ref lo1, ref hi1);
            }
            StoreBlock(lo0 + lo1, hi0 + hi1, ref yRef, b * yStride + outRow, valid);
        }
    }

    /// <summary>
    /// One k-octet of a full group (256 bytes at <paramref name="w"/>) into its eight accumulators, x's quadruplet
    /// <paramref name="l0"/> for k 0-3 and <paramref name="l1"/> for k 4-7: the main loop's two octets and the odd
    /// tail octet are this one sequence. Block j's 64 bytes at 64 j = [rows 0-3 k0-3 | rows 4-7 k0-3 | rows 0-3 k4-7 |
    /// rows 4-7 k4-7].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DotGroupOctet(ref sbyte w, Vector128<sbyte> xv, [ConstantExpected(Max = (byte)3)] byte l0, [ConstantExpected(Max = (byte)3)] byte l1,
        ref Vector128<int> a0, ref Vector128<int> b0, ref Vector128<int> a1, ref Vector128<int> b1,
        ref Vector128<int> a2, ref Vector128<int> b2, ref Vector128<int> a3, ref Vector128<int> b3)
    {
        a0 = Dp.DotProductBySelectedQuadruplet(a0, Vector128.LoadUnsafe(ref w, 0), xv, l0);
        b0 = Dp.DotProductBySelectedQuadruplet(b0, Vector128.LoadUnsafe(ref w, 16), xv, l0);
        a1 = Dp.DotProductBySelectedQuadruplet(a1, Vector128.LoadUnsafe(ref w, 64), xv, l0);
        b1 = Dp.DotProductBySelectedQuadruplet(b1, Vector128.LoadUnsafe(ref w, 80), xv, l0);
        a2 = Dp.DotProductBySelectedQuadruplet(a2, Vector128.LoadUnsafe(ref w, 128), xv, l0);
        b2 = Dp.DotProductBySelectedQuadruplet(b2, Vector128.LoadUnsafe(ref w, 144), xv, l0);
        a3 = Dp.DotProductBySelectedQuadruplet(a3, Vector128.LoadUnsafe(ref w, 192), xv, l0);
        b3 = Dp.DotProductBySelectedQuadruplet(b3, Vector128.LoadUnsafe(ref w, 208), xv, l0);
        a0 = Dp.DotProductBySelectedQuadruplet(a0, Vector128.LoadUnsafe(ref w, 32), xv, l1);
        b0 = Dp.DotProductBySelectedQuadruplet(b0, Vector128.LoadUnsafe(ref w, 48), xv, l1);
        a1 = Dp.DotProductBySelectedQuadruplet(a1, Vector128.LoadUnsafe(ref w, 96), xv, l1);
        b1 = Dp.DotProductBySelectedQuadruplet(b1, Vector128.LoadUnsafe(ref w, 112), xv, l1);
        a2 = Dp.DotProductBySelectedQuadruplet(a2, Vector128.LoadUnsafe(ref w, 160), xv, l1);
        b2 = Dp.DotProductBySelectedQuadruplet(b2, Vector128.LoadUnsafe(ref w, 176), xv, l1);
        a3 = Dp.DotProductBySelectedQuadruplet(a3, Vector128.LoadUnsafe(ref w, 224), xv, l1);
        b3 = Dp.DotProductBySelectedQuadruplet(b3, Vector128.LoadUnsafe(ref w, 240), xv, l1);
    }

    /// <summary>One block's k-octet (64 bytes at <paramref name="w"/>): <see cref="DotGroupOctet"/> for 8 rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DotBlockOctet(ref sbyte w, Vector128<sbyte> xv, [ConstantExpected(Max = (byte)3)] byte l0, [ConstantExpected(Max = (byte)3)] byte l1,
        ref Vector128<int> lo0, ref Vector128<int> hi0, ref Vector128<int> lo1, ref Vector128<int> hi1)
    {
        lo0 = Dp.DotProductBySelectedQuadruplet(lo0, Vector128.LoadUnsafe(ref w, 0), xv, l0);
        hi0 = Dp.DotProductBySelectedQuadruplet(hi0, Vector128.LoadUnsafe(ref w, 16), xv, l0);
        lo1 = Dp.DotProductBySelectedQuadruplet(lo1, Vector128.LoadUnsafe(ref w, 32), xv, l1);
        hi1 = Dp.DotProductBySelectedQuadruplet(hi1, Vector128.LoadUnsafe(ref w, 48), xv, l1);
    }

    /// <summary>Stores a group's 32 accumulators (rows 0-3, 4-7 of blocks 0..3), or only the first <paramref name="valid"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreGroup(Vector128<int> a0, Vector128<int> b0, Vector128<int> a1, Vector128<int> b1,
        Vector128<int> a2, Vector128<int> b2, Vector128<int> a3, Vector128<int> b3, ref int y, int valid)
    {
        if (valid == 4 * PackedInt8Matrix.TileRows)
        {
            a0.StoreUnsafe(ref y, 0);
            b0.StoreUnsafe(ref y, 4);
            a1.StoreUnsafe(ref y, 8);
            b1.StoreUnsafe(ref y, 12);
            a2.StoreUnsafe(ref y, 16);
            b2.StoreUnsafe(ref y, 20);
            a3.StoreUnsafe(ref y, 24);
            b3.StoreUnsafe(ref y, 28);
            return;
        }
        StoreBlock(a0, b0, ref y, 0, Math.Min(valid, 8));
        if (valid > 8) StoreBlock(a1, b1, ref y, 8, Math.Min(valid - 8, 8));
        if (valid > 16) StoreBlock(a2, b2, ref y, 16, Math.Min(valid - 16, 8));
        if (valid > 24) StoreBlock(a3, b3, ref y, 24, valid - 24);
    }
}
