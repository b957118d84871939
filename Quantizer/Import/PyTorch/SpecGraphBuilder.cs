using System.Globalization;
using System.Text;
using System.Text.Json;
using Edge.Runtime;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Quantizer.Import.PyTorch;

/// <summary>
/// Builds an IR graph from a <see cref="Spec"/> and a state_dict. Each spec layer becomes the IR
/// nodes that compute exactly what the PyTorch module returns, in the module's layout: an nn.LSTM
/// spec layer outputs (seq, batch, dirs·H) or (batch, seq, dirs·H) like nn.LSTM, and its h_n/c_n
/// ports are (layers·dirs, batch, H), with the Squeeze/Transpose/Reshape/Slice/Concat glue this
/// takes around the IR's ONNX-style Lstm nodes. PyTorch's gate orders are the IR's, so weights are
/// only stacked per direction, never permuted.
/// <para>
/// Weight problems do not stop the build at the first one: every missing key, shape mismatch and
/// (unless allow_unused) unused key is collected and reported together, by name and shape.
/// </para>
/// </summary>
internal sealed class SpecGraphBuilder
{
    private sealed record Val(string Ir, int[] Shape, DataType Type)
    {
        public int Rank => Shape.Length;
        public string ShapeString => "(" + string.Join(", ", Shape.Select(d => d < 0 ? "?" : d.ToString(CultureInfo.InvariantCulture))) + (Shape.Length == 1 ? ",)" : ")");
    }

    private static readonly string[] CommonFields = ["name", "kind", "input", "description"];
    private static readonly string[] RecurrentFields = ["prefix", "num_layers", "batch_first", "bidirectional", "bias", "hidden_size", "input_size", "dropout", "proj_size", "return", "head", "initial_h"];
    private static readonly string[] ActivationFields = ["activation", "dim", "alpha", "negative_slope"];

    /// <summary>The fields each layer kind reads (besides <see cref="CommonFields"/>); any other field is a mistake and reported before the layer is built.</summary>
    private static readonly Dictionary<string, string[]> LayerFields = new(StringComparer.Ordinal)
    {
        ["lstm"] = [.. RecurrentFields, "initial_c"],
        ["gru"] = RecurrentFields,
        ["linear"] = ["prefix", "bias", "out_features", .. ActivationFields],
        ["dense"] = ["prefix", "bias", "out_features", .. ActivationFields],
        ["conv1d"] = ["prefix", "channels_last", "bias", "stride", "dilation", "groups", "kernel_size", "out_channels", "padding", .. ActivationFields],
        ["local_linear"] = ["prefix", "bias", "padding", "stride", "kernel_size"],
        ["embedding"] = ["prefix", "num_embeddings", "embedding_dim"],
        ["bilinear"] = ["prefix", "inputs", "weight", "bias"],
        ["repeat_vector"] = ["n"],
        ["activation"] = ["function", "dim", "alpha", "negative_slope"],
        ["last_step"] = ["axis", "batch_first"],
        ["select"] = ["axis", "index"],
        ["squeeze"] = ["axes", "dim"],
        ["unsqueeze"] = ["dim", "axis"],
        ["transpose"] = ["perm", "dims"],
        ["reshape"] = ["shape"],
        ["flatten"] = ["start_dim"],
        ["concat"] = ["inputs", "dim", "axis"],
    };

    private readonly Spec _spec;
    private readonly Dictionary<string, Tensor> _sd = new(StringComparer.Ordinal);
    private readonly List<string> _keyOrder = new();
    private readonly string _sdSource;
    private readonly Graph _g;
    private readonly Dictionary<string, Val> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _usedKeys = new(StringComparer.Ordinal);
    private readonly List<string> _problems = new();
    private readonly HashSet<string> _irNames = new(StringComparer.Ordinal);
    private Val? _previous;

    private SpecGraphBuilder(IReadOnlyDictionary<string, Tensor> stateDict, Spec spec, string sdSource)
    {
        _spec = spec;
        _sdSource = sdSource;
        foreach (var (k, v) in stateDict)
        {
            string key = spec.StripPrefix.Length > 0 && k.StartsWith(spec.StripPrefix, StringComparison.Ordinal) ? k[spec.StripPrefix.Length..] : k;
            if (!_sd.TryAdd(key, v)) throw new EdgeException($"{sdSource}: '{k}' and another key are both '{key}' after strip_prefix '{spec.StripPrefix}'");
            _keyOrder.Add(key);
        }
        _g = new Graph { Name = spec.Name ?? "model" };
    }

