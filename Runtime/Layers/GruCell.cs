using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace Edge.Runtime.Layers;

/// <summary>
/// One direction's fp32 GRU cell (gate order r, z, n), staged as tflite-micro stages its cells:
/// <see cref="ComputeGates"/> (r and z), the candidate with the reset gate (<see cref="ResetLinear"/> for
/// linear_before_reset = 1, n = g(x_n + r·(h R_n + b_Rn)); <see cref="ResetHidden"/> for linear_before_reset = 0,
/// whose r·h then goes through R_n; then <see cref="ComputeCandidate"/>), and <see cref="UpdateHidden"/>
/// (h' = (1 - z)·n + z·h). The recurrent products between the stages are the layer's (fp32 or int8).
/// </summary>
internal sealed class GruCell(RecurrentActivation f, RecurrentActivation g, float clip)
{
    /// <summary>The gate activation (r, z) and the candidate's (n).</summary>
    public RecurrentActivation F { get; } = f;
    public RecurrentActivation G { get; } = g;

    /// <summary>Pre-activations are clipped to [-Clip, Clip] when Clip &gt; 0.</summary>
    public float Clip { get; } = clip;

    /// <summary>Stage 1: the [r | z] pre-activations (2H, input and recurrent parts and biases summed) activated in place.</summary>
    public void ComputeGates(Span<float> rz)
    {
        RecurrentLayer.ClipInPlace(rz, Clip);
        F.Apply(rz);
    }

    /// <summary>Stage 2, linear_before_reset = 1: hn = x_n + r·hn, the candidate's pre-activation, where hn held h R_n + b_Rn.</summary>
    public static void ResetLinear(ReadOnlySpan<float> r, Span<float> hn, ReadOnlySpan<float> xn) =>
        TensorPrimitives.MultiplyAdd(r, hn, xn, hn);

    /// <summary>Stage 2, linear_before_reset = 0: rh = r·h, the vector R_n multiplies (the product adds to x_n + b_n).</summary>
    public static void ResetHidden(ReadOnlySpan<float> r, ReadOnlySpan<float> h, Span<float> rh) =>
        TensorPrimitives.Multiply(r, h, rh);

    /// <summary>Stage 2, end: the candidate n = g(pre-activation), in place.</summary>
    public void ComputeCandidate(Span<float> n)
    {
        RecurrentLayer.ClipInPlace(n, Clip);
        G.Apply(n);
    }

    /// <summary>Stage 3: h' = (1 - z)·n + z·h, computed as n + z·(h - n) (h updated in place).</summary>
    public static void UpdateHidden(ReadOnlySpan<float> z, ReadOnlySpan<float> n, Span<float> h)
    {
        TensorPrimitives.Subtract(h, n, h);
        TensorPrimitives.MultiplyAdd(z, h, n, h);
    }
}
