using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Edge.Runtime.Kernels;

/// <summary>
/// Matrix-vector and small-batch matrix products for one <see cref="Isa"/>, chosen once when a session is
/// created (<see cref="Create"/>, <see cref="FromEnvironment"/>) and held by the caller:
/// <list type="bullet">
/// <item><see cref="MultiplyInt8"/>: int8 x int8 -> int32, y[b][r] = Σ_k W[r, k] · x[b][k], with W pre-packed
///   (<see cref="PackedInt8Matrix"/>). Every path's int32 results equal the scalar path's bit for bit.</item>
/// <item><see cref="MultiplyInt8Dequantize"/>: the same, then fp32 out = acc · rowScale[r] · xScale[b] (+ bias[r]),
///   written or added to y (the LSTM gates sum the input and recurrent projections). The float operations
///   run in that order on every path, so these results are bit-identical across paths too.</item>
/// <item><see cref="QuantizeActivations(ReadOnlySpan{float}, Span{sbyte})"/>: dynamic per-tensor int8 (max-abs scale, round half to even, clamp
///   to [-127, 127]); bit-identical across paths.</item>
/// <item><see cref="MultiplyFp32"/>: fp32 y = W x (+ bias) on row-major W, vectorized with Vector128/256/512;
///   sums run in a different order per path, within the dot-product error bound of the scalar loop.</item>
/// </list>
/// Batch b of an input starts at <c>b * xStride</c>, of an output at <c>b * yStride</c>; nothing between or
/// after is written. Lengths are checked once per call; the inner loops are unchecked. No call allocates
/// (scratch is on the stack; above 16 KiB of padded activations it comes from <see cref="ArrayPool{T}"/>).
/// The int8 product has one partial file per path, for the instructions only that path has: Gemv.Scalar.cs (the
/// specification), Gemv.Avx2.cs (vpmaddubsw), Gemv.Avx512Vnni.cs (vpdpbusd), Gemv.Neon.cs (smull/smlal),
/// Gemv.NeonDot.cs (sdot). The fp32 product and activation quantization are written once over the vector width
/// (Gemv.Fp32.cs, <see cref="ISimd{TVec}"/>). Which of them a path runs is chosen once, in the kernel table
/// (Gemv.Kernels.cs), when the Gemv is created.
/// </summary>
internal sealed partial class Gemv
{
    /// <summary>Batch items per pass over the weights; larger batches run in chunks of this.</summary>
    public const int MaxBatchPerPass = 8;

    private const int StackScratchBytes = 16 * 1024;
    private const int DequantRowChunk = 256; // rows of int32 accumulators staged on the stack before dequantizing

    private Gemv(Isa isa)
    {
        Isa = isa;
        _kernels = Kernels.For(isa);
    }

    public Isa Isa { get; }

    /// <summary>The kernels for <paramref name="isa"/>; an <see cref="EdgeException"/> if this CPU cannot run it.</summary>
    public static Gemv Create(Isa isa)
    {
        if (!IsaSelector.IsSupported(isa))
            throw new EdgeException($"this CPU does not support {IsaSelector.Name(isa)}; it supports {IsaSelector.SupportedList}");
        return new Gemv(isa);
    }

    /// <summary>The kernels for <c>EDGE_ISA</c> if set, else for the best path.</summary>
    public static Gemv FromEnvironment() => new(IsaSelector.FromEnvironment());

    public override string ToString() => IsaSelector.Name(Isa);

    // ---------------------------------------------------------------- int8

