using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Kernels;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Layers;

/// <summary>
/// fp32 GRU layer (<see cref="OpKind.Gru"/>): the ONNX GRU contract with the IR gate order r, z, n,
/// both reset variants. Prepare: constant weights are validated and packed once; the recurrent biases
/// of r and z (and of n when linear_before_reset = 0, where it is purely additive) are folded into
/// the input projection. Run: per direction one input projection for all steps, then per batch row
/// and step a matrix-vector product with R and the gate math, with no allocation in the time loop.
/// int8 (W and R stored per-row quantized, B constant): as <see cref="Lstm"/>: one small-batch int8
/// projection of the quantized X for all steps, per step an int8 product of R with the quantized h
/// (static scale 1/127 when z is a convex weight and n is bounded by 1, so |h| stays &lt;= 1; dynamic
/// otherwise). With linear_before_reset = 0, R is packed as R_rz and R_n: R_n multiplies the quantized
/// r·h. Gate math in fp32, the staged <see cref="GruCell"/>. Projection and step are the recurrent core
/// (<see cref="IRecurrentCore"/>) that the stream's cached recurrence runs too.
/// </summary>
internal sealed class Gru : RecurrentOperator
{
    private static readonly string[] DefaultActivations = ["Sigmoid", "Tanh"];

    private readonly RecurrentLayer _layer;
    private readonly RecurrentActivation[] _activations; // per direction: f (r, z), g (n)
    private readonly bool _linearBeforeReset;
    private readonly RecurrentWeights? _weights; // null when W, R or B arrive at run time
    private readonly GruCell[] _cells; // per direction
    private readonly Gemv? _gemv; // int8 weights only
    private readonly ActivationQuantization _xRange;
    private readonly bool[] _hBounded; // per direction: |h| <= 1 (and |r·h| <= 1) whenever the initial state is

