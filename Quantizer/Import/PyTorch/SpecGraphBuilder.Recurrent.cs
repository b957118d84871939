using Edge.Runtime;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Quantizer.Import.PyTorch;

/// <summary>Spec kinds lstm, gru and rnn: the IR's ONNX-style recurrent nodes with the glue to nn.LSTM/nn.GRU/nn.RNN layouts.</summary>
internal sealed partial class SpecGraphBuilder
{
    // ── recurrent layers ────────────────────────────────────────────────────────────────────────

    private IrValue Recurrent(SpecObject l, bool lstm, bool rnn = false)
    {
        string kind = lstm ? "lstm" : rnn ? "rnn" : "gru";
        string prefix = Prefix(l);
        var x = Input(l);
        int layers = l.Int("num_layers", 1, 1, 64);
        bool batchFirst = l.Bool("batch_first", false);
        bool bidirectional = l.Bool("bidirectional", false);
        bool bias = l.Bool("bias", true);
        long? hiddenField = l.OptInt("hidden_size");
        long? inputField = l.OptInt("input_size");
        _ = l.Float("dropout", 0); // training only
        if (l.Int("proj_size", 0, 0) != 0) throw new UnsupportedModelException($"{_spec.Source}: {l.Path}.proj_size: LSTMs with projections are not supported");
        string ret = l.String("return", "sequence");
        if (ret is not ("sequence" or "last" or "state"))
            throw l.Error($"return: '{ret}' is not one of sequence (the module's output), last (output at the last time step), state (h_n[-1])");
        string? head = l.OptString("head");
        string? h0Ref = l.OptString("initial_h");
        string? c0Ref = lstm ? l.OptString("initial_c") : null;
        // nn.RNN's nonlinearity: the IR Rnn's one activation.
        string? activation = null;
        if (rnn)
        {
            string nonlinearity = l.String("nonlinearity", "tanh");
            activation = nonlinearity switch
            {
                "tanh" => "Tanh",
                "relu" => "Relu",
                _ => throw l.Error($"nonlinearity: '{nonlinearity}' is not one of tanh, relu (what nn.RNN accepts)"),
            };
        }

        int gates = lstm ? 4 : rnn ? 1 : 3, dirs = bidirectional ? 2 : 1;
        if (x.Rank != 3)
            throw l.Error($"input: {kind} needs a rank-3 input {(batchFirst ? "(batch, seq, features)" : "(seq, batch, features)")}, got {x.ShapeString}");
        if (x.Type != DataType.Float32) throw l.Error($"input: {kind} needs float32, got {x.Type.Name()}");

        int hidden;
        if (hiddenField is { } hf)
        {
            if (hf < 1 || hf > 1 << 20) throw l.Error($"hidden_size: {hf} must be positive");
            hidden = (int)hf;
        }
        else if (_sd.TryGetValue(Key(prefix, "weight_hh_l0"), out var whh) && whh.Rank == 2) hidden = whh.Dim(1);
        else throw l.Error($"hidden_size: required (and the state_dict has no '{Key(prefix, "weight_hh_l0")}' to infer it from)");
        int inputSize = x.Shape[2];
        if (inputField is { } inf)
        {
            if (inputSize >= 0 && inf != inputSize) throw l.Error($"input_size: {inf}, but the input {x.ShapeString} has {inputSize} features");
            inputSize = (int)inf;
        }

        IrValue? h0 = h0Ref is null ? null : InitialState(l, "initial_h", h0Ref, layers * dirs, hidden);
        IrValue? c0 = c0Ref is null ? null : InitialState(l, "initial_c", c0Ref, layers * dirs, hidden);

        int seqAxis = batchFirst ? 1 : 0, batchAxis = batchFirst ? 0 : 1;
        int seq = x.Shape[seqAxis], batch = x.Shape[batchAxis];
        var current = x;
        var hParts = new List<IrValue>();
        var cParts = new List<IrValue>();
        bool complete = true;
        for (int k = 0; k < layers; k++)
        {
            int inK = k == 0 ? inputSize : dirs * hidden;
            var w = new List<Tensor>();
            var r = new List<Tensor>();
            var b = new List<Tensor>();
            for (int d = 0; d < dirs; d++)
            {
                string sfx = d == 0 ? "" : "_reverse";
                var wi = Weight(l, Key(prefix, $"weight_ih_l{k}{sfx}"), [gates * hidden, inK]);
                var wh = Weight(l, Key(prefix, $"weight_hh_l{k}{sfx}"), [gates * hidden, hidden]);
                if (wi is not null && inK < 0) inK = wi.Dim(1);
                if (wi is null || wh is null) complete = false; else { w.Add(wi); r.Add(wh); }
                if (bias)
                {
                    var bi = Weight(l, Key(prefix, $"bias_ih_l{k}{sfx}"), [gates * hidden]);
                    var bh = Weight(l, Key(prefix, $"bias_hh_l{k}{sfx}"), [gates * hidden]);
                    if (bi is null || bh is null) complete = false; else b.Add(Cat(bi, bh));
                }
            }
            string layerTag = layers == 1 ? l.Name : $"{l.Name}/l{k}";
            var yShape = batchFirst ? new[] { batch, seq, dirs, hidden } : [seq, dirs, batch, hidden];
            var stateShape = batchFirst ? new[] { batch, dirs, hidden } : [dirs, batch, hidden];
            var y = _ir.NewValue($"{layerTag}/Y", yShape, DataType.Float32);
            var yh = _ir.NewValue($"{layerTag}/Y_h", stateShape, DataType.Float32);
            var yc = _ir.NewValue($"{layerTag}/Y_c", stateShape, DataType.Float32);
            if (complete)
            {
                string wName = _ir.Constant($"{layerTag}/W", StackDirs(w));
                string rName = _ir.Constant($"{layerTag}/R", StackDirs(r));
                string bName = bias ? _ir.Constant($"{layerTag}/B", StackDirs(b)) : "";
                string hk = h0 is null ? "" : LayerState(l, h0, k, dirs, batchFirst, "initial_h").Name;
                string ck = c0 is null ? "" : LayerState(l, c0, k, dirs, batchFirst, "initial_c").Name;
                var inputs = lstm ? new[] { current.Name, wName, rName, bName, "", hk, ck } : [current.Name, wName, rName, bName, "", hk];
                while (inputs[^1].Length == 0) inputs = inputs[..^1];
                var node = _ir.Emit(lstm ? OpKind.Lstm : rnn ? OpKind.Rnn : OpKind.Gru, $"{layerTag}/{kind}", inputs, lstm ? [y.Name, yh.Name, yc.Name] : [y.Name, yh.Name])
                    .Set("hidden_size", (long)hidden)
                    .Set("direction", bidirectional ? "bidirectional" : "forward")
                    .Set("layout", batchFirst ? 1L : 0L);
                if (rnn) node.Set("activations", new[] { activation! });
                else if (!lstm) node.Set("linear_before_reset", 1L); // PyTorch applies the reset gate after the recurrent product
            }
            // To the module's layouts: output (seq, batch, dirs*H) or (batch, seq, dirs*H); states (dirs, batch, H).
            IrValue seqOut = batchFirst
                ? Reshape(l, y, [0, 0, -1], $"{layerTag}/output")
                : dirs == 1
                    ? Squeeze(l, y, [1], $"{layerTag}/output")
                    : Reshape(l, Transpose(l, y, [0, 2, 1, 3], $"{layerTag}/Y_t"), [0, 0, -1], $"{layerTag}/output");
            hParts.Add(batchFirst ? Transpose(l, yh, [1, 0, 2], $"{layerTag}/h_n") : yh);
            if (lstm) cParts.Add(batchFirst ? Transpose(l, yc, [1, 0, 2], $"{layerTag}/c_n") : yc);
            current = seqOut;
        }
        var hN = layers == 1 ? hParts[0] : Concat(l, hParts, 0, $"{l.Name}/h_n");
        Define($"{l.Name}:output", current);
        Define($"{l.Name}:h_n", hN);
        if (lstm) Define($"{l.Name}:c_n", layers == 1 ? cParts[0] : Concat(l, cParts, 0, $"{l.Name}/c_n"));

        var main = ret switch
        {
            "last" => Gather(l, current, seqAxis, -1, $"{l.Name}/last"),
            "state" => Gather(l, hN, 0, -1, $"{l.Name}/state"),
            _ => current,
        };
        if (head is not null) main = Linear(l, head, main, bias: true, $"{l.Name}/head", "head");
        return main;
    }

