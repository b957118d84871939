using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Edge.Runtime.Kernels;

internal sealed partial class Gemv
{
    /// <summary>
    /// One int8 LSTM step of the default cell: acc = R hq in int32 (<see cref="MultiplyInt8"/>), then for every unit
    /// j pre_q = proj[q · H + j] + (float)acc[q · H + j] · rowScale[q · H + j] · hScale and the cell update of
    /// <see cref="RecurrentCell.LstmInt8"/> (c and h updated in place). <paramref name="acc"/> is scratch of 4H
    /// int32. Allocates nothing.
    /// <para>Product and cell run as two passes on purpose: the product stays at the L2 bandwidth and the cell at its
    /// throughput bound. The fused and pipelined forms that were measured slower are in docs/benchmarks.md,
    /// "Kernel design measurements".</para>
    /// </summary>
    public void LstmStepInt8(PackedInt8Matrix r, ReadOnlySpan<sbyte> hq, float hScale, ReadOnlySpan<float> proj, Span<float> c, Span<float> h, Span<int> acc)
    {
        ArgumentNullException.ThrowIfNull(r);
        int hidden = h.Length;
        if (r.Rows != 4 * hidden || r.Cols != hidden || hq.Length < hidden || c.Length != hidden || proj.Length < 4 * hidden || acc.Length < 4 * hidden)
            throw new ArgumentException($"LSTM step: R is {r.Rows} x {r.Cols}, hq {hq.Length}, c {c.Length}, h {hidden}, proj {proj.Length}, acc {acc.Length}; expected hidden {hidden}");
        MultiplyInt8(r, hq, hidden, 1, acc, 4 * hidden);
        LstmCellInt8(proj, acc, r.RowScales, hScale, c, h);
    }

    /// <summary>
    /// One int8 LSTM step from h in the static unit range (|h| ≤ 1, which every h the default cell makes is in):
    /// h is quantized with the static scale 1/127 (the bytes of <see cref="QuantizeActivations(ReadOnlySpan{float},
    /// Span{sbyte}, float)"/> with range 1) straight into the kernel's prepared activations, then R h and the cell as
    /// <see cref="LstmStepInt8(PackedInt8Matrix, ReadOnlySpan{sbyte}, float, ReadOnlySpan{float}, Span{float}, Span{float}, Span{int})"/>
    /// does with hScale = 1/127. The same bits as quantizing into an hq and calling that overload; what it saves is
    /// the staging copy of hq and the general product's dispatch (docs/benchmarks.md, "Kernel design
    /// measurements"). Allocates nothing (a hidden size whose prepared row
    /// passes the stack scratch rents it).
    /// </summary>
    public void LstmStepInt8Unit(PackedInt8Matrix r, ReadOnlySpan<float> proj, Span<float> c, Span<float> h, Span<int> acc)
        => LstmStepsInt8Unit(r, proj, 0, 0, 1, c, h, acc, default, 0, 0);

