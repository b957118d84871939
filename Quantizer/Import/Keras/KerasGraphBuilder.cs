using Edge.Runtime.Format;
using System.Text.Json;
using Edge.Runtime;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;
using Value = Edge.Quantizer.Import.IrValue;

namespace Edge.Quantizer.Import.Keras;

/// <summary>
/// Turns a Keras model config plus its weights into Edge IR, layer call by layer call. Keras layouts are
/// converted here and nowhere else: kernels (in, out) become W (out, in); recurrent gates are reordered
/// into the IR's (LSTM i,f,c,o is already i,f,g,o; GRU z,r,h becomes r,z,n); channels-last Conv1D gets
/// Transpose nodes around the IR's channels-first Conv1D. Shapes are tracked with -1 for the batch
/// (and any other unknown dimension) so graph outputs can be declared.
/// Value names: a layer's first output of its first call is the layer's name (so graph inputs and outputs
/// carry Keras's names); other calls and outputs are "name:call:tensor"; helper values "prefix/what".
/// </summary>
internal sealed partial class KerasGraphBuilder
{
    private readonly KerasModelFile _file;
    private readonly KerasModelConfig _model;
    private readonly Graph _graph = new();
    private readonly IrEmitter _ir;
    private readonly Dictionary<KerasTensorRef, Value> _values = new();
    private readonly Dictionary<string, int> _uses = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IReadOnlyList<KerasWeight>> _weights = new(StringComparer.Ordinal);

    /// <summary>Outputs of bias-free linear Dense layers on (N, D) inputs: a Dot of one of them with r is c^T M r (Bilinear).</summary>
    private readonly Dictionary<string, (Value Input, KerasLayer Layer)> _linearDense = new(StringComparer.Ordinal);

    public KerasGraphBuilder(KerasModelFile file, KerasModelConfig model)
    {
        _file = file;
        _model = model;
        _ir = new IrEmitter(_graph, IrNaming.Verbatim);
    }

    private string File => _file.Name;

    public Graph Build()
    {
        _graph.Name = _model.Name;
        var byName = new Dictionary<string, KerasLayer>(StringComparer.Ordinal);
        foreach (var l in _model.Layers)
            if (!byName.TryAdd(l.Name, l)) throw new EdgeException($"{File}: two layers are named '{MessageText.Printable(l.Name)}'");
        foreach (var l in _model.Layers)
            foreach (var call in l.Calls)
                foreach (var r in call) Use(r);
        foreach (var r in _model.Outputs) Use(r);

        foreach (var r in _model.Inputs)
        {
            if (!byName.TryGetValue(r.Layer, out var layer) || layer.ClassName != "InputLayer")
                throw new EdgeException($"{File}: model input '{MessageText.Printable(r.Layer)}' is not an InputLayer of the config");
            AddInput(layer);
        }

        foreach (var layer in _model.Layers)
        {
            if (layer.ClassName == "InputLayer") continue;
            CheckSupported(layer);
            for (int call = 0; call < layer.Calls.Count; call++)
            {
                var inputs = new List<Value>();
                foreach (var r in layer.Calls[call])
                {
                    if (!_values.TryGetValue(r, out var v))
                        throw new EdgeException($"{File}: layer {layer} reads tensor {r}, which no earlier layer produces");
                    inputs.Add(v);
                }
                if (inputs.Count == 0) throw new EdgeException($"{File}: layer {layer} is called without inputs");
                var outputs = ConvertCall(layer, call, inputs);
                for (int t = 0; t < outputs.Count; t++) _values[new KerasTensorRef(layer.Name, call, t)] = outputs[t];
            }
        }

        foreach (var r in _model.Outputs)
        {
            if (!_values.TryGetValue(r, out var v))
                throw new EdgeException($"{File}: model output {r} is never produced");
            if (_graph.Outputs.Any(o => o.Name == v.Name)) continue;
            _graph.Outputs.Add(new ValueInfo(v.Name, v.Type, v.Shape));
        }
        return _graph;
    }

