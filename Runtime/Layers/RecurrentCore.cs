using Edge.Runtime.Execution;
using Edge.Runtime.Kernels;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Layers;

/// <summary>
/// The recurrent core of <see cref="Lstm"/>, <see cref="Gru"/> and <see cref="Rnn"/> as the stream's cached recurrence uses it
/// (Runtime/Streaming/CachedRecurrence.cs): "project the inputs" for one sample, and "run a step from a
/// projection", both for the forward direction of a sequence that starts from a zero state. The batch layer runs
/// the same two methods over all time steps, so a cached forecast equals the batch run bit for bit in fp32 and
/// int8 alike.
/// </summary>
internal interface IRecurrentCore
{
    int Hidden { get; }

    int InputSize { get; }

    /// <summary>Floats per projection: gates x hidden.</summary>
    int Width { get; }

    /// <summary>Whether W and R run as int8 products.</summary>
    bool IsInt8 { get; }

    /// <summary>proj = W x + b for one sample x (int8: x quantized as the layer quantizes each time step).</summary>
    void ProjectSample(ReadOnlySpan<float> x, Span<float> proj, StepScratch work);

    /// <summary>
    /// One step from the projection <paramref name="proj"/> (read only): h and c (LSTM only) updated in place;
    /// <paramref name="first"/> for the first step of a sequence from a zero state.
    /// </summary>
    void Step(ReadOnlySpan<float> proj, bool first, Span<float> h, Span<float> c, StepScratch work);
}

/// <summary>
/// Scratch of one recurrent step (every element is written before it is read): <see cref="Gates"/> (gates x H),
/// <see cref="Vector"/> (H: LSTM h(c'), GRU r·h), and for int8 products <see cref="Hq"/> (H),
/// <see cref="Scale"/> (1), <see cref="Acc"/> (gates x H), and for <see cref="IRecurrentCore.ProjectSample"/>
/// <see cref="Xq"/> (input size) and <see cref="XScale"/> (1).
/// </summary>
internal ref struct StepScratch
{
    public Span<float> Gates;
    public Span<float> Vector;
    public Span<sbyte> Hq;
    public Span<float> Scale;
    public Span<int> Acc;
    public Span<sbyte> Xq;
    public Span<float> XScale;
}

/// <summary>
/// What <see cref="Lstm"/>, <see cref="Gru"/> and <see cref="Rnn"/> share as <see cref="IRecurrentCore"/>: the sizes and the one-sample
/// projection (the layer's own, <see cref="RecurrentLayer.ProjectDirection"/>) of direction 0 with constant weights.
/// </summary>
internal abstract class RecurrentOperator : IOperator, IRecurrentCore
{
    protected abstract RecurrentLayer Layer { get; }

    /// <summary>The prepared constant weights; null when they arrive at run time (no core then).</summary>
    protected abstract RecurrentWeights? ConstantWeights { get; }

    /// <summary>The int8 products' kernels and the range X is quantized with (int8 weights only).</summary>
    protected abstract Gemv? Int8Kernels { get; }

    protected abstract ActivationQuantization XRange { get; }

    private RecurrentWeights CoreWeights => ConstantWeights ?? throw Layer.Error("its weights arrive at run time; the recurrent core needs constant weights");

    public int Hidden => CoreWeights.Hidden;

    public int InputSize => CoreWeights.InputSize;

    public int Width => Layer.Gates * CoreWeights.Hidden;

    public bool IsInt8 => CoreWeights.IsInt8;

    public void ProjectSample(ReadOnlySpan<float> x, Span<float> proj, StepScratch work)
    {
        var weights = CoreWeights;
        if (weights.IsInt8) XRange.QuantizeRows(Int8Kernels!, x, 1, weights.InputSize, work.Xq, work.XScale);
        RecurrentLayer.ProjectDirection(weights, Int8Kernels, 0, x, work.Xq, work.XScale, 1, proj, Width);
    }

    public void Step(ReadOnlySpan<float> proj, bool first, Span<float> h, Span<float> c, StepScratch work) => CoreStep(CoreWeights, proj, first, h, c, work);

    /// <summary><see cref="IRecurrentCore.Step"/> on the constant weights.</summary>
    protected abstract void CoreStep(RecurrentWeights weights, ReadOnlySpan<float> proj, bool first, Span<float> h, Span<float> c, StepScratch work);

    public abstract void Run(ReadOnlySpan<Tensor?> inputs, Span<Tensor?> outputs, NodeBuffers buffers);
}
