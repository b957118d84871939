using Edge.Runtime.Format;
using System.Globalization;
using System.Text.Json;
using Edge.Runtime;

namespace Edge.Quantizer.Import.Keras;

/// <summary>One tensor of a Keras graph: output <see cref="Tensor"/> of call <see cref="Node"/> of layer <see cref="Layer"/> (Keras's keras_history).</summary>
internal readonly record struct KerasTensorRef(string Layer, int Node, int Tensor)
{
    public override string ToString() => $"{MessageText.Printable(Layer)}[{Node}][{Tensor}]";
}

/// <summary>A layer of the model config, with the tensors each of its calls consumes (a shared layer is called more than once).</summary>
internal sealed class KerasLayer
{
    public KerasLayer(string className, string name, JsonElement config, List<List<KerasTensorRef>> calls)
    {
        ClassName = className;
        Name = name;
        Config = config;
        Calls = calls;
    }

    public string ClassName { get; }
    public string Name { get; }
    public JsonElement Config { get; }
    public List<List<KerasTensorRef>> Calls { get; }

    /// <summary>Each call's non-tensor keyword arguments (Keras 3 "kwargs"; Keras 2 the dict after [layer, node, tensor]), or null.</summary>
    public List<JsonElement?> CallKwargs { get; init; } = [];

    /// <summary>A class the user wrote (Keras 3 registered_name "package>Class", or a module outside keras), not a Keras layer.</summary>
    public bool Custom { get; init; }

    /// <summary>As messages show it: names from the file printable and cut (<see cref="MessageText"/>).</summary>
    public override string ToString() => $"'{MessageText.Printable(Name)}' ({MessageText.Printable(ClassName)})";
}

/// <summary>
/// A Sequential or Functional model config, in Functional form: layers in the config's (topological)
/// order, each with its calls, plus the model's input and output tensors. A Sequential model becomes a
/// chain; one without an InputLayer gets the input Keras makes for it ("&lt;first layer&gt;_input").
/// Reads both Keras 2 (<c>inbound_nodes: [[["layer", node, tensor, {kwargs}], ...]]</c>) and Keras 3
/// (<c>inbound_nodes: [{"args": [...__keras_tensor__ with keras_history...], "kwargs": {...}}]</c>) layouts.
/// </summary>
internal sealed class KerasModelConfig
{
    private KerasModelConfig(string name, List<KerasLayer> layers, List<KerasTensorRef> inputs, List<KerasTensorRef> outputs)
    {
        Name = name;
        Layers = layers;
        Inputs = inputs;
        Outputs = outputs;
    }

    public string Name { get; }
    public List<KerasLayer> Layers { get; }
    public List<KerasTensorRef> Inputs { get; }
    public List<KerasTensorRef> Outputs { get; }

    public static KerasModelConfig Parse(JsonElement root, string file)
    {
        string cls = KerasJson.Str(root, "class_name") ?? throw new EdgeException($"{file}: the model config has no class_name");
        var config = KerasJson.Get(root, "config") ?? throw new EdgeException($"{file}: the model config has no 'config'");
        if (cls == "Sequential" && config.ValueKind == JsonValueKind.Array)
        {
            // Keras 1.x and 2.0-2.2 saved a Sequential model's config as the bare list of its layers.
            return ParseSequential("sequential", config, config, file);
        }
        string name = KerasJson.Str(config, "name") ?? "model";
        var layersJson = KerasJson.Get(config, "layers");
        if (layersJson is not { ValueKind: JsonValueKind.Array } layers)
            throw new UnsupportedModelException(
                $"{file}: a '{MessageText.Printable(cls)}' model config without a list of layers (a subclassed Keras model?); Edge imports Sequential and Functional models");
        return cls switch
        {
            "Sequential" => ParseSequential(name, config, layers, file),
            "Functional" or "Model" => ParseFunctional(name, config, layers, file),
            _ => throw new UnsupportedModelException($"{file}: unsupported Keras model class '{MessageText.Printable(cls)}'; Edge imports Sequential and Functional models"),
        };
    }

