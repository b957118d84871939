using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Kernels;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Layers;

/// <summary>
/// fp32 LSTM layer (<see cref="OpKind.Lstm"/>): the ONNX LSTM contract with the IR gate order i, f, g, o.
/// Prepare: weights that are constants are validated and packed once (R in register-blocked panels,
/// <see cref="PackedF32Matrix"/>; biases summed).
/// Run: per direction one input projection for all steps, then per batch row and step a matrix-vector
/// product with R and the gate math, in scratch buffers allocated before the time loop; h and c are updated in
/// place in Y_h and Y_c (no copies out).
/// int8 (W and R stored per-row quantized, B and P constant): W and R packed once per direction; X
/// quantized once per row (time step x batch row; static range from calibration, else dynamic) and
/// projected for all steps in one small-batch int8 product (fp32-exact for a few input columns); per step
/// h is quantized (static scale 1/127 when the cell bounds |h| &lt;= 1, dynamic otherwise, e.g. relu cells)
/// and R h computed in int32. The default cell (sigmoid, tanh, tanh; no peepholes, clip or input_forget)
/// then runs in one pass from the int32 accumulators (<c>Gemv.LstmStepInt8</c>, with the exactly
/// specified <see cref="GateMath"/>: the same bits on every kernel path); other cells dequantize into the
/// gates and run the staged fp32 cell (<see cref="LstmCell"/>).
/// Projection and step are the recurrent core (<see cref="IRecurrentCore"/>) that the stream's cached
/// recurrence runs too, so a cached forecast equals this layer's run bit for bit.
/// </summary>
internal sealed class Lstm : RecurrentOperator
{
    private static readonly string[] DefaultActivations = ["Sigmoid", "Tanh", "Tanh"];

    private readonly RecurrentLayer _layer;
    private readonly RecurrentActivation[] _activations; // per direction: f (gates), g (cell), h (output)
    private readonly bool _inputForget;
    private readonly RecurrentWeights? _weights; // null when W, R, B or P arrive at run time
    private readonly LstmCell[]? _cells; // per direction, with _weights
    private readonly Gemv? _gemv; // int8 weights only
    private readonly ActivationQuantization _xRange;
    private readonly bool[] _hBounded; // per direction: |h| <= 1 whenever the initial state is
    private readonly bool _defaultCell;  // sigmoid/tanh/tanh in every direction, no peepholes, clip or input_forget

