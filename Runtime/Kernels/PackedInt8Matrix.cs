using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Edge.Runtime.Kernels;

/// <summary>
/// An int8 weight matrix W (rows x cols, y = W x) quantized symmetric per row and packed once into the
/// layout every <see cref="Gemv"/> path reads.
/// <para>Quantization (docs/format.md, scheme 1): per row r, scale_r = max|W[r, :]| / 127, q = round-half-even(w * (127 / max|W[r, :]|))
/// clamped to [-127, 127], zero point 0; an all-zero row has scale 0 and q = 0. -128 never occurs, so every
/// kernel may negate a weight (the AVX2 sign trick) without overflow.</para>
/// <para>Layout ("8x4c4", as XNNPACK's packed GEMM weights, with row blocks interleaved in groups of four):
/// rows in blocks of <see cref="TileRows"/> = 8 (the last block zero-padded), K zero-padded to a multiple of
/// <see cref="KAlign"/> = 8. Within a block, for each group of 4 consecutive k the 8 rows' 4 bytes follow each
/// other (32 bytes: a Vector256 of 8 int32 lanes, one per row, for vpmaddubsw+vpmaddwd / vpdpbusd against a
/// broadcast of x[4g..4g+3]; two 16-byte loads feed NEON sdot / smull+sadalp for rows 0-3 and 4-7), and two
/// such groups make a 64-byte k-octet (k = 8o .. 8o+7). Consecutive blocks form groups of
/// <see cref="GroupBlocks"/> = 4 (the last group holds the 1-3 blocks left over); within a group of n blocks
/// the k-octets of its blocks alternate:
/// <code>
///   group of blocks 4j .. 4j+n-1, starting at byte 4j * PaddedCols * 8:
///   [ octet 0 of block 4j | octet 0 of block 4j+1 | .. | octet 0 of 4j+n-1 ][ octet 1 of block 4j | .. ] ..
///   octet (64 bytes) = [ r0k0 r0k1 r0k2 r0k3 | r1k0 .. | ... | r7k0 .. r7k3 ] [ the same for k+4 .. k+7 ]
/// </code>
/// So a kernel working on four blocks at once (32 rows, the recurrent step's tile) reads one sequential stream
/// of 256 bytes per 8 k, which the hardware prefetchers follow at full L2 bandwidth where four streams
/// <c>PaddedCols * 8</c> bytes apart did not (docs/benchmarks.md, "Kernel design measurements"); a kernel working on one block steps <see cref="BlockAddress"/>'s stride per k-octet.
/// K is padded to whole k-octets (8): the kernels step 8 k at a time, the one-block kernels two octets at a time
/// with one octet left over when K / 8 is odd; the padding multiplies zeros. (Padding to 16 makes the
/// matrix larger, and the product is bound by the L2 bandwidth.)</para>
/// <para>Row sums (Σ_k q[r, k]) serve the VNNI path, which feeds x + 128 as unsigned bytes and subtracts
/// 128 · Σ_k q[r, k].</para>
/// </summary>
internal sealed class PackedInt8Matrix
{
    /// <summary>Rows per block: one int32 lane per row in a Vector256, two Vector128s on arm64.</summary>
    public const int TileRows = 8;
    /// <summary>Consecutive k per row in a group (the dot-product width of vpdpbusd / sdot).</summary>
    public const int KGroup = 4;
    /// <summary>K is padded to a multiple of this.</summary>
    public const int KAlign = 8;
    /// <summary>Row blocks per interleaved group (the last group may hold fewer).</summary>
    public const int GroupBlocks = 4;
    /// <summary>Bytes of one block's k-octet (8 rows x 8 k).</summary>
    public const int OctetBytes = TileRows * 8;
    /// <summary>
    /// Largest K: 65536 · 255 · 127 &lt; 2^31, so int32 accumulators cannot overflow on any path (the VNNI
    /// path's offset activations reach 255).
    /// </summary>
    public const int MaxCols = 65536;