    private static KerasModelConfig ParseSequential(string modelName, JsonElement config, JsonElement layers, string file)
    {
        var result = new List<KerasLayer>();
        KerasTensorRef? previous = null;
        foreach (var l in layers.EnumerateArray())
        {
            var (cls, lconfig, name) = Header(l, file);
            if (cls == "InputLayer")
            {
                if (previous is not null) throw new UnsupportedModelException($"{file}: Sequential model with an InputLayer {MessageText.Printable(name)} after other layers");
                result.Add(new KerasLayer(cls, name, lconfig, []));
                previous = new KerasTensorRef(name, 0, 0);
                continue;
            }
            if (previous is null)
            {
                // Keras 2 put the input shape on the first layer (batch_input_shape) and named the input after it;
                // Keras 3 keeps it in the model's build_input_shape.
                var shape = KerasJson.Get(lconfig, "batch_input_shape") ?? KerasJson.Get(lconfig, "batch_shape")
                    ?? (config.ValueKind == JsonValueKind.Object ? KerasJson.Get(config, "build_input_shape") : null);
                // An Embedding first takes (batch, steps) token ids; without input_length Keras builds it on the
                // first call with the steps free, and so does Edge.
                if (shape is null && cls == "Embedding")
                    shape = JsonDocument.Parse(KerasJson.Get(lconfig, "input_length") is { ValueKind: JsonValueKind.Number } steps
                        ? $"[null, {steps.GetRawText()}]" : "[null, null]").RootElement;
                if (shape is null)
                    throw new EdgeException($"{file}: the Sequential model declares no input shape (no InputLayer, no batch_input_shape on '{MessageText.Printable(name)}')");
                string inputName = name + "_input";
                var synthetic = JsonDocument.Parse(
                    $"{{\"name\": {JsonSerializer.Serialize(inputName)}, \"batch_input_shape\": {shape.Value.GetRawText()}, \"dtype\": {JsonSerializer.Serialize(KerasJson.DTypeName(lconfig) ?? "float32")}}}").RootElement;
                result.Add(new KerasLayer("InputLayer", inputName, synthetic, []));
                previous = new KerasTensorRef(inputName, 0, 0);
            }
            result.Add(new KerasLayer(cls, name, lconfig, [[previous.Value]]) { Custom = IsCustom(l) });
            previous = new KerasTensorRef(name, 0, 0);
        }
        if (previous is null || result.Count < 2) throw new EdgeException($"{file}: the Sequential model has no layers");
        return new KerasModelConfig(modelName, result, [new KerasTensorRef(result[0].Name, 0, 0)], [previous.Value]);
    }

    private static KerasModelConfig ParseFunctional(string modelName, JsonElement config, JsonElement layers, string file)
    {
        var result = new List<KerasLayer>();
        foreach (var l in layers.EnumerateArray())
        {
            var (cls, lconfig, name) = Header(l, file);
            if (KerasJson.Str(l, "name") is { } outer) name = outer;
            var calls = new List<List<KerasTensorRef>>();
            var kwargs = new List<JsonElement?>();
            if (KerasJson.Get(l, "inbound_nodes") is { ValueKind: JsonValueKind.Array } nodes)
                foreach (var node in nodes.EnumerateArray())
                {
                    calls.Add(ParseCall(node, name, cls, file));
                    kwargs.Add(CallKwargs(node));
                }
            result.Add(new KerasLayer(cls, name, lconfig, calls) { Custom = IsCustom(l), CallKwargs = kwargs });
        }
        var inputs = Refs(KerasJson.Get(config, "input_layers"), "input_layers", file);
        var outputs = Refs(KerasJson.Get(config, "output_layers"), "output_layers", file);
        return new KerasModelConfig(modelName, result, inputs, outputs);
    }

    private static bool IsCustom(JsonElement layer) =>
        KerasJson.Str(layer, "registered_name") is { } r && r.Contains('>', StringComparison.Ordinal)
        || KerasJson.Str(layer, "module") is { } m && !m.StartsWith("keras", StringComparison.Ordinal) && !m.StartsWith("tf_keras", StringComparison.Ordinal);

    private static (string Class, JsonElement Config, string Name) Header(JsonElement layer, string file)
    {
        string cls = KerasJson.Str(layer, "class_name") ?? throw new EdgeException($"{file}: a layer of the model config has no class_name");
        var config = KerasJson.Get(layer, "config") ?? throw new EdgeException($"{file}: layer of class '{MessageText.Printable(cls)}' has no config");
        string name = (config.ValueKind == JsonValueKind.Object ? KerasJson.Str(config, "name") : null)
            ?? throw new EdgeException($"{file}: layer of class '{MessageText.Printable(cls)}' has no name");
        (cls, config) = KerasLegacy.Normalize(cls, config);
        return (cls, config, name);
    }

