using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Kernels;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Layers;

/// <summary>
/// What <see cref="Lstm"/> and <see cref="Gru"/> share: attribute parsing, shape validation against
/// hidden_size, weight preparation, the input projection for all time steps, and the mapping of
/// (time, batch, direction) to offsets in X, Y and the state tensors for both layouts.
/// </summary>
internal sealed class RecurrentLayer
{
    // Input positions of the ONNX LSTM/GRU contract.
    public const int InX = 0, InW = 1, InR = 2, InB = 3, InSequenceLens = 4, InInitialH = 5, InInitialC = 6, InP = 7;

    private readonly Node _node;

    private readonly bool[] _outputRead; // per output: named and read by the graph (OperatorContext.IsRead)

    public RecurrentLayer(Node node, int gates, OperatorContext context)
    {
        _node = node;
        _outputRead = node.Outputs.Select(context.IsRead).ToArray();
        Gates = gates;
        string direction = node.GetString("direction", "forward");
        (Directions, ReverseOnly) = direction switch
        {
            "forward" => (1, false),
            "reverse" => (1, true),
            "bidirectional" => (2, false),
            _ => throw Error($"attribute 'direction' is \"{direction}\"; expected \"forward\", \"reverse\" or \"bidirectional\""),
        };
        long layout = node.GetInt("layout", 0);
        if (layout is not (0 or 1)) throw Error($"attribute 'layout' is {layout}; expected 0 (sequence first) or 1 (batch first)");
        BatchFirst = layout == 1;
        long hidden = node.GetInt("hidden_size", 0);
        if (hidden < 0 || hidden > int.MaxValue / 8) throw Error($"attribute 'hidden_size' is {hidden}; expected a positive size");
        DeclaredHidden = (int)hidden;
        Clip = node.GetFloat("clip", 0f);
        if (!(Clip >= 0f)) throw Error($"attribute 'clip' is {Clip}; expected a positive bound, or 0 for none");
        if (!node.HasInput(InX)) throw Error("input X (0) is missing");
        if (!node.HasInput(InW)) throw Error("input W (1) is missing");
        if (!node.HasInput(InR)) throw Error("input R (2) is missing");
    }

    public string Name => _node.Name;
    public OpKind Kind => _node.Kind;
    public int Gates { get; }
    public int Directions { get; }
    public bool ReverseOnly { get; }
    public bool BatchFirst { get; }

    /// <summary>hidden_size from the attribute, or 0 when it is absent (then taken from R).</summary>
    public int DeclaredHidden { get; }

    /// <summary>Gate pre-activations are clipped to [-Clip, Clip] when Clip &gt; 0.</summary>
    public float Clip { get; }

    /// <summary>Whether direction index <paramref name="d"/> runs from the last valid step to the first.</summary>
    public bool IsReverse(int d) => ReverseOnly || d == 1;

    /// <summary>Whether output <paramref name="i"/> is to be made: named, read by the graph, and asked for by the caller.</summary>
    public bool WantsOutput(int i, Span<Tensor?> outputs) => i < outputs.Length && i < _outputRead.Length && _outputRead[i];

    public EdgeException Error(string message) => new($"node '{_node.Name}' ({_node.Kind}): {message}");

    public static Tensor? Input(ReadOnlySpan<Tensor?> inputs, int i) => i < inputs.Length ? inputs[i] : null;

    /// <summary>True when every present input among <paramref name="indices"/> is a graph constant.</summary>
    public bool AllConstant(OperatorContext context, params ReadOnlySpan<int> indices)
    {
        foreach (int i in indices)
            if (_node.HasInput(i) && context.Constant(_node.Input(i)) is null) return false;
        return true;
    }

    public Tensor? Constant(OperatorContext context, int i) => _node.HasInput(i) ? context.Constant(_node.Input(i)) : null;

    // ── weights ──────────────────────────────────────────────────────────────────────────────

