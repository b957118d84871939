using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using Edge.Runtime.Kernels;

namespace Edge.Runtime.Layers;

/// <summary>
/// One direction's fp32 LSTM cell, staged as tflite-micro stages it: <see cref="ComputeGates"/> (the gate
/// activations), <see cref="UpdateCell"/> (c' = f·c + i·g), <see cref="UpdateHidden"/> (the output gate, then
/// h' = o·h(c')). Input: the gate pre-activations [i | f | g | o] with the input and recurrent products and the
/// biases summed (fp32, or int8 products dequantized). Peepholes and clipping in ONNX Runtime's order: i and f
/// see the previous cell, o the new one; each pre-activation is clipped after its peephole term. The default
/// cell (sigmoid, tanh, tanh; no peepholes, clip or coupled input-forget gate) runs the
/// <see cref="RecurrentCell"/> kernels of the same stages.
/// </summary>
internal sealed class LstmCell
{
    public LstmCell(RecurrentActivation f, RecurrentActivation g, RecurrentActivation h, float clip, bool inputForget, float[]? peepholes)
    {
        F = f;
        G = g;
        H = h;
        Clip = clip;
        InputForget = inputForget;
        Peepholes = peepholes;
        IsDefault = peepholes is null && !(clip > 0f) && !inputForget && f.Kind == RecurrentActivationKind.Sigmoid
            && g.Kind == RecurrentActivationKind.Tanh && h.Kind == RecurrentActivationKind.Tanh;
    }

    /// <summary>The gate activation (i, f, o), the cell-input activation (g) and the output activation (of c').</summary>
    public RecurrentActivation F { get; }
    public RecurrentActivation G { get; }
    public RecurrentActivation H { get; }

    /// <summary>Pre-activations are clipped to [-Clip, Clip] when Clip &gt; 0.</summary>
    public float Clip { get; }

    /// <summary>f = 1 - i (ONNX input_forget).</summary>
    public bool InputForget { get; }

    /// <summary>Peepholes i, f, o [3H], or null.</summary>
    public float[]? Peepholes { get; }

    /// <summary>Sigmoid, tanh, tanh, no peepholes, clipping or coupled input-forget gate.</summary>
    public bool IsDefault { get; }

    /// <summary>
    /// One step: <paramref name="gates"/> (4H pre-activations, overwritten) to the new <paramref name="c"/> and
    /// <paramref name="h"/> (in place); <paramref name="cellOut"/> (H) is scratch for h(c') when the cell is not the default.
    /// </summary>
    public void Step(Span<float> gates, Span<float> c, Span<float> h, Span<float> cellOut)
    {
        ComputeGates(gates, c);
        UpdateCell(gates, c);
        UpdateHidden(gates, c, h, cellOut);
    }

    /// <summary>
    /// Stage 1: i, f and g activated in place (f = 1 - i with input_forget), with the peepholes on the previous
    /// cell state <paramref name="c"/>; the default cell also activates o here (it has no peephole to wait for).
    /// </summary>
    public void ComputeGates(Span<float> gates, ReadOnlySpan<float> c)
    {
        if (IsDefault)
        {
            RecurrentCell.LstmGates(gates);
            return;
        }
        int n = c.Length;
        var i = gates[..n];
        var f = gates.Slice(n, n);
        var g = gates.Slice(2 * n, n);
        var peep = Peepholes;
        if (peep is not null) TensorPrimitives.MultiplyAdd(peep.AsSpan(0, n), c, i, i);
        RecurrentLayer.ClipInPlace(i, Clip);
        F.Apply(i);
        if (InputForget)
        {
            TensorPrimitives.Subtract(1f, i, f);
        }
        else
        {
            if (peep is not null) TensorPrimitives.MultiplyAdd(peep.AsSpan(n, n), c, f, f);
            RecurrentLayer.ClipInPlace(f, Clip);
            F.Apply(f);
        }
        RecurrentLayer.ClipInPlace(g, Clip);
        G.Apply(g);
    }

    /// <summary>Stage 2: c' = f·c + i·g (c updated in place) from the activated gates.</summary>
    public static void UpdateCell(ReadOnlySpan<float> gates, Span<float> c) => RecurrentCell.LstmUpdateCell(gates, c);

    /// <summary>
    /// Stage 3: o activated (its peephole on the new cell state; already done by <see cref="ComputeGates"/> for the
    /// default cell), then h' = o·h(c'). <paramref name="cellOut"/> receives h(c') (the default cell writes it over g).
    /// </summary>
    public void UpdateHidden(Span<float> gates, ReadOnlySpan<float> c, Span<float> h, Span<float> cellOut)
    {
        if (IsDefault)
        {
            RecurrentCell.LstmUpdateHidden(gates, c, h);
            return;
        }
        int n = h.Length;
        var o = gates.Slice(3 * n, n);
        if (Peepholes is not null) TensorPrimitives.MultiplyAdd(Peepholes.AsSpan(2 * n, n), c, o, o);
        RecurrentLayer.ClipInPlace(o, Clip);
        F.Apply(o);
        c.CopyTo(cellOut);
        H.Apply(cellOut);
        TensorPrimitives.Multiply(o, cellOut, h);
    }
}
