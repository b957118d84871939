using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Edge.Runtime.Kernels;

// qs8-gemv 8x4c4 (grouped) avx2 (vpmaddubsw + vpmaddwd, sign trick); the fp32 product is width-generic (Gemv.Fp32.cs).
internal sealed partial class Gemv
{
    /// <summary>
    /// vpmaddubsw multiplies unsigned by signed bytes and adds adjacent pairs into int16 with saturation: with
    /// raw signed x it is wrong, with x + 128 a pair reaches 2·255·127 = 64770 and saturates. The sign trick
    /// feeds |x| (≤ 127) as the unsigned operand and sign(x)·w (vpsignb; w ≠ -128 so negation is exact) as the
    /// signed one: each pair is ≤ 2·127·127 = 32258 &lt; 32767, never saturating. vpmaddwd against ones then
    /// sums int16 pairs into one int32 per row (4 products). xp holds x then |x| per batch item.
    /// </summary>
    private static void Int8Avx2(PackedInt8Matrix w, ReadOnlySpan<byte> xp, int nb, int blockStart, int blockEnd, Span<int> y, int yStride)
    {
        int kp = w.PaddedCols;
        const int tile = PackedInt8Matrix.TileRows;
        ref sbyte wRef = ref w.DataStart;
        ref byte xs = ref MemoryMarshal.GetReference(xp);
        ref byte xa = ref Unsafe.Add(ref xs, nb * kp);
        ref int yRef = ref MemoryMarshal.GetReference(y);
        for (int blk = blockStart; blk < blockEnd; blk++)
        {
            var (start, octetStride) = PackedInt8Matrix.BlockAddress(blk, w.RowBlocks, kp);
            ref sbyte wb = ref Unsafe.Add(ref wRef, start);
            nint outRow = (blk - blockStart) * tile;
            int valid = Math.Min(tile, w.Rows - blk * tile);
            int b = 0;
            if (nb < 4 && blk % PackedInt8Matrix.GroupBlocks == 0 && blk + 4 <= blockEnd && (blk + 4) * tile <= w.Rows)
            {
                // Small batch: the four row blocks of a group share each pair of activation broadcasts.
                for (; b < nb; b++)
                {
                    Dot1x4Avx2(ref wb, ref Unsafe.Add(ref xs, b * kp), ref Unsafe.Add(ref xa, b * kp), kp,
                        out var r0, out var r1, out var r2, out var r3);
                    StoreBlock(r0, ref yRef, b * yStride + outRow, tile);
                    StoreBlock(r1, ref yRef, b * yStride + outRow + tile, tile);
                    StoreBlock(r2, ref yRef, b * yStride + outRow + 2 * tile, tile);
                    StoreBlock(r3, ref yRef, b * yStride + outRow + 3 * tile, tile);
                }
                blk += 3;
                continue;
            }
            for (; b + 4 <= nb; b += 4)
            {
                Dot4Avx2(ref wb, (nuint)octetStride, ref Unsafe.Add(ref xs, b * kp), ref Unsafe.Add(ref xa, b * kp), kp,
                    out var a0, out var a1, out var a2, out var a3);
                StoreBlock(a0, ref yRef, b * yStride + outRow, valid);
                StoreBlock(a1, ref yRef, (b + 1) * yStride + outRow, valid);
                StoreBlock(a2, ref yRef, (b + 2) * yStride + outRow, valid);
                StoreBlock(a3, ref yRef, (b + 3) * yStride + outRow, valid);
            }
            for (; b < nb; b++)
                StoreBlock(Dot1Avx2(ref wb, (nuint)octetStride, ref Unsafe.Add(ref xs, b * kp), ref Unsafe.Add(ref xa, b * kp), kp), ref yRef, b * yStride + outRow, valid);
        }
    }