    /// <summary>y[b * yStride + r] = Σ_k W[r, k] · x[b * xStride + k] for r &lt; W.Rows, b &lt; batch.</summary>
    [SkipLocalsInit]
    public void MultiplyInt8(PackedInt8Matrix w, ReadOnlySpan<sbyte> x, int xStride, int batch, Span<int> y, int yStride)
    {
        ArgumentNullException.ThrowIfNull(w);
        CheckBatch(w.Rows, w.Cols, x.Length, xStride, batch, y.Length, yStride);
        int need = PreparedBytes(w.PaddedCols, Math.Min(batch, MaxBatchPerPass));
        byte[]? rented = null;
        Span<byte> xp = need <= StackScratchBytes ? stackalloc byte[StackScratchBytes] : (rented = ArrayPool<byte>.Shared.Rent(need));
        try
        {
            for (int b0 = 0; b0 < batch; b0 += MaxBatchPerPass)
            {
                int nb = Math.Min(MaxBatchPerPass, batch - b0);
                PrepareX(x[(b0 * xStride)..], xStride, nb, w.Cols, w.PaddedCols, xp);
                Int8Core(w, xp, nb, 0, w.RowBlocks, y[(b0 * yStride)..], yStride);
            }
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// y[b * yStride + r] (+)= acc[b][r] · rowScale[r] · xScales[b] + bias[r], acc as in <see cref="MultiplyInt8"/>;
    /// bias may be empty. With <paramref name="accumulate"/> the result is added to what y holds.
    /// </summary>
    [SkipLocalsInit]
    public unsafe void MultiplyInt8Dequantize(PackedInt8Matrix w, ReadOnlySpan<sbyte> x, int xStride, ReadOnlySpan<float> xScales, int batch,
        ReadOnlySpan<float> bias, Span<float> y, int yStride, bool accumulate)
    {
        ArgumentNullException.ThrowIfNull(w);
        CheckBatch(w.Rows, w.Cols, x.Length, xStride, batch, y.Length, yStride);
        if (xScales.Length < batch) throw new ArgumentException($"{xScales.Length} activation scales for batch {batch}", nameof(xScales));
        if (!bias.IsEmpty && bias.Length < w.Rows) throw new ArgumentException($"bias holds {bias.Length} values, W has {w.Rows} rows", nameof(bias));
        if (UsesSmallColumns(w))
        {
            SmallColumnsDequantize(w, x, xStride, xScales, batch, bias, y, yStride, accumulate);
            return;
        }
        int need = PreparedBytes(w.PaddedCols, Math.Min(batch, MaxBatchPerPass));
        byte[]? rented = null;
        Span<int> acc = stackalloc int[MaxBatchPerPass * DequantRowChunk];
        Span<byte> xp = need <= StackScratchBytes ? stackalloc byte[StackScratchBytes] : (rented = ArrayPool<byte>.Shared.Rent(need));
        try
        {
            if (batch == 1 && _kernels.Dequantize1 != null)
            {
                // Batch 1 (the recurrent step): the kernel dequantizes straight from its accumulator registers,
                // with the same float operations in the same order as Dequantize (no staging buffer).
                PrepareX(x, xStride, 1, w.Cols, w.PaddedCols, xp);
                _kernels.Dequantize1(w, xp, xScales[0], bias, y, accumulate);
                return;
            }
            for (int b0 = 0; b0 < batch; b0 += MaxBatchPerPass)
            {
                int nb = Math.Min(MaxBatchPerPass, batch - b0);
                // The staging buffer holds MaxBatchPerPass x DequantRowChunk accumulators: fewer batch items get
                // longer row chunks (batch 1: 2048 rows, usually the whole matrix in one kernel call). Chunks are
                // whole groups of four row blocks, the kernels' small-batch tile.
                int chunkRows = acc.Length / nb / (4 * PackedInt8Matrix.TileRows) * (4 * PackedInt8Matrix.TileRows);
                int blocksPerChunk = chunkRows / PackedInt8Matrix.TileRows;
                PrepareX(x[(b0 * xStride)..], xStride, nb, w.Cols, w.PaddedCols, xp);
                for (int blk = 0; blk < w.RowBlocks; blk += blocksPerChunk)
                {
                    int blkEnd = Math.Min(w.RowBlocks, blk + blocksPerChunk);
                    int r0 = blk * PackedInt8Matrix.TileRows;
                    int count = Math.Min(w.Rows, blkEnd * PackedInt8Matrix.TileRows) - r0;
                    Int8Core(w, xp, nb, blk, blkEnd, acc, chunkRows);
                    for (int b = 0; b < nb; b++)
                    {
                        Dequantize(acc.Slice(b * chunkRows, count), w.PaddedScaleSpan.Slice(r0, count), xScales[b0 + b],
                            bias.IsEmpty ? default : bias.Slice(r0, count), y.Slice((b0 + b) * yStride + r0, count), accumulate);
                    }
                }
            }
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// Dynamic per-tensor quantization of one activation vector: returns scale = max|x| / 127 and writes
    /// q = clamp(round-half-even(x · (127 / max|x|)), -127, 127) (all zeros: scale 0, q = 0). The spec is
    /// <see cref="PackedInt8Matrix.QuantizeRow"/>; every path gives the same bytes.
    /// </summary>
    public unsafe float QuantizeActivations(ReadOnlySpan<float> x, Span<sbyte> q)
    {
        if (q.Length < x.Length) throw new ArgumentException($"q holds {q.Length} values, x has {x.Length}", nameof(q));
        if (_kernels.Quantize == null || x.IsEmpty) return PackedInt8Matrix.QuantizeRow(x, q);
        float maxAbs = Math.Abs(TensorPrimitives.MaxMagnitude(x)); // exact in any order; NaN propagates
        if (!float.IsFinite(maxAbs)) return PackedInt8Matrix.QuantizeRow(x, q); // throws, naming the value
        if (maxAbs == 0)
        {
            q[..x.Length].Clear();
            return 0;
        }
        float inv = 127f / maxAbs;
        int done = QuantizeLastBlock(x, q, inv, _kernels.Quantize(x, q, inv));
        for (int i = done; i < x.Length; i++)
            q[i] = (sbyte)Math.Clamp(MathF.Round(x[i] * inv, MidpointRounding.ToEven), -127f, 127f);
        return maxAbs / 127f;
    }

    // ---------------------------------------------------------------- fp32

    /// <summary>
    /// y[b * yStride + r] (+)= Σ_k W[r * wStride + k] · x[b * xStride + k] + bias[r] for r &lt; rows
    /// (bias may be empty).
    /// </summary>
    public unsafe void MultiplyFp32(ReadOnlySpan<float> w, int rows, int cols, int wStride, ReadOnlySpan<float> x, int xStride, int batch,
        ReadOnlySpan<float> bias, Span<float> y, int yStride, bool accumulate)
    {
        CheckBatch(rows, cols, x.Length, xStride, batch, y.Length, yStride);
        if (wStride < cols) throw new ArgumentOutOfRangeException(nameof(wStride), wStride, $"row stride below {cols} columns");
        if (w.Length < (long)(rows - 1) * wStride + cols) throw new ArgumentException($"W holds {w.Length} floats, {rows} x {cols} with stride {wStride} needs {(long)(rows - 1) * wStride + cols}", nameof(w));
        if (!bias.IsEmpty && bias.Length < rows) throw new ArgumentException($"bias holds {bias.Length} values, W has {rows} rows", nameof(bias));
        for (int b = 0; b < batch; b++)
        {
            var xb = x.Slice(b * xStride, cols);
            var yb = y.Slice(b * yStride, rows);
            _kernels.Fp32(w, rows, cols, wStride, xb, bias, yb, accumulate);
        }
    }

    // ---------------------------------------------------------------- shared plumbing

    private static void CheckBatch(int rows, int cols, int xLength, int xStride, int batch, int yLength, int yStride)
    {
        if (rows < 1 || cols < 1) throw new ArgumentOutOfRangeException(nameof(rows), $"shape {rows} x {cols}");
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), batch, "batch must be at least 1");
        if (xStride < cols) throw new ArgumentOutOfRangeException(nameof(xStride), xStride, $"input stride below K = {cols}");
        if (yStride < rows) throw new ArgumentOutOfRangeException(nameof(yStride), yStride, $"output stride below M = {rows}");
        long xNeed = (long)(batch - 1) * xStride + cols;
        if (xLength < xNeed) throw new ArgumentException($"x holds {xLength} values, batch {batch} x K {cols} with stride {xStride} needs {xNeed}", "x");
        long yNeed = (long)(batch - 1) * yStride + rows;
        if (yLength < yNeed) throw new ArgumentException($"y holds {yLength} values, batch {batch} x M {rows} with stride {yStride} needs {yNeed}", "y");
    }

    /// <summary>Bytes of prepared activations: padded x per batch item, and for AVX2 also |x|.</summary>
    private int PreparedBytes(int paddedCols, int nb) => _kernels.PreparedCopies * paddedCols * nb;

    /// <summary>
    /// Copies nb activation vectors into zero-padded rows of <paramref name="paddedCols"/> bytes in the form the
    /// path's kernel reads: signed x (scalar, NEON), x and |x| (AVX2: vpmaddubsw takes |x| unsigned and
    /// sign(x) moved onto w), x + 128 as unsigned (VNNI: vpdpbusd is u8 x s8). Costs O(K) per call against
    /// the O(M·K) product.
    /// </summary>
    private void PrepareX(ReadOnlySpan<sbyte> x, int xStride, int nb, int cols, int paddedCols, Span<byte> xp)
    {
        for (int b = 0; b < nb; b++)
        {
            var dst = xp.Slice(b * paddedCols, paddedCols);
            MemoryMarshal.AsBytes(x.Slice(b * xStride, cols)).CopyTo(dst);
            dst[cols..].Clear();
            PrepareRow(dst, _kernels.PreparedCopies == 2 ? xp.Slice((nb + b) * paddedCols, paddedCols) : default);
        }
    }

    /// <summary>
    /// The path's form of one zero-padded row of signed activations already in <paramref name="row"/> (see
    /// <see cref="PrepareX"/>): |x| into <paramref name="abs"/> (AVX2), x + 128 in place (VNNI), nothing otherwise.
    /// </summary>
    private unsafe void PrepareRow(Span<byte> row, Span<byte> abs)
    {
        if (_kernels.Prepare != null) _kernels.Prepare(row, abs);
    }

    private static void PrepareRowAvx2(Span<byte> row, Span<byte> abs)
    {
        int paddedCols = row.Length;
        int k = 0;
        for (; k + 16 <= paddedCols; k += 16)
            Vector128.Abs(Vector128.LoadUnsafe(ref MemoryMarshal.GetReference(row), (nuint)k).AsSByte()).AsByte()
                .StoreUnsafe(ref MemoryMarshal.GetReference(abs), (nuint)k);
        for (; k < paddedCols; k++) abs[k] = (byte)Math.Abs((sbyte)row[k]); // never past the row
    }

    private static void PrepareRowVnni(Span<byte> row, Span<byte> abs)
    {
        ref ulong d8 = ref Unsafe.As<byte, ulong>(ref MemoryMarshal.GetReference(row));
        for (int o = 0; o < row.Length / 8; o++) Unsafe.Add(ref d8, o) ^= 0x8080808080808080UL;
    }

    /// <summary>int32 accumulators of row blocks [blockStart, blockEnd) into y[b * yStride + r - 8 * blockStart].</summary>
    private unsafe void Int8Core(PackedInt8Matrix w, ReadOnlySpan<byte> xp, int nb, int blockStart, int blockEnd, Span<int> y, int yStride) =>
        _kernels.Int8(w, xp, nb, blockStart, blockEnd, y, yStride);

    /// <summary>
    /// out = (float)acc · rowScale · xScale, then + bias, then + y when accumulating: the same IEEE operations
    /// in the same order per element on every path (no fused multiply-add), hence bit-identical results.
    /// </summary>
    private void Dequantize(ReadOnlySpan<int> acc, ReadOnlySpan<float> rowScale, float xScale, ReadOnlySpan<float> bias, Span<float> y, bool accumulate)
    {
        int n = acc.Length;
        int i = 0;
        if (Vector128.IsHardwareAccelerated && _kernels.FloatBits >= 128)
        {
            ref int a = ref MemoryMarshal.GetReference(acc);
            ref float s = ref MemoryMarshal.GetReference(rowScale);
            ref float bi = ref MemoryMarshal.GetReference(bias);
            ref float yo = ref MemoryMarshal.GetReference(y);
            bool hasBias = !bias.IsEmpty;
            // The same operations per element in 8 lanes, then in 4.
            if (Vector256.IsHardwareAccelerated && _kernels.FloatBits >= 256)
                i = DequantizeBlocks<Simd256, Vector256<float>>(ref a, ref s, xScale, ref bi, hasBias, ref yo, i, n, accumulate);
            i = DequantizeBlocks<Simd128, Vector128<float>>(ref a, ref s, xScale, ref bi, hasBias, ref yo, i, n, accumulate);
        }
        for (; i < n; i++)
        {
            float v = (float)acc[i] * rowScale[i] * xScale;
            if (!bias.IsEmpty) v += bias[i];
            y[i] = accumulate ? y[i] + v : v;
        }
    }

    /// <summary>Dequantize's vector loop from element <paramref name="i"/>, one vector at a time; returns where it stopped.</summary>
    // Inlined so that Dequantize holds the loops (tools/arm_perf_model.py reads them there).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int DequantizeBlocks<TWidth, TVec>(ref int acc, ref float scales, float xScale, ref float bias, bool hasBias, ref float y,
        int i, int n, bool accumulate) where TWidth : ISimd<TVec> where TVec : struct
    {
        var xs = TWidth.Create(xScale);
        for (; i <= n - TWidth.Count; i += TWidth.Count)
            StoreDequantized<TWidth, TVec>(TWidth.LoadAsSingle(ref acc, (nuint)i), ref scales, xs, ref bias, hasBias, ref y, i, accumulate);
        return i;
    }

    /// <summary>
    /// Dequantizes one row block's 8 accumulators into y[offset..offset + valid): the operations and order of
    /// <see cref="Dequantize"/> per element ((float)acc · rowScale · xScale, + bias, then y + v), in 8 lanes for
    /// a whole block and in scalar code for the last, partial one.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DequantizeBlock(Vector256<int> acc, ref float scales, Vector256<float> xScale, ref float bias, bool hasBias,
        ref float y, nint offset, int valid, bool accumulate)
    {
        if (valid == PackedInt8Matrix.TileRows)
        {
            var v = Vector256.ConvertToSingle(acc) * Vector256.LoadUnsafe(ref Unsafe.Add(ref scales, offset)) * xScale;
            if (hasBias) v += Vector256.LoadUnsafe(ref Unsafe.Add(ref bias, offset));
            if (accumulate) v = Vector256.LoadUnsafe(ref Unsafe.Add(ref y, offset)) + v;
            v.StoreUnsafe(ref Unsafe.Add(ref y, offset));
            return;
        }
        float xs = xScale.ToScalar();
        for (int i = 0; i < valid; i++)
        {
            float v = (float)acc.GetElement(i) * Unsafe.Add(ref scales, offset + i) * xs;
            if (hasBias) v += Unsafe.Add(ref bias, offset + i);
            ref float yo = ref Unsafe.Add(ref y, offset + i);
            yo = accumulate ? yo + v : v;
        }
    }

