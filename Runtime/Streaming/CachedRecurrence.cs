using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using Edge.Runtime.Ir;
using Edge.Runtime.Kernels;
using Edge.Runtime.Layers;
using Edge.Runtime.Quantization;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Streaming;

/// <summary>
/// The first recurrent layer of a window model, split for streaming (docs/architecture.md, The stream): the input
/// projection W·x_t + b is computed once per sample, when the sample arrives, and kept in the stream's ring;
/// a forecast then runs only the recurrent part h_t = cell(proj_t + R·h_{t-1}) over the window, from zero state.
/// <para>
/// The arithmetic is the fp32 layer's (Runtime/Layers/Lstm.cs, Gru.cs): the projection starts from the folded
/// biases and adds one input element times one row of W^T at a time (zeros skipped), the recurrent product is
/// the same packed kernel (<see cref="PackedF32Matrix"/>), then the gate math. So a cached forecast equals the
/// batch session's on float32 weights (to rounding; the tests hold it to 1e-5). Only what that code supports
/// without options is taken: one forward direction, no sequence_lens, no initial state, no peepholes, no
/// input_forget, the default activations (Sigmoid, Tanh[, Tanh]); clip is applied as the layers apply it.
/// Anything else is refused by <see cref="TryCreate"/> with the reason, and the stream runs the plain window path.
/// </para>
/// </summary>
internal sealed class CachedRecurrence
{
    private readonly float[] _wT;   // [I, G*H]
    private readonly PackedF32Matrix _r; // R (G*H x H) in register-blocked panels, cut at 2H for a GRU
    private readonly float[] _bias; // [G*H]: input and recurrent biases summed (GRU lbr=1: n gate keeps only the input bias)
    private readonly float[]? _recurrentBiasN; // GRU lbr=1: b_Rn [H]
    private readonly float _clip;

    // The int8 form (an LSTM with int8 W and R, the default cell): the layer's own products and cell, so a cached
    // forecast equals the batch session's bit for bit (Lstm.Run's int8 path, step by step).
    private Int8Form? _int8;

    private sealed class Int8Form(Gemv gemv, PackedInt8Matrix w, PackedInt8Matrix r, ActivationQuantization xRange, int inputSize, int hidden)
    {
        public readonly Gemv Gemv = gemv;
        public readonly PackedInt8Matrix W = w, R = r;
        public readonly ActivationQuantization XRange = xRange;
        public readonly sbyte[] Xq = new sbyte[inputSize];
        public readonly float[] XScale = new float[1];
        public readonly AlignedBuffer<int> Acc = new(4 * hidden);
    }

    private CachedRecurrence(Node node, bool lstm, bool linearBeforeReset, int hidden, int inputSize, float[] wT, PackedF32Matrix r, float[] bias, float[]? rbN, float clip)
    {
        Node = node;
        IsLstm = lstm;
        LinearBeforeReset = linearBeforeReset;
        Hidden = hidden;
        InputSize = inputSize;
        _wT = wT;
        _r = r;
        _bias = bias;
        _recurrentBiasN = rbN;
        _clip = clip;
    }

    public Node Node { get; }

    public bool IsLstm { get; }

    public bool LinearBeforeReset { get; }

    public int Hidden { get; }

    public int InputSize { get; }

    /// <summary>Floats per cached projection: gates x hidden.</summary>
    public int Width => _bias.Length;

    /// <summary>Whether the node's weights are int8 in the blob (used as int8 when <see cref="IsInt8"/>, else dequantized).</summary>
    public bool FromInt8 { get; private init; }

    /// <summary>Whether the cache runs the layer's int8 products and cell (bit-identical to the batch session).</summary>
    public bool IsInt8 => _int8 is not null;

