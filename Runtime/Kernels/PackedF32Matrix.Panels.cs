using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Edge.Runtime.Kernels;

/// <summary>The vector kernel of <see cref="PackedF32Matrix.MultiplyAdd"/>, written once over the width
/// (<see cref="ISimd{TVec}"/>): panels of 64 rows with Vector512 (AVX-512), 32 with Vector256 (AVX2), 16 with
/// Vector128 (NEON, and SSE when AVX2 is off).</summary>
internal sealed partial class PackedF32Matrix
{
    /// <summary>y[0 .. rows) += the segment at <paramref name="w"/> times x: whole panels, then the last one (1 to 4 vectors, padded).</summary>
    private static void Segment<TWidth, TVec>(ref float w, ref float x, nuint cols, ref float y, int rows)
        where TWidth : ISimd<TVec> where TVec : struct
    {
        int v = TWidth.Count;
        int p = PanelVectors * v;
        int r0 = 0;
        for (; r0 + p <= rows; r0 += p)
        {
            Panel<TWidth, TVec, Four>(ref w, ref x, cols, ref Unsafe.Add(ref y, r0), p);
            w = ref Unsafe.Add(ref w, (nuint)p * cols);
        }
        int left = rows - r0;
        ref float yl = ref Unsafe.Add(ref y, r0);
        switch ((left + v - 1) / v)
        {
            case 1: Panel<TWidth, TVec, One>(ref w, ref x, cols, ref yl, left); break;
            case 2: Panel<TWidth, TVec, Two>(ref w, ref x, cols, ref yl, left); break;
            case 3: Panel<TWidth, TVec, Three>(ref w, ref x, cols, ref yl, left); break;
            case 4: Panel<TWidth, TVec, Four>(ref w, ref x, cols, ref yl, left); break;
        }
    }

    /// <summary>
    /// One panel of TCount vectors of rows: the sums stay in registers over all k, two k per iteration into two
    /// sets of accumulators (a for even k, b for odd) so eight multiply-add chains are in flight for a full panel;
    /// y gets the first <paramref name="valid"/> rows once at the end.
    /// </summary>
    private static void Panel<TWidth, TVec, TCount>(ref float w, ref float x, nuint cols, ref float y, int valid)
        where TWidth : ISimd<TVec> where TVec : struct where TCount : struct, IVectorCount
    {
        nuint v = (nuint)TWidth.Count;
        nuint stride = (nuint)TCount.Value * v;
        TVec a0 = default, a1 = default, a2 = default, a3 = default;
        TVec b0 = default, b1 = default, b2 = default, b3 = default;
        nuint k = 0;
        for (; k + 2 <= cols; k += 2)
        {
            var x0 = TWidth.Create(Unsafe.Add(ref x, k));
            var x1 = TWidth.Create(Unsafe.Add(ref x, k + 1));
            a0 = TWidth.MultiplyAddEstimate(TWidth.Load(ref w, 0), x0, a0);
            if (TCount.Value > 1) a1 = TWidth.MultiplyAddEstimate(TWidth.Load(ref w, v), x0, a1);
            if (TCount.Value > 2) a2 = TWidth.MultiplyAddEstimate(TWidth.Load(ref w, 2 * v), x0, a2);
            if (TCount.Value > 3) a3 = TWidth.MultiplyAddEstimate(TWidth.Load(ref w, 3 * v), x0, a3);
            b0 = TWidth.MultiplyAddEstimate(TWidth.Load(ref w, stride), x1, b0);
            if (TCount.Value > 1) b1 = TWidth.MultiplyAddEstimate(TWidth.Load(ref w, stride + v), x1, b1);
            if (TCount.Value > 2) b2 = TWidth.MultiplyAddEstimate(TWidth.Load(ref w, stride + 2 * v), x1, b2);
            if (TCount.Value > 3) b3 = TWidth.MultiplyAddEstimate(TWidth.Load(ref w, stride + 3 * v), x1, b3);
            w = ref Unsafe.Add(ref w, 2 * stride);
        }
        if (k < cols)
        {
            var x0 = TWidth.Create(Unsafe.Add(ref x, k));
            a0 = TWidth.MultiplyAddEstimate(TWidth.Load(ref w, 0), x0, a0);
            if (TCount.Value > 1) a1 = TWidth.MultiplyAddEstimate(TWidth.Load(ref w, v), x0, a1);
            if (TCount.Value > 2) a2 = TWidth.MultiplyAddEstimate(TWidth.Load(ref w, 2 * v), x0, a2);
            if (TCount.Value > 3) a3 = TWidth.MultiplyAddEstimate(TWidth.Load(ref w, 3 * v), x0, a3);
        }
        AddTo<TWidth, TVec>(TWidth.Add(a0, b0), ref y, 0, valid);
        if (TCount.Value > 1) AddTo<TWidth, TVec>(TWidth.Add(a1, b1), ref y, TWidth.Count, valid);
        if (TCount.Value > 2) AddTo<TWidth, TVec>(TWidth.Add(a2, b2), ref y, 2 * TWidth.Count, valid);
        if (TCount.Value > 3) AddTo<TWidth, TVec>(TWidth.Add(a3, b3), ref y, 3 * TWidth.Count, valid);
    }

    /// <summary>y[at .. at + Count) += sum, cut at <paramref name="valid"/> (the padding rows of a last panel are dropped).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddTo<TWidth, TVec>(TVec sum, ref float y, int at, int valid) where TWidth : ISimd<TVec> where TVec : struct
    {
        if (at + TWidth.Count <= valid)
            TWidth.Store(TWidth.Add(TWidth.Load(ref y, (nuint)at), sum), ref y, (nuint)at);
        else
            for (int i = at; i < valid; i++) Unsafe.Add(ref y, i) += TWidth.GetElement(sum, i - at);
    }
}
