using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Quantization;

/// <summary>
/// The reference weight quantizer (int8, symmetric, one scale per output row, zero point 0):
///   scale[r] = max|w[r, :]| / 127;  q[r, k] = clamp(round_half_even(w[r, k] / scale[r]), -127, 127)
/// A row of zeros gets scale 0 and zeros. Deterministic: the same weights give the same bytes on every
/// machine (plain IEEE float division and rounding, no SIMD-dependent reductions).
/// </summary>
internal static class WeightQuantizer
{
    public static QuantizedWeight QuantizePerRow(Tensor weight, int axis)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.DataType != DataType.Float32)
            throw new EdgeException($"only float32 weights can be quantized, got {weight.DataType.Name()}{weight.ShapeString}");
        if (axis < 0 || axis >= weight.Rank)
            throw new EdgeException($"row axis {axis} is outside a weight of shape {weight.ShapeString}");
        int rows = checked((int)QuantizedWeight.RowCount(weight.Shape, axis));
        int cols = rows == 0 ? 0 : weight.Length / rows;
        var w = weight.Contiguous().ReadOnlySpan<float>();
        var values = Tensor.Zeros(DataType.Int8, weight.ShapeArray());
        var q = values.Span<sbyte>();
        var scales = new float[rows];
        for (int r = 0; r < rows; r++)
        {
            var row = w.Slice(r * cols, cols);
            float maxAbs = 0;
            foreach (var v in row)
            {
                if (!float.IsFinite(v)) throw new EdgeException($"weight row {r} holds {v}; only finite weights can be quantized");
                maxAbs = Math.Max(maxAbs, Math.Abs(v));
            }
            if (maxAbs == 0) continue;
            float scale = maxAbs / 127f;
            scales[r] = scale;
            var dst = q.Slice(r * cols, cols);
            for (int k = 0; k < cols; k++)
                dst[k] = (sbyte)Math.Clamp(MathF.Round(row[k] / scale, MidpointRounding.ToEven), -127f, 127f);
        }
        return new QuantizedWeight(values, scales, axis);
    }

    /// <summary>values * scale per row, as float32: the fp32 view of an int8 weight (the fallback and the accuracy baseline).</summary>
    public static Tensor Dequantize(QuantizedWeight weight)
    {
        ArgumentNullException.ThrowIfNull(weight);
        int rows = weight.Scales.Length;
        int cols = rows == 0 ? 0 : weight.Values.Length / rows;
        var q = weight.Values.Contiguous().ReadOnlySpan<sbyte>();
        var result = Tensor.Zeros(DataType.Float32, weight.Values.ShapeArray());
        var dst = result.Span<float>();
        for (int r = 0; r < rows; r++)
        {
            float s = weight.Scales[r];
            for (int k = 0; k < cols; k++) dst[r * cols + k] = q[r * cols + k] * s;
        }
        return result;
    }
}