    private void Use(KerasTensorRef r) => _uses[ValueName(r)] = _uses.GetValueOrDefault(ValueName(r)) + 1;

    private static string ValueName(KerasTensorRef r) => r.Node == 0 && r.Tensor == 0 ? r.Layer : $"{r.Layer}:{r.Node}:{r.Tensor}";

    private static string ValueName(KerasLayer layer, int call, int tensor) => ValueName(new KerasTensorRef(layer.Name, call, tensor));

    // ── inputs ───────────────────────────────────────────────────────────────────────────────────

    private void AddInput(KerasLayer layer)
    {
        var shape = KerasJson.Shape(layer.Config, "batch_shape") ?? KerasJson.Shape(layer.Config, "batch_input_shape");
        if (shape is null && KerasJson.Shape(layer.Config, "shape") is { } s) shape = [-1, .. s];
        if (shape is null || shape.Length == 0)
            throw new EdgeException($"{File}: input layer '{MessageText.Printable(layer.Name)}' declares no shape");
        shape[0] = ValueInfo.Dynamic;
        string dtype = KerasJson.DTypeName(layer.Config) ?? "float32";
        var type = dtype switch
        {
            "float32" or "float16" or "bfloat16" or "float64" => DataType.Float32,
            "int32" or "uint8" or "int8" or "int16" => DataType.Int32,
            "int64" => DataType.Int64,
            _ => throw new UnsupportedModelException($"{File}: input layer '{MessageText.Printable(layer.Name)}' has dtype '{MessageText.Printable(dtype)}', which Edge does not support"),
        };
        _graph.Inputs.Add(new ValueInfo(layer.Name, type, shape));
        _values[new KerasTensorRef(layer.Name, 0, 0)] = new Value(layer.Name, shape, type);
    }

    // ── layers ───────────────────────────────────────────────────────────────────────────────────

    private static readonly HashSet<string> Identities = new(StringComparer.Ordinal)
    {
        "Dropout", "SpatialDropout1D", "GaussianDropout", "GaussianNoise", "AlphaDropout", "ActivityRegularization",
    };

    private void CheckSupported(KerasLayer layer)
    {
        switch (layer.ClassName)
        {
            case var _ when layer.Custom:
                throw new UnsupportedModelException(
                    $"{File}: unsupported Keras layer '{MessageText.Printable(layer.ClassName)}' (name '{MessageText.Printable(layer.Name)}'): a custom layer class, whose Python code is not in the file: "
                    + "express it with built-in Keras layers (docs/keras.md lists them) and save the model again");
            case "SimpleRNN": return;
            case "LSTM" or "GRU" or "Dense" or "TimeDistributed" or "Conv1D" or "Convolution1D" or "LocallyConnected1D"
                or "RepeatVector" or "Embedding" or "Activation" or "Flatten" or "Concatenate" or "Dot"
                or "BatchNormalization" or "LayerNormalization" or "GlobalAveragePooling1D" or "GlobalMaxPooling1D" or "Reshape" or "Permute" or "Bidirectional"
                or "Attention" or "AdditiveAttention":
                return;
            case var m when Merges.Contains(m):
                return;
            case var c when Identities.Contains(c):
                return;
            case "PReLU":
                return;
            case "Lambda" or "TFOpLambda" or "SlicingOpLambda":
                throw new UnsupportedModelException(
                    $"{File}: unsupported Keras layer '{MessageText.Printable(layer.ClassName)}' (name '{MessageText.Printable(layer.Name)}'): it holds Python code, which Edge never runs: "
                    + "use built-in layers (Add/Subtract/Multiply, Dense or BatchNormalization to scale, Reshape/Permute, return_sequences=False for the last step)");
            default:
                throw new UnsupportedModelException($"{File}: unsupported Keras layer '{MessageText.Printable(layer.ClassName)}' (name '{MessageText.Printable(layer.Name)}')");
        }
    }

