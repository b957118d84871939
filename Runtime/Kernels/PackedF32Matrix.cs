using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Edge.Runtime.Kernels;

/// <summary>
/// An fp32 weight matrix W (rows x cols, y += W x) packed once for the batch-1 product of a recurrent step
/// (R of an LSTM or GRU: rows = gates x hidden, cols = hidden), the product <see cref="MultiplyAdd"/>.
/// <para>Why packed: as an axpy per column k (y += x[k] · W[:, k], the form this replaces) the whole of y is
/// loaded and stored once per k, 200 times per LSTM(200) step; here a panel of <see cref="PanelRows"/> rows keeps
/// its sums in registers over all k (broadcast x[k], one fused multiply-add per vector of the panel's column)
/// and adds them into y once. W (640 KB for the LSTM) lives in L2, so the step is bound by reading W: the layout
/// makes that one sequential stream.</para>
/// <para>Layout ("4v", four vectors of rows per panel): the rows are cut into segments (one, unless the caller
/// asks for cuts: a product over a row range must start and end on one), each segment into panels of
/// <see cref="PanelRows"/> = 4 x <see cref="VectorWidth"/> rows (64 with Vector512, 32 with Vector256, 16 with
/// Vector128 and in the scalar fallback) and a last panel holding the 1 to PanelRows - 1 rows left over,
/// zero-padded to whole vectors. Panels follow each other, segment by segment; within a panel of p stored rows,
/// column k's p weights are contiguous:
/// <code>
///   panel at rows r .. r+p-1:  [ W[r, 0] .. W[r+p-1, 0] | W[r, 1] .. W[r+p-1, 1] | ... | W[r, cols-1] .. W[r+p-1, cols-1] ]
/// </code>
/// The data starts on a 64-byte boundary (a pinned array), so with p a multiple of the vector width no load
/// splits a cache line. The width is the widest hardware-accelerated one, fixed for the process, so the
/// packing and the kernel always agree; the sums are taken in a different order than a plain loop, so results
/// match a reference to fp32 rounding, not bit for bit.</para>
/// </summary>
internal sealed partial class PackedF32Matrix
{
    /// <summary>Panels are four vectors of rows: four accumulators per k (eight with the two-k unroll), enough
    /// independent chains to hide the multiply-add latency while few enough to stay in registers on AVX2 (16).</summary>
    private const int PanelVectors = 4;

    private readonly float[] _data;        // pinned; the packed panels start at _origin
    private readonly int _origin;          // floats skipped so the panels start on a cache line
    private readonly int[] _segmentStart;  // first row of each segment, then Rows
    private readonly long[] _segmentOffset; // first float of each segment's panels (from _origin)

    private PackedF32Matrix(int rows, int cols, float[] data, int origin, int[] segmentStart, long[] segmentOffset)
    {
        Rows = rows;
        Cols = cols;
        _data = data;
        _origin = origin;
        _segmentStart = segmentStart;
        _segmentOffset = segmentOffset;
    }

    public int Rows { get; }
    public int Cols { get; }

