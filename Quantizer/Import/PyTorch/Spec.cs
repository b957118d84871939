using System.Globalization;
using System.Text.Json;
using Edge.Runtime;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Quantizer.Import.PyTorch;

/// <summary>
/// The graph description that goes with a state_dict (`edge-quantize convert MODEL.pt --spec FILE.json`),
/// parsed with <see cref="JsonDocument"/>. docs/spec.md documents the format. Errors name the spec field
/// ("layers[2].hidden_size: ..."). Layer fields are read by <see cref="SpecGraphBuilder"/> per kind;
/// a field no kind reads is reported as unknown, so typos do not pass silently.
/// </summary>
public sealed class Spec
{
    private Spec(string source, string? name, List<SpecInput> inputs, List<SpecObject> layers, List<SpecOutput> outputs,
        bool allowUnused, string? stateDictKey, string stripPrefix)
    {
        Source = source;
        Name = name;
        Inputs = inputs;
        Layers = layers;
        Outputs = outputs;
        AllowUnused = allowUnused;
        StateDictKey = stateDictKey;
        StripPrefix = stripPrefix;
    }

    /// <summary>The spec file name, for messages.</summary>
    public string Source { get; }
    public string? Name { get; }
    public IReadOnlyList<SpecInput> Inputs { get; }
    public IReadOnlyList<SpecObject> Layers { get; }

    /// <summary>Empty: the last layer's output, named after the layer.</summary>
    public IReadOnlyList<SpecOutput> Outputs { get; }

    /// <summary>When false (the default), state_dict keys that no layer uses are an error.</summary>
    public bool AllowUnused { get; }

    /// <summary>For checkpoint dicts: the entry that holds the state_dict ("" = the top level); null = found automatically.</summary>
    public string? StateDictKey { get; }

    /// <summary>Removed from the front of every state_dict key that has it (e.g. "module." from nn.DataParallel).</summary>
    public string StripPrefix { get; }

    public static Spec Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new EdgeException($"{path}: no such spec file");
        var info = new FileInfo(path);
        if (info.Length > 16 << 20) throw new EdgeException($"{path}: a spec of {info.Length} bytes is too large");
        return Parse(File.ReadAllText(path), Path.GetFileName(path));
    }

    public static Spec Parse(string json, string source = "spec")
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, AllowDuplicateProperties = false, CommentHandling = JsonCommentHandling.Skip, MaxDepth = 32 });
            root = doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new EdgeException($"{source}: not valid JSON: {e.Message}", e);
        }
        var top = new SpecObject(root, "", source);
        if (root.ValueKind != JsonValueKind.Object) throw top.Error("the spec must be a JSON object");

        // Every mistake is collected (one per field) and reported together, so one round fixes them all.
        var problems = new SpecProblems(source);
        string? name = problems.Try(() => top.OptString("name"), null);
        bool allowUnused = problems.Try(() => top.Bool("allow_unused", false), false);
        string? stateDictKey = problems.Try(() => top.OptString("state_dict_key"), null);
        string strip = problems.Try(() => top.OptString("strip_prefix"), null) ?? "";
        problems.Try(() => top.OptString("description"), null);

        var inputs = new List<SpecInput>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var inputArray = problems.Try(() => top.Array("inputs") ?? throw top.Error("inputs: required (a list of {\"name\", \"shape\", \"dtype\"})"), []);
        if (inputArray.Count == 0 && top.Has("inputs")) problems.Add(top.Error("inputs: at least one input is needed"));
        foreach (var i in inputArray)
        {
            problems.Try(() =>
            {
                string n = i.RequiredString("name");
                if (!names.Add(n)) throw i.Error($"name: '{n}' is used twice");
                var shape = i.Shape("shape") ?? throw i.Error("shape: required, e.g. [null, null, 6] (null or -1 for a dynamic dimension)");
                string dt = i.OptString("dtype") ?? "float32";
                if (!DataTypes.TryParse(dt, out var dtype)) throw i.Error($"dtype: '{dt}' is not one of float32, int64, int32, int8");
                i.CheckNoUnknownFields("an input");
                inputs.Add(new SpecInput(n, shape, dtype));
                return true;
            }, false);
        }

        var layers = problems.Try(() => top.Array("layers") ?? throw top.Error("layers: required (a list of layers)"), []);
        if (layers.Count == 0 && top.Has("layers")) problems.Add(top.Error("layers: at least one layer is needed"));
        foreach (var l in layers)
        {
            problems.Try(() =>
            {
                string? ln = l.OptString("name");
                l.Name = ln ?? $"{l.RequiredString("kind")}_{l.Index}";
                if (l.Name.Length == 0 || l.Name.Contains(':', StringComparison.Ordinal)) throw l.Error($"name: '{l.Name}' must be non-empty without ':'");
                if (!names.Add(l.Name)) throw l.Error($"name: '{l.Name}' is already the name of an input or another layer");
                return true;
            }, false);
            // The kind and its fields are checked here too, so that typos in several layers come out together.
            problems.Try(() => SpecGraphBuilder.CheckKindAndFields(l), false);
        }

        var outputs = new List<SpecOutput>();
        var outArray = problems.Try(() => top.Array("outputs"), null);
        var outNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var o in outArray ?? [])
        {
            problems.Try(() =>
            {
                string n = o.RequiredString("name");
                string from = o.OptString("from") ?? n;
                if (!outNames.Add(n)) throw o.Error($"name: '{n}' is used twice");
                o.CheckNoUnknownFields("an output");
                outputs.Add(new SpecOutput(n, from, o.Path));
                return true;
            }, false);
        }
        problems.Try(() => { top.CheckNoUnknownFields("the spec"); return true; }, false);
        problems.ThrowIfAny();
        return new Spec(source, name, inputs, layers, outputs, allowUnused, stateDictKey, strip);
    }
}

