using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Edge.Runtime.Kernels;

// f32-gemv 4xN, written once over the vector width (ISimd): 4x16 with Vector512 (AVX-512), 4x8 with Vector256
// (AVX2), 4x4 with Vector128 (NEON). The scalar specification is Fp32Scalar (Gemv.Scalar.cs).
internal sealed partial class Gemv
{
    private static void Fp32Vector<TWidth, TVec>(ReadOnlySpan<float> w, int rows, int cols, int wStride, ReadOnlySpan<float> x, ReadOnlySpan<float> bias, Span<float> y, bool accumulate)
        where TWidth : ISimd<TVec> where TVec : struct
    {
        ref float wRef = ref MemoryMarshal.GetReference(w);
        ref float xRef = ref MemoryMarshal.GetReference(x);
        int v = TWidth.Count;
        int vecEnd = cols & ~(v - 1);
        int r = 0;
        for (; r + 4 <= rows; r += 4)
        {
            ref float w0 = ref Unsafe.Add(ref wRef, r * wStride);
            ref float w1 = ref Unsafe.Add(ref w0, wStride);
            ref float w2 = ref Unsafe.Add(ref w1, wStride);
            ref float w3 = ref Unsafe.Add(ref w2, wStride);
            TVec s0 = default, s1 = default, s2 = default, s3 = default;
            for (int k = 0; k < vecEnd; k += v)
            {
                var xv = TWidth.Load(ref xRef, (nuint)k);
                s0 = TWidth.MultiplyAddEstimate(TWidth.Load(ref w0, (nuint)k), xv, s0);
                s1 = TWidth.MultiplyAddEstimate(TWidth.Load(ref w1, (nuint)k), xv, s1);
                s2 = TWidth.MultiplyAddEstimate(TWidth.Load(ref w2, (nuint)k), xv, s2);
                s3 = TWidth.MultiplyAddEstimate(TWidth.Load(ref w3, (nuint)k), xv, s3);
            }
            float t0 = TWidth.Sum(s0), t1 = TWidth.Sum(s1), t2 = TWidth.Sum(s2), t3 = TWidth.Sum(s3);
            for (int k = vecEnd; k < cols; k++)
            {
                float xk = Unsafe.Add(ref xRef, k);
                t0 += Unsafe.Add(ref w0, k) * xk;
                t1 += Unsafe.Add(ref w1, k) * xk;
                t2 += Unsafe.Add(ref w2, k) * xk;
                t3 += Unsafe.Add(ref w3, k) * xk;
            }
            Fp32Finish(y, bias, r, t0, accumulate);
            Fp32Finish(y, bias, r + 1, t1, accumulate);
            Fp32Finish(y, bias, r + 2, t2, accumulate);
            Fp32Finish(y, bias, r + 3, t3, accumulate);
        }
        for (; r < rows; r++)
        {
            ref float w0 = ref Unsafe.Add(ref wRef, r * wStride);
            TVec s0 = default;
            for (int k = 0; k < vecEnd; k += v)
                s0 = TWidth.MultiplyAddEstimate(TWidth.Load(ref w0, (nuint)k), TWidth.Load(ref xRef, (nuint)k), s0);
            float t0 = TWidth.Sum(s0);
            for (int k = vecEnd; k < cols; k++) t0 += Unsafe.Add(ref w0, k) * Unsafe.Add(ref xRef, k);
            Fp32Finish(y, bias, r, t0, accumulate);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Fp32Finish(Span<float> y, ReadOnlySpan<float> bias, int r, float dot, bool accumulate)
    {
        if (!bias.IsEmpty) dot += bias[r];
        y[r] = accumulate ? y[r] + dot : dot;
    }

    /// <summary>
    /// Activation quantization from element <paramref name="i"/> in blocks of four vectors: v · inv, clamped to
    /// [-127, 127], rounded half to even (the per-element spec of <see cref="PackedInt8Matrix.QuantizeRow"/> in
    /// vector form). Returns where it stopped (fewer than a block left).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int QuantizeBlocks<TWidth, TVec>(ReadOnlySpan<float> x, Span<sbyte> q, float inv, int i)
        where TWidth : ISimd<TVec> where TVec : struct
    {
        ref float src = ref MemoryMarshal.GetReference(x);
        ref sbyte dst = ref MemoryMarshal.GetReference(q);
        var vi = TWidth.Create(inv);
        var lo = TWidth.Create(-127f);
        var hi = TWidth.Create(127f);
        int v = TWidth.Count;
        for (; i <= x.Length - 4 * v; i += 4 * v)
        {
            var a = TWidth.Round(TWidth.Clamp(TWidth.Multiply(TWidth.Load(ref src, (nuint)i), vi), lo, hi));
            var b = TWidth.Round(TWidth.Clamp(TWidth.Multiply(TWidth.Load(ref src, (nuint)(i + v)), vi), lo, hi));
            var c = TWidth.Round(TWidth.Clamp(TWidth.Multiply(TWidth.Load(ref src, (nuint)(i + 2 * v)), vi), lo, hi));
            var d = TWidth.Round(TWidth.Clamp(TWidth.Multiply(TWidth.Load(ref src, (nuint)(i + 3 * v)), vi), lo, hi));
            TWidth.StoreAsSByte(a, b, c, d, ref dst, (nuint)i);
        }
        return i;
    }

    /// <summary>
    /// The vector part of activation quantization with 128-bit vectors (NEON, and SSE): blocks of 16. Written out,
    /// not through QuantizeBlocks: the generic loop costs a cycle more per block on Neoverse N1
    /// (tools/arm-perf-model.sh, quant).
    /// </summary>
    private static int QuantizeVector128(ReadOnlySpan<float> x, Span<sbyte> q, float inv)
    {
        ref float src = ref MemoryMarshal.GetReference(x);
        ref sbyte dst = ref MemoryMarshal.GetReference(q);
        var vi = Vector128.Create(inv);
        var lo = Vector128.Create(-127f);
        var hi = Vector128.Create(127f);
        int i = 0;
        for (; i <= x.Length - 16; i += 16)
        {
            var a = Vector128.ConvertToInt32(Vector128.Round(Vector128.Clamp(Vector128.LoadUnsafe(ref src, (nuint)i) * vi, lo, hi)));
            var b = Vector128.ConvertToInt32(Vector128.Round(Vector128.Clamp(Vector128.LoadUnsafe(ref src, (nuint)(i + 4)) * vi, lo, hi)));
            var c = Vector128.ConvertToInt32(Vector128.Round(Vector128.Clamp(Vector128.LoadUnsafe(ref src, (nuint)(i + 8)) * vi, lo, hi)));
            var d = Vector128.ConvertToInt32(Vector128.Round(Vector128.Clamp(Vector128.LoadUnsafe(ref src, (nuint)(i + 12)) * vi, lo, hi)));
            Vector128.Narrow(Vector128.Narrow(a, b), Vector128.Narrow(c, d)).StoreUnsafe(ref dst, (nuint)i);
        }
        return i;
    }

    /// <summary>The same with 256-bit vectors (AVX2): blocks of 32, then of 16.</summary>
    private static int QuantizeVector256(ReadOnlySpan<float> x, Span<sbyte> q, float inv)
    {
        int i = QuantizeBlocks<Simd256, Vector256<float>>(x, q, inv, 0);
        return i + QuantizeVector128(x[i..], q[i..], inv);
    }

    /// <summary>The same with 512-bit vectors (AVX-512): blocks of 64, 32, then 16.</summary>
    private static int QuantizeVector512(ReadOnlySpan<float> x, Span<sbyte> q, float inv)
    {
        int i = QuantizeBlocks<Simd512, Vector512<float>>(x, q, inv, 0);
        return i + QuantizeVector256(x[i..], q[i..], inv);
    }
}
