using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Kernels;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Layers;

/// <summary>
/// Vanilla RNN layer (<see cref="OpKind.Rnn"/>): the ONNX RNN contract, h' = f(x W^T + b_W + h R^T + b_R).
/// Built as <see cref="Gru"/> with one gate: constant weights validated and packed once, both biases folded into
/// the input projection, one projection for all steps per direction, then per batch row and step the recurrent
/// product and the <see cref="RnnCell"/>. int8 (W and R stored per-row quantized, B constant): the same Gemv
/// kernels as LSTM/GRU, X quantized per row for the projection, h quantized per step with the static scale 1/127
/// when f bounds h to [-1, 1] (Tanh, Sigmoid, ...) and the initial state is within it, dynamically otherwise
/// (Relu, Linear). Projection and step are the recurrent core the stream's cached recurrence runs too.
/// </summary>
internal sealed class Rnn : RecurrentOperator
{
    private static readonly string[] DefaultActivations = ["Tanh"];

    private readonly RecurrentLayer _layer;
    private readonly RnnCell[] _cells; // per direction
    private readonly RecurrentWeights? _weights; // null when W, R or B arrive at run time
    private readonly Gemv? _gemv; // int8 weights only
    private readonly ActivationQuantization _xRange;
    private readonly bool[] _hBounded; // per direction: |h| <= 1 whenever the initial state is