/// <summary>
/// Collects spec mistakes: one alone is thrown as it is ("spec.json: layers[0].hiden_size: ..."), several
/// as an <see cref="EdgeProblemsException"/> with one line per mistake, as docs/spec.md shows.
/// </summary>
internal sealed class SpecProblems(string source)
{
    private readonly List<EdgeException> _errors = new();

    public void Add(EdgeException e) => _errors.Add(e);

    public T Try<T>(Func<T> read, T fallback)
    {
        try
        {
            return read();
        }
        catch (EdgeException e)
        {
            _errors.Add(e);
            return fallback;
        }
    }

    public void ThrowIfAny()
    {
        if (_errors.Count == 1) throw _errors[0];
        if (_errors.Count == 0) return;
        string prefix = source + ": ";
        var lines = _errors.Select(e => e.Message.StartsWith(prefix, StringComparison.Ordinal) ? e.Message[prefix.Length..] : e.Message).ToList();
        throw new EdgeProblemsException($"{source}: {lines.Count.ToString(CultureInfo.InvariantCulture)} problems:", lines);
    }
}

public sealed record SpecInput(string Name, int[] Shape, DataType DataType);

public sealed record SpecOutput(string Name, string From, string Path);

/// <summary>One JSON object of the spec with typed, path-naming accessors; it remembers which fields were read.</summary>
public sealed class SpecObject
{
    private readonly JsonElement _e;
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    internal SpecObject(JsonElement e, string path, string source, int index = -1)
    {
        _e = e;
        Path = path;
        Source = source;
        Index = index;
        Name = "";
    }

    /// <summary>"layers[2]", "inputs[0]", or "" for the top level.</summary>
    public string Path { get; }
    public string Source { get; }
    public int Index { get; }

    /// <summary>For layers: the name (given, or kind_index).</summary>
    public string Name { get; internal set; }

    public bool Has(string field) => _e.ValueKind == JsonValueKind.Object && _e.TryGetProperty(field, out var v) && v.ValueKind != JsonValueKind.Null;

    public EdgeException Error(string message) => new($"{Source}: {(Path.Length == 0 ? "" : Path + ".")}{message}");

    private JsonElement? Get(string field)
    {
        _read.Add(field);
        return _e.ValueKind == JsonValueKind.Object && _e.TryGetProperty(field, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;
    }

    public string? OptString(string field) => Get(field) is { } v
        ? v.ValueKind == JsonValueKind.String ? v.GetString()! : throw Error($"{field}: expected a string, got {v.GetRawText()}")
        : null;

    public string RequiredString(string field) => OptString(field) ?? throw Error($"{field}: required");

    public string String(string field, string fallback) => OptString(field) ?? fallback;

    public long? OptInt(string field)
    {
        if (Get(field) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out long n)) throw Error($"{field}: expected an integer, got {v.GetRawText()}");
        return n;
    }

    public int Int(string field, int fallback, int min = int.MinValue, int max = int.MaxValue)
    {
        long n = OptInt(field) ?? fallback;
        if (n < min || n > max) throw Error($"{field}: {n} is out of range [{min}, {max}]");
        return (int)n;
    }

    public float Float(string field, float fallback)
    {
        if (Get(field) is not { } v) return fallback;
        if (v.ValueKind != JsonValueKind.Number) throw Error($"{field}: expected a number, got {v.GetRawText()}");
        return (float)v.GetDouble();
    }