    private List<Value> ConvertCall(KerasLayer layer, int call, List<Value> inputs)
    {
        string prefix = call == 0 ? layer.Name : $"{layer.Name}:{call}";
        string output = ValueName(layer, call, 0);
        var c = layer.Config;
        if (layer.ClassName is not ("Concatenate" or "Dot" or "Attention" or "AdditiveAttention") && !Merges.Contains(layer.ClassName) && inputs.Count != 1)
            throw new EdgeException($"{File}: layer {layer} takes one input, but is called with {inputs.Count}");
        var x = inputs[0];
        switch (layer.ClassName)
        {
            case "SimpleRNN": return ConvertSimpleRnn(layer, call, prefix, x);
            case "LSTM":
            case "GRU":
                return ConvertRecurrent(layer, call, prefix, x);
            case "Dense":
                return [ConvertDense(layer, layer.Config, prefix, x, output)];
            case "TimeDistributed":
            {
                var inner = KerasJson.Get(c, "layer") ?? throw new EdgeException($"{File}: TimeDistributed layer '{MessageText.Printable(layer.Name)}' has no inner layer");
                string innerClass = KerasJson.Str(inner, "class_name") ?? "?";
                if (innerClass != "Dense")
                    throw new UnsupportedModelException(
                        $"{File}: unsupported Keras layer 'TimeDistributed({MessageText.Printable(innerClass)})' (name '{MessageText.Printable(layer.Name)}'); Edge supports TimeDistributed(Dense)");
                // Dense already maps the last axis at every time step.
                return [ConvertDense(layer, KerasJson.Get(inner, "config") ?? c, prefix, x, output)];
            }
            case "Conv1D" or "Convolution1D":
                return [ConvertConv1D(layer, prefix, x, output)];
            case "LocallyConnected1D":
                return [ConvertLocallyConnected1D(layer, prefix, x, output)];
            case "RepeatVector":
            {
                int n = KerasJson.Int(c, "n") ?? throw Bad(layer, "has no 'n'");
                if (x.Rank != 2) throw Bad(layer, $"expects (batch, features) input, got {x.ShapeList}");
                Emit(OpKind.RepeatVector, prefix, [x.Name], [output]).Set("n", (long)n);
                return [new Value(output, [x.Shape[0], n, x.Last], DataType.Float32)];
            }
            case "Embedding":
                return [ConvertEmbedding(layer, prefix, x, output)];
            case "Activation":
                return [Activate(layer, KerasJson.Activation(c, "activation", "linear"), x, prefix, output)];
            case "Flatten":
            {
                if (KerasJson.Str(c, "data_format") == "channels_first" && x.Rank > 2)
                    throw new UnsupportedModelException($"{File}: Flatten layer '{MessageText.Printable(layer.Name)}' with data_format channels_first is not supported");
                Emit(OpKind.Flatten, prefix, [x.Name], [output]).Set("axis", 1L);
                int rest = x.Shape.Skip(1).Any(d => d < 0) ? -1 : x.Shape.Skip(1).Aggregate(1, (p, d) => p * d);
                return [new Value(output, [x.Shape[0], rest], x.Type)];
            }
            case "Concatenate":
                return [ConvertConcatenate(layer, prefix, inputs, output)];
            case "Dot":
                return [ConvertDot(layer, prefix, inputs, output)];
            case "PReLU":
                return [ConvertPRelu(layer, prefix, x, output)];
            case "BatchNormalization":
                return [ConvertBatchNorm(layer, prefix, x, output)];
            case "LayerNormalization":
                return [ConvertLayerNorm(layer, prefix, x, output)];
            case "GlobalAveragePooling1D":
                return [ConvertGlobalAveragePooling1D(layer, prefix, x, output)];
            case "GlobalMaxPooling1D":
                return [ConvertGlobalMaxPooling1D(layer, prefix, x, output)];
            case "Reshape":
                return [ConvertReshape(layer, prefix, x, output)];
            case "Permute":
                return [ConvertPermute(layer, prefix, x, output)];
            case "Bidirectional":
                return ConvertBidirectional(layer, call, prefix, x);
            case "Attention" or "AdditiveAttention":
                return ConvertAttention(layer, call, prefix, inputs);
            case var m when Merges.Contains(m):
                return [ConvertMerge(layer, prefix, inputs, output)];
            default:
                if (Identities.Contains(layer.ClassName))
                {
                    Emit(OpKind.Identity, prefix, [x.Name], [output]);
                    return [x with { Name = output }];
                }
                throw new UnsupportedModelException($"{File}: unsupported Keras layer '{MessageText.Printable(layer.ClassName)}' (name '{MessageText.Printable(layer.Name)}')");
        }
    }