    public Rnn(Node node, OperatorContext context)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(context);
        _layer = new RecurrentLayer(node, gates: 1, context);
        var activations = RecurrentActivation.Parse(node, _layer.Directions, DefaultActivations);
        if (node.HasInput(RecurrentLayer.InInitialC) || node.HasInput(RecurrentLayer.InP))
            throw _layer.Error("an RNN takes at most 6 inputs (X, W, R, B, sequence_lens, initial_h)");
        _cells = new RnnCell[_layer.Directions];
        _hBounded = new bool[_layer.Directions];
        for (int d = 0; d < _cells.Length; d++)
        {
            _cells[d] = new RnnCell(activations[d], _layer.Clip);
            _hBounded[d] = Int8Weights.IsUnitBounded(activations[d]);
        }
        if (context.Quantized(node.Input(RecurrentLayer.InW)) is { } wq && context.Quantized(node.Input(RecurrentLayer.InR)) is { } rq
            && _layer.AllConstant(context, RecurrentLayer.InB))
        {
            _weights = _layer.PrepareInt8Weights(wq, rq, _layer.Constant(context, RecurrentLayer.InB), p: null);
            _gemv = context.Gemv;
            _xRange = ActivationQuantization.FromNode(node);
        }
        else if (_layer.AllConstant(context, RecurrentLayer.InW, RecurrentLayer.InR, RecurrentLayer.InB))
            _weights = Prepare(_layer.Constant(context, RecurrentLayer.InW), _layer.Constant(context, RecurrentLayer.InR),
                _layer.Constant(context, RecurrentLayer.InB));
    }

    private RecurrentWeights Prepare(Tensor? w, Tensor? r, Tensor? b) => _layer.PrepareWeights(w, r, b, p: null);

    public override void Run(ReadOnlySpan<Tensor?> inputs, Span<Tensor?> outputs, NodeBuffers buffers)
    {
        var weights = _weights ?? Prepare(RecurrentLayer.Input(inputs, RecurrentLayer.InW),
            RecurrentLayer.Input(inputs, RecurrentLayer.InR), RecurrentLayer.Input(inputs, RecurrentLayer.InB));
        var (x, seq, batch) = _layer.CheckX(RecurrentLayer.Input(inputs, RecurrentLayer.InX), weights);
        int hidden = weights.Hidden;
        var lens = _layer.SequenceLengths(RecurrentLayer.Input(inputs, RecurrentLayer.InSequenceLens), seq, batch, buffers, 0);
        var h0 = _layer.CheckState(RecurrentLayer.Input(inputs, RecurrentLayer.InInitialH), "initial_h", batch, hidden);

        var y = _layer.WantsOutput(0, outputs) ? _layer.NewY(seq, batch, hidden, buffers, RecurrentLayer.Input(inputs, RecurrentLayer.InSequenceLens) is not null) : null;
        var yh = _layer.NewState(batch, hidden, buffers, 1);

        // Scratch (slots 0 and 1 hold the lengths): every element is written before it is read.
        int rows = seq * batch;
        var proj = buffers.Scratch<float>(2, rows * hidden);
        var h = buffers.Scratch<float>(4, hidden);
        Span<float> hScale = stackalloc float[1];
        var work = new StepScratch { Gates = buffers.Scratch<float>(3, hidden), Scale = hScale };
        var xs = x.ReadOnlySpan<float>();
        var ys = y is null ? default : y.Span<float>();
        Span<sbyte> xq = default;
        Span<float> xScales = default;
        if (weights.IsInt8)
        {
            xq = buffers.Scratch<sbyte>(6, rows * weights.InputSize);
            xScales = buffers.Scratch<float>(7, rows);
            work.Hq = buffers.Scratch<sbyte>(8, hidden);
            _xRange.QuantizeRows(_gemv!, xs, rows, weights.InputSize, xq, xScales);
        }

        for (int d = 0; d < _layer.Directions; d++)
        {
            RecurrentLayer.ProjectDirection(weights, _gemv, d, xs, xq, xScales, rows, proj, hidden);
            bool reverse = _layer.IsReverse(d);
            for (int b = 0; b < batch; b++)
            {
                int stateAt = _layer.StateOffset(d, b, batch, hidden);
                if (h0 is null) h.Clear(); else h0.ReadOnlySpan<float>().Slice(stateAt, hidden).CopyTo(h);
                bool staticH = _hBounded[d] && (h0 is null || Int8Weights.WithinUnitRange(h));
                int len = lens[b];
                for (int s = 0; s < len; s++)
                {
                    int t = reverse ? len - 1 - s : s;
                    Step(weights, d, proj.Slice(_layer.XRow(t, b, seq, batch) * hidden, hidden), staticH, h, work);
                    if (y is not null) h.CopyTo(ys.Slice(_layer.YOffset(t, d, b, seq, batch, hidden), hidden));
                }
                h.CopyTo(yh.Span<float>().Slice(stateAt, hidden));
            }
        }

        if (y is not null) outputs[0] = y;
        if (_layer.WantsOutput(1, outputs)) outputs[1] = yh;
    }

    /// <summary>
    /// One step of direction <paramref name="d"/> from its projection <paramref name="proj"/> (x W^T and both
    /// biases; read only): pre = proj + h R^T, fp32 (packed R) or int8 (h quantized with the static scale 1/127
    /// when <paramref name="staticH"/>, else its own range), then h = f(pre).
    /// </summary>
    private void Step(RecurrentWeights weights, int d, ReadOnlySpan<float> proj, bool staticH, Span<float> h, StepScratch work)
    {
        int n = h.Length;
        var pre = work.Gates[..n];
        proj.CopyTo(pre);
        if (weights.IsInt8)
        {
            work.Scale[0] = staticH ? _gemv!.QuantizeActivations(h, work.Hq, 1f) : _gemv!.QuantizeActivations(h, work.Hq);
            _gemv.MultiplyInt8Dequantize(weights.RQ![d], work.Hq, n, work.Scale, 1, default, pre, n, accumulate: true);
        }
        else RecurrentLayer.AddRecurrent(h, weights.RT![d], n, 0, pre);
        _cells[d].Compute(pre, h);
    }

    // ── the core, as the stream's cached recurrence runs it (direction 0, from a zero state) ────────────────

    protected override RecurrentLayer Layer => _layer;

    protected override RecurrentWeights? ConstantWeights => _weights;

    protected override Gemv? Int8Kernels => _gemv;

    protected override ActivationQuantization XRange => _xRange;

    protected override void CoreStep(RecurrentWeights weights, ReadOnlySpan<float> proj, bool first, Span<float> h, Span<float> c, StepScratch work) =>
        Step(weights, 0, proj, _hBounded[0], h, work);
}