    /// <summary>
    /// <paramref name="count"/> steps of <see cref="LstmStepInt8Unit(PackedInt8Matrix, ReadOnlySpan{float}, Span{float}, Span{float}, Span{int})"/>
    /// in one call (the rest of a sequence whose state is in the unit range): step s reads the projection row
    /// <paramref name="firstRow"/> + s · <paramref name="rowStep"/> of <paramref name="proj"/> (rows of 4H floats; a negative
    /// step walks a reverse direction) and, when <paramref name="y"/> is not empty, writes its h at
    /// <paramref name="yFirst"/> + s · <paramref name="yStep"/>. The same bits as the steps one at a time; the checks, the
    /// scratch and the dispatch are paid once per sequence instead of once per step.
    /// </summary>
    [SkipLocalsInit]
    public unsafe void LstmStepsInt8Unit(PackedInt8Matrix r, ReadOnlySpan<float> proj, int firstRow, int rowStep, int count,
        Span<float> c, Span<float> h, Span<int> acc, Span<float> y, int yFirst, int yStep)
    {
        ArgumentNullException.ThrowIfNull(r);
        int hidden = h.Length, gh = 4 * hidden;
        if (r.Rows != gh || r.Cols != hidden || c.Length != hidden || acc.Length < gh)
            throw new ArgumentException($"LSTM step: R is {r.Rows} x {r.Cols}, c {c.Length}, h {hidden}, acc {acc.Length}; expected hidden {hidden}");
        if (count <= 0) return;
        long lastRow = firstRow + (long)(count - 1) * rowStep;
        if (firstRow < 0 || lastRow < 0 || (Math.Max(firstRow, lastRow) + 1) * gh > proj.Length)
            throw new ArgumentException($"LSTM steps: projection rows {firstRow}..{lastRow} of {gh} floats, proj holds {proj.Length}");
        long lastY = yFirst + (long)(count - 1) * yStep;
        if (!y.IsEmpty && (yFirst < 0 || lastY < 0 || Math.Max(yFirst, lastY) + hidden > y.Length))
            throw new ArgumentException($"LSTM steps: outputs at {yFirst}..{lastY} of {hidden} floats, y holds {y.Length}");
        int kp = r.PaddedCols;
        int need = PreparedBytes(kp, 1);
        byte[]? rented = null;
        Span<byte> xp = need <= UnitStepScratchBytes ? stackalloc byte[UnitStepScratchBytes] : (rented = ArrayPool<byte>.Shared.Rent(need));
        try
        {
            var rows = r.RowScales;
            for (int s = 0, row = firstRow, yAt = yFirst; s < count; s++, row += rowStep, yAt += yStep)
            {
                PrepareUnitH(h, kp, xp);
                _kernels.Int8Batch1(r, xp, 1, 0, r.RowBlocks, acc, gh);
                LstmCellInt8(proj.Slice(row * gh, gh), acc, rows, UnitScale, c, h);
                if (!y.IsEmpty) h.CopyTo(y.Slice(yAt, hidden));
            }
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// The int8 cell of the default LSTM (<see cref="RecurrentCell.LstmInt8"/>) at this path's float vector width; with
    /// an empty <paramref name="acc"/> the pre-activations are <paramref name="proj"/> alone (a zero initial state).
    /// </summary>
    public void LstmCellInt8(ReadOnlySpan<float> proj, ReadOnlySpan<int> acc, ReadOnlySpan<float> rowScales, float hScale, Span<float> c, Span<float> h) =>
        RecurrentCell.LstmInt8(_kernels.FloatBits, proj, acc, rowScales, hScale, c, h);

    /// <summary>The scale of h quantized in the unit range: 1 / 127, as QuantizeActivations(h, q, 1) returns it.</summary>
    private const float UnitScale = 1f / 127f;

    /// <summary>Stack scratch of <see cref="LstmStepInt8Unit(PackedInt8Matrix, ReadOnlySpan{float}, Span{float}, Span{float}, Span{int})"/>: a prepared row of up to 1024 (AVX2: 512) hidden units.</summary>
    private const int UnitStepScratchBytes = 1024;

    /// <summary>
    /// h in the unit range quantized into the path's prepared row at the start of <paramref name="xp"/> (see
    /// <see cref="PrepareX"/>; AVX2 also writes |q| at [kp, 2 kp)): with VNNI the offset form directly, elsewhere q
    /// then the path's form of it.
    /// </summary>
    private unsafe void PrepareUnitH(ReadOnlySpan<float> h, int kp, Span<byte> xp)
    {
        var row = xp[..kp];
        if (_kernels.QuantizeUnit != null)
        {
            _kernels.QuantizeUnit(h, row);
            return;
        }
        QuantizeActivations(h, MemoryMarshal.Cast<byte, sbyte>(row), 1f);
        row[h.Length..].Clear();
        PrepareRow(row, _kernels.PreparedCopies == 2 ? xp.Slice(kp, kp) : default);
    }

    /// <summary>
    /// VNNI's prepared row of h in the unit range: (byte)(q + 128) with q = clamp(round-half-even(127 h), -127, 127), the
    /// operations of QuantizeVector512 (and of the scalar specification, <see cref="PackedInt8Matrix.QuantizeRow"/>'s
    /// rounding), then 128 (q = 0) up to the padded width.
    /// </summary>
    private static void QuantizeUnitOffset(ReadOnlySpan<float> h, Span<byte> row)
    {
        const float inv = 127f; // 127 / range, range 1
        ref float src = ref MemoryMarshal.GetReference(h);
        ref byte dst = ref MemoryMarshal.GetReference(row);
        int n = h.Length, i = 0;
        if (Avx512F.IsSupported)
        {
            var vi = Vector512.Create(inv);
            var lo = Vector512.Create(-127f);
            var hi = Vector512.Create(127f);
            var offset = Vector128.Create((byte)0x80);
            for (; i + 16 <= n; i += 16)
            {
                var q = Vector512.ConvertToInt32(Vector512.Round(Vector512.Clamp(Vector512.LoadUnsafe(ref src, (nuint)i) * vi, lo, hi)));
                (Avx512F.ConvertToVector128SByte(q).AsByte() ^ offset).StoreUnsafe(ref dst, (nuint)i); // |q| ≤ 127: truncation is exact
            }
            if (i < n && n >= 16)
            {
                // The rest as one block ending at the last element (see QuantizeLastBlock): the overlap gets the same bytes again.
                int last = n - 16;
                var q = Vector512.ConvertToInt32(Vector512.Round(Vector512.Clamp(Vector512.LoadUnsafe(ref src, (nuint)last) * vi, lo, hi)));
                (Avx512F.ConvertToVector128SByte(q).AsByte() ^ offset).StoreUnsafe(ref dst, (nuint)last);
                i = n;
            }
        }
        for (; i < n; i++)
            Unsafe.Add(ref dst, i) = (byte)((sbyte)Math.Clamp(MathF.Round(Unsafe.Add(ref src, i) * inv, MidpointRounding.ToEven), -127f, 127f) ^ 0x80);
        row[n..].Fill(0x80);
    }

    /// <summary>
    /// One int8 LSTM step of a single time step with its input projection: proj = W xq dequantized with
    /// <paramref name="xScale"/> plus <paramref name="bias"/> (as <see cref="MultiplyInt8Dequantize"/>, into the scratch
    /// <paramref name="proj"/> of 4H floats), then the step of the other overload. With AVX-512 VNNI and AVX2 both
    /// products run in one pass (<see cref="Int8Avx512VnniBatch1WithInput"/>, <see cref="Int8Avx2Batch1WithInput"/>):
    /// a lone step's projection then costs no separate trip of W through the cache. Other paths run the two products
    /// in turn. The same bits either way (integer sums,
    /// then the same float operations in the same order).
    /// </summary>
    public void LstmStepInt8(PackedInt8Matrix r, ReadOnlySpan<sbyte> hq, float hScale, PackedInt8Matrix w, ReadOnlySpan<sbyte> xq, float xScale,
        ReadOnlySpan<float> bias, Span<float> proj, Span<float> c, Span<float> h, Span<int> acc)
        => LoneStepInt8(r, hq, hScale, unitH: false, w, xq, xScale, bias, proj, c, h, acc);

    /// <summary>
    /// The single step with its input projection of the overload above, from h in the static unit range as
    /// <see cref="LstmStepInt8Unit(PackedInt8Matrix, ReadOnlySpan{float}, Span{float}, Span{float}, Span{int})"/>
    /// takes it (quantized with the scale 1/127 straight into the kernel's prepared form). The same bits.
    /// </summary>
    public void LstmStepInt8Unit(PackedInt8Matrix r, PackedInt8Matrix w, ReadOnlySpan<sbyte> xq, float xScale,
        ReadOnlySpan<float> bias, Span<float> proj, Span<float> c, Span<float> h, Span<int> acc)
        => LoneStepInt8(r, default, UnitScale, unitH: true, w, xq, xScale, bias, proj, c, h, acc);

    [SkipLocalsInit]
    private unsafe void LoneStepInt8(PackedInt8Matrix r, ReadOnlySpan<sbyte> hq, float hScale, bool unitH, PackedInt8Matrix w, ReadOnlySpan<sbyte> xq, float xScale,
        ReadOnlySpan<float> bias, Span<float> proj, Span<float> c, Span<float> h, Span<int> acc)
    {
        ArgumentNullException.ThrowIfNull(r);
        ArgumentNullException.ThrowIfNull(w);
        int hidden = h.Length;
        if (w.Rows != 4 * hidden || xq.Length < w.Cols || bias.Length < 4 * hidden || proj.Length < 4 * hidden)
            throw new ArgumentException($"LSTM step: W is {w.Rows} x {w.Cols}, xq {xq.Length}, bias {bias.Length}, proj {proj.Length}; expected {4 * hidden} rows");
        // Prepared activations: the +128 form for VNNI, x and |x| side by side for AVX2 (PrepareX).
        int perByte = _kernels.PreparedCopies;
        if (_kernels.StepWithInput == null || r.Rows != 4 * hidden || r.Cols != hidden || (!unitH && hq.Length < hidden) || c.Length != hidden
            || acc.Length < 4 * hidden || perByte * (r.PaddedCols + w.PaddedCols) > StackScratchBytes)
        {
            MultiplyInt8Dequantize(w, xq, w.Cols, new ReadOnlySpan<float>(in xScale), 1, bias, proj, 4 * hidden, accumulate: false);
            if (unitH) LstmStepInt8Unit(r, proj, c, h, acc);
            else LstmStepInt8(r, hq, hScale, proj, c, h, acc);
            return;
        }
        Span<byte> prepared = stackalloc byte[StackScratchBytes];
        var hp = prepared[..(perByte * r.PaddedCols)];
        var xp = prepared.Slice(perByte * r.PaddedCols, perByte * w.PaddedCols);
        if (unitH) PrepareUnitH(h, r.PaddedCols, hp);
        else PrepareX(hq, hidden, 1, hidden, r.PaddedCols, hp);
        PrepareX(xq, w.Cols, 1, w.Cols, w.PaddedCols, xp);
        _kernels.StepWithInput(r, hp, acc, w, xp, xScale, bias, proj);
        LstmCellInt8(proj, acc, r.RowScales, hScale, c, h);
    }
}