    private Value ConvertDense(KerasLayer layer, JsonElement config, string prefix, Value x, string output)
    {
        bool useBias = KerasJson.Bool(config, "use_bias", true);
        int units = KerasJson.Int(config, "units") ?? throw Bad(layer, "has no 'units'");
        var w = Weights(layer, useBias ? 2 : 1, useBias ? "kernel, bias" : "kernel");
        int inFeatures = x.Last;
        var kernel = Expect(layer, w[0], "kernel", inFeatures < 0 ? w[0].Shape[0] : inFeatures, units);
        if (inFeatures < 0) inFeatures = kernel.Shape[0];
        string wName = Constant(layer, "kernel_t", () => Transpose2D(kernel));
        var inputs = new List<string> { x.Name, wName };
        if (useBias)
        {
            var bias = Expect(layer, w[1], "bias", units);
            inputs.Add(Constant(layer, "bias", () => Tensor.FromArray((float[])bias.Data.Clone(), units)));
        }
        string activation = KerasJson.Activation(config, "activation", "linear");
        var shape = x.Shape.ToArray();
        shape[^1] = units;
        if (activation == "linear")
        {
            Emit(OpKind.Dense, prefix, inputs, [output]);
            if (!useBias && x.Rank == 2) _linearDense[output] = (x, layer);
            return new Value(output, shape, DataType.Float32);
        }
        string linear = prefix + "/linear";
        Emit(OpKind.Dense, prefix, inputs, [linear]);
        return Activate(layer, activation, new Value(linear, shape, DataType.Float32), prefix + "/" + activation, output);
    }