    /// <summary>floats per vector of the kernel this process runs: 16 (Vector512), 8 (Vector256), 4 (Vector128, scalar).</summary>
    public static int VectorWidth
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector512.IsHardwareAccelerated ? Vector512<float>.Count : Vector256.IsHardwareAccelerated ? Vector256<float>.Count : Vector128<float>.Count;
    }

    /// <summary>Rows per full panel.</summary>
    public static int PanelRows => PanelVectors * VectorWidth;

    /// <summary>Which kernel runs: "Vector512", "Vector256", "Vector128" or "scalar".</summary>
    public static string KernelPath =>
        Vector512.IsHardwareAccelerated ? "Vector512" : Vector256.IsHardwareAccelerated ? "Vector256" : Vector128.IsHardwareAccelerated ? "Vector128" : "scalar";

    /// <summary>The rows where segments start: 0, the cuts, and <see cref="Rows"/> last.</summary>
    public ReadOnlySpan<int> SegmentStarts => _segmentStart;

    /// <summary>Rows a segment of <paramref name="rows"/> rows stores: whole panels, the last padded to whole vectors.</summary>
    public static int StoredRows(int rows) => rows / PanelRows * PanelRows + RoundUp(rows % PanelRows, VectorWidth);

    /// <summary>The size check of the layout: floats of packed data for rows x cols cut at <paramref name="cuts"/>.</summary>
    public static long PackedLength(int rows, int cols, ReadOnlySpan<int> cuts = default)
    {
        var starts = Segments(rows, cols, cuts);
        long n = 0;
        for (int s = 0; s + 1 < starts.Length; s++) n += (long)StoredRows(starts[s + 1] - starts[s]) * cols;
        return n;
    }

    /// <summary>
    /// Packs W, row-major (rows x cols, row r at <c>w[r * cols ..]</c>), with the rows cut into segments at
    /// <paramref name="cuts"/> (ascending, each strictly between 0 and rows).
    /// </summary>
    public static PackedF32Matrix Pack(ReadOnlySpan<float> w, int rows, int cols, ReadOnlySpan<int> cuts = default)
    {
        var starts = Segments(rows, cols, cuts);
        if (w.Length < (long)rows * cols) throw new ArgumentException($"W holds {w.Length} floats, {rows} x {cols} needs {(long)rows * cols}", nameof(w));
        var offsets = new long[starts.Length];
        for (int s = 0; s + 1 < starts.Length; s++) offsets[s + 1] = offsets[s] + (long)StoredRows(starts[s + 1] - starts[s]) * cols;
        long length = offsets[^1];
        if (length > Array.MaxLength - AlignedArray.Alignment) throw new ArgumentException($"{rows} x {cols} is too large to pack", nameof(rows));
        var data = AlignedArray.Allocate<float>((int)length, out int origin);
        var packed = data.AsSpan(origin, (int)length);
        int vw = VectorWidth, pr = PanelRows;
        for (int s = 0; s + 1 < starts.Length; s++)
        {
            long at = offsets[s];
            for (int r0 = starts[s]; r0 < starts[s + 1]; r0 += pr)
            {
                int valid = Math.Min(pr, starts[s + 1] - r0);
                int stored = RoundUp(valid, vw);
                for (int j = 0; j < valid; j++)
                {
                    var row = w.Slice((r0 + j) * cols, cols);
                    for (int k = 0; k < cols; k++) packed[(int)(at + (long)k * stored + j)] = row[k];
                }
                at += (long)stored * cols;
            }
        }
        return new PackedF32Matrix(rows, cols, data, origin, starts, offsets);
    }

    /// <summary>W[r, k] (for tests and inspection).</summary>
    public float this[int r, int k]
    {
        get
        {
            if ((uint)r >= (uint)Rows) throw new ArgumentOutOfRangeException(nameof(r));
            if ((uint)k >= (uint)Cols) throw new ArgumentOutOfRangeException(nameof(k));
            int s = 0;
            while (_segmentStart[s + 1] <= r) s++;
            int inSegment = r - _segmentStart[s];
            int panel = inSegment / PanelRows;
            int stored = Math.Min(PanelRows, StoredRows(_segmentStart[s + 1] - _segmentStart[s]) - panel * PanelRows);
            long at = _segmentOffset[s] + (long)panel * PanelRows * Cols + (long)k * stored + inSegment % PanelRows;
            return _data[_origin + at];
        }
    }

    /// <summary>
    /// y += W[firstRow .. firstRow + y.Length, :] x: <paramref name="firstRow"/> and firstRow + y.Length must each be
    /// a segment boundary (0, a cut given to <see cref="Pack"/>, or <see cref="Rows"/>). Allocates nothing.
    /// </summary>
    public void MultiplyAdd(ReadOnlySpan<float> x, Span<float> y, int firstRow = 0)
    {
        if (x.Length != Cols) throw new ArgumentException($"x holds {x.Length} values; W has {Cols} columns", nameof(x));
        int first = Array.IndexOf(_segmentStart, firstRow);
        int end = Array.IndexOf(_segmentStart, firstRow + y.Length, Math.Max(first, 0));
        if (first < 0 || end < 0)
            throw new ArgumentException(
                $"rows [{firstRow}, {firstRow + y.Length}) of a {Rows} x {Cols} matrix do not start and end on a segment boundary ({string.Join(", ", _segmentStart)}); pack it with a cut there",
                nameof(firstRow));
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        ref float data = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_data), _origin);
        for (int s = first; s < end; s++)
        {
            ref float w = ref Unsafe.Add(ref data, (nint)_segmentOffset[s]);
            ref float ys = ref Unsafe.Add(ref yr, _segmentStart[s] - firstRow);
            int rows = _segmentStart[s + 1] - _segmentStart[s];
            if (Vector512.IsHardwareAccelerated) Segment<Simd512, Vector512<float>>(ref w, ref xr, (nuint)Cols, ref ys, rows);
            else if (Vector256.IsHardwareAccelerated) Segment<Simd256, Vector256<float>>(ref w, ref xr, (nuint)Cols, ref ys, rows);
            else if (Vector128.IsHardwareAccelerated) Segment<Simd128, Vector128<float>>(ref w, ref xr, (nuint)Cols, ref ys, rows);
            else SegmentScalar(ref w, ref xr, Cols, ref ys, rows);
        }
    }

    /// <summary>The scalar fallback (DOTNET_EnableHWIntrinsic=0): the same layout, one row at a time.</summary>
    private static void SegmentScalar(ref float w, ref float x, int cols, ref float y, int rows)
    {
        for (int r0 = 0; r0 < rows; r0 += PanelRows)
        {
            int valid = Math.Min(PanelRows, rows - r0);
            int stored = RoundUp(valid, VectorWidth);
            for (int j = 0; j < valid; j++)
            {
                float sum = 0f;
                for (int k = 0; k < cols; k++) sum += Unsafe.Add(ref w, k * stored + j) * Unsafe.Add(ref x, k);
                Unsafe.Add(ref y, r0 + j) += sum;
            }
            w = ref Unsafe.Add(ref w, stored * cols);
        }
    }

    private static int[] Segments(int rows, int cols, ReadOnlySpan<int> cuts)
    {
        if (rows < 0 || cols < 0) throw new ArgumentOutOfRangeException(nameof(rows), $"negative size {rows} x {cols}");
        var starts = new int[cuts.Length + 2];
        for (int i = 0; i < cuts.Length; i++)
        {
            int previous = i == 0 ? 0 : cuts[i - 1];
            if (cuts[i] <= previous || cuts[i] >= rows)
                throw new ArgumentException($"cut {cuts[i]} of {rows} rows: cuts must ascend strictly between 0 and the row count", nameof(cuts));
            starts[i + 1] = cuts[i];
        }
        starts[^1] = rows;
        return starts;
    }

    private static int RoundUp(int n, int multiple) => (n + multiple - 1) / multiple * multiple;

    /// <summary>How many vectors of rows a panel kernel handles: a type argument, so each count gets its own code
    /// with the unused accumulators compiled away.</summary>
    private interface IVectorCount
    {
        static abstract int Value { get; }
    }

    private readonly struct One : IVectorCount { public static int Value => 1; }
    private readonly struct Two : IVectorCount { public static int Value => 2; }
    private readonly struct Three : IVectorCount { public static int Value => 3; }
    private readonly struct Four : IVectorCount { public static int Value => 4; }
}