    private readonly sbyte[] _data;   // pinned; the packed bytes start at _origin, on a 64-byte boundary (AlignedArray)
    private readonly int _origin;
    // Padded to RowBlocks * TileRows; pinned copies whose first element (at _scalesOrigin, _sumsOrigin) is on a 64-byte
    // boundary (AlignedArray), as the kernels read them with vector loads next to the data.
    private readonly float[] _scales;
    private readonly int _scalesOrigin;
    private readonly int[] _sums;
    private readonly int _sumsOrigin;

    private PackedInt8Matrix(int rows, int cols, sbyte[] data, int origin, float[] scales, int[] sums)
    {
        _origin = origin;
        Rows = rows;
        Cols = cols;
        _data = data;
        _scales = AlignedArray.Allocate<float>(scales.Length, out _scalesOrigin);
        scales.CopyTo(_scales, _scalesOrigin);
        _sums = AlignedArray.Allocate<int>(sums.Length, out _sumsOrigin);
        sums.CopyTo(_sums, _sumsOrigin);
    }

    public int Rows { get; }
    public int Cols { get; }
    /// <summary>K rounded up to <see cref="KAlign"/>.</summary>
    public int PaddedCols => PadCols(Cols);
    public int RowBlocks => BlockCount(Rows);

    /// <summary>The packed bytes (length <see cref="PackedLength"/>).</summary>
    public ReadOnlySpan<sbyte> Data => _data.AsSpan(_origin, (int)PackedLength(Rows, Cols));
    /// <summary>scale_r per row (length <see cref="Rows"/>).</summary>
    public ReadOnlySpan<float> RowScales => _scales.AsSpan(_scalesOrigin, Rows);
    /// <summary>Σ_k q[r, k] per row (length <see cref="Rows"/>).</summary>
    public ReadOnlySpan<int> RowSums => _sums.AsSpan(_sumsOrigin, Rows);