    /// <summary>
    /// Validates W [dirs, G*H, I], R [dirs, G*H, H], B? [dirs, 2*G*H], P? [dirs, 3H] and packs them:
    /// W transposed to [I, G*H] so that the input projection is a sequence of contiguous multiply-adds of one
    /// input element into a whole gate row (long vectors even when H is small); R into a
    /// <see cref="PackedF32Matrix"/> for the per-step product, its rows cut at gate
    /// <paramref name="splitRecurrentAtGate"/> when &gt; 0 (GRU with linear_before_reset = 0 multiplies R_rz and
    /// R_n by different vectors); input and recurrent biases summed, except for gate
    /// <paramref name="separateRecurrentBiasGate"/> (GRU's n gate with linear_before_reset = 1), whose recurrent
    /// bias is kept apart.
    /// </summary>
    public RecurrentWeights PrepareWeights(Tensor? w, Tensor? r, Tensor? b, Tensor? p, int separateRecurrentBiasGate = -1, int splitRecurrentAtGate = 0)
    {
        w = CheckFloat(w, "W");
        r = CheckFloat(r, "R");
        var (hidden, inputSize) = CheckShapes(w, r, ref b, ref p);
        int gh = Gates * hidden;
        var result = new RecurrentWeights(Directions, hidden, inputSize, Gates, int8: false, p is not null, separateRecurrentBiasGate >= 0);
        var ws = w.ReadOnlySpan<float>();
        var rs = r.ReadOnlySpan<float>();
        ReadOnlySpan<int> cuts = splitRecurrentAtGate > 0 ? [splitRecurrentAtGate * hidden] : [];
        for (int d = 0; d < Directions; d++)
        {
            Transpose(ws.Slice(d * gh * inputSize, gh * inputSize), gh, inputSize, result.WT![d]);
            result.RT![d] = PackedF32Matrix.Pack(rs.Slice(d * gh * hidden, gh * hidden), gh, hidden, cuts);
        }
        FillBiases(result, b, p, separateRecurrentBiasGate);
        return result;
    }

    /// <summary>
    /// The int8 form of <see cref="PrepareWeights"/>: W and R stay in their (G*H, I) and (G*H, H) row
    /// order, one <see cref="PackedInt8Matrix"/> per direction built from the stored int8 values and row
    /// scales (never re-quantized). With <paramref name="splitRecurrentAt"/> &gt; 0, R is packed as two
    /// matrices, rows [0, split) in <see cref="RecurrentWeights.RQ"/> and the rest in
    /// <see cref="RecurrentWeights.RQTail"/> (GRU with linear_before_reset = 0 multiplies them by
    /// different vectors). Biases and peepholes as in <see cref="PrepareWeights"/>, fp32.
    /// </summary>
    public RecurrentWeights PrepareInt8Weights(QuantizedWeight w, QuantizedWeight r, Tensor? b, Tensor? p,
        int separateRecurrentBiasGate = -1, int splitRecurrentAt = 0)
    {
        var wv = CheckInt8(w, "W");
        var rv = CheckInt8(r, "R");
        var (hidden, inputSize) = CheckShapes(wv, rv, ref b, ref p);
        int gh = Gates * hidden;
        var result = new RecurrentWeights(Directions, hidden, inputSize, Gates, int8: true, p is not null, separateRecurrentBiasGate >= 0);
        for (int d = 0; d < Directions; d++)
        {
            result.WQ![d] = Int8Weights.PackRows(w, d * gh, gh);
            if (splitRecurrentAt > 0)
            {
                result.RQ![d] = Int8Weights.PackRows(r, d * gh, splitRecurrentAt);
                result.RQTail![d] = Int8Weights.PackRows(r, d * gh + splitRecurrentAt, gh - splitRecurrentAt);
            }
            else
            {
                result.RQ![d] = Int8Weights.PackRows(r, d * gh, gh);
            }
        }
        FillBiases(result, b, p, separateRecurrentBiasGate);
        return result;
    }

    private Tensor CheckInt8(QuantizedWeight q, string what)
    {
        if (q.Values.DataType != DataType.Int8) throw Error($"{what} is {q.Values.DataType.Name()}; expected int8");
        if (q.Values.Rank != 3 || q.Axis != 1)
            throw Error($"int8 {what} of shape {q.Values.ShapeString} has row axis {q.Axis}; expected rank 3 with one scale per gate row (axis 1)");
        return q.Values;
    }

