using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace Edge.Runtime.Kernels;

// qs8-gemv 8x4c4 (grouped) neon (smull/smlal + sadalp) and f32-gemv 4x4 neon (Vector128).
public sealed partial class Gemv
{
    /// <summary>
    /// Each 16-byte load holds 4 rows x 4 k. smull multiplies two rows' 8 bytes by x[k..k+3] (broadcast) into
    /// int16, smlal adds the next k group's products: each int16 lane is w·x + w'·x' ≤ 2·127·127 = 32258, so
    /// no wrap (weights and activations are in [-127, 127]). sadalp folds adjacent int16 pairs into the int32
    /// accumulator (lanes: row a k01, row a k23, row b k01, row b k23); a final addp of two accumulators
    /// gives one int32 per row. Needs K padded to 8 (it is: whole k-octets).
    /// </summary>
    private static void Int8Neon(PackedInt8Matrix w, ReadOnlySpan<byte> xp, int nb, int blockStart, int blockEnd, Span<int> y, int yStride)
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
                Vector128<int> a01 = default, a23 = default, a45 = default, a67 = default;
                nuint at = 0;
                for (nuint k = 0; k < (nuint)kp; k += 8, at += (nuint)octetStride)
                {
                    var x0 = Vector128.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref x, k)))).AsSByte();
                    var x1 = Vector128.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref x, k + 4)))).AsSByte();
                    var w0a = Vector128.LoadUnsafe(ref wb, at);      // rows 0-3, k group k/4
                    var w0b = Vector128.LoadUnsafe(ref wb, at + 16); // rows 4-7
                    var w1a = Vector128.LoadUnsafe(ref wb, at + 32); // rows 0-3, next group
                    var w1b = Vector128.LoadUnsafe(ref wb, at + 48);
                    var x0l = x0.GetLower();
                    var x1l = x1.GetLower();
                    a01 = AdvSimd.AddPairwiseWideningAndAdd(a01, AdvSimd.MultiplyWideningLowerAndAdd(AdvSimd.MultiplyWideningLower(w0a.GetLower(), x0l), w1a.GetLower(), x1l));
                    a23 = AdvSimd.AddPairwiseWideningAndAdd(a23, AdvSimd.MultiplyWideningUpperAndAdd(AdvSimd.MultiplyWideningUpper(w0a, x0), w1a, x1));
                    a45 = AdvSimd.AddPairwiseWideningAndAdd(a45, AdvSimd.MultiplyWideningLowerAndAdd(AdvSimd.MultiplyWideningLower(w0b.GetLower(), x0l), w1b.GetLower(), x1l));
                    a67 = AdvSimd.AddPairwiseWideningAndAdd(a67, AdvSimd.MultiplyWideningUpperAndAdd(AdvSimd.MultiplyWideningUpper(w0b, x0), w1b, x1));
                }
                StoreBlock(AdvSimd.Arm64.AddPairwise(a01, a23), AdvSimd.Arm64.AddPairwise(a45, a67), ref yRef, b * yStride + outRow, valid);
            }
        }
    }

    private static void Fp32Vector128(ReadOnlySpan<float> w, int rows, int cols, int wStride, ReadOnlySpan<float> x, ReadOnlySpan<float> bias, Span<float> y, bool accumulate)
    {
        ref float wRef = ref MemoryMarshal.GetReference(w);
        ref float xRef = ref MemoryMarshal.GetReference(x);
        int vecEnd = cols & ~3;
        int r = 0;
        for (; r + 4 <= rows; r += 4)
        {
            ref float w0 = ref Unsafe.Add(ref wRef, r * wStride);
            ref float w1 = ref Unsafe.Add(ref w0, wStride);
            ref float w2 = ref Unsafe.Add(ref w1, wStride);
            ref float w3 = ref Unsafe.Add(ref w2, wStride);
            Vector128<float> s0 = default, s1 = default, s2 = default, s3 = default;
            for (int k = 0; k < vecEnd; k += 4)
            {
                var xv = Vector128.LoadUnsafe(ref xRef, (nuint)k);
                s0 = MulAdd(Vector128.LoadUnsafe(ref w0, (nuint)k), xv, s0);
                s1 = MulAdd(Vector128.LoadUnsafe(ref w1, (nuint)k), xv, s1);
                s2 = MulAdd(Vector128.LoadUnsafe(ref w2, (nuint)k), xv, s2);
                s3 = MulAdd(Vector128.LoadUnsafe(ref w3, (nuint)k), xv, s3);
            }
            float t0 = Vector128.Sum(s0), t1 = Vector128.Sum(s1), t2 = Vector128.Sum(s2), t3 = Vector128.Sum(s3);
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
            Vector128<float> s0 = default;
            for (int k = 0; k < vecEnd; k += 4)
                s0 = MulAdd(Vector128.LoadUnsafe(ref w0, (nuint)k), Vector128.LoadUnsafe(ref xRef, (nuint)k), s0);
            float t0 = Vector128.Sum(s0);
            for (int k = vecEnd; k < cols; k++) t0 += Unsafe.Add(ref w0, k) * Unsafe.Add(ref xRef, k);
            Fp32Finish(y, bias, r, t0, accumulate);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> MulAdd(Vector128<float> a, Vector128<float> b, Vector128<float> c) =>
        AdvSimd.IsSupported ? AdvSimd.FusedMultiplyAdd(c, a, b)
        : System.Runtime.Intrinsics.X86.Fma.IsSupported ? System.Runtime.Intrinsics.X86.Fma.MultiplyAdd(a, b, c)
        : a * b + c;
}