    public bool Bool(string field, bool fallback)
    {
        if (Get(field) is not { } v) return fallback;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Error($"{field}: expected true or false, got {v.GetRawText()}"),
        };
    }

    /// <summary>An integer or a list of integers.</summary>
    public long[]? Ints(string field)
    {
        if (Get(field) is not { } v) return null;
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out long one)) return [one];
        if (v.ValueKind != JsonValueKind.Array) throw Error($"{field}: expected an integer or a list of integers, got {v.GetRawText()}");
        var result = new List<long>();
        foreach (var x in v.EnumerateArray())
        {
            if (x.ValueKind != JsonValueKind.Number || !x.TryGetInt64(out long n)) throw Error($"{field}: expected integers, got {v.GetRawText()}");
            result.Add(n);
        }
        return result.ToArray();
    }

    /// <summary>A string or a list of strings.</summary>
    public string[]? Strings(string field)
    {
        if (Get(field) is not { } v) return null;
        if (v.ValueKind == JsonValueKind.String) return [v.GetString()!];
        if (v.ValueKind != JsonValueKind.Array || v.EnumerateArray().Any(x => x.ValueKind != JsonValueKind.String))
            throw Error($"{field}: expected a string or a list of strings, got {v.GetRawText()}");
        return v.EnumerateArray().Select(x => x.GetString()!).ToArray();
    }

    /// <summary>A shape: integers >= 0, with null or -1 for a dynamic dimension (returned as -1).</summary>
    public int[]? Shape(string field)
    {
        if (Get(field) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.Array) throw Error($"{field}: expected a list such as [null, 10, 6], got {v.GetRawText()}");
        var result = new List<int>();
        foreach (var x in v.EnumerateArray())
        {
            if (x.ValueKind == JsonValueKind.Null) { result.Add(ValueInfo.Dynamic); continue; }
            if (x.ValueKind != JsonValueKind.Number || !x.TryGetInt32(out int n) || n < -1)
                throw Error($"{field}: {x.GetRawText()} is not a dimension (an integer >= 0, or null/-1 for dynamic)");
            result.Add(n);
        }
        return result.ToArray();
    }

    /// <summary>The JSON kind of a field (Undefined when absent), for fields that take a string or a number, such as padding. Does not count as reading it.</summary>
    public JsonValueKind Kind(string field) => _e.ValueKind == JsonValueKind.Object && _e.TryGetProperty(field, out var v) ? v.ValueKind : JsonValueKind.Undefined;

    internal List<SpecObject>? Array(string field)
    {
        if (Get(field) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.Array) throw Error($"{field}: expected a list");
        var result = new List<SpecObject>();
        int i = 0;
        foreach (var x in v.EnumerateArray())
        {
            string path = $"{(Path.Length == 0 ? "" : Path + ".")}{field}[{i.ToString(CultureInfo.InvariantCulture)}]";
            if (x.ValueKind != JsonValueKind.Object) throw new EdgeException($"{Source}: {path}: expected an object, got {x.GetRawText()}");
            result.Add(new SpecObject(x, path, Source, i));
            i++;
        }
        return result;
    }

    /// <summary>Fields outside <paramref name="allowed"/> are a mistake (a typo, or a field of another kind).</summary>
    public void CheckFields(IEnumerable<string> allowed, string what)
    {
        var known = allowed.ToHashSet(StringComparer.Ordinal);
        if (_e.ValueKind != JsonValueKind.Object) return;
        var unknown = _e.EnumerateObject().Select(p => p.Name).Where(n => !known.Contains(n)).ToList();
        if (unknown.Count > 0)
            throw Error($"{unknown[0]}: unknown field for {what}{(unknown.Count > 1 ? $" (also: {string.Join(", ", unknown.Skip(1))})" : "")}; known fields: {string.Join(", ", known)}");
    }

    /// <summary>Every field that was never read is a mistake (a typo, or a field of another kind).</summary>
    public void CheckNoUnknownFields(string what)
    {
        if (_e.ValueKind != JsonValueKind.Object) return;
        var unknown = _e.EnumerateObject().Select(p => p.Name).Where(n => !_read.Contains(n)).ToList();
        if (unknown.Count > 0)
            throw Error($"{unknown[0]}: unknown field for {what}{(unknown.Count > 1 ? $" (also: {string.Join(", ", unknown.Skip(1))})" : "")}; known fields: {string.Join(", ", _read.Order(StringComparer.Ordinal))}");
    }
}
