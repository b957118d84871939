using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Edge.Runtime.Kernels;

// The int8 product for a few columns (K ≤ 16: a recurrent layer's sensor inputs), computed in fp32 exactly.
// Every product q_w · q_x is an integer of magnitude ≤ 127² and every partial sum of at most 16 of them stays far
// below 2^24, so fused multiply-adds of the values as floats are exact: the fp32 accumulator holds the same
// integer as the int32 kernels' (bit for bit after the conversion Dequantize does), and the dequantization runs
// the same operations in the same order. What changes is the cost: no padding of K to 16, no activation
// preparation, no staging of accumulators, and the weights (K x rows floats, transposed) stay in L1.
internal sealed partial class Gemv
{
    /// <summary>Largest K the fp32-exact path takes (16 · 127 · 127 = 258,064 &lt; 2^24).</summary>
    public const int SmallColumns = 16;

    private bool UsesSmallColumns(PackedInt8Matrix w) => w.Cols <= SmallColumns && Vector128.IsHardwareAccelerated && _kernels.FloatBits >= 128;

    /// <summary>
    /// <see cref="MultiplyInt8Dequantize"/> for K ≤ <see cref="SmallColumns"/>: y[b][r] (+)= (float)acc · rowScale[r] ·
    /// xScale[b] (+ bias[r]) with acc = Σ_k W[r, k] · x[b][k] accumulated exactly in fp32.
    /// </summary>
    [SkipLocalsInit]
    private void SmallColumnsDequantize(PackedInt8Matrix w, ReadOnlySpan<sbyte> x, int xStride, ReadOnlySpan<float> xScales, int batch,
        ReadOnlySpan<float> bias, Span<float> y, int yStride, bool accumulate)
    {
        Span<float> xf = stackalloc float[SmallColumns * SmallColumnsItems];
        int b = 0;
        if (Vector512.IsHardwareAccelerated && _kernels.FloatBits >= 512 && w.Rows >= SmallColumnsTileRows512)
        {
            // Four batch items at a time share each load of the weights (a sequence's input projection).
            for (; b + SmallColumnsItems <= batch; b += SmallColumnsItems)
            {
                for (int j = 0; j < SmallColumnsItems; j++)
                {
                    var xb = x.Slice((b + j) * xStride, w.Cols);
                    for (int k = 0; k < xb.Length; k++) xf[j * SmallColumns + k] = xb[k];
                }
                int done = SmallColumnsRows4x512(w, xf, xScales.Slice(b, SmallColumnsItems), bias, y.Slice(b * yStride), yStride, accumulate);
                for (int j = 0; j < SmallColumnsItems && done < w.Rows; j++)
                    SmallColumnsRows(w, xf.Slice(j * SmallColumns, SmallColumns), xScales[b + j], bias, y.Slice((b + j) * yStride), accumulate, done);
            }
        }
        for (; b < batch; b++)
        {
            var xb = x.Slice(b * xStride, w.Cols);
            for (int k = 0; k < xb.Length; k++) xf[k] = xb[k];
            SmallColumnsRows(w, xf, xScales[b], bias, y.Slice(b * yStride), accumulate, 0);
        }
    }

    private const int SmallColumnsItems = 4;
    private const int SmallColumnsTileRows512 = 4 * 16;

