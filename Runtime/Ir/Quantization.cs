using Edge.Runtime.Tensors;

namespace Edge.Runtime.Ir;

/// <summary>How a stored tensor is quantized. Values are stable: they are written to `.edge` blobs.</summary>
internal enum QuantizationScheme : byte
{
    /// <summary>Plain tensor, no scales.</summary>
    None = 0,

    /// <summary>int8, symmetric (zero point 0), values in [-127, 127], one float32 scale per row (see <see cref="QuantizedWeight"/>).</summary>
    Int8PerRowSymmetric = 1,
}

/// <summary>
/// An int8 weight with one fp32 scale per output row: real value = Values[...] * Scales[row].
/// Rows: the tensor seen as a row-major matrix whose row index runs over axes 0..<see cref="Axis"/>
/// (inclusive) and whose columns are the remaining axes, so <c>Scales.Length</c> is the product of
/// <c>Values.Shape[0..Axis]</c>. A Dense weight (out, in) has Axis 0 (one scale per output); an LSTM
/// W (dirs, 4H, I) has Axis 1 (one scale per gate row of each direction). This is the matrix the
/// GEMV kernels walk row by row, so a row's scale is applied once to its int32 accumulator.
/// Range [-127, 127] (never -128) keeps the AVX2 sign trick and NEON pairwise sums from saturating.
/// </summary>
internal sealed record QuantizedWeight(Tensor Values, float[] Scales, int Axis)
{
    public const sbyte MinValue = -127;
    public const sbyte MaxValue = 127;

    /// <summary>Number of rows (= scales) of a tensor of <paramref name="shape"/> with row axis <paramref name="axis"/>.</summary>
    public static long RowCount(ReadOnlySpan<int> shape, int axis)
    {
        long rows = 1;
        for (int i = 0; i <= axis && i < shape.Length; i++) rows *= shape[i];
        return rows;
    }

    /// <summary>Checks dtype, axis, scale count, scale values and the int8 range; throws <see cref="EdgeException"/> naming <paramref name="name"/>.</summary>
    public void Validate(string name)
    {
        if (Values is null) throw new EdgeException($"quantized weight '{name}' has no values");
        if (Scales is null) throw new EdgeException($"quantized weight '{name}' has no scales");
        if (Values.DataType != DataType.Int8)
            throw new EdgeException($"quantized weight '{name}' holds {Values.DataType.Name()}, not int8");
        if (Values.Rank == 0 || Axis < 0 || Axis >= Values.Rank)
            throw new EdgeException($"quantized weight '{name}' of shape {Values.ShapeString} has row axis {Axis}, outside [0, {Values.Rank})");
        long rows = RowCount(Values.Shape, Axis);
        if (Scales.Length != rows)
            throw new EdgeException($"quantized weight '{name}' of shape {Values.ShapeString} with row axis {Axis} has {rows} rows but {Scales.Length} scales");
        for (int r = 0; r < Scales.Length; r++)
            if (!float.IsFinite(Scales[r]) || Scales[r] < 0)
                throw new EdgeException($"quantized weight '{name}': scale of row {r} is {Scales[r]}; scales are finite and >= 0");
        if (Values.Length == 0) return;
        var v = Values.Contiguous().ReadOnlySpan<sbyte>();
        int bad = v.IndexOf(sbyte.MinValue);
        if (bad >= 0)
            throw new EdgeException($"quantized weight '{name}' holds -128 at element {bad}; the range is [-127, 127]");
    }
}
