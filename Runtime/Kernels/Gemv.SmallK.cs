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
public sealed partial class Gemv
{
    /// <summary>Largest K the fp32-exact path takes (16 · 127 · 127 = 258,064 &lt; 2^24).</summary>
    public const int SmallColumns = 16;

    private bool UsesSmallColumns(PackedInt8Matrix w) => w.Cols <= SmallColumns && Isa != Isa.Scalar && Vector128.IsHardwareAccelerated;

    /// <summary>
    /// <see cref="MultiplyInt8Dequantize"/> for K ≤ <see cref="SmallColumns"/>: y[b][r] (+)= (float)acc · rowScale[r] ·
    /// xScale[b] (+ bias[r]) with acc = Σ_k W[r, k] · x[b][k] accumulated exactly in fp32.
    /// </summary>
    [SkipLocalsInit]
    private void SmallColumnsDequantize(PackedInt8Matrix w, ReadOnlySpan<sbyte> x, int xStride, ReadOnlySpan<float> xScales, int batch,
        ReadOnlySpan<float> bias, Span<float> y, int yStride, bool accumulate)
    {
        Span<float> xf = stackalloc float[SmallColumns];
        for (int b = 0; b < batch; b++)
        {
            var xb = x.Slice(b * xStride, w.Cols);
            for (int k = 0; k < xb.Length; k++) xf[k] = xb[k];
            SmallColumnsRows(w, xf, xScales[b], bias, y.Slice(b * yStride), accumulate);
        }
    }

