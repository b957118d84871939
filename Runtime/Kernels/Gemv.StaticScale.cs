namespace Edge.Runtime.Kernels;

// Activation quantization with a scale known in advance (calibration's max |x|, or the bound |h| <= 1 of a
// tanh/sigmoid-bounded recurrent state), next to the dynamic QuantizeActivations of Gemv.cs.
internal sealed partial class Gemv
{
    /// <summary>
    /// Static per-tensor quantization: scale = <paramref name="absMax"/> / 127 and
    /// q = clamp(round-half-even(x · (127 / absMax)), -127, 127), so values beyond the range saturate.
    /// The same rule and operation order as <see cref="QuantizeActivations(ReadOnlySpan{float}, Span{sbyte})"/>
    /// with max|x| replaced by <paramref name="absMax"/>; every path gives the same bytes. Returns the scale.
    /// </summary>
    public unsafe float QuantizeActivations(ReadOnlySpan<float> x, Span<sbyte> q, float absMax)
    {
        if (q.Length < x.Length) throw new ArgumentException($"q holds {q.Length} values, x has {x.Length}", nameof(q));
        if (!(absMax > 0) || !float.IsFinite(absMax)) throw new ArgumentOutOfRangeException(nameof(absMax), absMax, "a static range must be finite and positive");
        float inv = 127f / absMax;
        int done = _kernels.Quantize == null ? 0 : QuantizeLastBlock(x, q, inv, _kernels.Quantize(x, q, inv));
        for (int i = done; i < x.Length; i++)
            q[i] = (sbyte)Math.Clamp(MathF.Round(x[i] * inv, MidpointRounding.ToEven), -127f, 127f);
        return absMax / 127f;
    }
}