    public Gru(Node node, OperatorContext context)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(context);
        _layer = new RecurrentLayer(node, gates: 3, context);
        _activations = RecurrentActivation.Parse(node, _layer.Directions, DefaultActivations);
        long lbr = node.GetInt("linear_before_reset", 0);
        if (lbr is not (0 or 1)) throw _layer.Error($"attribute 'linear_before_reset' is {lbr}; expected 0 or 1");
        _linearBeforeReset = lbr == 1;
        if (node.HasInput(RecurrentLayer.InInitialC) || node.HasInput(RecurrentLayer.InP))
            throw _layer.Error("a GRU takes at most 6 inputs (X, W, R, B, sequence_lens, initial_h)");
        _cells = new GruCell[_layer.Directions];
        for (int d = 0; d < _cells.Length; d++) _cells[d] = new GruCell(_activations[2 * d], _activations[2 * d + 1], _layer.Clip);
        _hBounded = new bool[_layer.Directions];
        for (int d = 0; d < _hBounded.Length; d++)
            _hBounded[d] = Int8Weights.IsUnitInterval(_activations[2 * d]) && Int8Weights.IsUnitBounded(_activations[2 * d + 1]);
        if (context.Quantized(node.Input(RecurrentLayer.InW)) is { } wq && context.Quantized(node.Input(RecurrentLayer.InR)) is { } rq
            && _layer.AllConstant(context, RecurrentLayer.InB))
        {
            int hidden = _layer.DeclaredHidden > 0 ? _layer.DeclaredHidden : (rq.Values.Rank == 3 ? rq.Values.Dim(2) : 0);
            _weights = _layer.PrepareInt8Weights(wq, rq, _layer.Constant(context, RecurrentLayer.InB), p: null,
                separateRecurrentBiasGate: _linearBeforeReset ? 2 : -1, splitRecurrentAt: _linearBeforeReset ? 0 : 2 * hidden);
            _gemv = context.Gemv;
            _xRange = ActivationQuantization.FromNode(node);
        }
        else if (_layer.AllConstant(context, RecurrentLayer.InW, RecurrentLayer.InR, RecurrentLayer.InB))
            _weights = Prepare(_layer.Constant(context, RecurrentLayer.InW), _layer.Constant(context, RecurrentLayer.InR),
                _layer.Constant(context, RecurrentLayer.InB));
    }

    private RecurrentWeights Prepare(Tensor? w, Tensor? r, Tensor? b) =>
        _layer.PrepareWeights(w, r, b, p: null, separateRecurrentBiasGate: _linearBeforeReset ? 2 : -1, splitRecurrentAtGate: _linearBeforeReset ? 0 : 2);

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
        int gh = 3 * hidden;
        int rows = seq * batch;
        var proj = buffers.Scratch<float>(2, rows * gh);
        var h = buffers.Scratch<float>(4, hidden);
        Span<float> hScale = stackalloc float[1];
        var work = new StepScratch { Gates = buffers.Scratch<float>(3, gh), Vector = buffers.Scratch<float>(5, hidden), Scale = hScale };
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
            RecurrentLayer.ProjectDirection(weights, _gemv, d, xs, xq, xScales, rows, proj, gh);
            bool reverse = _layer.IsReverse(d);
            for (int b = 0; b < batch; b++)
            {
                int stateAt = _layer.StateOffset(d, b, batch, hidden);
                if (h0 is null) h.Clear(); else h0.ReadOnlySpan<float>().Slice(stateAt, hidden).CopyTo(h);
                // h' = n + z (h - n) is a convex combination: within [-1, 1] when n and the initial state are.
                bool staticH = _hBounded[d] && (h0 is null || Int8Weights.WithinUnitRange(h));
                int len = lens[b];
                for (int s = 0; s < len; s++)
                {
                    int t = reverse ? len - 1 - s : s;
                    Step(weights, d, proj.Slice(_layer.XRow(t, b, seq, batch) * gh, gh), staticH, h, work);
                    if (y is not null) h.CopyTo(ys.Slice(_layer.YOffset(t, d, b, seq, batch, hidden), hidden));
                }
                h.CopyTo(yh.Span<float>().Slice(stateAt, hidden));
            }
        }

        if (y is not null) outputs[0] = y;
        if (_layer.WantsOutput(1, outputs)) outputs[1] = yh;
    }

    /// <summary>
    /// One step of direction <paramref name="d"/> from its projection <paramref name="proj"/> (x W^T and the
    /// folded biases; read only): the recurrent products, fp32 (packed R) or int8 (h quantized with the static
    /// scale 1/127 when <paramref name="staticH"/>, else its own range), around the stages of <see cref="GruCell"/>.
    /// </summary>
    private void Step(RecurrentWeights weights, int d, ReadOnlySpan<float> proj, bool staticH, Span<float> h, StepScratch work)
    {
        var cell = _cells[d];
        int n = h.Length;
        var gates = work.Gates;
        var rz = gates[..(2 * n)];
        var nGate = gates.Slice(2 * n, n);
        if (_linearBeforeReset)
        {
            // n = g(x W_n^T + b_Wn + r * (h R_n^T + b_Rn)): gates = [x-part of r and z (biases folded) | b_Rn],
            // then += h R^T over all three gates at once.
            proj[..(2 * n)].CopyTo(gates);
            weights.RecurrentBias![d].CopyTo(nGate);
            if (weights.IsInt8)
            {
                work.Scale[0] = QuantizeState(h, work.Hq, staticH);
                _gemv!.MultiplyInt8Dequantize(weights.RQ![d], work.Hq, n, work.Scale, 1, default, gates, 3 * n, accumulate: true);
            }
            else RecurrentLayer.AddRecurrent(h, weights.RT![d], 3 * n, 0, gates);
            cell.ComputeGates(rz);
            GruCell.ResetLinear(rz[..n], nGate, proj.Slice(2 * n, n));
        }
        else
        {
            // n = g(x W_n^T + b_Wn + (r * h) R_n^T + b_Rn): R_rz multiplies h, R_n the reset r·h.
            proj.CopyTo(gates);
            var rh = work.Vector;
            if (weights.IsInt8)
            {
                work.Scale[0] = QuantizeState(h, work.Hq, staticH);
                _gemv!.MultiplyInt8Dequantize(weights.RQ![d], work.Hq, n, work.Scale, 1, default, rz, 2 * n, accumulate: true);
            }
            else RecurrentLayer.AddRecurrent(h, weights.RT![d], 3 * n, 0, rz);
            cell.ComputeGates(rz);
            GruCell.ResetHidden(rz[..n], h, rh);
            if (weights.IsInt8)
            {
                // |r| <= 1 when |h| is bounded by the static range, so r·h is too.
                work.Scale[0] = QuantizeState(rh, work.Hq, staticH);
                _gemv!.MultiplyInt8Dequantize(weights.RQTail![d]!, work.Hq, n, work.Scale, 1, default, nGate, n, accumulate: true);
            }
            else RecurrentLayer.AddRecurrent(rh, weights.RT![d], 3 * n, 2 * n, nGate);
        }
        cell.ComputeCandidate(nGate);
        GruCell.UpdateHidden(gates.Slice(n, n), nGate, h);
    }

    private float QuantizeState(ReadOnlySpan<float> v, Span<sbyte> q, bool staticH) =>
        staticH ? _gemv!.QuantizeActivations(v, q, 1f) : _gemv!.QuantizeActivations(v, q);

    // ── the core, as the stream's cached recurrence runs it (direction 0, from a zero state) ────────────────

    protected override RecurrentLayer Layer => _layer;

    protected override RecurrentWeights? ConstantWeights => _weights;

    protected override Gemv? Int8Kernels => _gemv;

    protected override ActivationQuantization XRange => _xRange;

    protected override void CoreStep(RecurrentWeights weights, ReadOnlySpan<float> proj, bool first, Span<float> h, Span<float> c, StepScratch work) =>
        Step(weights, 0, proj, _hBounded[0], h, work);
}