    /// <summary>
    /// Batch 1 (the recurrent step) with the dequantization fused: groups of four row blocks share each pair of
    /// broadcasts (8 accumulators), then go from registers to fp32 (<see cref="DequantizeBlock"/>); one method
    /// with no calls in its main loop (compiled on its own, its helpers inlined, so the accumulators stay in
    /// registers), the remaining blocks one at a time. xs holds x, xa |x|.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Int8Avx2Batch1Dequantize(ref sbyte wRef, ref byte xs, ref byte xa, int kp, int rows,
        ref float scales, float xScale, ref float bias, bool hasBias, ref float y, bool accumulate)
    {
        const int tile = PackedInt8Matrix.TileRows;
        var xsc = Vector256.Create(xScale);
        int blocks = PackedInt8Matrix.BlockCount(rows);
        int blk = 0;
        for (; (blk + 4) * tile <= rows; blk += 4)
            GroupDequantizeAvx2(ref wRef, ref xs, ref xa, kp, blk, ref scales, xsc, ref bias, hasBias, ref y, accumulate);
        for (; blk < blocks; blk++)
            DequantizeBlock(BlockAvx2(ref wRef, ref xs, ref xa, kp, blk, blocks), ref scales, xsc, ref bias, hasBias, ref y, blk * tile, Math.Min(tile, rows - blk * tile), accumulate);
    }

    /// <summary>
    /// The AVX2 form of <see cref="Int8Avx512VnniBatch1WithInput"/>: acc = R h in int32 and proj = W x dequantized
    /// with its bias, each group of four row blocks reading R's rows and then W's, in one pass.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Int8Avx2Batch1WithInput(ref sbyte rRef, ref byte hs, ref byte ha, int kpR, ref int acc,
        ref sbyte wRef, ref byte xs, ref byte xa, int kpW, ref float wScales, float xScale, ref float bias, ref float proj, int rows)
    {
        const int tile = PackedInt8Matrix.TileRows;
        var xsc = Vector256.Create(xScale);
        int blocks = PackedInt8Matrix.BlockCount(rows);
        int blk = 0;
        for (; (blk + 4) * tile <= rows; blk += 4)
        {
            nint o = blk * tile;
            Dot1x4Avx2(ref Unsafe.Add(ref rRef, (nint)blk * kpR * tile), ref hs, ref ha, kpR, out var a, out var b, out var c, out var d);
            a.StoreUnsafe(ref Unsafe.Add(ref acc, o));
            b.StoreUnsafe(ref Unsafe.Add(ref acc, o + tile));
            c.StoreUnsafe(ref Unsafe.Add(ref acc, o + 2 * tile));
            d.StoreUnsafe(ref Unsafe.Add(ref acc, o + 3 * tile));
            GroupDequantizeAvx2(ref wRef, ref xs, ref xa, kpW, blk, ref wScales, xsc, ref bias, true, ref proj, false);
        }
        for (; blk < blocks; blk++)
        {
            int valid = Math.Min(tile, rows - blk * tile);
            StoreBlock(BlockAvx2(ref rRef, ref hs, ref ha, kpR, blk, blocks), ref acc, blk * tile, valid);
            DequantizeBlock(BlockAvx2(ref wRef, ref xs, ref xa, kpW, blk, blocks), ref wScales, xsc, ref bias, true, ref proj, blk * tile, valid, false);
        }
    }

    /// <summary>Batch 1, the group of four row blocks starting at block <paramref name="blk"/>, dequantized into y (<see cref="DequantizeBlock"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GroupDequantizeAvx2(ref sbyte wRef, ref byte xs, ref byte xa, int kp, int blk,
        ref float scales, Vector256<float> xsc, ref float bias, bool hasBias, ref float y, bool accumulate)
    {
        const int tile = PackedInt8Matrix.TileRows;
        Dot1x4Avx2(ref Unsafe.Add(ref wRef, (nint)blk * kp * tile), ref xs, ref xa, kp, out var a, out var b, out var c, out var d);
        nint o = blk * tile;
        DequantizeBlock(a, ref scales, xsc, ref bias, hasBias, ref y, o, tile, accumulate);
        DequantizeBlock(b, ref scales, xsc, ref bias, hasBias, ref y, o + tile, tile, accumulate);
        DequantizeBlock(c, ref scales, xsc, ref bias, hasBias, ref y, o + 2 * tile, tile, accumulate);
        DequantizeBlock(d, ref scales, xsc, ref bias, hasBias, ref y, o + 3 * tile, tile, accumulate);
    }

    /// <summary>Batch 1, one row block <paramref name="blk"/> of <paramref name="blocks"/> (a tail block): its int32 sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> BlockAvx2(ref sbyte wRef, ref byte xs, ref byte xa, int kp, int blk, int blocks)
    {
        var (start, octetStride) = PackedInt8Matrix.BlockAddress(blk, blocks, kp);
        return Dot1Avx2(ref Unsafe.Add(ref wRef, start), (nuint)octetStride, ref xs, ref xa, kp);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> StepAvx2(Vector256<int> acc, Vector256<sbyte> wv, ref byte xs, ref byte xa, nuint k)
    {
        var xb = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref xs, k))).AsSByte();
        var ab = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref xa, k))).AsByte();
        var pairs = Avx2.MultiplyAddAdjacent(ab, Avx2.Sign(wv, xb));
        return Avx2.Add(acc, Avx2.MultiplyAddAdjacent(pairs, Vector256<short>.One));
    }

    /// <summary>
    /// One batch item, one block (k-octets <paramref name="octetStride"/> bytes apart): four accumulators over
    /// alternating k groups hide the multiply latency.
    /// </summary>
    private static Vector256<int> Dot1Avx2(ref sbyte w, nuint octetStride, ref byte xs, ref byte xa, int kp)
    {
        Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default;
        nuint at = 0;
        nuint k = 0;
        for (; k + 16 <= (nuint)kp; k += 16, at += 2 * octetStride)
        {
            a0 = StepAvx2(a0, Vector256.LoadUnsafe(ref w, at), ref xs, ref xa, k);
            a1 = StepAvx2(a1, Vector256.LoadUnsafe(ref w, at + 32), ref xs, ref xa, k + 4);
            a2 = StepAvx2(a2, Vector256.LoadUnsafe(ref w, at + octetStride), ref xs, ref xa, k + 8);
            a3 = StepAvx2(a3, Vector256.LoadUnsafe(ref w, at + octetStride + 32), ref xs, ref xa, k + 12);
        }
        if (k < (nuint)kp) // one k-octet left
        {
            a0 = StepAvx2(a0, Vector256.LoadUnsafe(ref w, at), ref xs, ref xa, k);
            a1 = StepAvx2(a1, Vector256.LoadUnsafe(ref w, at + 32), ref xs, ref xa, k + 4);
        }
        return (a0 + a1) + (a2 + a3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> MaddAvx2(Vector256<int> acc, Vector256<sbyte> wv, Vector256<sbyte> xb, Vector256<byte> ab) =>
        Avx2.Add(acc, Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(ab, Avx2.Sign(wv, xb)), Vector256<short>.One));

    /// <summary>One batch item, the four row blocks of a group (<paramref name="w"/> at its start): the broadcasts are shared.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Dot1x4Avx2(ref sbyte w, ref byte xs, ref byte xa, int kp,
        out Vector256<int> r0, out Vector256<int> r1, out Vector256<int> r2, out Vector256<int> r3)
    {
        Vector256<int> a0 = default, a1 = default, b0 = default, b1 = default, c0 = default, c1 = default, d0 = default, d1 = default;
        for (nuint k = 0; k < (nuint)kp; k += 8)
        {
            var x0 = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref xs, k))).AsSByte();
            var x1 = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref xs, k + 4))).AsSByte();
            var u0 = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref xa, k))).AsByte();
            var u1 = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref xa, k + 4))).AsByte();
            ref sbyte wk = ref Unsafe.Add(ref w, k * 32);
            a0 = MaddAvx2(a0, Vector256.LoadUnsafe(ref wk), x0, u0);
            a1 = MaddAvx2(a1, Vector256.LoadUnsafe(ref wk, 32), x1, u1);
            b0 = MaddAvx2(b0, Vector256.LoadUnsafe(ref wk, 64), x0, u0);
            b1 = MaddAvx2(b1, Vector256.LoadUnsafe(ref wk, 96), x1, u1);
            c0 = MaddAvx2(c0, Vector256.LoadUnsafe(ref wk, 128), x0, u0);
            c1 = MaddAvx2(c1, Vector256.LoadUnsafe(ref wk, 160), x1, u1);
            d0 = MaddAvx2(d0, Vector256.LoadUnsafe(ref wk, 192), x0, u0);
            d1 = MaddAvx2(d1, Vector256.LoadUnsafe(ref wk, 224), x1, u1);
        }
        r0 = a0 + a1;
        r1 = b0 + b1;
        r2 = c0 + c1;
        r3 = d0 + d1;
    }

    /// <summary>Four batch items share each weight load (one block, k-octets <paramref name="octetStride"/> apart); their accumulators are the independent chains.</summary>
    private static void Dot4Avx2(ref sbyte w, nuint octetStride, ref byte xs, ref byte xa, int kp,
        out Vector256<int> a0, out Vector256<int> a1, out Vector256<int> a2, out Vector256<int> a3)
    {
        a0 = a1 = a2 = a3 = default;
        nuint s = (nuint)kp;
        nuint at = 0;
        for (nuint k = 0; k < s; k += 8, at += octetStride)
        {
            var wv = Vector256.LoadUnsafe(ref w, at);
            a0 = StepAvx2(a0, wv, ref xs, ref xa, k);
            a1 = StepAvx2(a1, wv, ref xs, ref xa, k + s);
            a2 = StepAvx2(a2, wv, ref xs, ref xa, k + 2 * s);
            a3 = StepAvx2(a3, wv, ref xs, ref xa, k + 3 * s);
            wv = Vector256.LoadUnsafe(ref w, at + 32);
            a0 = StepAvx2(a0, wv, ref xs, ref xa, k + 4);
            a1 = StepAvx2(a1, wv, ref xs, ref xa, k + 4 + s);
            a2 = StepAvx2(a2, wv, ref xs, ref xa, k + 4 + 2 * s);
            a3 = StepAvx2(a3, wv, ref xs, ref xa, k + 4 + 3 * s);
        }
    }
}
