using Edge.Runtime.Ir;
using Edge.Runtime.Kernels;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace Edge.Runtime.Layers;

/// <summary>
/// How an activation entering an int8 matrix product is quantized (docs/architecture.md, Quantization):
/// int8 symmetric per tensor, zero point 0, q = clamp(round-half-even(x · 127 / absmax), -127, 127),
/// scale = absmax / 127. The range is either
/// <list type="bullet">
/// <item>static: known before the run, from calibration (the node attribute <see cref="AttributeName"/>,
///   max |x| over the calibration data) or from the math (|h| &lt;= 1 for a tanh/sigmoid-bounded recurrent
///   state: <see cref="UnitRange"/>). Values beyond it saturate at ±127.</item>
/// <item>dynamic: max |x| of the vector itself, measured at run time (the default; exact range, one
///   extra pass over a short vector).</item>
/// </list>
/// A "vector" is one row of the product's input: one time step of one batch row, one output window of a
/// convolution, one candidate. Its int32 accumulators are then dequantized with row scale x its scale.
/// </summary>
internal readonly struct ActivationQuantization
{
    /// <summary>The node attribute the quantizer's calibration writes (Edge.Quantizer.Calibration.Calibrator).</summary>
    public const string AttributeName = "input_absmax";

    private ActivationQuantization(float absMax) => AbsMax = absMax;

    /// <summary>The static max |x|, or 0 for a dynamic range.</summary>
    public float AbsMax { get; }

    public bool IsStatic => AbsMax > 0;

    public static ActivationQuantization Dynamic => default;

    /// <summary>|x| &lt;= 1: the state of a cell whose output activation is bounded by 1.</summary>
    public static ActivationQuantization UnitRange => new(1f);

    /// <summary>The static range of a node's activation input when calibration stored a usable one, else dynamic.</summary>
    public static ActivationQuantization FromNode(Node node)
    {
        if (!node.Attributes.TryGetValue(AttributeName, out var a) || a.Kind is not (AttributeKind.Float or AttributeKind.Int)) return Dynamic;
        float absMax = node.GetFloat(AttributeName, 0f);
        // A range of 0 (the calibration data never reached this input) would zero every value: measure instead.
        return float.IsFinite(absMax) && absMax > 0 ? new ActivationQuantization(absMax) : Dynamic;
    }

    /// <summary>Quantizes one vector into <paramref name="q"/> and returns its scale.</summary>
    public float Quantize(Gemv gemv, ReadOnlySpan<float> x, Span<sbyte> q) =>
        IsStatic ? gemv.QuantizeActivations(x, q, AbsMax) : gemv.QuantizeActivations(x, q);

    /// <summary>Quantizes <paramref name="rows"/> vectors of <paramref name="cols"/> values (row i at x[i * cols]) into q, one scale each.</summary>
    public void QuantizeRows(Gemv gemv, ReadOnlySpan<float> x, int rows, int cols, Span<sbyte> q, Span<float> scales)
    {
        for (int i = 0; i < rows; i++)
            scales[i] = Quantize(gemv, x.Slice(i * cols, cols), q.Slice(i * cols, cols));
    }

    public override string ToString() => IsStatic ? $"static max |x| {AbsMax}" : "dynamic";
}

/// <summary>Packing of stored int8 weights for the <see cref="Gemv"/> kernels.</summary>
internal static class Int8Weights
{
    /// <summary>
    /// Rows [<paramref name="first"/>, first + count) of a per-row quantized weight seen as its (rows, cols)
    /// matrix, packed with their stored scales (the values are never re-quantized).
    /// </summary>
    public static PackedInt8Matrix PackRows(QuantizedWeight w, int first, int count)
    {
        int rows = w.Scales.Length;
        int cols = rows == 0 ? 0 : w.Values.Length / rows;
        var values = w.Values.Contiguous().ReadOnlySpan<sbyte>();
        return PackedInt8Matrix.Pack(values.Slice(first * cols, count * cols), w.Scales.AsSpan(first, count), count, cols);
    }

    /// <summary>The whole weight as one (rows, cols) matrix.</summary>
    public static PackedInt8Matrix Pack(QuantizedWeight w) => PackRows(w, 0, w.Scales.Length);

    /// <summary>
    /// Whether a recurrent cell's output is bounded by 1 in magnitude when its inputs are: activations
    /// whose range lies in [-1, 1] (sigmoid, hard sigmoid, tanh, softsign; scaled tanh with |alpha| &lt;= 1).
    /// </summary>
    public static bool IsUnitBounded(RecurrentActivation a) => a.Kind switch
    {
        RecurrentActivationKind.Sigmoid or RecurrentActivationKind.HardSigmoid or RecurrentActivationKind.Tanh
            or RecurrentActivationKind.Softsign => true,
        RecurrentActivationKind.ScaledTanh => Math.Abs(a.Alpha) <= 1f,
        _ => false,
    };

    /// <summary>Whether an activation's range lies in [0, 1] (a convex weight: GRU's z).</summary>
    public static bool IsUnitInterval(RecurrentActivation a) =>
        a.Kind is RecurrentActivationKind.Sigmoid or RecurrentActivationKind.HardSigmoid;

    /// <summary>max |x| &lt;= 1 (false for NaN).</summary>
    public static bool WithinUnitRange(ReadOnlySpan<float> x) => x.IsEmpty || Math.Abs(TensorPrimitives.MaxMagnitude(x)) <= 1f;
}