    /// <summary>
    /// Rows [0, 64 · ⌊rows / 64⌋) of four batch items (x as floats at xf[j · <see cref="SmallColumns"/> + k]): 16
    /// accumulators, each weight vector loaded once for the four items. Returns the first row not done.
    /// </summary>
    private static int SmallColumnsRows4x512(PackedInt8Matrix w, ReadOnlySpan<float> xf, ReadOnlySpan<float> xScales, ReadOnlySpan<float> bias,
        Span<float> y, int yStride, bool accumulate)
    {
        float[] wt = w.ColumnsAsFloat;
        int rows = w.Rows, cols = w.Cols, stride = w.ColumnStride;
        ref float wRef = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(wt), w.ColumnsOrigin);
        ref float scales = ref w.ScalesStart;
        ref float biasRef = ref MemoryMarshal.GetReference(bias);
        bool hasBias = !bias.IsEmpty;
        ref float x0 = ref MemoryMarshal.GetReference(xf);
        ref float x1 = ref Unsafe.Add(ref x0, SmallColumns);
        ref float x2 = ref Unsafe.Add(ref x0, 2 * SmallColumns);
        ref float x3 = ref Unsafe.Add(ref x0, 3 * SmallColumns);
        ref float y0 = ref MemoryMarshal.GetReference(y);
        ref float y1 = ref Unsafe.Add(ref y0, yStride);
        ref float y2 = ref Unsafe.Add(ref y0, 2 * yStride);
        ref float y3 = ref Unsafe.Add(ref y0, 3 * yStride);
        var s0 = Vector512.Create(xScales[0]);
        var s1 = Vector512.Create(xScales[1]);
        var s2 = Vector512.Create(xScales[2]);
        var s3 = Vector512.Create(xScales[3]);
        int r = 0;
        for (; r + SmallColumnsTileRows512 <= rows; r += SmallColumnsTileRows512)
        {
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
            Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, d0 = default, d1 = default, d2 = default, d3 = default;
            ref float wk = ref Unsafe.Add(ref wRef, r);
            for (int k = 0; k < cols; k++, wk = ref Unsafe.Add(ref wk, stride))
            {
                var w0 = Vector512.LoadUnsafe(ref wk);
                var w1 = Vector512.LoadUnsafe(ref wk, 16);
                var w2 = Vector512.LoadUnsafe(ref wk, 2 * 16);
                var w3 = Vector512.LoadUnsafe(ref wk, 3 * 16);
                var x = Vector512.Create(Unsafe.Add(ref x0, k));
                a0 = Vector512.FusedMultiplyAdd(x, w0, a0);
                a1 = Vector512.FusedMultiplyAdd(x, w1, a1);
                a2 = Vector512.FusedMultiplyAdd(x, w2, a2);
                a3 = Vector512.FusedMultiplyAdd(x, w3, a3);
                x = Vector512.Create(Unsafe.Add(ref x1, k));
                b0 = Vector512.FusedMultiplyAdd(x, w0, b0);
                b1 = Vector512.FusedMultiplyAdd(x, w1, b1);
                b2 = Vector512.FusedMultiplyAdd(x, w2, b2);
                b3 = Vector512.FusedMultiplyAdd(x, w3, b3);
                x = Vector512.Create(Unsafe.Add(ref x2, k));
                c0 = Vector512.FusedMultiplyAdd(x, w0, c0);
                c1 = Vector512.FusedMultiplyAdd(x, w1, c1);
                c2 = Vector512.FusedMultiplyAdd(x, w2, c2);
                c3 = Vector512.FusedMultiplyAdd(x, w3, c3);
                x = Vector512.Create(Unsafe.Add(ref x3, k));
                d0 = Vector512.FusedMultiplyAdd(x, w0, d0);
                d1 = Vector512.FusedMultiplyAdd(x, w1, d1);
                d2 = Vector512.FusedMultiplyAdd(x, w2, d2);
                d3 = Vector512.FusedMultiplyAdd(x, w3, d3);
            }
            SmallColumnsStore4(a0, a1, a2, a3, ref scales, s0, ref biasRef, hasBias, ref y0, r, accumulate);
            SmallColumnsStore4(b0, b1, b2, b3, ref scales, s1, ref biasRef, hasBias, ref y1, r, accumulate);
            SmallColumnsStore4(c0, c1, c2, c3, ref scales, s2, ref biasRef, hasBias, ref y2, r, accumulate);
            SmallColumnsStore4(d0, d1, d2, d3, ref scales, s3, ref biasRef, hasBias, ref y3, r, accumulate);
        }
        for (; r + 16 <= rows; r += 16)
        {
            Vector512<float> a = default, b = default, c = default, d = default;
            ref float wk = ref Unsafe.Add(ref wRef, r);
            for (int k = 0; k < cols; k++, wk = ref Unsafe.Add(ref wk, stride))
            {
                var wv = Vector512.LoadUnsafe(ref wk);
                a = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref x0, k)), wv, a);
                b = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref x1, k)), wv, b);
                c = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref x2, k)), wv, c);
                d = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref x3, k)), wv, d);
            }
            StoreDequantized<Simd512, Vector512<float>>(a, ref scales, s0, ref biasRef, hasBias, ref y0, r, accumulate);
            StoreDequantized<Simd512, Vector512<float>>(b, ref scales, s1, ref biasRef, hasBias, ref y1, r, accumulate);
            StoreDequantized<Simd512, Vector512<float>>(c, ref scales, s2, ref biasRef, hasBias, ref y2, r, accumulate);
            StoreDequantized<Simd512, Vector512<float>>(d, ref scales, s3, ref biasRef, hasBias, ref y3, r, accumulate);
        }
        return r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SmallColumnsStore4(Vector512<float> a0, Vector512<float> a1, Vector512<float> a2, Vector512<float> a3, ref float scales,
        Vector512<float> xs, ref float bias, bool hasBias, ref float y, int r, bool accumulate)
    {
        StoreDequantized<Simd512, Vector512<float>>(a0, ref scales, xs, ref bias, hasBias, ref y, r, accumulate);
        StoreDequantized<Simd512, Vector512<float>>(a1, ref scales, xs, ref bias, hasBias, ref y, r + 16, accumulate);
        StoreDequantized<Simd512, Vector512<float>>(a2, ref scales, xs, ref bias, hasBias, ref y, r + 2 * 16, accumulate);
        StoreDequantized<Simd512, Vector512<float>>(a3, ref scales, xs, ref bias, hasBias, ref y, r + 3 * 16, accumulate);
    }

    /// <summary>
    /// One batch item of <see cref="SmallColumnsDequantize"/>, x given as floats (<paramref name="xf"/>, the int8
    /// values): widest vectors first, then narrower ones, then scalar code for the last rows.
    /// </summary>
    private void SmallColumnsRows(PackedInt8Matrix w, ReadOnlySpan<float> xf, float xs, ReadOnlySpan<float> bias, Span<float> y, bool accumulate, int rowStart)
    {
        float[] wt = w.ColumnsAsFloat;
        int rows = w.Rows, cols = w.Cols, stride = w.ColumnStride;
        ref float wRef = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(wt), w.ColumnsOrigin);
        ref float scales = ref w.ScalesStart;
        ref float biasRef = ref MemoryMarshal.GetReference(bias);
        bool hasBias = !bias.IsEmpty;
        ref float xr = ref MemoryMarshal.GetReference(xf);
        ref float yb = ref MemoryMarshal.GetReference(y);
        int r = rowStart;
        if (Vector512.IsHardwareAccelerated && _kernels.FloatBits >= 512)
            r = SmallColumnsTiles<Simd512, Vector512<float>>(ref wRef, stride, cols, ref xr, xs, ref scales, ref biasRef, hasBias, ref yb, r, rows, accumulate);
        if (Vector256.IsHardwareAccelerated && _kernels.FloatBits >= 256)
            r = SmallColumnsTiles<Simd256, Vector256<float>>(ref wRef, stride, cols, ref xr, xs, ref scales, ref biasRef, hasBias, ref yb, r, rows, accumulate);
        var xs4 = Vector128.Create(xs);
        // Written out for Vector128, not through SmallColumnsTiles: the generic form compiles to one more instruction
        // in this loop on arm64 (tools/arm-perf-model.sh, proj on Neoverse N1 6.99 -> 6.73 MAC/cycle).
        for (; r + 8 * 4 <= rows; r += 8 * 4)
        {
            // Eight independent accumulators: the fused multiply-add latency (4 cycles on Cortex-A72/A76, two pipes)
            // needs eight chains in flight; the k loop walks one pointer, the loads at immediate offsets.
            Vector128<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            ref float wk = ref Unsafe.Add(ref wRef, r);
            for (int k = 0; k < cols; k++, wk = ref Unsafe.Add(ref wk, stride))
            {
                var xk = Vector128.Create(Unsafe.Add(ref xr, k));
                a0 = Vector128.FusedMultiplyAdd(xk, Vector128.LoadUnsafe(ref wk), a0);
                a1 = Vector128.FusedMultiplyAdd(xk, Vector128.LoadUnsafe(ref wk, 4), a1);
                a2 = Vector128.FusedMultiplyAdd(xk, Vector128.LoadUnsafe(ref wk, 8), a2);
                a3 = Vector128.FusedMultiplyAdd(xk, Vector128.LoadUnsafe(ref wk, 12), a3);
                a4 = Vector128.FusedMultiplyAdd(xk, Vector128.LoadUnsafe(ref wk, 16), a4);
                a5 = Vector128.FusedMultiplyAdd(xk, Vector128.LoadUnsafe(ref wk, 20), a5);
                a6 = Vector128.FusedMultiplyAdd(xk, Vector128.LoadUnsafe(ref wk, 24), a6);
                a7 = Vector128.FusedMultiplyAdd(xk, Vector128.LoadUnsafe(ref wk, 28), a7);
            }
            StoreDequantized<Simd128, Vector128<float>>(a0, ref scales, xs4, ref biasRef, hasBias, ref yb, r, accumulate);
            StoreDequantized<Simd128, Vector128<float>>(a1, ref scales, xs4, ref biasRef, hasBias, ref yb, r + 4, accumulate);
            StoreDequantized<Simd128, Vector128<float>>(a2, ref scales, xs4, ref biasRef, hasBias, ref yb, r + 8, accumulate);
            StoreDequantized<Simd128, Vector128<float>>(a3, ref scales, xs4, ref biasRef, hasBias, ref yb, r + 12, accumulate);
            StoreDequantized<Simd128, Vector128<float>>(a4, ref scales, xs4, ref biasRef, hasBias, ref yb, r + 16, accumulate);
            StoreDequantized<Simd128, Vector128<float>>(a5, ref scales, xs4, ref biasRef, hasBias, ref yb, r + 20, accumulate);
            StoreDequantized<Simd128, Vector128<float>>(a6, ref scales, xs4, ref biasRef, hasBias, ref yb, r + 24, accumulate);
            StoreDequantized<Simd128, Vector128<float>>(a7, ref scales, xs4, ref biasRef, hasBias, ref yb, r + 28, accumulate);
        }
        for (; r + 16 <= rows; r += 16)
        {
            Vector128<float> a0 = default, a1 = default, a2 = default, a3 = default;
            ref float wr = ref Unsafe.Add(ref wRef, r);
            for (int k = 0; k < cols; k++)
            {
                var xk = Vector128.Create(Unsafe.Add(ref xr, k));
                ref float wk = ref Unsafe.Add(ref wr, k * stride);
                a0 = Vector128.FusedMultiplyAdd(xk, Vector128.LoadUnsafe(ref wk), a0);
                a1 = Vector128.FusedMultiplyAdd(xk, Vector128.LoadUnsafe(ref wk, 4), a1);
                a2 = Vector128.FusedMultiplyAdd(xk, Vector128.LoadUnsafe(ref wk, 8), a2);
                a3 = Vector128.FusedMultiplyAdd(xk, Vector128.LoadUnsafe(ref wk, 12), a3);
            }
            StoreDequantized<Simd128, Vector128<float>>(a0, ref scales, xs4, ref biasRef, hasBias, ref yb, r, accumulate);
            StoreDequantized<Simd128, Vector128<float>>(a1, ref scales, xs4, ref biasRef, hasBias, ref yb, r + 4, accumulate);
            StoreDequantized<Simd128, Vector128<float>>(a2, ref scales, xs4, ref biasRef, hasBias, ref yb, r + 8, accumulate);
            StoreDequantized<Simd128, Vector128<float>>(a3, ref scales, xs4, ref biasRef, hasBias, ref yb, r + 12, accumulate);
        }
        for (; r + 4 <= rows; r += 4)
        {
            var acc = Vector128<float>.Zero;
            for (int k = 0; k < cols; k++)
                acc = Vector128.FusedMultiplyAdd(Vector128.Create(Unsafe.Add(ref xr, k)), Vector128.LoadUnsafe(ref wRef, (nuint)(k * stride + r)), acc);
            StoreDequantized<Simd128, Vector128<float>>(acc, ref scales, xs4, ref biasRef, hasBias, ref yb, r, accumulate);
        }
        for (; r < rows; r++)
        {
            float acc = 0;
            for (int k = 0; k < cols; k++) acc = MathF.FusedMultiplyAdd(Unsafe.Add(ref xr, k), Unsafe.Add(ref wRef, k * stride + r), acc);
            float v = acc * Unsafe.Add(ref scales, r) * xs;
            if (hasBias) v += Unsafe.Add(ref biasRef, r);
            ref float yo = ref Unsafe.Add(ref yb, r);
            yo = accumulate ? yo + v : v;
        }
    }

    /// <summary>
    /// Rows from <paramref name="r"/> in tiles of eight vectors (eight independent accumulators, each a chain of K
    /// dependent multiply-adds; the k loop walks one pointer, the loads at immediate offsets), then one vector at a
    /// time: the 512- and 256-bit rows (x64). Returns the first row not done.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int SmallColumnsTiles<TWidth, TVec>(ref float wRef, int stride, int cols, ref float xr, float xs, ref float scales,
        ref float biasRef, bool hasBias, ref float yb, int r, int rows, bool accumulate) where TWidth : ISimd<TVec> where TVec : struct
    {
        int v = TWidth.Count;
        nuint n = (nuint)v;
        var xsv = TWidth.Create(xs);
        for (; r + 8 * v <= rows; r += 8 * v)
        {
            TVec a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            ref float wk = ref Unsafe.Add(ref wRef, r);
            for (int k = 0; k < cols; k++, wk = ref Unsafe.Add(ref wk, stride))
            {
                var xk = TWidth.Create(Unsafe.Add(ref xr, k));
                a0 = TWidth.FusedMultiplyAdd(xk, TWidth.Load(ref wk, 0), a0);
                a1 = TWidth.FusedMultiplyAdd(xk, TWidth.Load(ref wk, n), a1);
                a2 = TWidth.FusedMultiplyAdd(xk, TWidth.Load(ref wk, 2 * n), a2);
                a3 = TWidth.FusedMultiplyAdd(xk, TWidth.Load(ref wk, 3 * n), a3);
                a4 = TWidth.FusedMultiplyAdd(xk, TWidth.Load(ref wk, 4 * n), a4);
                a5 = TWidth.FusedMultiplyAdd(xk, TWidth.Load(ref wk, 5 * n), a5);
                a6 = TWidth.FusedMultiplyAdd(xk, TWidth.Load(ref wk, 6 * n), a6);
                a7 = TWidth.FusedMultiplyAdd(xk, TWidth.Load(ref wk, 7 * n), a7);
            }
            StoreDequantized<TWidth, TVec>(a0, ref scales, xsv, ref biasRef, hasBias, ref yb, r, accumulate);
            StoreDequantized<TWidth, TVec>(a1, ref scales, xsv, ref biasRef, hasBias, ref yb, r + v, accumulate);
            StoreDequantized<TWidth, TVec>(a2, ref scales, xsv, ref biasRef, hasBias, ref yb, r + 2 * v, accumulate);
            StoreDequantized<TWidth, TVec>(a3, ref scales, xsv, ref biasRef, hasBias, ref yb, r + 3 * v, accumulate);
            StoreDequantized<TWidth, TVec>(a4, ref scales, xsv, ref biasRef, hasBias, ref yb, r + 4 * v, accumulate);
            StoreDequantized<TWidth, TVec>(a5, ref scales, xsv, ref biasRef, hasBias, ref yb, r + 5 * v, accumulate);
            StoreDequantized<TWidth, TVec>(a6, ref scales, xsv, ref biasRef, hasBias, ref yb, r + 6 * v, accumulate);
            StoreDequantized<TWidth, TVec>(a7, ref scales, xsv, ref biasRef, hasBias, ref yb, r + 7 * v, accumulate);
        }
        for (; r + v <= rows; r += v)
        {
            TVec acc = default;
            for (int k = 0; k < cols; k++)
                acc = TWidth.FusedMultiplyAdd(TWidth.Create(Unsafe.Add(ref xr, k)), TWidth.Load(ref wRef, (nuint)(k * stride + r)), acc);
            StoreDequantized<TWidth, TVec>(acc, ref scales, xsv, ref biasRef, hasBias, ref yb, r, accumulate);
        }
        return r;
    }

    /// <summary>Dequantizes fp32 accumulators of rows [r, r + lanes): (acc · rowScale) · xScale, + bias, then y + v (Dequantize's operations in its order).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreDequantized<TWidth, TVec>(TVec acc, ref float scales, TVec xs, ref float bias, bool hasBias, ref float y, int r, bool accumulate)
        where TWidth : ISimd<TVec> where TVec : struct
    {
        var v = TWidth.Multiply(TWidth.Multiply(acc, TWidth.Load(ref scales, (nuint)r)), xs);
        if (hasBias) v = TWidth.Add(v, TWidth.Load(ref bias, (nuint)r));
        if (accumulate) v = TWidth.Add(TWidth.Load(ref y, (nuint)r), v);
        TWidth.Store(v, ref y, (nuint)r);
    }
}