    /// <summary>Checks the shapes of W, R, B and P (W and R of either type); returns (hidden, input_size).</summary>
    private (int Hidden, int InputSize) CheckShapes(Tensor w, Tensor r, ref Tensor? b, ref Tensor? p)
    {
        int g = Gates;
        if (r.Rank != 3) throw Error($"R has shape {r.ShapeString}; expected rank 3 (directions, {g}*hidden_size, hidden_size)");
        int hidden = DeclaredHidden > 0 ? DeclaredHidden : r.Dim(2);
        if (hidden <= 0) throw Error($"R has shape {r.ShapeString}; hidden_size cannot be 0");
        string hs = DeclaredHidden > 0 ? $"hidden_size={hidden}" : $"hidden_size={hidden} from R";
        if (w.Rank != 3 || w.Dim(0) != Directions || w.Dim(1) != g * hidden)
            throw Error($"W has shape {w.ShapeString}; expected ({Directions}, {g * hidden}, input_size) for {Directions} direction(s), {hs}");
        int inputSize = w.Dim(2);
        if (r.Dim(0) != Directions || r.Dim(1) != g * hidden || r.Dim(2) != hidden)
            throw Error($"R has shape {r.ShapeString}; expected ({Directions}, {g * hidden}, {hidden}) for {Directions} direction(s), {hs}");
        if (b is not null)
        {
            b = CheckFloat(b, "B");
            if (b.Rank != 2 || b.Dim(0) != Directions || b.Dim(1) != 2 * g * hidden)
                throw Error($"B has shape {b.ShapeString}; expected ({Directions}, {2 * g * hidden}) for {hs}");
        }
        if (p is not null)
        {
            p = CheckFloat(p, "P");
            if (p.Rank != 2 || p.Dim(0) != Directions || p.Dim(1) != 3 * hidden)
                throw Error($"P has shape {p.ShapeString}; expected ({Directions}, {3 * hidden}) for {hs}");
        }
        return (hidden, inputSize);
    }

    private void FillBiases(RecurrentWeights result, Tensor? b, Tensor? p, int separateRecurrentBiasGate)
    {
        int hidden = result.Hidden;
        int gh = Gates * hidden;
        for (int d = 0; d < Directions; d++)
        {
            if (b is not null)
            {
                var bd = b.ReadOnlySpan<float>().Slice(d * 2 * gh, 2 * gh);
                TensorPrimitives.Add(bd[..gh], bd[gh..], result.Bias[d]);
                if (separateRecurrentBiasGate >= 0)
                {
                    var rb = bd.Slice(gh + separateRecurrentBiasGate * hidden, hidden);
                    rb.CopyTo(result.RecurrentBias![d]);
                    bd.Slice(separateRecurrentBiasGate * hidden, hidden).CopyTo(result.Bias[d].AsSpan(separateRecurrentBiasGate * hidden, hidden));
                }
            }
            if (p is not null)
                p.ReadOnlySpan<float>().Slice(d * 3 * hidden, 3 * hidden).CopyTo(result.Peepholes![d]);
        }
    }

    private Tensor CheckFloat(Tensor? t, string what)
    {
        if (t is null) throw Error($"input {what} was not given");
        if (t.DataType != DataType.Float32) throw Error($"{what} is {t.DataType.Name()}; expected float32");
        return t.Contiguous();
    }

    private static void Transpose(ReadOnlySpan<float> src, int rows, int cols, Span<float> dst)
    {
        for (int i = 0; i < rows; i++)
        {
            var row = src.Slice(i * cols, cols);
            for (int j = 0; j < row.Length; j++) dst[j * rows + i] = row[j];
        }
    }

    // ── per call ─────────────────────────────────────────────────────────────────────────────

    /// <summary>Checks X against the weights and reads (seq, batch) for the layout.</summary>
    public (Tensor X, int Seq, int Batch) CheckX(Tensor? x, RecurrentWeights weights)
    {
        if (x is null) throw Error("input X was not given");
        if (x.DataType != DataType.Float32) throw Error($"X is {x.DataType.Name()}; expected float32");
        string axes = BatchFirst ? "(batch, seq, input_size)" : "(seq, batch, input_size)";
        if (x.Rank != 3) throw Error($"X has shape {x.ShapeString}; expected rank 3 {axes} for layout {(BatchFirst ? 1 : 0)}");
        if (x.Dim(2) != weights.InputSize)
            throw Error($"X has shape {x.ShapeString} but W expects input_size {weights.InputSize} (last axis of {axes})");
        int seq = BatchFirst ? x.Dim(1) : x.Dim(0);
        int batch = BatchFirst ? x.Dim(0) : x.Dim(1);
        return (x.Contiguous(), seq, batch);
    }

    /// <summary>Valid length per batch row (all <paramref name="seq"/> when sequence_lens is absent), in scratch <paramref name="slot"/> (and slot + 1 to widen int32 lengths).</summary>
    public ReadOnlySpan<int> SequenceLengths(Tensor? lens, int seq, int batch, NodeBuffers buffers, int slot)
    {
        var result = buffers.Scratch<int>(slot, batch);
        if (lens is null)
        {
            result.Fill(seq);
            return result;
        }
        if (lens.DataType is not (DataType.Int32 or DataType.Int64))
            throw Error($"sequence_lens is {lens.DataType.Name()}; expected int32 or int64");
        if (lens.Rank != 1 || lens.Dim(0) != batch)
            throw Error($"sequence_lens has shape {lens.ShapeString}; expected ({batch},), one length per batch row");
        var values = OpUtil.Indices(lens, buffers, slot + 1);
        for (int b = 0; b < batch; b++)
        {
            if (values[b] < 0 || values[b] > seq)
                throw Error($"sequence_lens[{b}] is {values[b]}; expected 0 to {seq} (the sequence length of X)");
            result[b] = (int)values[b];
        }
        return result;
    }