    private static List<KerasTensorRef> ParseCall(JsonElement node, string layer, string cls, string file)
    {
        var refs = new List<KerasTensorRef>();
        if (node.ValueKind == JsonValueKind.Object)
        {
            // Keras 3: tensors are __keras_tensor__ objects anywhere in args (Concatenate/Dot take a list).
            if (KerasJson.Get(node, "args") is { } args) Walk(args, refs);
            if (KerasJson.Get(node, "kwargs") is { } kwargs)
            {
                var extra = new List<KerasTensorRef>();
                Walk(kwargs, extra);
                if (extra.Count > 0)
                    throw new UnsupportedModelException(
                        $"{file}: layer '{MessageText.Printable(layer)}' ({MessageText.Printable(cls)}) is called with tensors as keyword arguments (initial_state, mask, ...); Edge does not support that");
            }
            return refs;
        }
        if (node.ValueKind != JsonValueKind.Array) throw new EdgeException($"{file}: layer '{MessageText.Printable(layer)}' ({MessageText.Printable(cls)}): malformed inbound_nodes");
        foreach (var r in node.EnumerateArray())
        {
            // Keras 2: [layer_name, node_index, tensor_index, kwargs]
            if (r.ValueKind != JsonValueKind.Array || r.GetArrayLength() < 3 || r[0].ValueKind != JsonValueKind.String)
                throw new EdgeException($"{file}: layer '{MessageText.Printable(layer)}' ({MessageText.Printable(cls)}): malformed inbound node {MessageText.Printable(r.GetRawText())}");
            if (r.GetArrayLength() > 3 && r[3].ValueKind == JsonValueKind.Object)
                foreach (var kw in r[3].EnumerateObject())
                    if (kw.Name is "initial_state" or "constants" or "mask")
                        throw new UnsupportedModelException($"{file}: layer '{MessageText.Printable(layer)}' ({MessageText.Printable(cls)}) is called with '{MessageText.Printable(kw.Name)}'; Edge does not support that");
            refs.Add(new KerasTensorRef(r[0].GetString()!, r[1].GetInt32(), r[2].GetInt32()));
        }
        return refs;
    }

    private static JsonElement? CallKwargs(JsonElement node)
    {
        if (node.ValueKind == JsonValueKind.Object) return KerasJson.Get(node, "kwargs") is { ValueKind: JsonValueKind.Object } k ? k : null;
        if (node.ValueKind == JsonValueKind.Array && node.GetArrayLength() > 0 && node[0] is { ValueKind: JsonValueKind.Array } first
            && first.GetArrayLength() > 3 && first[3].ValueKind == JsonValueKind.Object)
            return first[3];
        return null;
    }

    private static void Walk(JsonElement e, List<KerasTensorRef> into)
    {
        if (e.ValueKind == JsonValueKind.Object)
        {
            if (KerasJson.Str(e, "class_name") == "__keras_tensor__")
            {
                var h = KerasJson.Get(e, "config") is { } c ? KerasJson.Get(c, "keras_history") : null;
                if (h is { ValueKind: JsonValueKind.Array } hist && hist.GetArrayLength() >= 3)
                    into.Add(new KerasTensorRef(hist[0].GetString() ?? "", hist[1].GetInt32(), hist[2].GetInt32()));
                return;
            }
            foreach (var p in e.EnumerateObject()) Walk(p.Value, into);
        }
        else if (e.ValueKind == JsonValueKind.Array)
        {
            foreach (var x in e.EnumerateArray()) Walk(x, into);
        }
    }

    /// <summary>input_layers / output_layers: [[name, node, tensor], ...], or one flat [name, node, tensor] (Keras 3, single tensor).</summary>
    private static List<KerasTensorRef> Refs(JsonElement? e, string what, string file)
    {
        if (e is not { ValueKind: JsonValueKind.Array } a || a.GetArrayLength() == 0)
            throw new EdgeException($"{file}: the Functional model config has no {what}");
        static KerasTensorRef One(JsonElement r) => new(r[0].GetString()!, r[1].GetInt32(), r[2].GetInt32());
        try
        {
            if (a[0].ValueKind == JsonValueKind.String) return [One(a)];
            return a.EnumerateArray().Select(One).ToList();
        }
        catch (Exception ex) when (ex is InvalidOperationException or IndexOutOfRangeException or FormatException)
        {
            throw new EdgeException($"{file}: malformed {what}: {MessageText.Printable(a.GetRawText())}", ex);
        }
    }
}

/// <summary>
/// Keras 1.x layer configs in Keras 2 terms, so the graph builder reads one vocabulary: class Convolution1D is
/// Conv1D; keys output_dim (Dense and recurrent layers; an Embedding's output_dim keeps its meaning),
/// inner_activation, bias, nb_filter, filter_length, subsample_length, border_mode, p (Dropout) and
/// input_dtype become units, recurrent_activation, use_bias, filters, kernel_size, strides, padding, rate
/// and dtype. A key already in Keras 2 form wins. Wrapped layers (TimeDistributed, Bidirectional) are
/// normalized too. Keras 1 weight layouts are converted where the weights are read (the graph builder).
/// </summary>
internal static class KerasLegacy
{
    private static readonly (string Old, string New)[] Common =
    [
        ("inner_activation", "recurrent_activation"), ("bias", "use_bias"), ("nb_filter", "filters"), ("filter_length", "kernel_size"),
        ("subsample_length", "strides"), ("border_mode", "padding"), ("input_dtype", "dtype"),
    ];

