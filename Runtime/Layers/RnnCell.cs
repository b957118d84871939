namespace Edge.Runtime.Layers;

/// <summary>
/// One direction's fp32 vanilla RNN cell, staged as <see cref="GruCell"/>: the layer sums the projection
/// (x W^T + b_W + b_R) and the recurrent product h R^T (fp32 or int8) into the pre-activation, then
/// <see cref="Compute"/> clips and activates it into the new h.
/// </summary>
internal sealed class RnnCell(RecurrentActivation f, float clip)
{
    /// <summary>The activation (ONNX RNN's f; PyTorch's nonlinearity; Keras SimpleRNN's activation).</summary>
    public RecurrentActivation F { get; } = f;

    /// <summary>Pre-activations are clipped to [-Clip, Clip] when Clip &gt; 0.</summary>
    public float Clip { get; } = clip;

    /// <summary>The pre-activation <paramref name="pre"/> (H) activated, written to <paramref name="h"/>.</summary>
    public void Compute(Span<float> pre, Span<float> h)
    {
        RecurrentLayer.ClipInPlace(pre, Clip);
        F.Apply(pre);
        pre.CopyTo(h);
    }
}