    /// <summary>Checks an initial state (initial_h or initial_c) against its layout's shape; null when absent.</summary>
    public Tensor? CheckState(Tensor? state, string what, int batch, int hidden)
    {
        if (state is null) return null;
        if (state.DataType != DataType.Float32) throw Error($"{what} is {state.DataType.Name()}; expected float32");
        Span<int> expected = stackalloc int[] { BatchFirst ? batch : Directions, BatchFirst ? Directions : batch, hidden };
        if (!state.Shape.SequenceEqual(expected))
            throw Error($"{what} has shape {state.ShapeString}; expected {Tensor.FormatShape(expected)} for layout {(BatchFirst ? 1 : 0)}");
        return state.Contiguous();
    }

    /// <summary>
    /// Y: (seq, dirs, batch, H) for layout 0, (batch, seq, dirs, H) for layout 1. With sequence_lens
    /// (<paramref name="hasLengths"/>) it starts as zeros, the values past each valid length; without, the time
    /// loop writes every element.
    /// </summary>
    public Tensor NewY(int seq, int batch, int hidden, NodeBuffers buffers, bool hasLengths)
    {
        Span<int> shape = stackalloc int[] { BatchFirst ? batch : seq, BatchFirst ? seq : Directions, BatchFirst ? Directions : batch, hidden };
        return hasLengths ? buffers.ZeroedOutput(0, DataType.Float32, shape) : buffers.Output(0, DataType.Float32, shape);
    }

    /// <summary>Y_h / Y_c (output <paramref name="index"/>): (dirs, batch, H) for layout 0, (batch, dirs, H) for layout 1; every row gets written.</summary>
    public Tensor NewState(int batch, int hidden, NodeBuffers buffers, int index)
    {
        Span<int> shape = stackalloc int[] { BatchFirst ? batch : Directions, BatchFirst ? Directions : batch, hidden };
        return buffers.Output(index, DataType.Float32, shape);
    }

    /// <summary>Row of X (and of the projection) holding time step t of batch row b.</summary>
    public int XRow(int t, int b, int seq, int batch) => BatchFirst ? b * seq + t : t * batch + b;

    /// <summary>Offset of the H-vector for (t, d, b) in Y.</summary>
    public int YOffset(int t, int d, int b, int seq, int batch, int hidden) =>
        (BatchFirst ? (b * seq + t) * Directions + d : (t * Directions + d) * batch + b) * hidden;

    /// <summary>Offset of the H-vector for (d, b) in a state tensor.</summary>
    public int StateOffset(int d, int b, int batch, int hidden) =>
        (BatchFirst ? b * Directions + d : d * batch + b) * hidden;

    /// <summary>
    /// proj[row, :] = bias + X[row, :] W^T for every row of X (all time steps, all batch rows): one
    /// matrix product up front, so the time loop only adds the recurrent part.
    /// </summary>
    /// <summary>
    /// W x_t + b for every (time step, batch row) of direction <paramref name="d"/> into <paramref name="proj"/>
    /// (rows x gates*hidden): one int8 small-batch product over <paramref name="xq"/> (X quantized once per call,
    /// one scale per row) when the weights are int8, else the fp32 product over <paramref name="x"/>.
    /// </summary>
    public static void ProjectDirection(RecurrentWeights weights, Gemv? gemv, int d, ReadOnlySpan<float> x, ReadOnlySpan<sbyte> xq,
        ReadOnlySpan<float> xScales, int rows, Span<float> proj, int gateWidth)
    {
        if (weights.IsInt8)
        {
            if (rows > 0) gemv!.MultiplyInt8Dequantize(weights.WQ![d], xq, weights.InputSize, xScales, rows, weights.Bias[d], proj, gateWidth, accumulate: false);
        }
        else
        {
            ProjectInputs(x, rows, weights.WT![d], weights.Bias[d], weights.InputSize, proj);
        }
    }

