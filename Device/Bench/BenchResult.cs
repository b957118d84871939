using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.Runtime;

namespace Edge.Device.Bench;

/// <summary>The model a result measured (schema: docs/benchmarks.md, "edge bench JSON").</summary>
public sealed record BenchModel(
    string File, string Name, long Bytes, string Sha256, string Precision, int Int8Weights,
    IReadOnlyList<(string Name, int[] Shape)> Inputs, int TimeSteps)
{
    public JsonObject ToJson()
    {
        var inputs = new JsonArray();
        foreach (var (name, shape) in Inputs)
            inputs.Add((JsonNode)new JsonObject { ["name"] = name, ["shape"] = new JsonArray(shape.Select(d => (JsonNode?)d).ToArray()) });
        return new JsonObject
        {
            ["file"] = File,
            ["name"] = Name,
            ["bytes"] = Bytes,
            ["sha256"] = Sha256,
            ["precision"] = Precision,
            ["int8_weights"] = Int8Weights,
            ["inputs"] = inputs,
            ["time_steps"] = TimeSteps,
        };
    }

    public static BenchModel FromJson(JsonNode? node, string where)
    {
        if (node is not JsonObject o) throw new EdgeException($"{where}: 'model' must be an object");
        var inputs = new List<(string, int[])>();
        if (o["inputs"] is JsonArray arr)
            foreach (var i in arr.OfType<JsonObject>())
                inputs.Add((BenchJson.Text(i, "name", where + ".inputs") ?? "?",
                    i["shape"] is JsonArray s ? s.Select(d => d is JsonValue v && v.TryGetValue(out int x) ? x : -1).ToArray() : []));
        return new BenchModel(
            BenchJson.Text(o, "file", where + ".model") ?? "?",
            BenchJson.Text(o, "name", where + ".model") ?? "?",
            (long)(BenchJson.OptionalNumber(o, "bytes") ?? 0),
            BenchJson.Text(o, "sha256", where + ".model") ?? "",
            BenchJson.Text(o, "precision", where + ".model") ?? "?",
            (int)(BenchJson.OptionalNumber(o, "int8_weights") ?? 0),
            inputs,
            (int)(BenchJson.OptionalNumber(o, "time_steps") ?? 1));
    }
}

/// <summary>One ISA path's measurements.</summary>
public sealed record BenchRun
{
    /// <summary>The kernel path (EDGE_ISA spelling).</summary>
    public required string Isa { get; init; }
    /// <summary>Whether this is the path a session picks by itself on this CPU (the widest supported).</summary>
    public required bool Best { get; init; }
    /// <summary>What executed the matrix products: see <see cref="BenchSessions.Execution"/>.</summary>
    public required string Execution { get; init; }
    public required double SessionMs { get; init; }
    /// <summary>One runner Invoke at batch 1: a streaming step (one forecast over the window for window models).</summary>
    public required LatencyStats Step { get; init; }
    /// <summary>Invoke time at <see cref="Batch"/> divided by the batch: the cost of one forecast.</summary>
    public required LatencyStats Forecast { get; init; }
    public required int Batch { get; init; }
    /// <summary>Forecasts per second at <see cref="Batch"/> (batch · invokes / total measured time).</summary>
    public required double ThroughputPerSecond { get; init; }
    /// <summary>GC.GetAllocatedBytesForCurrentThread over the measured batch-1 steps, per step (0 is the target).</summary>
    public required double AllocatedBytesPerStep { get; init; }

    /// <summary>The device loop (<see cref="Edge.Runtime.Streaming.ForecastStream"/> pushes), or null when the model does not stream.</summary>
    public StreamBench? Stream { get; init; }

