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
/// r·h. Gate math in fp32.
/// </summary>
internal sealed class Gru : IOperator
{
    private static readonly string[] DefaultActivations = ["Sigmoid", "Tanh"];

    private readonly RecurrentLayer _layer;
    private readonly RecurrentActivation[] _activations; // per direction: f (r, z), g (n)
    private readonly bool _linearBeforeReset;
    private readonly RecurrentWeights? _weights; // null when W, R or B arrive at run time
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

    public void Run(ReadOnlySpan<Tensor?> inputs, Span<Tensor?> outputs, NodeBuffers buffers)
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
        var gates = buffers.Scratch<float>(3, gh);
        var h = buffers.Scratch<float>(4, hidden);
        var scratch = buffers.Scratch<float>(5, hidden);
        var xs = x.ReadOnlySpan<float>();
        var ys = y is null ? default : y.Span<float>();
        Span<float> hScale = stackalloc float[1];
        Span<sbyte> xq = default, hq = default;
        Span<float> xScales = default;
        if (weights.IsInt8)
        {
            xq = buffers.Scratch<sbyte>(6, rows * weights.InputSize);
            xScales = buffers.Scratch<float>(7, rows);
            hq = buffers.Scratch<sbyte>(8, hidden);
            _xRange.QuantizeRows(_gemv!, xs, rows, weights.InputSize, xq, xScales);
        }