    /// <summary>The first packed byte (64-byte aligned), for the kernels.</summary>
    internal ref sbyte DataStart => ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_data), _origin);

    private float[]? _columnsAsFloat;
    private int _columnsOrigin;

    /// <summary>Row stride of <see cref="ColumnsAsFloat"/>: the row count rounded up to 16 (one 64-byte line).</summary>
    internal int ColumnStride => (Rows + 15) / 16 * 16;

    /// <summary>
    /// The values as floats, transposed (q[r, k] at <see cref="ColumnsOrigin"/> + k · <see cref="ColumnStride"/> + r,
    /// each column 64-byte aligned), for the fp32-exact small-K path of <see cref="Gemv"/>
    /// (<see cref="Gemv.SmallColumns"/>); built on first use.
    /// </summary>
    internal float[] ColumnsAsFloat
    {
        get
        {
            var result = Volatile.Read(ref _columnsAsFloat);
            if (result is not null) return result;
            int stride = ColumnStride;
            result = AlignedArray.Allocate<float>(Cols * stride, out int origin);
            for (int r = 0; r < Rows; r++)
                for (int k = 0; k < Cols; k++)
                    result[origin + k * stride + r] = _data[_origin + OffsetOf(r, k, Rows, Cols)];
            lock (_data)
            {
                if (_columnsAsFloat is null)
                {
                    _columnsOrigin = origin;
                    Volatile.Write(ref _columnsAsFloat, result);
                }
                return _columnsAsFloat;
            }
        }
    }

    /// <summary>Index of q[0, 0] in <see cref="ColumnsAsFloat"/> (read after it).</summary>
    internal int ColumnsOrigin => _columnsOrigin;

    /// <summary>The row scales padded with zeros to whole row blocks (64-byte aligned).</summary>
    internal ReadOnlySpan<float> PaddedScaleSpan => _scales.AsSpan(_scalesOrigin, RowBlocks * TileRows);
    /// <summary>The first padded row scale, for the kernels.</summary>
    internal ref float ScalesStart => ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_scales), _scalesOrigin);
    /// <summary>The first padded row sum, for the kernels.</summary>
    internal ref int SumsStart => ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_sums), _sumsOrigin);

    public static int PadCols(int cols) => (cols + KAlign - 1) / KAlign * KAlign;
    public static int BlockCount(int rows) => (rows + TileRows - 1) / TileRows;

    /// <summary>The size check of the layout: bytes of packed data for rows x cols.</summary>
    public static long PackedLength(int rows, int cols)
    {
        CheckShape(rows, cols);
        return (long)BlockCount(rows) * TileRows * PadCols(cols);
    }

    /// <summary>
    /// Where block <paramref name="block"/> of a matrix with <paramref name="blocks"/> row blocks and
    /// <paramref name="paddedCols"/> padded columns starts (its k-octet 0), and the byte stride between its
    /// consecutive k-octets (64 times the size of its group).
    /// </summary>
    public static (nint Start, nint OctetStride) BlockAddress(int block, int blocks, int paddedCols)
    {
        int first = block - block % GroupBlocks;
        int n = Math.Min(GroupBlocks, blocks - first);
        return ((nint)first * paddedCols * TileRows + (block - first) * OctetBytes, n * OctetBytes);
    }

    /// <summary>Offset of q[r, k] in <see cref="Data"/> for a rows x cols matrix.</summary>
    public static long OffsetOf(int r, int k, int rows, int cols)
    {
        var (start, stride) = BlockAddress(r / TileRows, BlockCount(rows), PadCols(cols));
        return start + (long)(k / 8) * stride + (k % 8 / KGroup) * (TileRows * KGroup) + r % TileRows * KGroup + k % KGroup;
    }

    /// <summary>q[r, k] (for tests and inspection; kernels read <see cref="Data"/>).</summary>
    public sbyte this[int r, int k]
    {
        get
        {
            if ((uint)r >= (uint)Rows) throw new ArgumentOutOfRangeException(nameof(r));
            if ((uint)k >= (uint)Cols) throw new ArgumentOutOfRangeException(nameof(k));
            return _data[_origin + OffsetOf(r, k, Rows, Cols)];
        }
    }

    /// <summary>Quantizes an fp32 row-major matrix (row r at <c>w[r * rowStride ..]</c>) per row and packs it.</summary>
    public static PackedInt8Matrix Quantize(ReadOnlySpan<float> w, int rows, int cols, int rowStride = -1)
    {
        if (rowStride < 0) rowStride = cols;
        CheckShape(rows, cols);
        CheckSource(w.Length, rows, cols, rowStride);
        var q = new sbyte[(long)rows * cols];
        var scales = new float[rows];
        for (int r = 0; r < rows; r++)
            scales[r] = QuantizeRow(w.Slice(r * rowStride, cols), q.AsSpan(r * cols, cols));
        return Pack(q, scales, rows, cols);
    }

    /// <summary>
    /// The per-row (and per-tensor activation) quantizer, the reference for the quantizer and the kernels:
    /// returns scale = max|x| / 127 and writes q = clamp(round-half-even(x · (127 / max|x|)), -127, 127).
    /// All zeros give scale 0 and q = 0; NaN or infinity is refused.
    /// </summary>
    public static float QuantizeRow(ReadOnlySpan<float> x, Span<sbyte> q)
    {
        if (q.Length < x.Length) throw new ArgumentException($"q holds {q.Length} values, x has {x.Length}", nameof(q));
        float maxAbs = 0;
        foreach (var v in x)
        {
            if (!float.IsFinite(v)) throw new EdgeException($"cannot quantize {v}: the values must be finite");
            maxAbs = Math.Max(maxAbs, Math.Abs(v));
        }
        if (maxAbs == 0)
        {
            q[..x.Length].Clear();
            return 0;
        }
        float inv = 127f / maxAbs;
        for (int i = 0; i < x.Length; i++)
            q[i] = (sbyte)Math.Clamp(MathF.Round(x[i] * inv, MidpointRounding.ToEven), -127f, 127f);
        return maxAbs / 127f;
    }

    /// <summary>Packs already quantized weights (row r at <c>q[r * rowStride ..]</c>, values in [-127, 127]) with their row scales.</summary>
    public static PackedInt8Matrix Pack(ReadOnlySpan<sbyte> q, ReadOnlySpan<float> rowScales, int rows, int cols, int rowStride = -1)
    {
        if (rowStride < 0) rowStride = cols;
        CheckShape(rows, cols);
        CheckSource(q.Length, rows, cols, rowStride);
        if (rowScales.Length != rows) throw new ArgumentException($"{rowScales.Length} row scales for {rows} rows", nameof(rowScales));
        var data = AlignedArray.Allocate<sbyte>((int)PackedLength(rows, cols), out int origin);
        int padded = BlockCount(rows) * TileRows;
        var scales = new float[padded];
        var sums = new int[padded];
        for (int r = 0; r < rows; r++)
        {
            if (!float.IsFinite(rowScales[r]) || rowScales[r] < 0) throw new EdgeException($"row {r}: scale {rowScales[r]} is not a finite non-negative number");
            scales[r] = rowScales[r];
            var row = q.Slice(r * rowStride, cols);
            int sum = 0;
            for (int k = 0; k < cols; k++)
            {
                sbyte v = row[k];
                if (v == sbyte.MinValue) throw new EdgeException($"row {r}, column {k}: weight -128 is outside the symmetric range [-127, 127]");
                data[origin + OffsetOf(r, k, rows, cols)] = v;
                sum += v;
            }
            sums[r] = sum;
        }
        return new PackedInt8Matrix(rows, cols, data, origin, scales, sums);
    }

    /// <summary>
    /// Takes bytes already in the packed layout (e.g. from a blob): checks the size, the value range and
    /// that the padding is zero, copies them to aligned storage and recomputes the row sums.
    /// </summary>
    public static PackedInt8Matrix FromPacked(sbyte[] data, ReadOnlySpan<float> rowScales, int rows, int cols)
    {
        ArgumentNullException.ThrowIfNull(data);
        long expected = PackedLength(rows, cols);
        if (data.Length != expected)
            throw new EdgeException($"packed int8 matrix {rows} x {cols}: {data.Length} bytes, the 8x4c4 layout needs {expected}");
        if (rowScales.Length != rows) throw new EdgeException($"packed int8 matrix {rows} x {cols}: {rowScales.Length} row scales");
        int padded = BlockCount(rows) * TileRows;
        var scales = new float[padded];
        var sums = new int[padded];
        int kp = PadCols(cols);
        for (int r = 0; r < padded; r++)
        {
            if (r < rows)
            {
                if (!float.IsFinite(rowScales[r]) || rowScales[r] < 0) throw new EdgeException($"row {r}: scale {rowScales[r]} is not a finite non-negative number");
                scales[r] = rowScales[r];
            }
            int sum = 0;
            for (int k = 0; k < kp; k++)
            {
                sbyte v = data[OffsetOf(r, k, rows, cols)];
                if (r >= rows || k >= cols)
                {
                    if (v != 0) throw new EdgeException($"packed int8 matrix {rows} x {cols}: padding at row {r}, column {k} is {v}, not 0");
                    continue;
                }
                if (v == sbyte.MinValue) throw new EdgeException($"row {r}, column {k}: weight -128 is outside the symmetric range [-127, 127]");
                sum += v;
            }
            sums[r] = sum;
        }
        var aligned = AlignedArray.Allocate<sbyte>(data.Length, out int origin);
        data.CopyTo(aligned, origin);
        return new PackedInt8Matrix(rows, cols, aligned, origin, scales, sums);
    }

    private static void CheckShape(int rows, int cols)
    {
        if (rows < 1) throw new ArgumentOutOfRangeException(nameof(rows), rows, "at least one row");
        if (cols < 1 || cols > MaxCols) throw new ArgumentOutOfRangeException(nameof(cols), cols, $"columns must be in 1..{MaxCols}");
    }

    private static void CheckSource(int length, int rows, int cols, int rowStride)
    {
        if (rowStride < cols) throw new ArgumentOutOfRangeException(nameof(rowStride), rowStride, $"row stride below {cols} columns");
        long need = (long)(rows - 1) * rowStride + cols;
        if (length < need) throw new ArgumentException($"source holds {length} values, {rows} x {cols} with row stride {rowStride} needs {need}");
    }
}