    private Value ConvertConv1D(KerasLayer layer, string prefix, Value x, string output)
    {
        var c = layer.Config;
        if (x.Rank != 3) throw Bad(layer, $"expects (batch, steps, channels) input, got {x.ShapeList}");
        bool channelsFirst = KerasJson.Str(c, "data_format") == "channels_first";
        int filters = KerasJson.Int(c, "filters") ?? throw Bad(layer, "has no 'filters'");
        int k = KerasJson.Int(c, "kernel_size") ?? throw Bad(layer, "has no single 'kernel_size'");
        int stride = KerasJson.Int(c, "strides") ?? 1;
        int dilation = KerasJson.Int(c, "dilation_rate") ?? 1;
        int groups = KerasJson.Int(c, "groups") ?? 1;
        string padding = (KerasJson.Str(c, "padding") ?? "valid").ToLowerInvariant();
        string autoPad = padding switch
        {
            "valid" => "VALID",
            "same" => "SAME_UPPER", // TensorFlow's SAME: output ceil(L / stride), the odd pad at the end
            "causal" => "CAUSAL",
            _ => throw new UnsupportedModelException($"{File}: Conv1D layer '{MessageText.Printable(layer.Name)}' has padding '{MessageText.Printable(padding)}'"),
        };
        bool useBias = KerasJson.Bool(c, "use_bias", true);
        int channels = channelsFirst ? x.Shape[1] : x.Shape[2];
        var w = Weights(layer, useBias ? 2 : 1, useBias ? "kernel, bias" : "kernel");
        var kernel = w[0];
        if (kernel.Shape.Length != 3 || kernel.Shape[0] != k || kernel.Shape[2] != filters || (channels >= 0 && kernel.Shape[1] * groups != channels))
            throw BadWeight(layer, kernel, "kernel", $"({k}, {(channels < 0 ? "C" : (channels / Math.Max(groups, 1)).ToString(System.Globalization.CultureInfo.InvariantCulture))}, {filters})");
        // Keras kernel (K, C/groups, F) -> IR W (F, C/groups, K).
        string wName = Constant(layer, "kernel_fck", () =>
        {
            int cg = kernel.Shape[1];
            var t = new float[filters * cg * k];
            for (int f = 0; f < filters; f++)
                for (int ch = 0; ch < cg; ch++)
                    for (int j = 0; j < k; j++)
                        t[(f * cg + ch) * k + j] = kernel.Data[(j * cg + ch) * filters + f];
            return Tensor.FromArray(t, filters, cg, k);
        });
        var inputs = new List<string> { channelsFirst ? x.Name : prefix + "/ncl", wName };
        if (useBias)
        {
            var bias = Expect(layer, w[1], "bias", filters);
            inputs.Add(Constant(layer, "bias", () => Tensor.FromArray((float[])bias.Data.Clone(), filters)));
        }
        if (!channelsFirst) Emit(OpKind.Transpose, prefix + "/to_ncl", [x.Name], [prefix + "/ncl"]).Set("perm", new long[] { 0, 2, 1 });

        int length = channelsFirst ? x.Shape[2] : x.Shape[1];
        int span = (k - 1) * dilation + 1;
        int outLength = length < 0 ? -1 : padding switch
        {
            "valid" => (length - span) / stride + 1,
            "same" => (length + stride - 1) / stride,
            _ => (length - 1) / stride + 1,
        };
        if (length >= 0 && outLength <= 0) throw Bad(layer, $"input length {length} is shorter than the kernel span {span}");
        string activation = KerasJson.Activation(c, "activation", "linear");
        string conv = channelsFirst && activation == "linear" ? output : prefix + "/conv";
        Emit(OpKind.Conv1D, prefix, inputs, [conv])
            .Set("auto_pad", autoPad).Set("strides", new long[] { stride }).Set("dilations", new long[] { dilation }).Set("group", (long)groups);
        var convValue = new Value(conv, [x.Shape[0], filters, outLength], DataType.Float32);
        if (channelsFirst)
            return activation == "linear" ? convValue : Activate(layer, activation, convValue, prefix + "/" + activation, output);
        string nlc = activation == "linear" ? output : prefix + "/nlc";
        Emit(OpKind.Transpose, prefix + "/to_nlc", [conv], [nlc]).Set("perm", new long[] { 0, 2, 1 });
        var y = new Value(nlc, [x.Shape[0], outLength, filters], DataType.Float32);
        return activation == "linear" ? y : Activate(layer, activation, y, prefix + "/" + activation, output);
    }

