using Edge.Runtime.Execution;
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
/// Both parts are the batch layer's own recurrent core (<see cref="IRecurrentCore"/>: <see cref="Lstm"/>,
/// <see cref="Gru"/> or <see cref="Rnn"/> built on the node and the graph's weights), so a cached forecast equals the batch session's
/// bit for bit, fp32 and int8 alike. The weights run as the batch layer runs them: int8 for an LSTM whose W and R
/// are int8 (per-row scales), fp32 otherwise (dequantized when stored int8: <see cref="FromInt8"/> without
/// <see cref="IsInt8"/>, which the stream takes only when asked to). Only what needs no per-call input is taken:
/// one forward direction, no sequence_lens, no initial state, no peepholes, no input_forget, the default
/// activations (Sigmoid, Tanh[, Tanh]; an Rnn's one activation, whatever it is); clip is applied as the layer applies it. Anything else is refused by
/// <see cref="TryCreate"/> with the reason, and the stream runs the plain window path.
/// </para>
/// </summary>
internal sealed class CachedRecurrence
{
    private readonly IRecurrentCore _core;
    // The core's int8 scratch (the float parts are the caller's scratch): allocated once, nothing per sample.
    private readonly sbyte[] _xq, _hq;
    private readonly float[] _xScale = new float[1], _hScale = new float[1];
    private readonly AlignedBuffer<int> _acc;

    private CachedRecurrence(Node node, IRecurrentCore core, bool fromInt8)
    {
        Node = node;
        _core = core;
        FromInt8 = fromInt8;
        _xq = new sbyte[core.IsInt8 ? core.InputSize : 0];
        _hq = new sbyte[core.IsInt8 ? core.Hidden : 0];
        _acc = new AlignedBuffer<int>(core.IsInt8 ? core.Width : 0);
    }

    public Node Node { get; }

    public bool IsLstm => Node.Kind == OpKind.Lstm;

    public int Hidden => _core.Hidden;

    public int InputSize => _core.InputSize;

    /// <summary>Floats per cached projection: gates x hidden.</summary>
    public int Width => _core.Width;

    /// <summary>Whether the node's weights are int8 in the blob (used as int8 when <see cref="IsInt8"/>, else dequantized).</summary>
    public bool FromInt8 { get; }

    /// <summary>Whether the cache runs the layer's int8 products and cell.</summary>
    public bool IsInt8 => _core.IsInt8;

