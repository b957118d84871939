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
/// gates and keep their fp32 step code.
/// </summary>
internal sealed class Lstm : IOperator
{
    private static readonly string[] DefaultActivations = ["Sigmoid", "Tanh", "Tanh"];

    private readonly RecurrentLayer _layer;
    private readonly RecurrentActivation[] _activations; // per direction: f (gates), g (cell), h (output)
    private readonly bool _inputForget;
    private readonly RecurrentWeights? _weights; // null when W, R, B or P arrive at run time
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
        _defaultCell = !node.HasInput(RecurrentLayer.InP) && !(_layer.Clip > 0f) && !_inputForget;
        for (int d = 0; d < _layer.Directions; d++)
            _defaultCell &= IsDefaultCell(null, _activations[3 * d], _activations[3 * d + 1], _activations[3 * d + 2]);
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
    }

    public void Run(ReadOnlySpan<Tensor?> inputs, Span<Tensor?> outputs, NodeBuffers buffers)
    {
        var weights = _weights ?? _layer.PrepareWeights(
            RecurrentLayer.Input(inputs, RecurrentLayer.InW), RecurrentLayer.Input(inputs, RecurrentLayer.InR),
            RecurrentLayer.Input(inputs, RecurrentLayer.InB), RecurrentLayer.Input(inputs, RecurrentLayer.InP));
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
        bool fused = weights.IsInt8 && _defaultCell; // the int8 default cell needs no gate or cell-output scratch
        var gates = fused ? default : buffers.Scratch<float>(3, gh);
        var cellOut = fused ? default : buffers.Scratch<float>(6, hidden);
        var yhs = yh.Span<float>();
        var ycs = yc.Span<float>();
        var xs = x.ReadOnlySpan<float>();
        var ys = y is null ? default : y.Span<float>();
        Span<float> hScale = stackalloc float[1];
        Span<sbyte> xq = default, hq = default;
        Span<float> xScales = default;
        Span<int> acc = default;
        if (weights.IsInt8)
        {
            // X is quantized once for all directions: one scale per (time step, batch row) vector.
            xq = buffers.Scratch<sbyte>(7, rows * weights.InputSize);
            xScales = buffers.Scratch<float>(8, rows);
            hq = buffers.Scratch<sbyte>(9, hidden);
            acc = buffers.Scratch<int>(10, gh);
            _xRange.QuantizeRows(_gemv!, xs, rows, weights.InputSize, xq, xScales);
        }

        for (int d = 0; d < _layer.Directions; d++)
        {
            // A single step from a given state (a streaming call) projects its input inside the recurrent product.
            bool lone = fused && seq == 1 && h0 is not null;
            if (!lone) RecurrentLayer.ProjectDirection(weights, _gemv, d, xs, xq, xScales, rows, proj, gh);
            var peep = weights.Peepholes?[d];
            var fAct = _activations[3 * d];
            var gAct = _activations[3 * d + 1];
            var hAct = _activations[3 * d + 2];
            bool reverse = _layer.IsReverse(d);
            for (int b = 0; b < batch; b++)
            {
                int stateAt = _layer.StateOffset(d, b, batch, hidden);
                var h = yhs.Slice(stateAt, hidden);
                var c = ycs.Slice(stateAt, hidden);
                if (h0 is null) h.Clear(); else h0.ReadOnlySpan<float>().Slice(stateAt, hidden).CopyTo(h);
                if (c0 is null) c.Clear(); else c0.ReadOnlySpan<float>().Slice(stateAt, hidden).CopyTo(c);
                // The static unit range holds for every h the cell makes, and for a given initial state within it.
                // An all-zero initial state (given as zeros, as exporters do) contributes nothing to R h: its product
                // is skipped as for an absent one (exactly: the gates then equal the projection, which is never -0).
                // Both are for the int8 paths; the fp32 path reads neither and skips the scan.
                float hMax = h0 is null || h.IsEmpty || !weights.IsInt8 ? 0f : Math.Abs(TensorPrimitives.MaxMagnitude(h)); // NaN stays NaN
                bool staticH = _hBounded[d] && hMax <= 1f;
                bool zeroStart = hMax == 0f;
                int len = lens[b];
                for (int s = 0; s < len; s++)
                {
                    int t = reverse ? len - 1 - s : s;
                    if (fused)
                    {
                        // R h in int32, then the whole cell in one pass (Gemv.LstmStepInt8).
                        int row = _layer.XRow(t, b, seq, batch);
                        var g = proj.Slice(row * gh, gh);
                        int width = weights.InputSize;
                        if (s == 0 && zeroStart)
                        {
                            if (lone) _gemv!.MultiplyInt8Dequantize(weights.WQ![d], xq.Slice(row * width, width), width, xScales.Slice(row, 1), 1, weights.Bias[d], g, gh, accumulate: false);
                            RecurrentCell.LstmInt8(_gemv!.Isa, g, default, default, 0f, c, h);
                        }
                        else if (staticH)
                        {
                            // h in the unit range: quantized with the scale 1/127 straight into the product's prepared form.
                            if (lone) _gemv!.LstmStepInt8Unit(weights.RQ![d], weights.WQ![d], xq.Slice(row * width, width), xScales[row], weights.Bias[d], g, c, h, acc);
                            else
                            {
                                // The rest of the sequence in one call (its checks and scratch once); rows and Y offsets are
                                // linear in t. It writes Y itself.
                                int dt = reverse ? -1 : 1;
                                int yAt = y is null ? 0 : _layer.YOffset(t, d, b, seq, batch, hidden);
                                int yStep = y is null ? 0 : _layer.YOffset(t + dt, d, b, seq, batch, hidden) - yAt;
                                _gemv!.LstmStepsInt8Unit(weights.RQ![d], proj, row, _layer.XRow(t + dt, b, seq, batch) - row, len - s, c, h, acc,
                                    ys, yAt, yStep);
                                break;
                            }
                        }
                        else
                        {
                            float hs = _gemv!.QuantizeActivations(h, hq);
                            if (lone) _gemv.LstmStepInt8(weights.RQ![d], hq, hs, weights.WQ![d], xq.Slice(row * width, width), xScales[row], weights.Bias[d], g, c, h, acc);
                            else _gemv.LstmStepInt8(weights.RQ![d], hq, hs, g, c, h, acc);
                        }
                    }
                    else if (weights.IsInt8)
                    {
                        // The projection row is used once per direction: the gates accumulate in place.
                        var g = proj.Slice(_layer.XRow(t, b, seq, batch) * gh, gh);
                        if (s > 0 || !zeroStart) // a zero initial state contributes nothing
                        {
                            hScale[0] = staticH ? _gemv!.QuantizeActivations(h, hq, 1f) : _gemv!.QuantizeActivations(h, hq);
                            _gemv.MultiplyInt8Dequantize(weights.RQ![d], hq, hidden, hScale, 1, default, g, gh, accumulate: true);
                        }
                        Step(g, c, h, cellOut, peep, fAct, gAct, hAct);
                    }
                    else
                    {
                        proj.Slice(_layer.XRow(t, b, seq, batch) * gh, gh).CopyTo(gates);
                        RecurrentLayer.AddRecurrent(h, weights.RT![d], gh, 0, gates);
                        Step(gates, c, h, cellOut, peep, fAct, gAct, hAct);
                    }
                    if (y is not null) h.CopyTo(ys.Slice(_layer.YOffset(t, d, b, seq, batch, hidden), hidden));
                }
            }
        }

        if (_layer.WantsOutput(0, outputs)) outputs[0] = y;
        if (_layer.WantsOutput(1, outputs)) outputs[1] = yh;
        if (_layer.WantsOutput(2, outputs)) outputs[2] = yc;
    }

    /// <summary>A copy of a state input in scratch <paramref name="slot"/>, as a tensor of its shape.</summary>
    private static Tensor Snapshot(Tensor state, NodeBuffers buffers, int slot)
    {
        var copy = buffers.Temporary(slot, DataType.Float32, state.Shape);
        state.CopyTo(copy);
        return copy;
    }

    /// <summary>Sigmoid, tanh, tanh, no peepholes, clipping or coupled input-forget gate.</summary>
    private bool IsDefaultCell(float[]? peep, RecurrentActivation fAct, RecurrentActivation gAct, RecurrentActivation hAct) =>
        peep is null && !(_layer.Clip > 0f) && !_inputForget && fAct.Kind == RecurrentActivationKind.Sigmoid
        && gAct.Kind == RecurrentActivationKind.Tanh && hAct.Kind == RecurrentActivationKind.Tanh;

    /// <summary>
    /// One cell update from the gate pre-activations [i, f, g, o] (input and recurrent parts and biases
    /// summed): updates c and h in place. Peepholes and clipping in ONNX Runtime's order: i and f see
    /// the previous cell, o the new one; clipping applies to each pre-activation after its peephole term.
    /// </summary>
    private void Step(Span<float> gates, Span<float> c, Span<float> h, Span<float> cellOut, float[]? peep,
        RecurrentActivation fAct, RecurrentActivation gAct, RecurrentActivation hAct)
    {
        float clip = _layer.Clip;
        if (IsDefaultCell(peep, fAct, gAct, hAct))
        {
            // The default cell: the same functions per element in fewer passes (σ over [i | f] at once, tanh(c')
            // into the spent g instead of a copy).
            RecurrentCell.Lstm(gates, c, h);
            return;
        }
        int n = h.Length;
        var i = gates[..n];
        var f = gates.Slice(n, n);
        var g = gates.Slice(2 * n, n);
        var o = gates.Slice(3 * n, n);

        if (peep is not null) TensorPrimitives.MultiplyAdd(peep.AsSpan(0, n), c, i, i);
        RecurrentLayer.ClipInPlace(i, clip);
        fAct.Apply(i);

        if (_inputForget)
        {
            // f = 1 - i couples the gates (ONNX input_forget).
            TensorPrimitives.Subtract(1f, i, f);
        }
        else
        {
            if (peep is not null) TensorPrimitives.MultiplyAdd(peep.AsSpan(n, n), c, f, f);
            RecurrentLayer.ClipInPlace(f, clip);
            fAct.Apply(f);
        }

        RecurrentLayer.ClipInPlace(g, clip);
        gAct.Apply(g);

        // c' = f * c + i * g
        TensorPrimitives.Multiply(f, c, c);
        TensorPrimitives.MultiplyAdd(i, g, c, c);

        if (peep is not null) TensorPrimitives.MultiplyAdd(peep.AsSpan(2 * n, n), c, o, o);
        RecurrentLayer.ClipInPlace(o, clip);
        fAct.Apply(o);

        // h' = o * h(c')
        c.CopyTo(cellOut);
        hAct.Apply(cellOut);
        TensorPrimitives.Multiply(o, cellOut, h);
    }
}