    private Value ConvertLocallyConnected1D(KerasLayer layer, string prefix, Value x, string output)
    {
        var c = layer.Config;
        if (x.Rank != 3) throw Bad(layer, $"expects (batch, steps, channels) input, got {x.ShapeList}");
        if (KerasJson.Str(c, "data_format") == "channels_first")
            throw new UnsupportedModelException($"{File}: LocallyConnected1D layer '{MessageText.Printable(layer.Name)}' with data_format channels_first is not supported");
        if ((KerasJson.Str(c, "padding") ?? "valid").ToLowerInvariant() != "valid")
            throw new UnsupportedModelException($"{File}: LocallyConnected1D layer '{MessageText.Printable(layer.Name)}' has padding other than 'valid'");
        int filters = KerasJson.Int(c, "filters") ?? throw Bad(layer, "has no 'filters'");
        int k = KerasJson.Int(c, "kernel_size") ?? throw Bad(layer, "has no single 'kernel_size'");
        int stride = KerasJson.Int(c, "strides") ?? 1;
        bool useBias = KerasJson.Bool(c, "use_bias", true);
        var w = Weights(layer, useBias ? 2 : 1, useBias ? "kernel, bias" : "kernel");
        var kernel = w[0];
        int channels = x.Shape[2], length = x.Shape[1];
        if (kernel.Shape.Length != 3)
            throw new UnsupportedModelException(
                $"{File}: LocallyConnected1D layer '{MessageText.Printable(layer.Name)}' has a kernel of shape {kernel.ShapeString}: only implementation=1 (kernel (folds, K*C, filters)) is supported");
        int folds = kernel.Shape[0];
        if (length >= 0 && folds != (length - k) / stride + 1 || channels >= 0 && kernel.Shape[1] != k * channels || kernel.Shape[2] != filters)
            throw BadWeight(layer, kernel, "kernel", $"({(length < 0 ? "folds" : ((length - k) / stride + 1).ToString(System.Globalization.CultureInfo.InvariantCulture))}, {k}*C, {filters})");
        // Keras's kernel (output_length, K*C, filters) with rows in (k, c) order is exactly the IR's W.
        var inputs = new List<string> { x.Name, Constant(layer, "kernel", () => Tensor.FromArray((float[])kernel.Data.Clone(), kernel.Shape)) };
        if (useBias)
        {
            var bias = Expect(layer, w[1], "bias", folds, filters);
            inputs.Add(Constant(layer, "bias", () => Tensor.FromArray((float[])bias.Data.Clone(), folds, filters)));
        }
        string activation = KerasJson.Activation(c, "activation", "linear");
        string lc = activation == "linear" ? output : prefix + "/lc";
        Emit(OpKind.LocallyConnected1D, prefix, inputs, [lc]).Set("kernel_size", (long)k).Set("stride", (long)stride);
        var y = new Value(lc, [x.Shape[0], folds, filters], DataType.Float32);
        return activation == "linear" ? y : Activate(layer, activation, y, prefix + "/" + activation, output);
    }

    private Value ConvertEmbedding(KerasLayer layer, string prefix, Value x, string output)
    {
        var c = layer.Config;
        if (KerasJson.Bool(c, "mask_zero", false))
            throw new UnsupportedModelException(
                $"{File}: Embedding layer '{MessageText.Printable(layer.Name)}' has mask_zero=True; Edge does not propagate Keras masks (train without masking, or pad at the start)");
        int vocab = KerasJson.Int(c, "input_dim") ?? throw Bad(layer, "has no 'input_dim'");
        int dim = KerasJson.Int(c, "output_dim") ?? throw Bad(layer, "has no 'output_dim'");
        var table = Expect(layer, Weights(layer, 1, "embeddings")[0], "embeddings", vocab, dim);
        string tableName = Constant(layer, "embeddings", () => Tensor.FromArray((float[])table.Data.Clone(), vocab, dim));
        string ids = x.Name;
        if (x.Type == DataType.Float32)
        {
            // Keras declares token inputs float32 by default and casts them to int inside the layer.
            ids = prefix + "/ids";
            Emit(OpKind.Cast, prefix + "/cast", [x.Name], [ids]).Set("to", (long)DataType.Int64);
        }
        Emit(OpKind.Embedding, prefix, [ids, tableName], [output]);
        return new Value(output, [.. x.Shape, dim], DataType.Float32);
    }

