using System.Globalization;
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
/// <para>
/// The builder is the PyTorch front end only: it emits through <see cref="IrEmitter"/> and returns the
/// graph as translated, dead glue included; <see cref="ImportPipeline"/> (which <see cref="PyTorchImporter"/>
/// runs) folds and prunes it as it does every format's graph. One file per layer family:
/// .Recurrent, .Dense (linear, conv1d, local_linear), .Embedding (embedding, bilinear, repeat_vector),
/// .Elementwise (add/sub/mul/div, softmax, sum/mean, matmul/bmm), .Normalization (batch_norm, layer_norm),
/// .Shape (activations, selection, slicing, reshaping, joining and the glue every layer uses).
/// </para>
/// </summary>
internal sealed partial class SpecGraphBuilder
{
    private static readonly string[] CommonFields = ["name", "kind", "input", "description"];
    private static readonly string[] RecurrentFields = ["prefix", "num_layers", "batch_first", "bidirectional", "bias", "hidden_size", "input_size", "dropout", "proj_size", "return", "head", "initial_h"];
    private static readonly string[] ActivationFields = ["activation", "dim", "alpha", "negative_slope"];
    private static readonly string[] ElementwiseFields = ["inputs", "value"];
    private static readonly string[] ReduceFields = ["dim", "keepdim"];

    /// <summary>The fields each layer kind reads (besides <see cref="CommonFields"/>); any other field is a mistake and reported before the layer is built.</summary>
    private static readonly Dictionary<string, string[]> LayerFields = new(StringComparer.Ordinal)
    {
        ["lstm"] = [.. RecurrentFields, "initial_c"],
        ["gru"] = RecurrentFields,
        ["rnn"] = [.. RecurrentFields, "nonlinearity"],
        ["linear"] = ["prefix", "bias", "out_features", .. ActivationFields],
        ["dense"] = ["prefix", "bias", "out_features", .. ActivationFields],
        ["conv1d"] = ["prefix", "channels_last", "bias", "stride", "dilation", "groups", "kernel_size", "out_channels", "padding", .. ActivationFields],
        ["local_linear"] = ["prefix", "bias", "padding", "stride", "kernel_size"],
        ["embedding"] = ["prefix", "num_embeddings", "embedding_dim"],
        ["bilinear"] = ["prefix", "inputs", "weight", "bias"],
        ["repeat_vector"] = ["n", "n_from", "n_axis"],
        ["activation"] = ["function", "dim", "alpha", "negative_slope"],
        ["last_step"] = ["axis", "batch_first"],
        ["select"] = ["axis", "index"],
        ["squeeze"] = ["axes", "dim"],
        ["unsqueeze"] = ["dim", "axis"],
        ["transpose"] = ["perm", "dims"],
        ["reshape"] = ["shape"],
        ["flatten"] = ["start_dim"],
        ["concat"] = ["inputs", "dim", "axis"],
        ["slice"] = ["dim", "axis", "start", "end", "step"],
        ["add"] = ElementwiseFields,
        ["sub"] = ElementwiseFields,
        ["mul"] = ElementwiseFields,
        ["div"] = ElementwiseFields,
        ["dropout"] = ["p"],
        ["softmax"] = ["dim"],
        ["sum"] = ReduceFields,
        ["mean"] = ReduceFields,
        ["max"] = ReduceFields,
        ["prelu"] = ["prefix", "num_parameters"],
        ["matmul"] = ["inputs"],
        ["bmm"] = ["inputs"],
        ["batch_norm"] = ["prefix", "eps", "affine", "num_features", "momentum", "track_running_stats"],
        ["layer_norm"] = ["prefix", "eps", "elementwise_affine", "normalized_shape"],
    };