    /// <summary>
    /// Prepares the cache for <paramref name="node"/>, or returns null with the reason it cannot run it. With
    /// <paramref name="gemv"/> (the session's kernels), an LSTM whose W and R are int8 keeps them int8 (<see cref="IsInt8"/>).
    /// </summary>
    public static CachedRecurrence? TryCreate(Graph graph, Node node, Gemv? gemv, out string reason)
    {
        bool lstm = node.Kind == OpKind.Lstm;
        if (!lstm && node.Kind != OpKind.Gru) { reason = $"node '{node.Name}' is {node.Kind}, not Lstm or Gru"; return null; }
        int gates = lstm ? 4 : 3;
        string direction = node.GetString("direction", "forward");
        if (direction != "forward") { reason = $"'{node.Name}' runs {direction}"; return null; }
        // inputs: X, W, R, B?, sequence_lens?, initial_h?, initial_c?, P?
        if (node.HasInput(4)) { reason = $"'{node.Name}' takes sequence_lens"; return null; }
        if (node.HasInput(5) || node.HasInput(6)) { reason = $"'{node.Name}' takes an initial state"; return null; }
        if (node.HasInput(7)) { reason = $"'{node.Name}' has peepholes"; return null; }
        if (node.GetInt("input_forget", 0) != 0) { reason = $"'{node.Name}' couples its input and forget gates"; return null; }
        string[] defaults = lstm ? ["Sigmoid", "Tanh", "Tanh"] : ["Sigmoid", "Tanh"];
        if (node.GetStrings("activations") is { } acts && !acts.SequenceEqual(defaults, StringComparer.OrdinalIgnoreCase))
        {
            reason = $"'{node.Name}' uses activations {string.Join(", ", acts)}";
            return null;
        }
        float clip = node.GetFloat("clip", 0f);
        if (!(clip >= 0f)) { reason = $"'{node.Name}' has clip {clip}"; return null; }
        long lbr = node.GetInt("linear_before_reset", 0);
        if (!lstm && lbr is not (0 or 1)) { reason = $"'{node.Name}' has linear_before_reset {lbr}"; return null; }

        bool int8 = false;
        Tensor? Weight(int i)
        {
            string name = node.Input(i);
            if (name.Length == 0) return null;
            if (graph.Constants.TryGetValue(name, out var t)) return t.DataType == DataType.Float32 ? t.Contiguous() : null;
            if (graph.QuantizedConstants.TryGetValue(name, out var q)) { int8 = true; return WeightQuantizer.Dequantize(q); }
            return null;
        }
        var w = Weight(1);
        var r = Weight(2);
        var b = node.HasInput(3) ? Weight(3) : null;
        if (w is null || r is null || (node.HasInput(3) && b is null)) { reason = $"'{node.Name}' takes its weights at run time or not as float32"; return null; }
        if (r.Rank != 3 || r.Dim(0) != 1 || r.Dim(1) % gates != 0 || r.Dim(1) != gates * r.Dim(2)) { reason = $"'{node.Name}' R has shape {r.ShapeString}"; return null; }
        int hidden = r.Dim(2);
        int gh = gates * hidden;
        if (w.Rank != 3 || w.Dim(0) != 1 || w.Dim(1) != gh) { reason = $"'{node.Name}' W has shape {w.ShapeString}"; return null; }
        if (b is not null && (b.Rank != 2 || b.Dim(0) != 1 || b.Dim(1) != 2 * gh)) { reason = $"'{node.Name}' B has shape {b.ShapeString}"; return null; }
        int inputSize = w.Dim(2);

        var wT = Transpose(w.ReadOnlySpan<float>(), gh, inputSize);
        var rPacked = PackedF32Matrix.Pack(r.ReadOnlySpan<float>(), gh, hidden, lstm ? default : [2 * hidden]);
        var bias = new float[gh];
        float[]? rbN = null;
        bool linearBeforeReset = !lstm && lbr == 1;
        if (linearBeforeReset) rbN = new float[hidden];
        if (b is not null)
        {
            var bs = b.ReadOnlySpan<float>();
            TensorPrimitives.Add(bs[..gh], bs[gh..], bias);
            if (linearBeforeReset)
            {
                // n = g(x W_n + b_Wn + r * (h R_n + b_Rn)): b_Rn stays apart, inside the reset product.
                bs.Slice(2 * hidden, hidden).CopyTo(bias.AsSpan(2 * hidden));
                bs.Slice(gh + 2 * hidden, hidden).CopyTo(rbN);
            }
        }
        reason = "";
        var result = new CachedRecurrence(node, lstm, linearBeforeReset, hidden, inputSize, wT, rPacked, bias, rbN, clip) { FromInt8 = int8 };
        if (gemv is not null && lstm && !(clip > 0f)
            && graph.QuantizedConstants.TryGetValue(node.Input(1), out var wq) && graph.QuantizedConstants.TryGetValue(node.Input(2), out var rq)
            && wq.Axis == 1 && rq.Axis == 1 && wq.Scales.Length == gh && rq.Scales.Length == gh)
            result._int8 = new Int8Form(gemv, Int8Weights.Pack(wq), Int8Weights.Pack(rq), ActivationQuantization.FromNode(node), inputSize, hidden);
        return result;
    }