    public JsonObject ToJson() => new()
    {
        ["isa"] = Isa,
        ["best"] = Best,
        ["execution"] = Execution,
        ["session_ms"] = LatencyStats.Round(SessionMs),
        ["step"] = Step.ToJson(),
        ["forecast"] = Forecast.ToJson(),
        ["batch"] = Batch,
        ["throughput_per_s"] = Math.Round(ThroughputPerSecond, 1),
        ["allocated_bytes_per_step"] = Math.Round(AllocatedBytesPerStep, 2),
        ["stream"] = Stream?.ToJson(),
    };

    public static BenchRun FromJson(JsonNode? node, string where)
    {
        if (node is not JsonObject o) throw new EdgeException($"{where}: each run must be an object");
        return new BenchRun
        {
            Isa = BenchJson.Text(o, "isa", where) ?? throw new EdgeException($"{where}: 'isa' is missing"),
            Best = o["best"] is JsonValue b && b.TryGetValue(out bool best) && best,
            Execution = BenchJson.Text(o, "execution", where) ?? "unknown",
            SessionMs = BenchJson.OptionalNumber(o, "session_ms") ?? double.NaN,
            Step = LatencyStats.FromJson(o["step"], where + ".step"),
            Forecast = o["forecast"] is null ? LatencyStats.FromJson(o["step"], where + ".step") : LatencyStats.FromJson(o["forecast"], where + ".forecast"),
            Batch = (int)(BenchJson.OptionalNumber(o, "batch") ?? 1),
            ThroughputPerSecond = BenchJson.Number(o, "throughput_per_s", where),
            AllocatedBytesPerStep = BenchJson.OptionalNumber(o, "allocated_bytes_per_step") ?? double.NaN,
            Stream = o["stream"] is JsonObject st ? StreamBench.FromJson(st, where + ".stream") : null,
        };
    }
}

/// <summary>A <see cref="Edge.Runtime.Streaming.ForecastStream"/> measured push by push (one forecast per sample once the window is full).</summary>
public sealed record StreamBench(string Style, bool CachesInputProjections, int Window, LatencyStats Push, double AllocatedBytesPerPush)
{
    public JsonObject ToJson() => new()
    {
        ["style"] = Style,
        ["caches_input_projections"] = CachesInputProjections,
        ["window"] = Window,
        ["push"] = Push.ToJson(),
        ["allocated_bytes_per_push"] = Math.Round(AllocatedBytesPerPush, 2),
    };

    public static StreamBench FromJson(JsonObject o, string where) => new(
        BenchJson.Text(o, "style", where) ?? "?",
        o["caches_input_projections"] is JsonValue v && v.TryGetValue(out bool c) && c,
        (int)(BenchJson.OptionalNumber(o, "window") ?? 0),
        LatencyStats.FromJson(o["push"], where + ".push"),
        BenchJson.OptionalNumber(o, "allocated_bytes_per_push") ?? double.NaN);
}

/// <summary>One `edge bench` result file.</summary>
public sealed record BenchResult
{
    public const string SchemaId = "edge-bench/1";

    public required string CreatedUtc { get; init; }
    public required string Command { get; init; }
    public required BenchModel Model { get; init; }
    public required int Steps { get; init; }
    public required int Warmup { get; init; }
    public required int Batch { get; init; }
    public required string IsaRequested { get; init; }
    /// <summary>The machine as JSON (<see cref="MachineInfo.ToJson"/>); kept as read so unknown fields survive a compare.</summary>
    public required JsonObject Machine { get; init; }
    public required IReadOnlyList<BenchRun> Runs { get; init; }
    public required long? PeakRssBytes { get; init; }
    public required IReadOnlyList<string> Notes { get; init; }

    public string CpuModel => BenchJson.Text(Machine, "cpu_model", "machine") ?? "unknown";
    public string Emulated => BenchJson.Text(Machine, "emulated", "machine") ?? "unknown";