    /// <summary>
    /// One batch item of <see cref="SmallColumnsDequantize"/>, x given as floats (<paramref name="xf"/>, the int8
    /// values): widest vectors first, then narrower ones, then scalar code for the last rows.
    /// </summary>
    private void SmallColumnsRows(PackedInt8Matrix w, ReadOnlySpan<float> xf, float xs, ReadOnlySpan<float> bias, Span<float> y, bool accumulate)
    {
        float[] wt = w.ColumnsAsFloat;
        int rows = w.Rows, cols = w.Cols, stride = w.ColumnStride;
        ref float wRef = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(wt), w.ColumnsOrigin);
        ref float scales = ref MemoryMarshal.GetArrayDataReference(w.PaddedScales);
        ref float biasRef = ref MemoryMarshal.GetReference(bias);
        bool hasBias = !bias.IsEmpty;
        ref float xr = ref MemoryMarshal.GetReference(xf);
        ref float yb = ref MemoryMarshal.GetReference(y);
        int r = 0;
        if (Isa == Isa.Avx512Vnni && Vector512.IsHardwareAccelerated)
        {
            var xsv = Vector512.Create(xs);
            for (; r + 8 * 16 <= rows; r += 8 * 16)
            {
                // Eight independent accumulators, each a chain of K dependent multiply-adds.
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
                ref float wk = ref Unsafe.Add(ref wRef, r);
                for (int k = 0; k < cols; k++, wk = ref Unsafe.Add(ref wk, stride))
                {
                    var xk = Vector512.Create(Unsafe.Add(ref xr, k));
                    a0 = Vector512.FusedMultiplyAdd(xk, Vector512.LoadUnsafe(ref wk), a0);
                    a1 = Vector512.FusedMultiplyAdd(xk, Vector512.LoadUnsafe(ref wk, 16), a1);
                    a2 = Vector512.FusedMultiplyAdd(xk, Vector512.LoadUnsafe(ref wk, 2 * 16), a2);
                    a3 = Vector512.FusedMultiplyAdd(xk, Vector512.LoadUnsafe(ref wk, 3 * 16), a3);
                    a4 = Vector512.FusedMultiplyAdd(xk, Vector512.LoadUnsafe(ref wk, 4 * 16), a4);
                    a5 = Vector512.FusedMultiplyAdd(xk, Vector512.LoadUnsafe(ref wk, 5 * 16), a5);
                    a6 = Vector512.FusedMultiplyAdd(xk, Vector512.LoadUnsafe(ref wk, 6 * 16), a6);
                    a7 = Vector512.FusedMultiplyAdd(xk, Vector512.LoadUnsafe(ref wk, 7 * 16), a7);
                }
                SmallColumnsStore(a0, ref scales, xsv, ref biasRef, hasBias, ref yb, r, accumulate);
                SmallColumnsStore(a1, ref scales, xsv, ref biasRef, hasBias, ref yb, r + 16, accumulate);
                SmallColumnsStore(a2, ref scales, xsv, ref biasRef, hasBias, ref yb, r + 2 * 16, accumulate);
                SmallColumnsStore(a3, ref scales, xsv, ref biasRef, hasBias, ref yb, r + 3 * 16, accumulate);
                SmallColumnsStore(a4, ref scales, xsv, ref biasRef, hasBias, ref yb, r + 4 * 16, accumulate);
                SmallColumnsStore(a5, ref scales, xsv, ref biasRef, hasBias, ref yb, r + 5 * 16, accumulate);
                SmallColumnsStore(a6, ref scales, xsv, ref biasRef, hasBias, ref yb, r + 6 * 16, accumulate);
                SmallColumnsStore(a7, ref scales, xsv, ref biasRef, hasBias, ref yb, r + 7 * 16, accumulate);
            }
            for (; r + 16 <= rows; r += 16)
            {
                var acc = Vector512<float>.Zero;
                for (int k = 0; k < cols; k++)
                    acc = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref xr, k)), Vector512.LoadUnsafe(ref wRef, (nuint)(k * stride + r)), acc);
                SmallColumnsStore(acc, ref scales, xsv, ref biasRef, hasBias, ref yb, r, accumulate);
            }
        }
        if (Isa is Isa.Avx2 or Isa.Avx512Vnni && Vector256.IsHardwareAccelerated)
        {
            var xsv = Vector256.Create(xs);
            for (; r + 8 * 8 <= rows; r += 8 * 8)
            {
                // Eight independent accumulators, each a chain of K dependent multiply-adds.
                Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
                ref float wk = ref Unsafe.Add(ref wRef, r);
                for (int k = 0; k < cols; k++, wk = ref Unsafe.Add(ref wk, stride))
                {
                    var xk = Vector256.Create(Unsafe.Add(ref xr, k));
                    a0 = Vector256.FusedMultiplyAdd(xk, Vector256.LoadUnsafe(ref wk), a0);
                    a1 = Vector256.FusedMultiplyAdd(xk, Vector256.LoadUnsafe(ref wk, 8), a1);
                    a2 = Vector256.FusedMultiplyAdd(xk, Vector256.LoadUnsafe(ref wk, 2 * 8), a2);
                    a3 = Vector256.FusedMultiplyAdd(xk, Vector256.LoadUnsafe(ref wk, 3 * 8), a3);
                    a4 = Vector256.FusedMultiplyAdd(xk, Vector256.LoadUnsafe(ref wk, 4 * 8), a4);
                    a5 = Vector256.FusedMultiplyAdd(xk, Vector256.LoadUnsafe(ref wk, 5 * 8), a5);
                    a6 = Vector256.FusedMultiplyAdd(xk, Vector256.LoadUnsafe(ref wk, 6 * 8), a6);
                    a7 = Vector256.FusedMultiplyAdd(xk, Vector256.LoadUnsafe(ref wk, 7 * 8), a7);
                }
                SmallColumnsStore(a0, ref scales, xsv, ref biasRef, hasBias, ref yb, r, accumulate);
                SmallColumnsStore(a1, ref scales, xsv, ref biasRef, hasBias, ref yb, r + 8, accumulate);
                SmallColumnsStore(a2, ref scales, xsv, ref biasRef, hasBias, ref yb, r + 2 * 8, accumulate);
                SmallColumnsStore(a3, ref scales, xsv, ref biasRef, hasBias, ref yb, r + 3 * 8, accumulate);
                SmallColumnsStore(a4, ref scales, xsv, ref biasRef, hasBias, ref yb, r + 4 * 8, accumulate);
                SmallColumnsStore(a5, ref scales, xsv, ref biasRef, hasBias, ref yb, r + 5 * 8, accumulate);
                SmallColumnsStore(a6, ref scales, xsv, ref biasRef, hasBias, ref yb, r + 6 * 8, accumulate);
                SmallColumnsStore(a7, ref scales, xsv, ref biasRef, hasBias, ref yb, r + 7 * 8, accumulate);
            }
            for (; r + 8 <= rows; r += 8)
            {
                var acc = Vector256<float>.Zero;
                for (int k = 0; k < cols; k++)
                    acc = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref xr, k)), Vector256.LoadUnsafe(ref wRef, (nuint)(k * stride + r)), acc);
                SmallColumnsStore(acc, ref scales, xsv, ref biasRef, hasBias, ref yb, r, accumulate);
            }
        }
        var xs4 = Vector128.Create(xs);
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
            SmallColumnsStore(a0, ref scales, xs4, ref biasRef, hasBias, ref yb, r, accumulate);
            SmallColumnsStore(a1, ref scales, xs4, ref biasRef, hasBias, ref yb, r + 4, accumulate);
            SmallColumnsStore(a2, ref scales, xs4, ref biasRef, hasBias, ref yb, r + 8, accumulate);
            SmallColumnsStore(a3, ref scales, xs4, ref biasRef, hasBias, ref yb, r + 12, accumulate);
        }
        for (; r + 4 <= rows; r += 4)
        {
            var acc = Vector128<float>.Zero;
            for (int k = 0; k < cols; k++)
                acc = Vector128.FusedMultiplyAdd(Vector128.Create(Unsafe.Add(ref xr, k)), Vector128.LoadUnsafe(ref wRef, (nuint)(k * stride + r)), acc);
            SmallColumnsStore(acc, ref scales, xs4, ref biasRef, hasBias, ref yb, r, accumulate);
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

    /// <summary>Dequantizes exact fp32 accumulators of rows [r, r + lanes): Dequantize's operations in its order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SmallColumnsStore(Vector512<float> acc, ref float scales, Vector512<float> xs, ref float bias, bool hasBias, ref float y, int r, bool accumulate)
    {
        var v = acc * Vector512.LoadUnsafe(ref scales, (nuint)r) * xs;
        if (hasBias) v += Vector512.LoadUnsafe(ref bias, (nuint)r);
        if (accumulate) v = Vector512.LoadUnsafe(ref y, (nuint)r) + v;
        v.StoreUnsafe(ref y, (nuint)r);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SmallColumnsStore(Vector256<float> acc, ref float scales, Vector256<float> xs, ref float bias, bool hasBias, ref float y, int r, bool accumulate)
    {
        var v = acc * Vector256.LoadUnsafe(ref scales, (nuint)r) * xs;
        if (hasBias) v += Vector256.LoadUnsafe(ref bias, (nuint)r);
        if (accumulate) v = Vector256.LoadUnsafe(ref y, (nuint)r) + v;
        v.StoreUnsafe(ref y, (nuint)r);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SmallColumnsStore(Vector128<float> acc, ref float scales, Vector128<float> xs, ref float bias, bool hasBias, ref float y, int r, bool accumulate)
    {
        var v = acc * Vector128.LoadUnsafe(ref scales, (nuint)r) * xs;
        if (hasBias) v += Vector128.LoadUnsafe(ref bias, (nuint)r);
        if (accumulate) v = Vector128.LoadUnsafe(ref y, (nuint)r) + v;
        v.StoreUnsafe(ref y, (nuint)r);
    }
}