    public static void ProjectInputs(ReadOnlySpan<float> x, int rows, ReadOnlySpan<float> wT, ReadOnlySpan<float> bias, int inputSize, Span<float> proj)
    {
        int width = bias.Length;
        for (int row = 0; row < rows; row++)
        {
            var dst = proj.Slice(row * width, width);
            bias.CopyTo(dst);
            var xr = x.Slice(row * inputSize, inputSize);
            for (int k = 0; k < xr.Length; k++)
            {
                float v = xr[k];
                if (v != 0f) TensorPrimitives.MultiplyAdd(wT.Slice(k * width, width), v, dst, dst);
            }
        }
    }

    /// <summary>
    /// acc += h R^T for the columns [from, from + acc.Length) of R^T [H, width], i.e. the rows
    /// [from, from + acc.Length) of the packed R: from and from + acc.Length must be 0, width or the cut given to
    /// <see cref="PrepareWeights"/>.
    /// </summary>
    public static void AddRecurrent(ReadOnlySpan<float> h, PackedF32Matrix r, int width, int from, Span<float> acc)
    {
        if (width != r.Rows) throw new ArgumentException($"width {width}; R has {r.Rows} rows (gates x hidden)", nameof(width));
        r.MultiplyAdd(h, acc, from);
    }

    public static void ClipInPlace(Span<float> x, float clip)
    {
        if (clip <= 0f) return;
        TensorPrimitives.Min(x, clip, x);
        TensorPrimitives.Max(x, -clip, x);
    }
}

/// <summary>
/// Recurrent weights packed for the fp32 kernels (<see cref="RecurrentLayer.PrepareWeights"/>: <see cref="WT"/>,
/// <see cref="RT"/>) or for the int8 ones (<see cref="RecurrentLayer.PrepareInt8Weights"/>: <see cref="WQ"/>,
/// <see cref="RQ"/>, <see cref="RQTail"/>); biases and peepholes fp32 either way.
/// </summary>
internal sealed class RecurrentWeights
{
    public RecurrentWeights(int directions, int hidden, int inputSize, int gates, bool int8, bool peepholes, bool separateRecurrentBias)
    {
        Hidden = hidden;
        InputSize = inputSize;
        int gh = gates * hidden;
        if (int8)
        {
            WQ = new PackedInt8Matrix[directions];
            RQ = new PackedInt8Matrix[directions];
            RQTail = new PackedInt8Matrix[directions];
        }
        else
        {
            WT = new float[directions][];
            RT = new PackedF32Matrix[directions];
        }
        Bias = new float[directions][];
        if (peepholes) Peepholes = new float[directions][];
        if (separateRecurrentBias) RecurrentBias = new float[directions][];
        for (int d = 0; d < directions; d++)
        {
            if (!int8) WT![d] = new float[inputSize * gh];
            Bias[d] = new float[gh];
            if (Peepholes is not null) Peepholes[d] = new float[3 * hidden];
            if (RecurrentBias is not null) RecurrentBias[d] = new float[hidden];
        }
    }

    public int Hidden { get; }
    public int InputSize { get; }

    /// <summary>Whether the matrices are int8 (<see cref="WQ"/>, <see cref="RQ"/>) rather than fp32 (<see cref="WT"/>, <see cref="RT"/>).</summary>
    public bool IsInt8 => WQ is not null;

    /// <summary>Per direction: W^T, [input_size, gates * H] (fp32 form).</summary>
    public float[][]? WT { get; }

    /// <summary>Per direction: R (gates * H rows, H columns), packed for the per-step product (fp32 form; set by <see cref="RecurrentLayer.PrepareWeights"/>).</summary>
    public PackedF32Matrix[]? RT { get; }

    /// <summary>Per direction: W (gates * H rows, input_size columns), int8 packed (int8 form).</summary>
    public PackedInt8Matrix[]? WQ { get; }

    /// <summary>Per direction: R (gates * H rows, H columns), or its first rows when R is split (int8 form).</summary>
    public PackedInt8Matrix[]? RQ { get; }

    /// <summary>Per direction: the remaining rows of a split R (int8 form); unset entries when R is not split.</summary>
    public PackedInt8Matrix?[]? RQTail { get; }

    /// <summary>Per direction: the biases folded into the input projection, [gates * H].</summary>
    public float[][] Bias { get; }

    /// <summary>Per direction: peepholes i, f, o [3H]; null when P is absent.</summary>
    public float[][]? Peepholes { get; }

    /// <summary>Per direction: the recurrent bias of the one gate that keeps it apart [H]; null otherwise.</summary>
    public float[][]? RecurrentBias { get; }
}
