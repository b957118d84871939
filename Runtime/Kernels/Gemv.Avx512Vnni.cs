using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Edge.Runtime.Kernels;

// qs8-gemv 8x4c4 (grouped) avxvnni (vpdpbusd, +128 offset); the fp32 product is width-generic (Gemv.Fp32.cs).
// .NET 10 has no Avx512Vnni class: vpdpbusd is reachable only as AvxVnni (VEX, ymm), so the int8 product runs
// 8 rows per instruction while fp32 and activation quantization use 512-bit vectors (see Isa.Avx512Vnni).
internal sealed partial class Gemv
{
    /// <summary>
    /// vpdpbusd adds four u8·s8 products into each int32 lane without intermediate saturation. Activations are
    /// fed as x + 128 (0..254 as unsigned; prepared once per call), so acc = Σ (x + 128)·w = Σ x·w + 128·Σ w,
    /// and the packed row sums remove the offset exactly. Bounds: 4·255·127 per instruction, K ≤ 65536 keeps
    /// the int32 sum below 2^31.
    /// </summary>
    private static void Int8Avx512Vnni(PackedInt8Matrix w, ReadOnlySpan<byte> xp, int nb, int blockStart, int blockEnd, Span<int> y, int yStride)
    {
        int kp = w.PaddedCols;
        const int tile = PackedInt8Matrix.TileRows;
        ref sbyte wRef = ref w.DataStart;
        ref int sums = ref w.SumsStart;
        ref byte xu = ref MemoryMarshal.GetReference(xp);
        ref int yRef = ref MemoryMarshal.GetReference(y);
        if (nb == 1)
        {
            Int8Avx512VnniBatch1(ref wRef, ref sums, ref xu, kp, w.Rows, blockStart, blockEnd, ref yRef);
            return;
        }
        for (int blk = blockStart; blk < blockEnd; blk++)
        {
            var (start, octetStride) = PackedInt8Matrix.BlockAddress(blk, w.RowBlocks, kp);
            ref sbyte wb = ref Unsafe.Add(ref wRef, start);
            var correction = Vector256.ShiftLeft(Vector256.LoadUnsafe(ref sums, (nuint)(blk * tile)), 7);
            nint outRow = (blk - blockStart) * tile;
            int valid = Math.Min(tile, w.Rows - blk * tile);
            int b = 0;
            if (nb < 4 && blk % PackedInt8Matrix.GroupBlocks == 0 && blk + 4 <= blockEnd && (blk + 4) * tile <= w.Rows)
            {
                // Small batch: the four row blocks of a group share each activation broadcast (fewer loads per vpdpbusd).
                for (; b < nb; b++)
                {
                    Dot1x4Vnni(ref wb, ref Unsafe.Add(ref xu, b * kp), kp, out var r0, out var r1, out var r2, out var r3);
                    StoreBlock(r0 - Vector256.ShiftLeft(Vector256.LoadUnsafe(ref sums, (nuint)(blk * tile)), 7), ref yRef, b * yStride + outRow, tile);
                    StoreBlock(r1 - Vector256.ShiftLeft(Vector256.LoadUnsafe(ref sums, (nuint)((blk + 1) * tile)), 7), ref yRef, b * yStride + outRow + tile, tile);
                    StoreBlock(r2 - Vector256.ShiftLeft(Vector256.LoadUnsafe(ref sums, (nuint)((blk + 2) * tile)), 7), ref yRef, b * yStride + outRow + 2 * tile, tile);
                    StoreBlock(r3 - Vector256.ShiftLeft(Vector256.LoadUnsafe(ref sums, (nuint)((blk + 3) * tile)), 7), ref yRef, b * yStride + outRow + 3 * tile, tile);
                }
                blk += 3;
                continue;
            }
            for (; b + 4 <= nb; b += 4)
            {
                Dot4Vnni(ref wb, (nuint)octetStride, ref Unsafe.Add(ref xu, b * kp), kp, out var a0, out var a1, out var a2, out var a3);
                StoreBlock(a0 - correction, ref yRef, b * yStride + outRow, valid);
                StoreBlock(a1 - correction, ref yRef, (b + 1) * yStride + outRow, valid);
                StoreBlock(a2 - correction, ref yRef, (b + 2) * yStride + outRow, valid);
                StoreBlock(a3 - correction, ref yRef, (b + 3) * yStride + outRow, valid);
            }
            for (; b < nb; b++)
                StoreBlock(Dot1Vnni(ref wb, (nuint)octetStride, ref Unsafe.Add(ref xu, b * kp), kp) - correction, ref yRef, b * yStride + outRow, valid);
        }
    }