    public static (string Class, JsonElement Config) Normalize(string cls, JsonElement config)
    {
        if (config.ValueKind != JsonValueKind.Object) return (cls, config);
        if (cls == "Convolution1D") cls = "Conv1D";
        var renames = new List<(string, string)>(Common);
        if (cls is "Dense" or "LSTM" or "GRU" or "SimpleRNN") renames.Add(("output_dim", "units"));
        if (cls == "Dropout") renames.Add(("p", "rate"));
        bool wrapper = cls is "TimeDistributed" or "Bidirectional";
        if (!wrapper && !renames.Any(r => config.TryGetProperty(r.Item1, out _) && !config.TryGetProperty(r.Item2, out _)))
            return (cls, config);

        var obj = System.Text.Json.Nodes.JsonNode.Parse(config.GetRawText())!.AsObject();
        foreach (var (oldKey, newKey) in renames)
            if (obj.ContainsKey(oldKey) && !obj.ContainsKey(newKey))
            {
                var v = obj[oldKey];
                obj.Remove(oldKey);
                obj[newKey] = v;
            }
        if (wrapper && KerasJson.Get(config, "layer") is { ValueKind: JsonValueKind.Object } inner
            && KerasJson.Str(inner, "class_name") is { } innerClass && KerasJson.Get(inner, "config") is { } innerConfig)
        {
            var (c2, cfg2) = Normalize(innerClass, innerConfig);
            var innerObj = System.Text.Json.Nodes.JsonNode.Parse(inner.GetRawText())!.AsObject();
            innerObj["class_name"] = c2;
            innerObj["config"] = System.Text.Json.Nodes.JsonNode.Parse(cfg2.GetRawText());
            obj["layer"] = innerObj;
        }
        using var doc = JsonDocument.Parse(obj.ToJsonString());
        return (cls, doc.RootElement.Clone());
    }
}

/// <summary>Lenient accessors for Keras config JSON (Keras writes ints as [k] or k, activations as strings or objects).</summary>
internal static class KerasJson
{
    public static JsonElement? Get(JsonElement e, string key) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    public static string? Str(JsonElement e, string key) => Get(e, key) is { ValueKind: JsonValueKind.String } v ? v.GetString() : null;

    public static bool Bool(JsonElement e, string key, bool fallback) => Get(e, key) switch
    {
        { ValueKind: JsonValueKind.True } => true,
        { ValueKind: JsonValueKind.False } => false,
        _ => fallback,
    };

    /// <summary>An int, or the single element of a list such as kernel_size [4].</summary>
    public static int? Int(JsonElement e, string key)
    {
        var v = Get(e, key);
        if (v is { ValueKind: JsonValueKind.Array } a)
        {
            if (a.GetArrayLength() != 1) return null;
            v = a[0];
        }
        return v is { ValueKind: JsonValueKind.Number } n && n.TryGetInt32(out int i) ? i : null;
    }

    public static double? Double(JsonElement e, string key) =>
        Get(e, key) is { ValueKind: JsonValueKind.Number } v ? v.GetDouble() : null;

    /// <summary>An activation as a name: "relu", or Keras 3's {"class_name": "function", "config": "relu"} form.</summary>
    public static string Activation(JsonElement e, string key, string fallback)
    {
        var v = Get(e, key);
        if (v is null) return fallback;
        if (v.Value.ValueKind == JsonValueKind.String) return v.Value.GetString()!;
        if (v.Value.ValueKind == JsonValueKind.Object)
        {
            if (Str(v.Value, "config") is { } s) return s;
            if (Get(v.Value, "config") is { } c && Str(c, "name") is { } n) return n;
            if (Str(v.Value, "class_name") is { } cn) return cn;
        }
        return v.Value.GetRawText();
    }

    /// <summary>"float32", or the name inside Keras 3's DTypePolicy object.</summary>
    public static string? DTypeName(JsonElement config)
    {
        var d = Get(config, "dtype");
        if (d is { ValueKind: JsonValueKind.String } s) return s.GetString();
        if (d is { ValueKind: JsonValueKind.Object } o && Get(o, "config") is { } c && Str(c, "name") is { } n) return n;
        return null;
    }

    /// <summary>A shape list with None/null as -1.</summary>
    public static int[]? Shape(JsonElement e, string key)
    {
        if (Get(e, key) is not { ValueKind: JsonValueKind.Array } a) return null;
        var dims = new int[a.GetArrayLength()];
        for (int i = 0; i < dims.Length; i++)
            dims[i] = a[i].ValueKind == JsonValueKind.Number && a[i].TryGetInt32(out int d) && d >= 0 ? d : -1;
        return dims;
    }

    public static string Format(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