    /// <summary>Stores a row block's 8 accumulators, or only the first <paramref name="valid"/> of the last block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreBlock(Vector256<int> acc, ref int y, nint offset, int valid)
    {
        if (valid == PackedInt8Matrix.TileRows)
        {
            acc.StoreUnsafe(ref Unsafe.Add(ref y, offset));
            return;
        }
        for (int i = 0; i < valid; i++) Unsafe.Add(ref y, offset + i) = acc.GetElement(i);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreBlock(Vector128<int> lo, Vector128<int> hi, ref int y, nint offset, int valid)
    {
        if (valid == PackedInt8Matrix.TileRows)
        {
            lo.StoreUnsafe(ref Unsafe.Add(ref y, offset));
            hi.StoreUnsafe(ref Unsafe.Add(ref y, offset + 4));
            return;
        }
        for (int i = 0; i < valid; i++) Unsafe.Add(ref y, offset + i) = i < 4 ? lo.GetElement(i) : hi.GetElement(i - 4);
    }

    /// <summary>
    /// The elements after <paramref name="done"/> (fewer than a vector loop's block) as one 16-element block ending at
    /// the last element, when there are 16: the block overlaps elements already written, which get the same bytes
    /// again (the rule is per element), so no scalar tail runs (for H = 200 it was 8 of 200 elements and a fifth of
    /// the time). Returns the new count done.
    /// </summary>
    private static int QuantizeLastBlock(ReadOnlySpan<float> x, Span<sbyte> q, float inv, int done)
    {
        if (done >= x.Length || x.Length < 16) return done;
        QuantizeVector128(x[^16..], q.Slice(x.Length - 16, 16), inv);
        return x.Length;
    }
}