    /// <summary>
    /// Batch 1 (the recurrent step): groups of four row blocks share each broadcast of x (8 accumulators), the
    /// weights read 64 bytes per 512-bit load; one method with no calls in its loops (compiled on its own, so the
    /// accumulators stay in registers), the remaining blocks one at a time. The group's stores are written out here
    /// and in <see cref="Int8Avx512VnniBatch1WithInput"/>: as a shared inlined helper they made this loop slower
    /// (docs/benchmarks.md, "Kernel design measurements").
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Int8Avx512VnniBatch1(ref sbyte wRef, ref int sums, ref byte xu, int kp, int rows, int blockStart, int blockEnd, ref int y)
    {
        const int tile = PackedInt8Matrix.TileRows;
        int blocks = PackedInt8Matrix.BlockCount(rows);
        int blk = blockStart;
        for (; blk % PackedInt8Matrix.GroupBlocks == 0 && blk + 4 <= blockEnd && (blk + 4) * tile <= rows; blk += 4)
        {
            ref sbyte w = ref Unsafe.Add(ref wRef, (nint)blk * kp * tile);
            Dot1x4Vnni(ref w, ref xu, kp, out var a, out var b, out var c, out var d);
            nint o = (blk - blockStart) * tile;
            (a - Vector256.ShiftLeft(Vector256.LoadUnsafe(ref sums, (nuint)(blk * tile)), 7)).StoreUnsafe(ref Unsafe.Add(ref y, o));
            (b - Vector256.ShiftLeft(Vector256.LoadUnsafe(ref sums, (nuint)(blk * tile + tile)), 7)).StoreUnsafe(ref Unsafe.Add(ref y, o + tile));
            (c - Vector256.ShiftLeft(Vector256.LoadUnsafe(ref sums, (nuint)(blk * tile + 2 * tile)), 7)).StoreUnsafe(ref Unsafe.Add(ref y, o + 2 * tile));
            (d - Vector256.ShiftLeft(Vector256.LoadUnsafe(ref sums, (nuint)(blk * tile + 3 * tile)), 7)).StoreUnsafe(ref Unsafe.Add(ref y, o + 3 * tile));
        }
        for (; blk < blockEnd; blk++)
            StoreBlock(BlockVnni(ref wRef, ref sums, ref xu, kp, blk, blocks), ref y, (blk - blockStart) * tile, Math.Min(tile, rows - blk * tile));
    }