    private Value ConvertConcatenate(KerasLayer layer, string prefix, List<Value> inputs, string output)
    {
        int rank = inputs[0].Rank;
        if (inputs.Any(v => v.Rank != rank)) throw Bad(layer, $"joins inputs of different ranks: {string.Join(", ", inputs.Select(v => v.ShapeList))}");
        int axis = KerasJson.Int(layer.Config, "axis") ?? -1;
        int a = axis < 0 ? axis + rank : axis;
        if (a <= 0 || a >= rank) throw Bad(layer, $"has axis {axis} for inputs of rank {rank}");
        Emit(OpKind.Concat, prefix, inputs.Select(v => v.Name), [output]).Set("axis", (long)a);
        var shape = inputs[0].Shape.ToArray();
        shape[a] = inputs.Any(v => v.Shape[a] < 0) ? -1 : inputs.Sum(v => v.Shape[a]);
        return new Value(output, shape, DataType.Float32);
    }

    /// <summary>
    /// Dot(axes=1) of two (N, D) tensors. When one side is a bias-free linear Dense read by nothing else, the pair
    /// is the dual encoder's c^T M r and becomes one Bilinear node (M = the Dense kernel, (D1, D2) as Keras stores it);
    /// otherwise Mul + ReduceSum.
    /// </summary>
    private Value ConvertDot(KerasLayer layer, string prefix, List<Value> inputs, string output)
    {
        if (inputs.Count != 2) throw Bad(layer, $"takes two inputs, got {inputs.Count}");
        var c = layer.Config;
        if (KerasJson.Bool(c, "normalize", false))
            throw new UnsupportedModelException($"{File}: Dot layer '{MessageText.Printable(layer.Name)}' has normalize=True (cosine similarity), which Edge does not support");
        var axesJson = KerasJson.Get(c, "axes");
        var axes = axesJson is { ValueKind: JsonValueKind.Array } arr ? arr.EnumerateArray().Select(e => e.GetInt32()).ToArray()
            : axesJson is { ValueKind: JsonValueKind.Number } n ? [n.GetInt32(), n.GetInt32()] : [];
        var (a, b) = (inputs[0], inputs[1]);
        if (axes.Length != 2 || a.Rank != 2 || b.Rank != 2 || axes.Any(x => x is not (1 or -1)))
            throw new UnsupportedModelException(
                $"{File}: Dot layer '{MessageText.Printable(layer.Name)}' with axes {MessageText.Printable(axesJson?.GetRawText() ?? "?")} on inputs {a.ShapeList} and {b.ShapeList}; Edge supports Dot(axes=1) of two (batch, features) tensors");
        if (a.Last >= 0 && b.Last >= 0 && a.Last != b.Last) throw Bad(layer, $"multiplies {a.ShapeList} by {b.ShapeList}");
        var shape = new[] { a.Shape[0] < 0 ? b.Shape[0] : a.Shape[0], 1 };
        foreach (var (dense, other) in new[] { (a, b), (b, a) })
        {
            if (!_linearDense.TryGetValue(dense.Name, out var d) || _uses.GetValueOrDefault(dense.Name) != 1) continue;
            var kernel = Weights(d.Layer, 1, "kernel")[0];
            string m = Constant(d.Layer, "kernel", () => Tensor.FromArray((float[])kernel.Data.Clone(), kernel.Shape));
            Emit(OpKind.Bilinear, prefix, [d.Input.Name, other.Name, m], [output]);
            return new Value(output, shape, DataType.Float32);
        }
        Emit(OpKind.Mul, prefix + "/mul", [a.Name, b.Name], [prefix + "/products"]);
        Emit(OpKind.ReduceSum, prefix, [prefix + "/products"], [output]).Set("axes", new long[] { 1 }).Set("keepdims", 1L);
        return new Value(output, shape, DataType.Float32);
    }

    // ── activations ──────────────────────────────────────────────────────────────────────────────

    /// <summary>Keras's hard_sigmoid: Keras 2 max(0, min(1, 0.2 x + 0.5)); Keras 3 relu6(x + 3) / 6 = max(0, min(1, x / 6 + 0.5)).</summary>
    private (float Alpha, float Beta) HardSigmoid => _file.KerasMajor >= 3 ? (1f / 6f, 0.5f) : (0.2f, 0.5f);