    public Lstm(Node node, OperatorContext context)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(context);
        _layer = new RecurrentLayer(node, gates: 4, context);
        _activations = RecurrentActivation.Parse(node, _layer.Directions, DefaultActivations);
        long inputForget = node.GetInt("input_forget", 0);
        if (inputForget is not (0 or 1)) throw _layer.Error($"attribute 'input_forget' is {inputForget}; expected 0 or 1");
        _inputForget = inputForget == 1;
        _hBounded = new bool[_layer.Directions];
        for (int d = 0; d < _hBounded.Length; d++)
            _hBounded[d] = Int8Weights.IsUnitBounded(_activations[3 * d]) && Int8Weights.IsUnitBounded(_activations[3 * d + 2]);
        _defaultCell = !node.HasInput(RecurrentLayer.InP);
        for (int d = 0; d < _layer.Directions; d++)
            _defaultCell &= new LstmCell(_activations[3 * d], _activations[3 * d + 1], _activations[3 * d + 2], _layer.Clip, _inputForget, null).IsDefault;
        // int8 when both matrices are stored int8 (asked for first: Constant would dequantize them) and the
        // biases are constants; otherwise the fp32 path, on the dequantized weights if need be.
        if (context.Quantized(node.Input(RecurrentLayer.InW)) is { } wq && context.Quantized(node.Input(RecurrentLayer.InR)) is { } rq
            && _layer.AllConstant(context, RecurrentLayer.InB, RecurrentLayer.InP))
        {
            _weights = _layer.PrepareInt8Weights(wq, rq, _layer.Constant(context, RecurrentLayer.InB), _layer.Constant(context, RecurrentLayer.InP));
            _gemv = context.Gemv;
            _xRange = ActivationQuantization.FromNode(node);
        }
        else if (_layer.AllConstant(context, RecurrentLayer.InW, RecurrentLayer.InR, RecurrentLayer.InB, RecurrentLayer.InP))
            _weights = _layer.PrepareWeights(
                _layer.Constant(context, RecurrentLayer.InW), _layer.Constant(context, RecurrentLayer.InR),
                _layer.Constant(context, RecurrentLayer.InB), _layer.Constant(context, RecurrentLayer.InP));
        if (_weights is not null) _cells = Cells(_weights);
    }

    private LstmCell[] Cells(RecurrentWeights weights)
    {
        var cells = new LstmCell[_layer.Directions];
        for (int d = 0; d < cells.Length; d++)
            cells[d] = new LstmCell(_activations[3 * d], _activations[3 * d + 1], _activations[3 * d + 2], _layer.Clip, _inputForget, weights.Peepholes?[d]);
        return cells;
    }

    /// <summary>The int8 default cell: R h in int32, then the whole cell in one pass (<see cref="RecurrentCell.LstmInt8"/>).</summary>
    private bool Fused(RecurrentWeights weights) => weights.IsInt8 && _defaultCell;

    public override void Run(ReadOnlySpan<Tensor?> inputs, Span<Tensor?> outputs, NodeBuffers buffers)
    {
        var weights = _weights ?? _layer.PrepareWeights(
            RecurrentLayer.Input(inputs, RecurrentLayer.InW), RecurrentLayer.Input(inputs, RecurrentLayer.InR),
            RecurrentLayer.Input(inputs, RecurrentLayer.InB), RecurrentLayer.Input(inputs, RecurrentLayer.InP));
        var cells = _weights is null ? Cells(weights) : _cells!;
        var (x, seq, batch) = _layer.CheckX(RecurrentLayer.Input(inputs, RecurrentLayer.InX), weights);
        int hidden = weights.Hidden;
        var lens = _layer.SequenceLengths(RecurrentLayer.Input(inputs, RecurrentLayer.InSequenceLens), seq, batch, buffers, 0);
        var h0 = _layer.CheckState(RecurrentLayer.Input(inputs, RecurrentLayer.InInitialH), "initial_h", batch, hidden);
        var c0 = _layer.CheckState(RecurrentLayer.Input(inputs, RecurrentLayer.InInitialC), "initial_c", batch, hidden);

        // Y_h and Y_c are cheap, so they are always filled; Y only when the graph reads it.
        var y = _layer.WantsOutput(0, outputs) ? _layer.NewY(seq, batch, hidden, buffers, RecurrentLayer.Input(inputs, RecurrentLayer.InSequenceLens) is not null) : null;
        var yh = _layer.NewState(batch, hidden, buffers, 1);
        var yc = _layer.NewState(batch, hidden, buffers, 2);
        // The cell state lives in Y_h and Y_c (no copies out at the end). A caller that binds Y_c as initial_h or
        // Y_h as initial_c (crossed) would have one overwritten before it is read: those are copied first.
        if (h0 is not null && h0.SameBuffer(yc)) h0 = Snapshot(h0, buffers, 11);
        if (c0 is not null && c0.SameBuffer(yh)) c0 = Snapshot(c0, buffers, 12);

        // Scratch (slots 0 and 1 hold the lengths): every element is written before it is read.
        int gh = 4 * hidden;
        int rows = seq * batch;
        var proj = buffers.Scratch<float>(2, rows * gh);
        bool fused = Fused(weights); // the int8 default cell needs no gate or cell-output scratch
        Span<float> hScale = stackalloc float[1];
        var work = new StepScratch
        {
            Gates = fused ? default : buffers.Scratch<float>(3, gh),
            Vector = fused ? default : buffers.Scratch<float>(6, hidden),
            Scale = hScale,
        };
        var yhs = yh.Span<float>();
        var ycs = yc.Span<float>();
        var xs = x.ReadOnlySpan<float>();
        var ys = y is null ? default : y.Span<float>();
        Span<sbyte> xq = default;
        Span<float> xScales = default;
        if (weights.IsInt8)
        {
            // X is quantized once for all directions: one scale per (time step, batch row) vector.
            xq = buffers.Scratch<sbyte>(7, rows * weights.InputSize);
            xScales = buffers.Scratch<float>(8, rows);
            work.Hq = buffers.Scratch<sbyte>(9, hidden);
            work.Acc = buffers.Scratch<int>(10, gh);
            _xRange.QuantizeRows(_gemv!, xs, rows, weights.InputSize, xq, xScales);
        }

        var sequence = new Sequence { Seq = seq, Batch = batch, Proj = proj, Xq = xq, XScales = xScales, Y = ys, HasY = y is not null, GivenState = h0 is not null };
        for (int d = 0; d < _layer.Directions; d++)
        {
            // A single step from a given state (a streaming call) projects its input inside the recurrent product.
            sequence.Lone = fused && seq == 1 && h0 is not null;
            if (!sequence.Lone) RecurrentLayer.ProjectDirection(weights, _gemv, d, xs, xq, xScales, rows, proj, gh);
            for (int b = 0; b < batch; b++)
            {
                int stateAt = _layer.StateOffset(d, b, batch, hidden);
                var h = yhs.Slice(stateAt, hidden);
                var c = ycs.Slice(stateAt, hidden);
                if (h0 is null) h.Clear(); else h0.ReadOnlySpan<float>().Slice(stateAt, hidden).CopyTo(h);
                if (c0 is null) c.Clear(); else c0.ReadOnlySpan<float>().Slice(stateAt, hidden).CopyTo(c);
                RunSequence(weights, cells[d], d, b, lens[b], sequence, h, c, work);
            }
        }

        if (_layer.WantsOutput(0, outputs)) outputs[0] = y;
        if (_layer.WantsOutput(1, outputs)) outputs[1] = yh;
        if (_layer.WantsOutput(2, outputs)) outputs[2] = yc;
    }

    /// <summary>What one call shares across directions and batch rows.</summary>
    private ref struct Sequence
    {
        public int Seq, Batch;
        public Span<float> Proj;      // rows x 4H projections of the current direction
        public ReadOnlySpan<sbyte> Xq; // int8: X quantized per row
        public ReadOnlySpan<float> XScales;
        public Span<float> Y;
        public bool HasY, GivenState, Lone;
    }

    /// <summary>The steps of batch row <paramref name="b"/> in direction <paramref name="d"/>, from the state in h and c.</summary>
    private void RunSequence(RecurrentWeights weights, LstmCell cell, int d, int b, int len, in Sequence call, Span<float> h, Span<float> c, StepScratch work)
    {
        int seq = call.Seq, batch = call.Batch, gh = 4 * weights.Hidden;
        // The static unit range holds for every h the cell makes, and for a given initial state within it.
        // An all-zero initial state (given as zeros, as exporters do) contributes nothing to R h: its product
        // is skipped as for an absent one (exactly: the gates then equal the projection, which is never -0).
        // Both are for the int8 paths; the fp32 path reads neither and skips the scan.
        float hMax = !call.GivenState || h.IsEmpty || !weights.IsInt8 ? 0f : Math.Abs(TensorPrimitives.MaxMagnitude(h)); // NaN stays NaN
        bool staticH = _hBounded[d] && hMax <= 1f;
        bool zeroStart = hMax == 0f;
        bool reverse = _layer.IsReverse(d);
        for (int s = 0; s < len; s++)
        {
            int t = reverse ? len - 1 - s : s;
            int row = _layer.XRow(t, b, seq, batch);
            var p = call.Proj.Slice(row * gh, gh);
            if (call.Lone)
            {
                StepLone(weights, d, call.Xq.Slice(row * weights.InputSize, weights.InputSize), call.XScales.Slice(row, 1), zeroStart, staticH, p, c, h, work);
            }
            else if (Fused(weights) && staticH && !(s == 0 && zeroStart))
            {
                // The rest of the sequence in one call (its checks and scratch once); rows and Y offsets are
                // linear in t. It writes Y itself.
                int dt = reverse ? -1 : 1;
                int yAt = call.HasY ? _layer.YOffset(t, d, b, seq, batch, weights.Hidden) : 0;
                int yStep = call.HasY ? _layer.YOffset(t + dt, d, b, seq, batch, weights.Hidden) - yAt : 0;
                _gemv!.LstmStepsInt8Unit(weights.RQ![d], call.Proj, row, _layer.XRow(t + dt, b, seq, batch) - row, len - s, c, h, work.Acc,
                    call.Y, yAt, yStep);
                break;
            }
            else
            {
                Step(weights, cell, d, p, s == 0 && zeroStart, staticH, h, c, work);
            }
            if (call.HasY) h.CopyTo(call.Y.Slice(_layer.YOffset(t, d, b, seq, batch, weights.Hidden), weights.Hidden));
        }
    }

    /// <summary>
    /// One step of direction <paramref name="d"/> from its projection: the recurrent product (none for the int8
    /// paths when <paramref name="zeroState"/>: the state is zero), then the cell. fp32: R h packed, then the
    /// staged <see cref="LstmCell"/>; int8 default cell: <c>Gemv.LstmStepInt8Unit</c> (h in the static
    /// unit range) or <c>Gemv.LstmStepInt8</c> (dynamic range); other int8 cells: the int8 product
    /// dequantized into the gates, then the staged cell.
    /// </summary>
    private void Step(RecurrentWeights weights, LstmCell cell, int d, ReadOnlySpan<float> proj, bool zeroState, bool staticH,
        Span<float> h, Span<float> c, StepScratch work)
    {
        if (Fused(weights))
        {
            if (zeroState) _gemv!.LstmCellInt8(proj, default, default, 0f, c, h);
            else if (staticH) _gemv!.LstmStepInt8Unit(weights.RQ![d], proj, c, h, work.Acc);
            else
            {
                float hs = _gemv!.QuantizeActivations(h, work.Hq);
                _gemv.LstmStepInt8(weights.RQ![d], work.Hq, hs, proj, c, h, work.Acc);
            }
            return;
        }
        var gates = work.Gates;
        proj.CopyTo(gates);
        if (!weights.IsInt8)
        {
            RecurrentLayer.AddRecurrent(h, weights.RT![d], gates.Length, 0, gates);
        }
        else if (!zeroState)
        {
            work.Scale[0] = staticH ? _gemv!.QuantizeActivations(h, work.Hq, 1f) : _gemv!.QuantizeActivations(h, work.Hq);
            _gemv.MultiplyInt8Dequantize(weights.RQ![d], work.Hq, h.Length, work.Scale, 1, default, gates, gates.Length, accumulate: true);
        }
        cell.Step(gates, c, h, work.Vector);
    }

    /// <summary>
    /// A single int8 step from a given state (a streaming call): the input's projection is made inside the
    /// recurrent product (<paramref name="proj"/> receives it for the zero-state case).
    /// </summary>
    private void StepLone(RecurrentWeights weights, int d, ReadOnlySpan<sbyte> xq, ReadOnlySpan<float> xScale, bool zeroState, bool staticH,
        Span<float> proj, Span<float> c, Span<float> h, StepScratch work)
    {
        int width = weights.InputSize, gh = proj.Length;
        if (zeroState)
        {
            _gemv!.MultiplyInt8Dequantize(weights.WQ![d], xq, width, xScale, 1, weights.Bias[d], proj, gh, accumulate: false);
            _gemv.LstmCellInt8(proj, default, default, 0f, c, h);
        }
        else if (staticH)
        {
            // h in the unit range: quantized with the scale 1/127 straight into the product's prepared form.
            _gemv!.LstmStepInt8Unit(weights.RQ![d], weights.WQ![d], xq, xScale[0], weights.Bias[d], proj, c, h, work.Acc);
        }
        else
        {
            float hs = _gemv!.QuantizeActivations(h, work.Hq);
            _gemv.LstmStepInt8(weights.RQ![d], work.Hq, hs, weights.WQ![d], xq, xScale[0], weights.Bias[d], proj, c, h, work.Acc);
        }
    }

    // ── the core, as the stream's cached recurrence runs it (direction 0, from a zero state) ────────────────

    protected override RecurrentLayer Layer => _layer;

    protected override RecurrentWeights? ConstantWeights => _weights;

    protected override Gemv? Int8Kernels => _gemv;

    protected override ActivationQuantization XRange => _xRange;

    protected override void CoreStep(RecurrentWeights weights, ReadOnlySpan<float> proj, bool first, Span<float> h, Span<float> c, StepScratch work) =>
        Step(weights, _cells![0], 0, proj, zeroState: first, staticH: _hBounded[0], h, c, work);


    /// <summary>A copy of a state input in scratch <paramref name="slot"/>, as a tensor of its shape.</summary>
    private static Tensor Snapshot(Tensor state, NodeBuffers buffers, int slot)
    {
        var copy = buffers.Temporary(slot, DataType.Float32, state.Shape);
        state.CopyTo(copy);
        return copy;
    }
}