    /// <summary>
    /// <see cref="Int8Avx512VnniBatch1"/> over all rows with the dequantization fused: each group's accumulators
    /// go from registers to fp32 (<see cref="DequantizeBlock"/>), y[r] (+)= acc · scales[r] · xScale (+ bias[r]).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Int8Avx512VnniBatch1Dequantize(ref sbyte wRef, ref int sums, ref byte xu, int kp, int rows,
        ref float scales, float xScale, ref float bias, bool hasBias, ref float y, bool accumulate)
    {
        const int tile = PackedInt8Matrix.TileRows;
        var xs = Vector256.Create(xScale);
        int blocks = PackedInt8Matrix.BlockCount(rows);
        int blk = 0;
        for (; (blk + 4) * tile <= rows; blk += 4)
            GroupDequantizeVnni(ref wRef, ref sums, ref xu, kp, blk, ref scales, xs, ref bias, hasBias, ref y, accumulate);
        for (; blk < blocks; blk++)
            DequantizeBlock(BlockVnni(ref wRef, ref sums, ref xu, kp, blk, blocks), ref scales, xs, ref bias, hasBias, ref y, blk * tile, Math.Min(tile, rows - blk * tile), accumulate);
    }

    /// <summary>
    /// <see cref="Int8Avx512VnniBatch1"/> over all rows of R with a second matrix W of the same row count in the same
    /// pass (one time step of a recurrent layer: acc = R h in int32 and proj = W x dequantized with its bias, as
    /// <see cref="DequantizeBlock"/> does). Each group of four row blocks reads R's rows and then W's, so the input
    /// projection needs no trip of its own through the cache.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Int8Avx512VnniBatch1WithInput(ref sbyte rRef, ref int rSums, ref byte hu, int kpR, ref int acc,
        ref sbyte wRef, ref int wSums, ref byte xu, int kpW, ref float wScales, float xScale, ref float bias, ref float proj, int rows)
    {
        const int tile = PackedInt8Matrix.TileRows;
        var xs = Vector256.Create(xScale);
        int blocks = PackedInt8Matrix.BlockCount(rows);
        int blk = 0;
        for (; (blk + 4) * tile <= rows; blk += 4)
        {
            nint o = blk * tile;
            Dot1x4Vnni(ref Unsafe.Add(ref rRef, (nint)blk * kpR * tile), ref hu, kpR, out var a, out var b, out var c, out var d);
            (a - Vector256.ShiftLeft(Vector256.LoadUnsafe(ref rSums, (nuint)o), 7)).StoreUnsafe(ref Unsafe.Add(ref acc, o));
            (b - Vector256.ShiftLeft(Vector256.LoadUnsafe(ref rSums, (nuint)(o + tile)), 7)).StoreUnsafe(ref Unsafe.Add(ref acc, o + tile));
            (c - Vector256.ShiftLeft(Vector256.LoadUnsafe(ref rSums, (nuint)(o + 2 * tile)), 7)).StoreUnsafe(ref Unsafe.Add(ref acc, o + 2 * tile));
            (d - Vector256.ShiftLeft(Vector256.LoadUnsafe(ref rSums, (nuint)(o + 3 * tile)), 7)).StoreUnsafe(ref Unsafe.Add(ref acc, o + 3 * tile));
            GroupDequantizeVnni(ref wRef, ref wSums, ref xu, kpW, blk, ref wScales, xs, ref bias, true, ref proj, false);
        }
        for (; blk < blocks; blk++)
        {
            int valid = Math.Min(tile, rows - blk * tile);
            StoreBlock(BlockVnni(ref rRef, ref rSums, ref hu, kpR, blk, blocks), ref acc, blk * tile, valid);
            DequantizeBlock(BlockVnni(ref wRef, ref wSums, ref xu, kpW, blk, blocks), ref wScales, xs, ref bias, true, ref proj, blk * tile, valid, false);
        }
    }

    /// <summary>Batch 1, the group of four row blocks starting at block <paramref name="blk"/>, dequantized into y (<see cref="DequantizeBlock"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GroupDequantizeVnni(ref sbyte wRef, ref int sums, ref byte xu, int kp, int blk,
        ref float scales, Vector256<float> xs, ref float bias, bool hasBias, ref float y, bool accumulate)
    {
        const int tile = PackedInt8Matrix.TileRows;
        Dot1x4Vnni(ref Unsafe.Add(ref wRef, (nint)blk * kp * tile), ref xu, kp, out var a, out var b, out var c, out var d);
        nint o = blk * tile;
        DequantizeBlock(a - Vector256.ShiftLeft(Vector256.LoadUnsafe(ref sums, (nuint)o), 7), ref scales, xs, ref bias, hasBias, ref y, o, tile, accumulate);
        DequantizeBlock(b - Vector256.ShiftLeft(Vector256.LoadUnsafe(ref sums, (nuint)(o + tile)), 7), ref scales, xs, ref bias, hasBias, ref y, o + tile, tile, accumulate);
        DequantizeBlock(c - Vector256.ShiftLeft(Vector256.LoadUnsafe(ref sums, (nuint)(o + 2 * tile)), 7), ref scales, xs, ref bias, hasBias, ref y, o + 2 * tile, tile, accumulate);
        DequantizeBlock(d - Vector256.ShiftLeft(Vector256.LoadUnsafe(ref sums, (nuint)(o + 3 * tile)), 7), ref scales, xs, ref bias, hasBias, ref y, o + 3 * tile, tile, accumulate);
    }

    /// <summary>Batch 1, one row block <paramref name="blk"/> of <paramref name="blocks"/> (a tail block): its offset-corrected int32 sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> BlockVnni(ref sbyte wRef, ref int sums, ref byte xu, int kp, int blk, int blocks)
    {
        var (start, octetStride) = PackedInt8Matrix.BlockAddress(blk, blocks, kp);
        return Dot1Vnni(ref Unsafe.Add(ref wRef, start), (nuint)octetStride, ref xu, kp)
            - Vector256.ShiftLeft(Vector256.LoadUnsafe(ref sums, (nuint)(blk * PackedInt8Matrix.TileRows)), 7);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> StepVnni(Vector256<int> acc, Vector256<sbyte> wv, ref byte xu, nuint k) =>
        AvxVnni.MultiplyWideningAndAdd(acc, Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref xu, k))).AsByte(), wv);

    /// <summary>One batch item, one block (k-octets <paramref name="octetStride"/> bytes apart), four accumulators.</summary>
    private static Vector256<int> Dot1Vnni(ref sbyte w, nuint octetStride, ref byte xu, int kp)
    {
        Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default;
        nuint at = 0;
        nuint k = 0;
        for (; k + 16 <= (nuint)kp; k += 16, at += 2 * octetStride)
        {
            a0 = StepVnni(a0, Vector256.LoadUnsafe(ref w, at), ref xu, k);
            a1 = StepVnni(a1, Vector256.LoadUnsafe(ref w, at + 32), ref xu, k + 4);
            a2 = StepVnni(a2, Vector256.LoadUnsafe(ref w, at + octetStride), ref xu, k + 8);
            a3 = StepVnni(a3, Vector256.LoadUnsafe(ref w, at + octetStride + 32), ref xu, k + 12);
        }
        if (k < (nuint)kp) // one k-octet left
        {
            a0 = StepVnni(a0, Vector256.LoadUnsafe(ref w, at), ref xu, k);
            a1 = StepVnni(a1, Vector256.LoadUnsafe(ref w, at + 32), ref xu, k + 4);
        }
        return (a0 + a1) + (a2 + a3);
    }

    /// <summary>
    /// One batch item, the four row blocks of a group (<paramref name="w"/> at its start): 8 independent
    /// accumulators. The weights are read 64 bytes (a k-octet of a block) per 512-bit load from one sequential
    /// stream; the lower and upper halves feed vpdpbusd against the broadcasts of x[k..k+3] and x[k+4..k+7].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Dot1x4Vnni(ref sbyte w, ref byte xu, int kp,
        out Vector256<int> r0, out Vector256<int> r1, out Vector256<int> r2, out Vector256<int> r3)
    {
        Vector256<int> a0 = default, a1 = default, b0 = default, b1 = default, c0 = default, c1 = default, d0 = default, d1 = default;
        for (nuint k = 0; k < (nuint)kp; k += 8)
        {
            var x0 = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref xu, k))).AsByte();
            var x1 = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref xu, k + 4))).AsByte();
            ref sbyte wk = ref Unsafe.Add(ref w, k * 32);
            var wa = Vector512.LoadUnsafe(ref wk);
            var wb = Vector512.LoadUnsafe(ref wk, 64);
            var wc = Vector512.LoadUnsafe(ref wk, 128);
            var wd = Vector512.LoadUnsafe(ref wk, 192);
            a0 = AvxVnni.MultiplyWideningAndAdd(a0, x0, wa.GetLower());
            a1 = AvxVnni.MultiplyWideningAndAdd(a1, x1, wa.GetUpper());
            b0 = AvxVnni.MultiplyWideningAndAdd(b0, x0, wb.GetLower());
            b1 = AvxVnni.MultiplyWideningAndAdd(b1, x1, wb.GetUpper());
            c0 = AvxVnni.MultiplyWideningAndAdd(c0, x0, wc.GetLower());
            c1 = AvxVnni.MultiplyWideningAndAdd(c1, x1, wc.GetUpper());
            d0 = AvxVnni.MultiplyWideningAndAdd(d0, x0, wd.GetLower());
            d1 = AvxVnni.MultiplyWideningAndAdd(d1, x1, wd.GetUpper());
        }
        r0 = a0 + a1;
        r1 = b0 + b1;
        r2 = c0 + c1;
        r3 = d0 + d1;
    }

    /// <summary>Four batch items share each weight load (one block, k-octets <paramref name="octetStride"/> apart).</summary>
    private static void Dot4Vnni(ref sbyte w, nuint octetStride, ref byte xu, int kp,
        out Vector256<int> a0, out Vector256<int> a1, out Vector256<int> a2, out Vector256<int> a3)
    {
        a0 = a1 = a2 = a3 = default;
        nuint s = (nuint)kp;
        nuint at = 0;
        for (nuint k = 0; k < s; k += 8, at += octetStride)
        {
            var wv = Vector256.LoadUnsafe(ref w, at);
            a0 = StepVnni(a0, wv, ref xu, k);
            a1 = StepVnni(a1, wv, ref xu, k + s);
            a2 = StepVnni(a2, wv, ref xu, k + 2 * s);
            a3 = StepVnni(a3, wv, ref xu, k + 3 * s);
            wv = Vector256.LoadUnsafe(ref w, at + 32);
            a0 = StepVnni(a0, wv, ref xu, k + 4);
            a1 = StepVnni(a1, wv, ref xu, k + 4 + s);
            a2 = StepVnni(a2, wv, ref xu, k + 4 + 2 * s);
            a3 = StepVnni(a3, wv, ref xu, k + 4 + 3 * s);
        }
    }
}