        for (int d = 0; d < _layer.Directions; d++)
        {
            RecurrentLayer.ProjectDirection(weights, _gemv, d, xs, xq, xScales, rows, proj, gh);
            var rbN = weights.RecurrentBias?[d];
            var fAct = _activations[2 * d];
            var gAct = _activations[2 * d + 1];
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
                    var p = proj.Slice(_layer.XRow(t, b, seq, batch) * gh, gh);
                    if (weights.IsInt8)
                    {
                        if (_linearBeforeReset) StepLinearBeforeResetInt8(p, weights.RQ![d], rbN!, gates, h, hq, hScale, staticH, fAct, gAct);
                        else StepResetBeforeLinearInt8(p, weights.RQ![d], weights.RQTail![d]!, gates, h, scratch, hq, hScale, staticH, fAct, gAct);
                    }
                    else if (_linearBeforeReset) StepLinearBeforeReset(p, weights.RT![d], rbN!, gates, h, fAct, gAct);
                    else StepResetBeforeLinear(p, weights.RT![d], gates, h, scratch, fAct, gAct);
                    if (y is not null) h.CopyTo(ys.Slice(_layer.YOffset(t, d, b, seq, batch, hidden), hidden));
                }
                h.CopyTo(yh.Span<float>().Slice(stateAt, hidden));
            }
        }

        if (y is not null) outputs[0] = y;
        if (_layer.WantsOutput(1, outputs)) outputs[1] = yh;
    }

    /// <summary>linear_before_reset = 1 (PyTorch): n = g(x W_n^T + b_Wn + r * (h R_n^T + b_Rn)).</summary>
    private void StepLinearBeforeReset(ReadOnlySpan<float> proj, PackedF32Matrix r, float[] rbN, Span<float> gates, Span<float> h,
        RecurrentActivation fAct, RecurrentActivation gAct)
    {
        int n = h.Length;
        // gates = [x-part of r and z (biases folded) | b_Rn], then += h R^T over all three gates at once.
        proj[..(2 * n)].CopyTo(gates);
        rbN.CopyTo(gates[(2 * n)..]);
        RecurrentLayer.AddRecurrent(h, r, 3 * n, 0, gates);
        GatesLinearBeforeReset(proj, gates, h, fAct, gAct);
    }

    /// <summary><see cref="StepLinearBeforeReset"/> with the recurrent product in int8.</summary>
    private void StepLinearBeforeResetInt8(ReadOnlySpan<float> proj, PackedInt8Matrix r, float[] rbN, Span<float> gates, Span<float> h,
        Span<sbyte> hq, Span<float> hScale, bool staticH, RecurrentActivation fAct, RecurrentActivation gAct)
    {
        int n = h.Length;
        proj[..(2 * n)].CopyTo(gates);
        rbN.CopyTo(gates[(2 * n)..]);
        hScale[0] = staticH ? _gemv!.QuantizeActivations(h, hq, 1f) : _gemv!.QuantizeActivations(h, hq);
        _gemv.MultiplyInt8Dequantize(r, hq, n, hScale, 1, default, gates, 3 * n, accumulate: true);
        GatesLinearBeforeReset(proj, gates, h, fAct, gAct);
    }

    /// <summary>The gate math of linear_before_reset = 1 once gates = [x r,z + h R_rz^T (biases folded) | h R_n^T + b_Rn].</summary>
    private void GatesLinearBeforeReset(ReadOnlySpan<float> proj, Span<float> gates, Span<float> h, RecurrentActivation fAct, RecurrentActivation gAct)
    {
        int n = h.Length;
        var rz = gates[..(2 * n)];
        var hn = gates.Slice(2 * n, n);
        RecurrentLayer.ClipInPlace(rz, _layer.Clip);
        fAct.Apply(rz);
        // n pre-activation = x W_n^T + b_Wn + r * (h R_n^T + b_Rn), written over hn.
        TensorPrimitives.MultiplyAdd(rz[..n], hn, proj.Slice(2 * n, n), hn);
        Finish(gates, h, gAct);
    }

    /// <summary>linear_before_reset = 0 (ONNX default, Keras reset_after=False): n = g(x W_n^T + b_Wn + (r * h) R_n^T + b_Rn).</summary>
    private void StepResetBeforeLinear(ReadOnlySpan<float> proj, PackedF32Matrix r, Span<float> gates, Span<float> h, Span<float> rh,
        RecurrentActivation fAct, RecurrentActivation gAct)
    {
        int n = h.Length;
        proj.CopyTo(gates);
        var rz = gates[..(2 * n)];
        RecurrentLayer.AddRecurrent(h, r, 3 * n, 0, rz);
        RecurrentLayer.ClipInPlace(rz, _layer.Clip);
        fAct.Apply(rz);
        TensorPrimitives.Multiply(rz[..n], h, rh);
        RecurrentLayer.AddRecurrent(rh, r, 3 * n, 2 * n, gates.Slice(2 * n, n));
        Finish(gates, h, gAct);
    }

    /// <summary><see cref="StepResetBeforeLinear"/> with both recurrent products (R_rz h, R_n (r·h)) in int8.</summary>
    private void StepResetBeforeLinearInt8(ReadOnlySpan<float> proj, PackedInt8Matrix rRz, PackedInt8Matrix rN, Span<float> gates, Span<float> h,
        Span<float> rh, Span<sbyte> q, Span<float> scale, bool staticH, RecurrentActivation fAct, RecurrentActivation gAct)
    {
        int n = h.Length;
        proj.CopyTo(gates);
        var rz = gates[..(2 * n)];
        scale[0] = staticH ? _gemv!.QuantizeActivations(h, q, 1f) : _gemv!.QuantizeActivations(h, q);
        _gemv.MultiplyInt8Dequantize(rRz, q, n, scale, 1, default, rz, 2 * n, accumulate: true);
        RecurrentLayer.ClipInPlace(rz, _layer.Clip);
        fAct.Apply(rz);
        TensorPrimitives.Multiply(rz[..n], h, rh);
        // |r| <= 1 when |h| is bounded by the static range, so r·h is too.
        scale[0] = staticH ? _gemv.QuantizeActivations(rh, q, 1f) : _gemv.QuantizeActivations(rh, q);
        _gemv.MultiplyInt8Dequantize(rN, q, n, scale, 1, default, gates.Slice(2 * n, n), n, accumulate: true);
        Finish(gates, h, gAct);
    }

    /// <summary>From activated r, z and the n pre-activation in <paramref name="gates"/>: h' = (1 - z) * n + z * h = n + z * (h - n).</summary>
    private void Finish(Span<float> gates, Span<float> h, RecurrentActivation gAct)
    {
        int n = h.Length;
        var z = gates.Slice(n, n);
        var nGate = gates.Slice(2 * n, n);
        RecurrentLayer.ClipInPlace(nGate, _layer.Clip);
        gAct.Apply(nGate);
        TensorPrimitives.Subtract(h, nGate, h);
        TensorPrimitives.MultiplyAdd(z, h, nGate, h);
    }
}