    private Value Activate(KerasLayer layer, string activation, Value x, string nodeName, string output)
    {
        string[] inputs = [x.Name], outputs = [output];
        _ = activation switch
        {
            "linear" => Emit(OpKind.Identity, nodeName, inputs, outputs),
            "relu" => Emit(OpKind.Relu, nodeName, inputs, outputs),
            "sigmoid" => Emit(OpKind.Sigmoid, nodeName, inputs, outputs),
            "tanh" => Emit(OpKind.Tanh, nodeName, inputs, outputs),
            "softsign" => Emit(OpKind.Softsign, nodeName, inputs, outputs),
            "softplus" => Emit(OpKind.Softplus, nodeName, inputs, outputs),
            "exponential" => Emit(OpKind.Exp, nodeName, inputs, outputs),
            "elu" => Emit(OpKind.Elu, nodeName, inputs, outputs).Set("alpha", 1f),
            "leaky_relu" => Emit(OpKind.LeakyRelu, nodeName, inputs, outputs).Set("alpha", 0.2f), // Keras 3's negative_slope default
            "softmax" => Emit(OpKind.Softmax, nodeName, inputs, outputs).Set("axis", -1L),
            "hard_sigmoid" => Emit(OpKind.HardSigmoid, nodeName, inputs, outputs).Set("alpha", HardSigmoid.Alpha).Set("beta", HardSigmoid.Beta),
            _ => throw new UnsupportedModelException($"{File}: layer {layer} uses activation '{MessageText.Printable(activation)}', which Edge does not support"),
        };
        return x with { Name = output };
    }

    // ── helpers ──────────────────────────────────────────────────────────────────────────────────

    private Node Emit(OpKind kind, string name, IEnumerable<string> inputs, IEnumerable<string> outputs) => _ir.Emit(kind, name, inputs, outputs);

    /// <summary>A weight-derived constant, made once per layer (a shared layer's calls read the same constant).</summary>
    private string Constant(KerasLayer layer, string what, Func<Tensor> make) => _ir.SharedConstant($"{layer.Name}/{what}", make);

    private IReadOnlyList<KerasWeight> Weights(KerasLayer layer, int count, string names)
    {
        if (!_weights.TryGetValue(layer.Name, out var w))
        {
            w = Legacy(layer, _file.Weights(layer.Name, layer.ClassName)
                ?? throw new EdgeException($"{File}: the file holds no weights for layer {layer}; expected {names}"));
            _weights[layer.Name] = w;
        }
        if (w.Count == 0 && count > 0)
            throw new EdgeException(
                $"{File}: layer {layer} has no weights in the file (expected {names}): the model was saved before it was built " +
                "(Keras writes empty weight groups then); build or train it, or call it once on an input, and save it again");
        if (w.Count != count)
            throw new EdgeException(
                $"{File}: layer {layer} has {w.Count} weight array(s) in the file ({string.Join(", ", w.Select(x => $"{x.Path} {x.ShapeString}"))}); expected {count}: {names}");
        return w;
    }

    private KerasWeight Expect(KerasLayer layer, KerasWeight w, string what, params int[] shape)
    {
        if (!w.Shape.SequenceEqual(shape))
            throw BadWeight(layer, w, what, "(" + string.Join(", ", shape) + (shape.Length == 1 ? ",)" : ")"));
        return w;
    }

    private EdgeException BadWeight(KerasLayer layer, KerasWeight w, string what, string expected) =>
        new($"{File}: layer {layer}: {what} '{w.Path}' has shape {w.ShapeString}, expected {expected}");

    private EdgeException Bad(KerasLayer layer, string problem) => new($"{File}: layer {layer} {problem}");

    private static Tensor Transpose2D(KerasWeight w)
    {
        int rows = w.Shape[0], cols = w.Shape[1];
        var t = new float[rows * cols];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                t[c * rows + r] = w.Data[r * cols + c];
        return Tensor.FromArray(t, cols, rows);
    }
}