    private static float[] Transpose(ReadOnlySpan<float> src, int rows, int cols)
    {
        var dst = new float[rows * cols];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) dst[j * rows + i] = src[i * cols + j];
        return dst;
    }

    /// <summary>proj = bias + x W^T (one sample); int8: x quantized as the layer does, then its int8 product.</summary>
    public void Project(ReadOnlySpan<float> x, Span<float> proj)
    {
        if (_int8 is { } q)
        {
            q.XRange.QuantizeRows(q.Gemv, x, 1, InputSize, q.Xq, q.XScale);
            q.Gemv.MultiplyInt8Dequantize(q.W, q.Xq, InputSize, q.XScale, 1, _bias, proj, Width, accumulate: false);
            return;
        }
        int width = _bias.Length;
        _bias.CopyTo(proj);
        for (int k = 0; k < x.Length; k++)
        {
            float v = x[k];
            if (v != 0f) TensorPrimitives.MultiplyAdd(_wT.AsSpan(k * width, width), v, proj, proj);
        }
    }

    /// <summary>
    /// Runs the recurrence from zero state over <paramref name="steps"/> cached projections, row k being
    /// row (start + k) mod rows of <paramref name="projections"/> (a ring). Writes every step's h into
    /// <paramref name="y"/> (steps x H) when it is not empty, the last h and c into <paramref name="hOut"/>
    /// and <paramref name="cOut"/> (c: LSTM only). <paramref name="scratch"/> holds at least <see cref="ScratchLength"/>.
    /// </summary>
    public void Run(ReadOnlySpan<float> projections, int start, int rows, int steps, Span<float> y, Span<float> hOut, Span<float> cOut, Span<float> scratch)
    {
        int n = Hidden;
        int width = _bias.Length;
        // Each part starts a whole number of 64-byte lines into the scratch (aligned when the scratch is).
        int hAt = Lines(width), cAt = hAt + Lines(n), tmpAt = cAt + Lines(n);
        var gates = scratch[..width];
        var h = scratch.Slice(hAt, n);
        var c = scratch.Slice(cAt, n);
        var tmp = scratch.Slice(tmpAt, n);
        h.Clear();
        c.Clear();
        for (int k = 0; k < steps; k++)
        {
            int row = start + k;
            if (row >= rows) row -= rows;
            var p = projections.Slice(row * width, width);
            if (_int8 is { } q)
            {
                // Lstm.Run's int8 default cell from a zero state: no recurrent product at the first step, then h
                // quantized with the static scale 1/127 (|h| <= 1) by Gemv.LstmStepInt8Unit.
                if (k == 0) RecurrentCell.LstmInt8(q.Gemv.Isa, p, default, default, 0f, c, h);
                else q.Gemv.LstmStepInt8Unit(q.R, p, c, h, q.Acc.Span);
            }
            else if (IsLstm) LstmStep(p, gates, h, c, tmp);
            else if (LinearBeforeReset) GruStepLinearBeforeReset(p, gates, h);
            else GruStepResetBeforeLinear(p, gates, h, tmp);
            if (!y.IsEmpty) h.CopyTo(y.Slice(k * n, n));
        }
        if (!hOut.IsEmpty) h.CopyTo(hOut);
        if (!cOut.IsEmpty) c.CopyTo(cOut);
    }

    public int ScratchLength => Lines(_bias.Length) + 2 * Lines(Hidden) + Hidden;

    /// <summary><paramref name="floats"/> rounded up to whole 64-byte lines (16 floats).</summary>
    private static int Lines(int floats) => (floats + 15) / 16 * 16;

    /// <summary>acc += R[from .. from + acc.Length, :] h (the packed kernel of the batch layers, PackedF32Matrix).</summary>
    private void AddRecurrent(ReadOnlySpan<float> h, int from, Span<float> acc) => _r.MultiplyAdd(h, acc, from);

    private void Clip(Span<float> x)
    {
        if (_clip <= 0f) return;
        TensorPrimitives.Min(x, _clip, x);
        TensorPrimitives.Max(x, -_clip, x);
    }

    private void LstmStep(ReadOnlySpan<float> proj, Span<float> gates, Span<float> h, Span<float> c, Span<float> cellOut)
    {
        int n = h.Length;
        proj.CopyTo(gates);
        AddRecurrent(h, 0, gates);
        var i = gates[..n];
        var f = gates.Slice(n, n);
        var g = gates.Slice(2 * n, n);
        var o = gates.Slice(3 * n, n);
        Clip(i);
        TensorPrimitives.Sigmoid(i, i);
        Clip(f);
        TensorPrimitives.Sigmoid(f, f);
        Clip(g);
        TensorPrimitives.Tanh(g, g);
        TensorPrimitives.Multiply(f, c, c);
        TensorPrimitives.MultiplyAdd(i, g, c, c);
        Clip(o);
        TensorPrimitives.Sigmoid(o, o);
        c.CopyTo(cellOut);
        TensorPrimitives.Tanh(cellOut, cellOut);
        TensorPrimitives.Multiply(o, cellOut, h);
    }

    private void GruStepLinearBeforeReset(ReadOnlySpan<float> proj, Span<float> gates, Span<float> h)
    {
        int n = h.Length;
        proj[..(2 * n)].CopyTo(gates);
        _recurrentBiasN.CopyTo(gates[(2 * n)..]);
        AddRecurrent(h, 0, gates);
        var rz = gates[..(2 * n)];
        var hn = gates.Slice(2 * n, n);
        Clip(rz);
        TensorPrimitives.Sigmoid(rz, rz);
        TensorPrimitives.MultiplyAdd(rz[..n], hn, proj.Slice(2 * n, n), hn);
        GruFinish(gates, h);
    }

    private void GruStepResetBeforeLinear(ReadOnlySpan<float> proj, Span<float> gates, Span<float> h, Span<float> rh)
    {
        int n = h.Length;
        proj.CopyTo(gates);
        var rz = gates[..(2 * n)];
        AddRecurrent(h, 0, rz);
        Clip(rz);
        TensorPrimitives.Sigmoid(rz, rz);
        TensorPrimitives.Multiply(rz[..n], h, rh);
        AddRecurrent(rh, 2 * n, gates.Slice(2 * n, n));
        GruFinish(gates, h);
    }

    /// <summary>h' = (1 - z) * n + z * h = n + z * (h - n), as the layer computes it.</summary>
    private void GruFinish(Span<float> gates, Span<float> h)
    {
        int n = h.Length;
        var z = gates.Slice(n, n);
        var nGate = gates.Slice(2 * n, n);
        Clip(nGate);
        TensorPrimitives.Tanh(nGate, nGate);
        TensorPrimitives.Subtract(h, nGate, h);
        TensorPrimitives.MultiplyAdd(z, h, nGate, h);
    }
}