    private readonly Spec _spec;
    private readonly Dictionary<string, Tensor> _sd = new(StringComparer.Ordinal);
    private readonly List<string> _keyOrder = new();
    private readonly string _sdSource;
    private readonly Graph _g;
    private readonly IrEmitter _ir;
    private readonly Dictionary<string, IrValue> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _usedKeys = new(StringComparer.Ordinal);
    private readonly List<string> _problems = new();
    private IrValue? _previous;

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
        // Layer names are references in the spec: IR values made before a layer is defined avoid them too.
        _ir = new IrEmitter(_g, IrNaming.Spec, _values.ContainsKey);
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
            Define(i.Name, new IrValue(i.Name, i.Shape, i.DataType));
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
                "rnn" => Recurrent(layer, lstm: false, rnn: true),
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
                "slice" => SliceLayer(layer),
                "add" => ElementwiseLayer(layer, OpKind.Add),
                "sub" => ElementwiseLayer(layer, OpKind.Sub),
                "mul" => ElementwiseLayer(layer, OpKind.Mul),
                "div" => ElementwiseLayer(layer, OpKind.Div),
                "dropout" => Input(layer), // identity at inference
                "softmax" => SoftmaxLayer(layer),
                "sum" or "mean" or "max" => ReduceLayer(layer, kind),
                "matmul" or "bmm" => MatMulLayer(layer, kind),
                "batch_norm" => BatchNormLayer(layer),
                "layer_norm" => LayerNormLayer(layer),
                "prelu" => PReluLayer(layer),
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

        FoldBatchNorms(outputs.Select(o => o.Val.Name));
        NameOutputs(outputs);
        return _g;
    }

    // ── names, references, weights ──────────────────────────────────────────────────────────────

    private string Prefix(SpecObject l) => l.OptString("prefix") ?? l.Name;

    private static string Key(string prefix, string name) => prefix.Length == 0 ? name : $"{prefix}.{name}";

    private IrValue Input(SpecObject l)
    {
        if (l.OptString("input") is { } reference) return Resolve(reference, $"{l.Path}.input");
        return _previous ?? throw l.Error("input: required");
    }

    private IrValue Resolve(string reference, string field)
    {
        if (_values.TryGetValue(reference, out var v)) return v;
        var known = _values.Keys.Where(k => !k.EndsWith(":output", StringComparison.Ordinal)).ToList();
        throw new EdgeException($"{_spec.Source}: {field}: '{reference}' is not a graph input or an earlier layer (or one of its ports :output, :h_n, :c_n); known: {string.Join(", ", known)}");
    }

    private void Define(string name, IrValue v) => _values[name] = v;

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

    /// <summary>A weight used by several layers (a shared embedding) is stored once, under its key.</summary>
    private string ConstForKey(string key, Tensor t) => _ir.SharedConstant($"weights/{key}", () => t);

    // ── outputs ───────────────────────────────────────────────────────────────────────────────

    private void NameOutputs(List<(string Name, IrValue Val, string Path)> outputs)
    {
        var renamed = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, val, path) in outputs)
        {
            string source = renamed.TryGetValue(val.Name, out var r) ? r : val.Name;
            if (source != name)
            {
                if (_ir.IsTaken(name) || _g.Inputs.Any(i => i.Name == name) || _g.Constants.ContainsKey(name))
                    throw new EdgeException($"{_spec.Source}: {path}.name: '{name}' is already the name of an input or of a value inside the graph; choose another");
                var producer = _g.Nodes.FirstOrDefault(n => n.Outputs.Contains(source));
                if (producer is not null && !renamed.ContainsKey(val.Name) && producer.Kind != OpKind.Identity)
                {
                    // The producer writes the output name directly; later readers follow.
                    producer.Outputs[producer.Outputs.IndexOf(source)] = name;
                    foreach (var n in _g.Nodes)
                        for (int i = 0; i < n.Inputs.Count; i++)
                            if (n.Inputs[i] == source) n.Inputs[i] = name;
                    renamed[val.Name] = name;
                }
                else
                {
                    _ir.Emit(OpKind.Identity, $"{name}/identity", [source], [name]);
                }
                _ir.Reserve(name);
            }
            _g.Outputs.Add(new ValueInfo(name, val.Type, val.Shape));
        }
    }
}