    /// <summary>
    /// The graph that <paramref name="spec"/> describes, with weights from <paramref name="stateDict"/>.
    /// Throws <see cref="EdgeException"/> naming spec fields, or listing missing, mis-shaped and unused keys.
    /// </summary>
    public static Graph Build(IReadOnlyDictionary<string, Tensor> stateDict, Spec spec, string stateDictSource = "state_dict")
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        ArgumentNullException.ThrowIfNull(spec);
        return new SpecGraphBuilder(stateDict, spec, stateDictSource).Run();
    }

    /// <summary>The layer's kind is known and it has no field that kind does not read (Spec.Parse checks every layer up front).</summary>
    internal static bool CheckKindAndFields(SpecObject layer)
    {
        string kind = layer.RequiredString("kind");
        if (!LayerFields.TryGetValue(kind, out var fields))
            throw layer.Error($"kind: '{kind}' is not one of {string.Join(", ", LayerFields.Keys)}");
        layer.CheckFields(CommonFields.Concat(fields), $"kind {kind}");
        return true;
    }

    private Graph Run()
    {
        foreach (var i in _spec.Inputs)
        {
            _g.Inputs.Add(new ValueInfo(i.Name, i.DataType, i.Shape));
            Define(i.Name, new Val(i.Name, i.Shape, i.DataType));
            _previous ??= _values[i.Name];
        }
        foreach (var layer in _spec.Layers)
        {
            string kind = layer.RequiredString("kind");
            CheckKindAndFields(layer);
            var main = kind switch
            {
                "lstm" => Recurrent(layer, lstm: true),
                "gru" => Recurrent(layer, lstm: false),
                "linear" or "dense" => LinearLayer(layer),
                "conv1d" => Conv1D(layer),
                "local_linear" => LocalLinear(layer),
                "embedding" => EmbeddingLayer(layer),
                "bilinear" => BilinearLayer(layer),
                "repeat_vector" => RepeatVectorLayer(layer),
                "activation" => Activation(layer, Input(layer), layer.RequiredString("function"), "function"),
                "last_step" => Gather(layer, Input(layer), LastStepAxis(layer), -1, "last_step"),
                "select" => SelectLayer(layer),
                "squeeze" => SqueezeLayer(layer),
                "unsqueeze" => UnsqueezeLayer(layer),
                "transpose" => TransposeLayer(layer),
                "reshape" => ReshapeLayer(layer),
                "flatten" => FlattenLayer(layer),
                "concat" => ConcatLayer(layer),
                _ => throw new InvalidOperationException(kind),
            };
            Define(layer.Name, main);
            _previous = main;
        }

        // Outputs: the spec's, or the last layer's under its name.
        var outputs = _spec.Outputs.Count > 0
            ? _spec.Outputs.Select(o => (o.Name, Val: Resolve(o.From, $"{o.Path}.from"), o.Path)).ToList()
            : [(_spec.Layers[^1].Name, _values[_spec.Layers[^1].Name], "layers[-1]")];

        if (!_spec.AllowUnused)
        {
            var unused = _keyOrder.Where(k => !_usedKeys.Contains(k)).ToList();
            if (unused.Count > 0)
                _problems.Add($"unused keys (no layer reads them; set \"allow_unused\": true to ignore them): " +
                              string.Join(", ", unused.Select(k => $"'{k}' {_sd[k].ShapeString}")));
        }
        if (_problems.Count > 0)
        {
            throw new EdgeProblemsException(
                $"{_sdSource} does not match {_spec.Source} ({_problems.Count.ToString(CultureInfo.InvariantCulture)} problem{(_problems.Count == 1 ? "" : "s")}):", _problems);
        }

        NameOutputs(outputs);
        Prune();
        _g.Validate();
        return _g;
    }

    // ── recurrent layers ────────────────────────────────────────────────────────────────────────

    private Val Recurrent(SpecObject l, bool lstm)
    {
        string kind = lstm ? "lstm" : "gru";
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

        int gates = lstm ? 4 : 3, dirs = bidirectional ? 2 : 1;
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

        Val? h0 = h0Ref is null ? null : InitialState(l, "initial_h", h0Ref, layers * dirs, hidden);
        Val? c0 = c0Ref is null ? null : InitialState(l, "initial_c", c0Ref, layers * dirs, hidden);

        int seqAxis = batchFirst ? 1 : 0, batchAxis = batchFirst ? 0 : 1;
        int seq = x.Shape[seqAxis], batch = x.Shape[batchAxis];
        var current = x;
        var hParts = new List<Val>();
        var cParts = new List<Val>();
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
            var y = new Val(Fresh($"{layerTag}/Y"), yShape, DataType.Float32);
            var yh = new Val(Fresh($"{layerTag}/Y_h"), stateShape, DataType.Float32);
            var yc = new Val(Fresh($"{layerTag}/Y_c"), stateShape, DataType.Float32);
            if (complete)
            {
                string wName = Const($"{layerTag}/W", StackDirs(w));
                string rName = Const($"{layerTag}/R", StackDirs(r));
                string bName = bias ? Const($"{layerTag}/B", StackDirs(b)) : "";
                string hk = h0 is null ? "" : LayerState(l, h0, k, dirs, batchFirst, "initial_h").Ir;
                string ck = c0 is null ? "" : LayerState(l, c0, k, dirs, batchFirst, "initial_c").Ir;
                var inputs = lstm ? new[] { current.Ir, wName, rName, bName, "", hk, ck } : [current.Ir, wName, rName, bName, "", hk];
                while (inputs[^1].Length == 0) inputs = inputs[..^1];
                var node = Emit(lstm ? OpKind.Lstm : OpKind.Gru, $"{layerTag}/{kind}", inputs, lstm ? [y.Ir, yh.Ir, yc.Ir] : [y.Ir, yh.Ir])
                    .Set("hidden_size", (long)hidden)
                    .Set("direction", bidirectional ? "bidirectional" : "forward")
                    .Set("layout", batchFirst ? 1L : 0L);
                if (!lstm) node.Set("linear_before_reset", 1L); // PyTorch applies the reset gate after the recurrent product
            }
            // To the module's layouts: output (seq, batch, dirs*H) or (batch, seq, dirs*H); states (dirs, batch, H).
            Val seqOut = batchFirst
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

    private Val InitialState(SpecObject l, string field, string reference, int count, int hidden)
    {
        var v = Resolve(reference, $"{l.Path}.{field}");
        if (v.Rank != 3 || (v.Shape[0] >= 0 && v.Shape[0] != count) || (v.Shape[2] >= 0 && v.Shape[2] != hidden))
            throw l.Error($"{field}: '{reference}' is {v.ShapeString}; expected (num_layers*num_directions = {count}, batch, hidden_size = {hidden}) as PyTorch takes it");
        return v;
    }

    /// <summary>Layer k's slice (dirs, batch, H) of a (layers*dirs, batch, H) state, in the node's layout.</summary>
    private Val LayerState(SpecObject l, Val state, int k, int dirs, bool batchFirst, string field)
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

    // ── matrix layers ───────────────────────────────────────────────────────────────────────────

    private Val LinearLayer(SpecObject l)
    {
        var x = Input(l);
        string prefix = Prefix(l);
        bool bias = l.Bool("bias", true);
        long? outField = l.OptInt("out_features");
        var y = Linear(l, prefix, x, bias, l.Name, "input", outField);
        return l.OptString("activation") is { } act ? Activation(l, y, act, "activation") : y;
    }

    private Val Linear(SpecObject l, string prefix, Val x, bool bias, string tag, string field, long? outFeatures = null)
    {
        if (x.Rank < 1 || x.Type != DataType.Float32) throw l.Error($"{field}: a linear layer needs a float32 input (..., in_features), got {x.Type.Name()}{x.ShapeString}");
        int inF = x.Shape[^1];
        var w = Weight(l, Key(prefix, "weight"), [outFeatures is { } o ? (int)o : -1, inF]);
        int outF = w?.Dim(0) ?? (int)(outFeatures ?? -1);
        var b = bias && outF >= 0 ? Weight(l, Key(prefix, "bias"), [outF]) : null;
        var y = new Val(Fresh(tag), [.. x.Shape[..^1], outF], DataType.Float32);
        if (w is not null && (!bias || b is not null))
            Emit(OpKind.Dense, $"{tag}/dense", [x.Ir, Const($"{tag}/weight", w), b is null ? "" : Const($"{tag}/bias", b)], [y.Ir]);
        return y;
    }

    private Val Conv1D(SpecObject l)
    {
        var x = Input(l);
        string prefix = Prefix(l);
        bool channelsLast = l.Bool("channels_last", false);
        bool bias = l.Bool("bias", true);
        int stride = l.Int("stride", 1, 1, 1 << 16);
        int dilation = l.Int("dilation", 1, 1, 1 << 16);
        int groups = l.Int("groups", 1, 1, 1 << 16);
        long? kernelField = l.OptInt("kernel_size");
        long? outField = l.OptInt("out_channels");
        if (x.Rank != 3 || x.Type != DataType.Float32)
            throw l.Error($"input: conv1d needs a float32 input {(channelsLast ? "(batch, length, channels)" : "(batch, channels, length)")}, got {x.Type.Name()}{x.ShapeString}");
        if (channelsLast) x = Transpose(l, x, [0, 2, 1], $"{l.Name}/to_channels_first");
        int channels = x.Shape[1];
        if (channels >= 0 && channels % groups != 0) throw l.Error($"groups: {groups} does not divide the {channels} input channels");
        var w = Weight(l, Key(prefix, "weight"), [outField is { } o ? (int)o : -1, channels >= 0 ? channels / groups : -1, kernelField is { } kf ? (int)kf : -1]);
        int outC = w?.Dim(0) ?? (int)(outField ?? -1);
        int kernel = w?.Dim(2) ?? (int)(kernelField ?? -1);
        var b = bias && outC >= 0 ? Weight(l, Key(prefix, "bias"), [outC]) : null;

        long[] pads;
        switch (l.Kind("padding"))
        {
            case JsonValueKind.String:
            {
                string p = l.RequiredString("padding");
                if (p == "valid") pads = [0, 0];
                else if (p == "same")
                {
                    if (stride != 1) throw l.Error("padding: 'same' needs stride 1 (as in PyTorch)");
                    long total = kernel < 0 ? 0 : (long)dilation * (kernel - 1);
                    pads = [total / 2, total - total / 2]; // PyTorch puts the odd one at the end
                }
                else throw l.Error($"padding: '{p}' is not 'same', 'valid', an integer or [begin, end]");
                break;
            }
            default:
            {
                var p = l.Ints("padding") ?? [0];
                if (p.Length is not (1 or 2) || p.Any(v => v < 0 || v > 1 << 20)) throw l.Error($"padding: [{string.Join(", ", p)}] must be an integer or [begin, end] >= 0");
                pads = p.Length == 1 ? [p[0], p[0]] : p;
                break;
            }
        }
        int length = x.Shape[2];
        int outLen = length < 0 || kernel < 0 ? -1 : (int)((length + pads[0] + pads[1] - (long)dilation * (kernel - 1) - 1) / stride + 1);
        var y = new Val(Fresh(channelsLast ? $"{l.Name}/conv" : l.Name), [x.Shape[0], outC, outLen], DataType.Float32);
        if (w is not null && (!bias || b is not null))
        {
            Emit(OpKind.Conv1D, $"{l.Name}/conv1d", [x.Ir, Const($"{l.Name}/weight", w), b is null ? "" : Const($"{l.Name}/bias", b)], [y.Ir])
                .Set("strides", new long[] { stride }).Set("dilations", new long[] { dilation }).Set("group", (long)groups).Set("pads", pads);
        }
        var result = channelsLast ? Transpose(l, y, [0, 2, 1], $"{l.Name}/to_channels_last") : y;
        return l.OptString("activation") is { } act ? Activation(l, result, act, "activation") : result;
    }

    private Val LocalLinear(SpecObject l)
    {
        var x = Input(l);
        string prefix = Prefix(l);
        bool bias = l.Bool("bias", true);
        int padding = l.Int("padding", 0, 0, 1 << 20);
        int stride = l.Int("stride", 1, 1, 1 << 20);
        long? kernelField = l.OptInt("kernel_size");
        if (x.Rank < 1 || x.Type != DataType.Float32) throw l.Error($"input: local_linear needs a float32 input (..., in_features), got {x.Type.Name()}{x.ShapeString}");
        int inF = x.Shape[^1];
        int folds = -1;
        if (inF >= 0 && kernelField is { } k0)
        {
            folds = (int)((inF + 2L * padding - k0) / stride + 1);
            if (folds < 1) throw l.Error($"kernel_size: {k0} is larger than the padded input ({inF} + 2*{padding})");
        }
        var w = Weight(l, Key(prefix, "weight"), [folds, kernelField is { } kf ? (int)kf : -1, -1]);
        int kernel = w?.Dim(1) ?? (int)(kernelField ?? -1);
        if (w is not null && inF >= 0)
        {
            int expectedFolds = (inF + 2 * padding - kernel) / stride + 1;
            if (w.Dim(0) != expectedFolds)
                Problem(l, $"'{Key(prefix, "weight")}' has shape {w.ShapeString}: {w.Dim(0)} folds, but in_features {inF}, kernel_size {kernel}, padding {padding}, stride {stride} give {expectedFolds}");
            folds = expectedFolds;
        }
        int features = w?.Dim(2) ?? -1;
        var b = bias && w is not null ? Weight(l, Key(prefix, "bias"), [w.Dim(0), w.Dim(2)]) : null;
        var x3 = Unsqueeze(l, x, -1, $"{l.Name}/channels");
        var y = new Val(Fresh(l.Name), [.. x.Shape[..^1], folds, features], DataType.Float32);
        if (w is not null && (!bias || b is not null))
        {
            // The unfold LocalLinear is LocallyConnected1D over one channel: W (folds, K, F) = (folds, K*1, F).
            Emit(OpKind.LocallyConnected1D, $"{l.Name}/local", [x3.Ir, Const($"{l.Name}/weight", w), b is null ? "" : Const($"{l.Name}/bias", b)], [y.Ir])
                .Set("kernel_size", (long)kernel).Set("stride", (long)stride).Set("pads", new long[] { padding, padding });
        }
        return y;
    }

    private Val EmbeddingLayer(SpecObject l)
    {
        var x = Input(l);
        string prefix = Prefix(l);
        long? num = l.OptInt("num_embeddings");
        long? dim = l.OptInt("embedding_dim");
        if (x.Type is not (DataType.Int64 or DataType.Int32)) throw l.Error($"input: embedding needs integer indices, got {x.Type.Name()}{x.ShapeString}");
        var w = Weight(l, Key(prefix, "weight"), [num is { } n ? (int)n : -1, dim is { } d ? (int)d : -1]);
        var y = new Val(Fresh(l.Name), [.. x.Shape, w?.Dim(1) ?? (int)(dim ?? -1)], DataType.Float32);
        if (w is not null) Emit(OpKind.Embedding, $"{l.Name}/embedding", [x.Ir, ConstForKey(Key(prefix, "weight"), w)], [y.Ir]);
        return y;
    }

    private Val BilinearLayer(SpecObject l)
    {
        var refs = l.Strings("inputs") ?? throw l.Error("inputs: required, [context, response]");
        if (refs.Length != 2) throw l.Error($"inputs: bilinear takes two inputs (c, r), got {refs.Length}");
        var c = Resolve(refs[0], $"{l.Path}.inputs[0]");
        var r = Resolve(refs[1], $"{l.Path}.inputs[1]");
        if (c.Rank != 2 || r.Rank != 2) throw l.Error($"inputs: bilinear needs (N, D1) and (N, D2), got {c.ShapeString} and {r.ShapeString}");
        Tensor? m, b = null;
        string mKey;
        if (l.OptString("weight") is { } key)
        {
            // A bare parameter M (D1, D2): score = c^T M r.
            mKey = key;
            m = Weight(l, key, [c.Shape[1], r.Shape[1]]);
            if (l.Kind("bias") == JsonValueKind.String) b = Weight(l, l.RequiredString("bias"), [1]);
            else if (l.Bool("bias", false)) throw l.Error("bias: with \"weight\", name the bias key (a string) or leave it out");
        }
        else
        {
            // nn.Bilinear(D1, D2, 1): weight (1, D1, D2), bias (1,).
            string prefix = Prefix(l);
            mKey = Key(prefix, "weight");
            var w3 = Weight(l, mKey, [1, c.Shape[1], r.Shape[1]]);
            m = w3?.Reshape(w3.Dim(1), w3.Dim(2));
            if (l.Bool("bias", true)) b = Weight(l, Key(prefix, "bias"), [1]);
        }
        var y = new Val(Fresh(l.Name), [r.Shape[0], 1], DataType.Float32);
        if (m is not null) Emit(OpKind.Bilinear, $"{l.Name}/bilinear", [c.Ir, r.Ir, ConstForKey(mKey, m), b is null ? "" : Const($"{l.Name}/bias", b)], [y.Ir]);
        return y;
    }

    private Val RepeatVectorLayer(SpecObject l)
    {
        var x = Input(l);
        int n = l.Int("n", 1, 1, 1 << 20);
        if (x.Rank != 2) throw l.Error($"input: repeat_vector needs (batch, features), got {x.ShapeString}");
        var y = new Val(Fresh(l.Name), [x.Shape[0], n, x.Shape[1]], x.Type);
        Emit(OpKind.RepeatVector, $"{l.Name}/repeat", [x.Ir], [y.Ir]).Set("n", (long)n);
        return y;
    }

    // ── activations and glue layers ─────────────────────────────────────────────────────────────

    private Val Activation(SpecObject l, Val x, string function, string field)
    {
        if (x.Type != DataType.Float32) throw l.Error($"{field}: '{function}' needs a float32 input, got {x.Type.Name()}");
        (OpKind kind, Action<Node>? set) = function switch
        {
            "relu" => (OpKind.Relu, null),
            "tanh" => (OpKind.Tanh, null),
            "sigmoid" => (OpKind.Sigmoid, null),
            "softsign" => (OpKind.Softsign, null),
            "softplus" => (OpKind.Softplus, null),
            "exp" => (OpKind.Exp, null),
            "identity" or "linear" => (OpKind.Identity, null),
            "elu" => (OpKind.Elu, (Action<Node>?)(n => n.Set("alpha", l.Float("alpha", 1f)))),
            "leaky_relu" => (OpKind.LeakyRelu, n => n.Set("alpha", l.Float("negative_slope", 0.01f))),
            // torch.nn.Hardsigmoid: relu6(x + 3) / 6
            "hard_sigmoid" => (OpKind.HardSigmoid, n => n.Set("alpha", 1f / 6f).Set("beta", 0.5f)),
            "softmax" => (OpKind.Softmax, n => n.Set("axis", (long)l.Int("dim", -1))),
            "log_softmax" => (OpKind.LogSoftmax, n => n.Set("axis", (long)l.Int("dim", -1))),
            _ => throw l.Error($"{field}: '{function}' is not one of relu, tanh, sigmoid, softmax, log_softmax, leaky_relu, elu, softplus, softsign, hard_sigmoid, exp, identity"),
        };
        var y = new Val(Fresh(field == "function" ? l.Name : $"{l.Name}/{function}"), x.Shape, x.Type);
        var node = Emit(kind, $"{l.Name}/{function}", [x.Ir], [y.Ir]);
        set?.Invoke(node);
        return y;
    }

    private int LastStepAxis(SpecObject l) => l.OptInt("axis") is { } a ? (int)a : l.Bool("batch_first", false) ? 1 : 0;

    private Val SelectLayer(SpecObject l)
    {
        var x = Input(l);
        return Gather(l, x, l.Int("axis", 0), l.Int("index", -1), l.Name);
    }

    private Val SqueezeLayer(SpecObject l)
    {
        var x = Input(l);
        var axes = l.Ints("axes") ?? l.Ints("dim") ?? throw l.Error("axes: required");
        return Squeeze(l, x, axes, l.Name);
    }

    private Val UnsqueezeLayer(SpecObject l)
    {
        var x = Input(l);
        return Unsqueeze(l, x, l.OptInt("dim") ?? l.OptInt("axis") ?? throw l.Error("dim: required"), l.Name);
    }

    private Val TransposeLayer(SpecObject l)
    {
        var x = Input(l);
        long[] perm;
        if (l.Ints("perm") is { } p) perm = p;
        else if (l.Ints("dims") is { Length: 2 } d)
        {
            // torch.transpose(x, a, b): swap two axes
            perm = Enumerable.Range(0, x.Rank).Select(i => (long)i).ToArray();
            int a = Axis(l, (int)d[0], x.Rank, "dims"), b = Axis(l, (int)d[1], x.Rank, "dims");
            (perm[a], perm[b]) = (perm[b], perm[a]);
        }
        else throw l.Error("perm: required (a permutation), or dims: [a, b] to swap two axes");
        return Transpose(l, x, perm.Select(v => (int)v).ToArray(), l.Name);
    }

    private Val ReshapeLayer(SpecObject l)
    {
        var x = Input(l);
        return Reshape(l, x, l.Ints("shape") ?? throw l.Error("shape: required (0 copies a dimension, -1 is inferred)"), l.Name);
    }

    private Val FlattenLayer(SpecObject l)
    {
        var x = Input(l);
        int start = Axis(l, l.Int("start_dim", 1), x.Rank, "start_dim");
        var target = Enumerable.Range(0, start).Select(_ => 0L).Append(-1L).ToArray();
        return Reshape(l, x, target, l.Name);
    }

    private Val ConcatLayer(SpecObject l)
    {
        var refs = l.Strings("inputs") ?? throw l.Error("inputs: required");
        var parts = refs.Select((r, i) => Resolve(r, $"{l.Path}.inputs[{i}]")).ToList();
        return Concat(l, parts, l.Int("dim", l.Int("axis", -1)), l.Name);
    }

    // ── glue with shape inference ───────────────────────────────────────────────────────────────

    private Val Squeeze(SpecObject l, Val x, long[] axes, string tag)
    {
        var norm = axes.Select(a => Axis(l, (int)a, x.Rank, "axes")).ToHashSet();
        foreach (int a in norm)
            if (x.Shape[a] > 1) throw l.Error($"cannot squeeze axis {a} of {x.ShapeString}: its size is {x.Shape[a]}");
        var y = new Val(Fresh(tag), x.Shape.Where((_, i) => !norm.Contains(i)).ToArray(), x.Type);
        Emit(OpKind.Squeeze, $"{tag}/squeeze", [x.Ir, IntsConst(tag + "/axes", norm.Order().Select(a => (long)a).ToArray())], [y.Ir]);
        return y;
    }

    private Val Unsqueeze(SpecObject l, Val x, long axis, string tag)
    {
        int a = Axis(l, (int)axis, x.Rank + 1, "dim");
        var shape = x.Shape.ToList();
        shape.Insert(a, 1);
        var y = new Val(Fresh(tag), shape.ToArray(), x.Type);
        Emit(OpKind.Unsqueeze, $"{tag}/unsqueeze", [x.Ir, IntsConst(tag + "/axes", [a])], [y.Ir]);
        return y;
    }

    private Val Transpose(SpecObject l, Val x, int[] perm, string tag)
    {
        if (perm.Length != x.Rank || perm.Select(p => Axis(l, p, x.Rank, "perm")).Distinct().Count() != x.Rank)
            throw l.Error($"perm: [{string.Join(", ", perm)}] is not a permutation of the {x.Rank} axes of {x.ShapeString}");
        var norm = perm.Select(p => Axis(l, p, x.Rank, "perm")).ToArray();
        var y = new Val(Fresh(tag), norm.Select(p => x.Shape[p]).ToArray(), x.Type);
        Emit(OpKind.Transpose, $"{tag}/transpose", [x.Ir], [y.Ir]).Set("perm", norm.Select(p => (long)p).ToArray());
        return y;
    }

    private Val Reshape(SpecObject l, Val x, long[] target, string tag)
    {
        if (target.Count(t => t == -1) > 1 || target.Any(t => t < -1)) throw l.Error($"shape: [{string.Join(", ", target)}] may hold one -1 and no other negative value");
        var shape = new int[target.Length];
        long known = 1;
        bool allKnown = x.Shape.All(d => d >= 0);
        int infer = -1;
        for (int i = 0; i < target.Length; i++)
        {
            if (target[i] == 0)
            {
                if (i >= x.Rank) throw l.Error($"shape: [{string.Join(", ", target)}] copies dimension {i} of {x.ShapeString}, which has rank {x.Rank}");
                shape[i] = x.Shape[i];
            }
            else if (target[i] == -1) { infer = i; continue; }
            else shape[i] = (int)target[i];
            if (shape[i] < 0) allKnown = false; else known *= shape[i];
        }
        if (infer >= 0)
        {
            // The inferred dimension is known when every other dimension is, or when the copied dynamic
            // dimensions cancel (the usual (0, 0, -1) merge of the trailing axes).
            long total = 1;
            bool totalKnown = true;
            var copied = new HashSet<int>(Enumerable.Range(0, target.Length).Where(i => target[i] == 0));
            for (int i = 0; i < x.Rank; i++)
            {
                if (copied.Contains(i)) continue;
                if (x.Shape[i] < 0) totalKnown = false; else total *= x.Shape[i];
            }
            long rest = 1;
            bool restKnown = true;
            for (int i = 0; i < target.Length; i++)
                if (i != infer && target[i] != 0) { if (target[i] < 0) restKnown = false; else rest *= target[i]; }
            shape[infer] = totalKnown && restKnown && rest > 0 && total % rest == 0 ? (int)(total / rest) : allKnown && known > 0 ? (int)(x.Shape.Aggregate(1L, (p, d) => p * d) / known) : -1;
        }
        var y = new Val(Fresh(tag), shape, x.Type);
        Emit(OpKind.Reshape, $"{tag}/reshape", [x.Ir, IntsConst(tag + "/shape", target)], [y.Ir]);
        return y;
    }

    private Val Gather(SpecObject l, Val x, int axis, int index, string tag)
    {
        int a = Axis(l, axis, x.Rank, "axis");
        if (x.Shape[a] >= 0 && (index >= x.Shape[a] || index < -x.Shape[a]))
            throw l.Error($"index: {index} is out of range for axis {a} of {x.ShapeString}");
        var y = new Val(Fresh(tag), x.Shape.Where((_, i) => i != a).ToArray(), x.Type);
        string idx = Const(tag + "/index", Tensor.Scalar((long)index));
        Emit(OpKind.Gather, $"{tag}/gather", [x.Ir, idx], [y.Ir]).Set("axis", (long)a);
        return y;
    }

    private Val Slice(SpecObject l, Val x, int axis, int start, int end, string tag)
    {
        int a = Axis(l, axis, x.Rank, "axis");
        var shape = (int[])x.Shape.Clone();
        shape[a] = end - start;
        var y = new Val(Fresh(tag), shape, x.Type);
        Emit(OpKind.Slice, $"{tag}/slice", [x.Ir, IntsConst(tag + "/starts", [start]), IntsConst(tag + "/ends", [end]), IntsConst(tag + "/axes", [a])], [y.Ir]);
        return y;
    }

    private Val Concat(SpecObject l, List<Val> parts, int axis, string tag)
    {
        if (parts.Count == 0) throw l.Error("inputs: nothing to concatenate");
        int rank = parts[0].Rank;
        int a = Axis(l, axis, rank, "dim");
        var shape = (int[])parts[0].Shape.Clone();
        foreach (var p in parts.Skip(1))
        {
            if (p.Rank != rank || p.Type != parts[0].Type) throw l.Error($"inputs: cannot concatenate {parts[0].ShapeString} and {p.ShapeString}");
            shape[a] = shape[a] < 0 || p.Shape[a] < 0 ? -1 : shape[a] + p.Shape[a];
        }
        var y = new Val(Fresh(tag), shape, parts[0].Type);
        Emit(OpKind.Concat, $"{tag}/concat", parts.Select(p => p.Ir), [y.Ir]).Set("axis", (long)a);
        return y;
    }

    private static int Axis(SpecObject l, int axis, int rank, string field)
    {
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) throw l.Error($"{field}: axis {axis} is out of range for rank {rank}");
        return a;
    }

    // ── names, references, weights ──────────────────────────────────────────────────────────────

    private string Prefix(SpecObject l) => l.OptString("prefix") ?? l.Name;

    private static string Key(string prefix, string name) => prefix.Length == 0 ? name : $"{prefix}.{name}";

    private Val Input(SpecObject l)
    {
        if (l.OptString("input") is { } reference) return Resolve(reference, $"{l.Path}.input");
        return _previous ?? throw l.Error("input: required");
    }

    private Val Resolve(string reference, string field)
    {
        if (_values.TryGetValue(reference, out var v)) return v;
        var known = _values.Keys.Where(k => !k.EndsWith(":output", StringComparison.Ordinal)).ToList();
        throw new EdgeException($"{_spec.Source}: {field}: '{reference}' is not a graph input or an earlier layer (or one of its ports :output, :h_n, :c_n); known: {string.Join(", ", known)}");
    }

    private void Define(string name, Val v) => _values[name] = v;

    private Tensor? Weight(SpecObject l, string key, int[] expected)
    {
        string expectedText = "(" + string.Join(", ", expected.Select(d => d < 0 ? "?" : d.ToString(CultureInfo.InvariantCulture))) + (expected.Length == 1 ? ",)" : ")");
        if (!_sd.TryGetValue(key, out var t))
        {
            Problem(l, $"missing key '{key}' (expected shape {expectedText})");
            return null;
        }
        _usedKeys.Add(key);
        if (t.DataType != DataType.Float32)
        {
            Problem(l, $"'{key}' is {t.DataType.Name()}{t.ShapeString}; expected a floating-point tensor {expectedText}");
            return null;
        }
        bool ok = t.Rank == expected.Length;
        for (int i = 0; ok && i < expected.Length; i++) ok = expected[i] < 0 || expected[i] == t.Shape[i];
        if (!ok)
        {
            Problem(l, $"'{key}' has shape {t.ShapeString}, expected {expectedText}");
            return null;
        }
        return t;
    }

    private void Problem(SpecObject l, string message) =>
        _problems.Add($"{l.Path} ({l.Name}): {message}");

    private string Fresh(string name)
    {
        string n = name;
        for (int i = 2; _irNames.Contains(n) || _values.ContainsKey(n); i++) n = $"{name}#{i.ToString(CultureInfo.InvariantCulture)}";
        _irNames.Add(n);
        return n;
    }

    private string Const(string name, Tensor t)
    {
        string n = Fresh(name);
        _g.Constants[n] = t;
        return n;
    }

    /// <summary>A weight used by several layers (a shared embedding) is stored once, under its key.</summary>
    private string ConstForKey(string key, Tensor t)
    {
        string n = $"weights/{key}";
        if (_g.Constants.ContainsKey(n)) return n;
        _irNames.Add(n);
        _g.Constants[n] = t;
        return n;
    }

    private string IntsConst(string name, long[] values) => Const(name, Tensor.FromArray(values, values.Length));

    private Node Emit(OpKind kind, string name, IEnumerable<string> inputs, IEnumerable<string> outputs)
    {
        var node = new Node(kind, Fresh(name), inputs, outputs);
        _g.Nodes.Add(node);
        return node;
    }

    // ── outputs and pruning ─────────────────────────────────────────────────────────────────────

    private void NameOutputs(List<(string Name, Val Val, string Path)> outputs)
    {
        var renamed = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, val, path) in outputs)
        {
            string source = renamed.TryGetValue(val.Ir, out var r) ? r : val.Ir;
            if (source != name)
            {
                if (_irNames.Contains(name) || _g.Inputs.Any(i => i.Name == name) || _g.Constants.ContainsKey(name))
                    throw new EdgeException($"{_spec.Source}: {path}.name: '{name}' is already the name of an input or of a value inside the graph; choose another");
                var producer = _g.Nodes.FirstOrDefault(n => n.Outputs.Contains(source));
                if (producer is not null && !renamed.ContainsKey(val.Ir) && producer.Kind != OpKind.Identity)
                {
                    // The producer writes the output name directly; later readers follow.
                    producer.Outputs[producer.Outputs.IndexOf(source)] = name;
                    foreach (var n in _g.Nodes)
                        for (int i = 0; i < n.Inputs.Count; i++)
                            if (n.Inputs[i] == source) n.Inputs[i] = name;
                    renamed[val.Ir] = name;
                }
                else
                {
                    Emit(OpKind.Identity, $"{name}/identity", [source], [name]);
                }
                _irNames.Add(name);
            }
            _g.Outputs.Add(new ValueInfo(name, val.Type, val.Shape));
        }
    }

    /// <summary>Drops glue nodes nobody reads and blanks unread recurrent outputs (an LSTM whose Y is unused does not keep it).</summary>
    private void Prune()
    {
        var used = new HashSet<string>(_g.Outputs.Select(o => o.Name), StringComparer.Ordinal);
        for (int i = _g.Nodes.Count - 1; i >= 0; i--)
        {
            var node = _g.Nodes[i];
            if (!node.Outputs.Any(used.Contains))
            {
                _g.Nodes.RemoveAt(i);
                continue;
            }
            if (node.Kind is OpKind.Lstm or OpKind.Gru)
                for (int o = 0; o < node.Outputs.Count; o++)
                    if (!used.Contains(node.Outputs[o])) node.Outputs[o] = "";
            foreach (var input in node.Inputs) if (input.Length > 0) used.Add(input);
        }
        foreach (var c in _g.Constants.Keys.Where(c => !used.Contains(c)).ToList()) _g.Constants.Remove(c);
    }
}