    private IrValue InitialState(SpecObject l, string field, string reference, int count, int hidden)
    {
        var v = Resolve(reference, $"{l.Path}.{field}");
        if (v.Rank != 3 || (v.Shape[0] >= 0 && v.Shape[0] != count) || (v.Shape[2] >= 0 && v.Shape[2] != hidden))
            throw l.Error($"{field}: '{reference}' is {v.ShapeString}; expected (num_layers*num_directions = {count}, batch, hidden_size = {hidden}) as PyTorch takes it");
        return v;
    }

    /// <summary>Layer k's slice (dirs, batch, H) of a (layers*dirs, batch, H) state, in the node's layout.</summary>
    private IrValue LayerState(SpecObject l, IrValue state, int k, int dirs, bool batchFirst, string field)
    {
        var s = state;
        if (state.Shape[0] != dirs || k != 0) s = Slice(l, state, 0, k * dirs, (k + 1) * dirs, $"{l.Name}/l{k}/{field}");
        return batchFirst ? Transpose(l, s, [1, 0, 2], $"{l.Name}/l{k}/{field}_t") : s;
    }

    private static Tensor Cat(Tensor a, Tensor b)
    {
        var data = new float[a.Length + b.Length];
        a.Contiguous().ReadOnlySpan<float>().CopyTo(data);
        b.Contiguous().ReadOnlySpan<float>().CopyTo(data.AsSpan(a.Length));
        return Tensor.FromArray(data, data.Length);
    }

    private static Tensor StackDirs(List<Tensor> parts)
    {
        var shape = new[] { parts.Count }.Concat(parts[0].ShapeArray()).ToArray();
        var data = new float[parts.Sum(p => p.Length)];
        int at = 0;
        foreach (var p in parts)
        {
            p.Contiguous().ReadOnlySpan<float>().CopyTo(data.AsSpan(at));
            at += p.Length;
        }
        return Tensor.FromArray(data, shape);
    }
}
