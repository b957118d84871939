using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Quantizer.Import.Onnx;

// ONNX LSTM, GRU and RNN into the IR's gate order (RNN has one gate block: nothing to reorder). The IR keeps PyTorch's orders (LSTM i,f,g,o; GRU r,z,n);
// ONNX stores LSTM gates i,o,f,c, peepholes i,o,f, and GRU gates z,r,h. Each table below lists, for
// each IR gate block in order, the ONNX block it comes from.
internal sealed partial class OnnxGraphConverter
{
    /// <summary>hidden_size above this is refused: 8 x it (bias blocks) stays an int, and no real recurrent layer is near it.</summary>
    internal const long MaxHiddenSize = 1 << 24;

    private static readonly int[] LstmGates = { 0, 2, 3, 1 };              // i<-i, f<-f, g<-c, o<-o
    private static readonly int[] LstmBias = { 0, 2, 3, 1, 4, 6, 7, 5 };   // W biases, then R biases
    private static readonly int[] LstmPeepholes = { 0, 2, 1 };             // i<-i, f<-f, o<-o
    private static readonly int[] GruGates = { 1, 0, 2 };                  // r<-r, z<-z, n<-h
    private static readonly int[] GruBias = { 1, 0, 2, 4, 3, 5 };

    private void ConvertLstm(OnnxNode n)
    {
        n.Allow("activation_alpha", "activation_beta", "activations", "clip", "direction", "hidden_size", "input_forget", "layout");
        long hidden = HiddenSize(n);
        var inputs = new[]
        {
            n.Input(0),
            Reorder(n, n.Input(1), "W", LstmGates, hidden),
            Reorder(n, n.Input(2), "R", LstmGates, hidden),
            Reorder(n, n.Input(3), "B", LstmBias, hidden),
            n.Input(4), n.Input(5), n.Input(6),
            Reorder(n, n.Input(7), "P", LstmPeepholes, hidden),
        };
        var node = Emit(n, OpKind.Lstm, inputs, new[] { n.Output(0), n.Output(1), n.Output(2) });
        SetRecurrentAttributes(n, node, hidden);
        node.Set("input_forget", n.Int("input_forget", 0));
    }

    private void ConvertGru(OnnxNode n)
    {
        n.Allow("activation_alpha", "activation_beta", "activations", "clip", "direction", "hidden_size", "layout", "linear_before_reset");
        long hidden = HiddenSize(n);
        var inputs = new[]
        {
            n.Input(0),
            Reorder(n, n.Input(1), "W", GruGates, hidden),
            Reorder(n, n.Input(2), "R", GruGates, hidden),
            Reorder(n, n.Input(3), "B", GruBias, hidden),
            n.Input(4), n.Input(5),
        };
        var node = Emit(n, OpKind.Gru, inputs, new[] { n.Output(0), n.Output(1) });
        SetRecurrentAttributes(n, node, hidden);
        node.Set("linear_before_reset", n.Int("linear_before_reset", 0));
    }

    private void ConvertRnn(OnnxNode n)
    {
        n.Allow("activation_alpha", "activation_beta", "activations", "clip", "direction", "hidden_size", "layout");
        long hidden = HiddenSize(n);
        var inputs = new[] { n.Input(0), n.Input(1), n.Input(2), n.Input(3), n.Input(4), n.Input(5) };
        int last = inputs.Length;
        while (last > 1 && inputs[last - 1].Length == 0) last--;
        var node = Emit(n, OpKind.Rnn, inputs[..last], new[] { n.Output(0), n.Output(1) });
        SetRecurrentAttributes(n, node, hidden);
    }

    private static void SetRecurrentAttributes(OnnxNode n, Node node, long hidden)
    {
        node.Set("hidden_size", hidden)
            .Set("direction", n.String("direction", "forward"))
            .Set("layout", n.Int("layout", 0));
        if (n.Strings("activations") is { } acts) node.Set("activations", acts);
        if (n.Floats("activation_alpha") is { } alpha) node.Set("activation_alpha", alpha);
        if (n.Floats("activation_beta") is { } beta) node.Set("activation_beta", beta);
        if (n.Has("clip")) node.Set("clip", n.Float("clip", 0));
    }

    /// <summary>hidden_size, or R's last dimension ([dirs, gates*H, H]) when the attribute is absent.</summary>
    private long HiddenSize(OnnxNode n)
    {
        if (n.Has("hidden_size"))
        {
            long h = n.Int("hidden_size", 0);
            if (h <= 0) throw n.Error($"hidden_size must be positive, got {h}");
            // the gate-stacked weights have 4 x hidden_size rows (per direction): that must fit an array dimension
            if (h > MaxHiddenSize) throw n.Error($"hidden_size {h} is larger than Edge accepts ({MaxHiddenSize})");
            return h;
        }
        if (_ir.KnownShape(n.Input(2)) is { Length: 3 } r && r[2] > 0 && r[2] <= MaxHiddenSize) return r[2];
        throw n.Unsupported("hidden_size is absent and the shape of R is unknown");
    }

    /// <summary>
    /// The IR-ordered version of a gate-stacked tensor [dirs, blocks*H, ...]: permuted now when it is a
    /// constant; otherwise (a graph input, as in ONNX's conformance tests) a Gather on axis 1 permutes it
    /// at run time.
    /// </summary>
    private string Reorder(OnnxNode n, string name, string what, int[] blocks, long hidden)
    {
        if (name.Length == 0) return "";
        int h = checked((int)hidden);
        if (_ir.ConstantOf(name) is { } t)
        {
            if (t.DataType != DataType.Float32)
                throw n.Error($"{what} ('{name}') must be float32, it is {t.DataType.Name()}");
            if (t.Rank < 2 || t.Shape[1] != blocks.Length * h)
                throw n.Error($"{what} ('{name}') has shape {t.ShapeString}; axis 1 should be {blocks.Length} x hidden_size {h} = {blocks.Length * h}");
            return _ir.Constant($"{name}.edge_order", PermuteBlocks(t, blocks, h));
        }
        var index = new long[blocks.Length * h];
        for (int k = 0; k < blocks.Length; k++)
            for (int j = 0; j < h; j++)
                index[k * h + j] = (long)blocks[k] * h + j;
        string indexName = _ir.Constant($"{n.Name}/{what}_gate_order", Tensor.FromArray(index, index.Length));
        string output = _ir.FreshValue($"{name}.edge_order");
        Emit(n, OpKind.Gather, new[] { name, indexName }, new[] { output }, $"{what}_gate_order").Set("axis", 1L);
        return output;
    }

    internal static Tensor PermuteBlocks(Tensor t, int[] blocks, int hidden)
    {
        var src = t.Contiguous().ReadOnlySpan<float>();
        var shape = t.ShapeArray();
        var result = Tensor.Zeros(DataType.Float32, shape);
        var dst = result.Span<float>();
        int inner = 1;
        for (int d = 2; d < shape.Length; d++) inner *= shape[d];
        int block = hidden * inner;
        int perDir = blocks.Length * block;
        for (int dir = 0; dir < shape[0]; dir++)
            for (int k = 0; k < blocks.Length; k++)
                src.Slice(dir * perDir + blocks[k] * block, block).CopyTo(dst.Slice(dir * perDir + k * block, block));
        return result;
    }
}
