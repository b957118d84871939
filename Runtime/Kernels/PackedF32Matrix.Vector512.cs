using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Edge.Runtime.Kernels;

/// <summary>The Vector512 kernel of <see cref="PackedF32Matrix.MultiplyAdd"/> (AVX-512: panels of 64 rows).</summary>
internal sealed partial class PackedF32Matrix
{
    /// <summary>y[0 .. rows) += the segment at <paramref name="w"/> times x: whole panels, then the last one (1 to 4 vectors, padded).</summary>
    private static void Segment512(ref float w, ref float x, nuint cols, ref float y, int rows)
    {
        const int V = 16; // Vector512<float>.Count
        const int P = PanelVectors * V;
        int r0 = 0;
        for (; r0 + P <= rows; r0 += P)
        {
            Panel512<Four>(ref w, ref x, cols, ref Unsafe.Add(ref y, r0), P);
            w = ref Unsafe.Add(ref w, P * cols);
        }
        int left = rows - r0;
        ref float yl = ref Unsafe.Add(ref y, r0);
        switch ((left + V - 1) / V)
        {
            case 1: Panel512<One>(ref w, ref x, cols, ref yl, left); break;
            case 2: Panel512<Two>(ref w, ref x, cols, ref yl, left); break;
            case 3: Panel512<Three>(ref w, ref x, cols, ref yl, left); break;
            case 4: Panel512<Four>(ref w, ref x, cols, ref yl, left); break;
        }
    }

    /// <summary>
    /// One panel of TCount vectors of rows: the sums stay in registers over all k, two k per iteration into two
    /// sets of accumulators (a for even k, b for odd) so eight multiply-add chains are in flight for a full panel;
    /// y gets the first <paramref name="valid"/> rows once at the end.
    /// </summary>
    private static void Panel512<TCount>(ref float w, ref float x, nuint cols, ref float y, int valid) where TCount : struct, IVectorCount
    {
        const int V = 16;
        nuint stride = (nuint)(TCount.Value * V);
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default;
        nuint k = 0;
        for (; k + 2 <= cols; k += 2)
        {
            var x0 = Vector512.Create(Unsafe.Add(ref x, k));
            var x1 = Vector512.Create(Unsafe.Add(ref x, k + 1));
            a0 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref w), x0, a0);
            if (TCount.Value > 1) a1 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref w, V), x0, a1);
            if (TCount.Value > 2) a2 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref w, 2 * V), x0, a2);
            if (TCount.Value > 3) a3 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref w, 3 * V), x0, a3);
            b0 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref w, stride), x1, b0);
            if (TCount.Value > 1) b1 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref w, stride + V), x1, b1);
            if (TCount.Value > 2) b2 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref w, stride + 2 * V), x1, b2);
            if (TCount.Value > 3) b3 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref w, stride + 3 * V), x1, b3);
            w = ref Unsafe.Add(ref w, 2 * stride);
        }
        if (k < cols)
        {
            var x0 = Vector512.Create(Unsafe.Add(ref x, k));
            a0 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref w), x0, a0);
            if (TCount.Value > 1) a1 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref w, V), x0, a1);
            if (TCount.Value > 2) a2 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref w, 2 * V), x0, a2);
            if (TCount.Value > 3) a3 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref w, 3 * V), x0, a3);
        }
        Add512(a0 + b0, ref y, 0, valid);
        if (TCount.Value > 1) Add512(a1 + b1, ref y, V, valid);
        if (TCount.Value > 2) Add512(a2 + b2, ref y, 2 * V, valid);
        if (TCount.Value > 3) Add512(a3 + b3, ref y, 3 * V, valid);
    }

    /// <summary>y[at .. at + 16) += sum, cut at <paramref name="valid"/> (the padding rows of a last panel are dropped).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Add512(Vector512<float> sum, ref float y, int at, int valid)
    {
        if (at + Vector512<float>.Count <= valid)
            (Vector512.LoadUnsafe(ref y, (nuint)at) + sum).StoreUnsafe(ref y, (nuint)at);
        else
            for (int i = at; i < valid; i++) Unsafe.Add(ref y, i) += sum.GetElement(i - at);
    }
}