    public JsonObject ToJson() => new()
    {
        ["schema"] = SchemaId,
        ["created_utc"] = CreatedUtc,
        ["command"] = Command,
        ["model"] = Model.ToJson(),
        ["settings"] = new JsonObject { ["steps"] = Steps, ["warmup"] = Warmup, ["batch"] = Batch, ["isa"] = IsaRequested },
        ["machine"] = Machine.DeepClone(),
        ["runs"] = new JsonArray(Runs.Select(r => (JsonNode?)r.ToJson()).ToArray()),
        ["peak_rss_bytes"] = PeakRssBytes,
        ["notes"] = new JsonArray(Notes.Select(n => (JsonNode?)n).ToArray()),
    };

    public string ToJsonText() => ToJson().ToJsonString(BenchJson.Indented) + "\n";

    /// <summary>Reads a result file; an <see cref="EdgeException"/> naming the file and field when it is not one.</summary>
    public static BenchResult Load(string path)
    {
        if (!File.Exists(path)) throw new EdgeException($"{path}: no such file");
        JsonNode? root;
        try { root = JsonNode.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new EdgeException($"{path}: not JSON ({e.Message})"); }
        return FromJson(root, path);
    }

    public static BenchResult FromJson(JsonNode? root, string where)
    {
        if (root is not JsonObject o) throw new EdgeException($"{where}: not an edge bench result (expected a JSON object)");
        var schema = BenchJson.Text(o, "schema", where);
        if (schema != SchemaId) throw new EdgeException($"{where}: not an edge bench result (schema is {(schema is null ? "missing" : $"'{schema}'")}, expected '{SchemaId}')");
        if (o["runs"] is not JsonArray runs || runs.Count == 0) throw new EdgeException($"{where}: 'runs' is missing or empty");
        var settings = o["settings"] as JsonObject ?? [];
        return new BenchResult
        {
            CreatedUtc = BenchJson.Text(o, "created_utc", where) ?? "",
            Command = BenchJson.Text(o, "command", where) ?? "",
            Model = BenchModel.FromJson(o["model"], where),
            Steps = (int)(BenchJson.OptionalNumber(settings, "steps") ?? 0),
            Warmup = (int)(BenchJson.OptionalNumber(settings, "warmup") ?? 0),
            Batch = (int)(BenchJson.OptionalNumber(settings, "batch") ?? 1),
            IsaRequested = BenchJson.Text(settings, "isa", where) ?? "",
            Machine = o["machine"] is JsonObject m ? (JsonObject)m.DeepClone() : [],
            Runs = runs.Select((r, i) => BenchRun.FromJson(r, $"{where}: runs[{i}]")).ToList(),
            PeakRssBytes = (long?)BenchJson.OptionalNumber(o, "peak_rss_bytes"),
            Notes = o["notes"] is JsonArray n ? n.Select(x => x?.ToString() ?? "").ToList() : [],
        };
    }
}

/// <summary>Small JSON helpers (JsonNode only: no reflection, NativeAOT-clean).</summary>
public static class BenchJson
{
    public static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static double Number(JsonObject o, string key, string where) =>
        OptionalNumber(o, key) ?? throw new EdgeException($"{where}: '{key}' is missing or not a number");

    public static double? OptionalNumber(JsonObject o, string key)
    {
        if (o[key] is not JsonValue v) return null;
        if (v.TryGetValue(out double d)) return d;
        if (v.TryGetValue(out long l)) return l;
        if (v.TryGetValue(out int i)) return i;
        if (v.TryGetValue(out JsonElement e) && e.ValueKind == JsonValueKind.Number) return e.GetDouble();
        return null;
    }

    public static string? Text(JsonObject o, string key, string where)
    {
        var n = o[key];
        if (n is null) return null;
        if (n is JsonValue v && v.TryGetValue(out string? s)) return s;
        if (n is JsonValue e && e.TryGetValue(out JsonElement el) && el.ValueKind == JsonValueKind.String) return el.GetString();
        throw new EdgeException($"{where}: '{key}' must be a string");
    }

    public static string Format(double v, string format = "0.00") =>
        double.IsNaN(v) ? "-" : v.ToString(format, CultureInfo.InvariantCulture);
}