    /// <summary>
    /// Prepares the cache for <paramref name="node"/>, or returns null with the reason it cannot run it. With
    /// <paramref name="gemv"/> (the session's kernels), an LSTM whose W and R are int8 keeps them int8 (<see cref="IsInt8"/>).
    /// </summary>
    public static CachedRecurrence? TryCreate(Graph graph, Node node, Gemv? gemv, out string reason)
    {
        bool lstm = node.Kind == OpKind.Lstm, rnn = node.Kind == OpKind.Rnn;
        if (!lstm && !rnn && node.Kind != OpKind.Gru) { reason = $"node '{node.Name}' is {node.Kind}, not Lstm, Gru or Rnn"; return null; }
        int gates = lstm ? 4 : rnn ? 1 : 3;
        string direction = node.GetString("direction", "forward");
        if (direction != "forward") { reason = $"'{node.Name}' runs {direction}"; return null; }
        // inputs: X, W, R, B?, sequence_lens?, initial_h?, initial_c?, P?
        if (node.HasInput(4)) { reason = $"'{node.Name}' takes sequence_lens"; return null; }
        if (node.HasInput(5) || node.HasInput(6)) { reason = $"'{node.Name}' takes an initial state"; return null; }
        if (node.HasInput(7)) { reason = $"'{node.Name}' has peepholes"; return null; }
        if (node.GetInt("input_forget", 0) != 0) { reason = $"'{node.Name}' couples its input and forget gates"; return null; }
        string[] defaults = lstm ? ["Sigmoid", "Tanh", "Tanh"] : ["Sigmoid", "Tanh"];
        // An RNN's one activation (Tanh or PyTorch's Relu, ...) is all of its cell: the core applies it as the layer does.
        if (!rnn && node.GetStrings("activations") is { } acts && !acts.SequenceEqual(defaults, StringComparer.OrdinalIgnoreCase))
        {
            reason = $"'{node.Name}' uses activations {string.Join(", ", acts)}";
            return null;
        }
        float clip = node.GetFloat("clip", 0f);
        if (!(clip >= 0f)) { reason = $"'{node.Name}' has clip {clip}"; return null; }
        long lbr = node.GetInt("linear_before_reset", 0);
        if (!lstm && lbr is not (0 or 1)) { reason = $"'{node.Name}' has linear_before_reset {lbr}"; return null; }

        // The weights as the layer sees them: float32 constants, int8 ones dequantized (the fp32 form), and for
        // the int8 form the stored int8 W and R.
        bool int8 = false;
        var constants = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        Tensor? Weight(int i)
        {
            string name = node.Input(i);
            if (name.Length == 0) return null;
            Tensor? t = null;
            if (graph.Constants.TryGetValue(name, out var c)) t = c.DataType == DataType.Float32 ? c.Contiguous() : null;
            else if (graph.QuantizedConstants.TryGetValue(name, out var q)) { int8 = true; t = WeightQuantizer.Dequantize(q); }
            if (t is not null) constants[name] = t;
            return t;
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

        // The int8 form: an LSTM (the default cell, so the fused int8 step) with per-row int8 W and R.
        Dictionary<string, QuantizedWeight>? quantized = null;
        if (gemv is not null && lstm && !(clip > 0f)
            && graph.QuantizedConstants.TryGetValue(node.Input(1), out var wq) && graph.QuantizedConstants.TryGetValue(node.Input(2), out var rq)
            && wq.Axis == 1 && rq.Axis == 1 && wq.Scales.Length == gh && rq.Scales.Length == gh)
            quantized = new(StringComparer.Ordinal) { [node.Input(1)] = wq, [node.Input(2)] = rq };
        IRecurrentCore core;
        try
        {
            var context = new OperatorContext(constants, quantized, gemv);
            core = lstm ? new Lstm(node, context) : rnn ? new Rnn(node, context) : new Gru(node, context);
        }
        catch (EdgeException e)
        {
            reason = e.Message;
            return null;
        }
        reason = "";
        return new CachedRecurrence(node, core, int8);
    }

    private StepScratch Work(Span<float> gates, Span<float> vector) => new()
    {
        Gates = gates,
        Vector = vector,
        Hq = _hq,
        Scale = _hScale,
        Acc = _acc.Span,
        Xq = _xq,
        XScale = _xScale,
    };

    /// <summary>proj = bias + x W^T (one sample), the layer's projection (int8: x quantized as the layer does).</summary>
    public void Project(ReadOnlySpan<float> x, Span<float> proj) => _core.ProjectSample(x, proj, Work(default, default));

    /// <summary>
    /// Runs the recurrence from zero state over <paramref name="steps"/> cached projections, row k being
    /// row (start + k) mod rows of <paramref name="projections"/> (a ring), with the layer's step. Writes every
    /// step's h into <paramref name="y"/> (steps x H) when it is not empty, the last h and c into
    /// <paramref name="hOut"/> and <paramref name="cOut"/> (c: LSTM only). <paramref name="scratch"/> holds at
    /// least <see cref="ScratchLength"/>.
    /// </summary>
    public void Run(ReadOnlySpan<float> projections, int start, int rows, int steps, Span<float> y, Span<float> hOut, Span<float> cOut, Span<float> scratch)
    {
        int n = Hidden;
        int width = Width;
        // Each part starts a whole number of 64-byte lines into the scratch (aligned when the scratch is).
        int hAt = Lines(width), cAt = hAt + Lines(n), tmpAt = cAt + Lines(n);
        var h = scratch.Slice(hAt, n);
        var c = scratch.Slice(cAt, n);
        var work = Work(scratch[..width], scratch.Slice(tmpAt, n));
        h.Clear();
        c.Clear();
        for (int k = 0; k < steps; k++)
        {
            int row = start + k;
            if (row >= rows) row -= rows;
            _core.Step(projections.Slice(row * width, width), k == 0, h, c, work);
            if (!y.IsEmpty) h.CopyTo(y.Slice(k * n, n));
        }
        if (!hOut.IsEmpty) h.CopyTo(hOut);
        if (!cOut.IsEmpty) c.CopyTo(cOut);
    }

    public int ScratchLength => Lines(Width) + 2 * Lines(Hidden) + Hidden;

    /// <summary><paramref name="floats"/> rounded up to whole 64-byte lines (16 floats).</summary>
    private static int Lines(int floats) => (floats + 15) / 16 * 16;
}
