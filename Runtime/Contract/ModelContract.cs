using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.Runtime.Ir;
using Edge.Runtime.Streaming;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Contract;

/// <summary>One input feature of a model: its name and, optionally, its unit.</summary>
public sealed record ContractFeature(string Name, string? Unit);

/// <summary>
/// The bounds the contract enforces (docs/config.md, "Limits"): far beyond any real model, small enough that
/// the arithmetic built on them (window x features, horizon x features, a period as a TimeSpan) cannot
/// overflow and a forecast cannot take effectively forever.
/// </summary>
public static class ContractLimits
{
    /// <summary>Most input (or target) features a contract may declare.</summary>
    public const int MaxFeatures = 65_536;

    /// <summary>Longest window, in samples.</summary>
    public const int MaxWindow = 1_000_000;

    /// <summary>Longest horizon, in forecast steps.</summary>
    public const int MaxHorizon = 10_000;

    /// <summary>1 microsecond: ten TimeSpan ticks, so a period never rounds to zero.</summary>
    public const double MinSamplePeriodSeconds = 1e-6;

    /// <summary>366 days.</summary>
    public const double MaxSamplePeriodSeconds = 366 * 86_400.0;
}

/// <summary>
/// What a blob's metadata says about its model, parsed and validated in one place for every reader (the
/// quantizer's `--metadata`, calibration and evaluation; the stream; `edge run`). Keys and forms are
/// documented in docs/config.md; every key is optional here, and a reader decides what it needs.
/// Absent keys are null. Numbers may be JSON numbers or numeric strings.
/// </summary>
public sealed class ModelContract
{
    /// <summary>The keys the contract reads, with their aliases.</summary>
    internal static IReadOnlyList<string> ContractKeys { get; } =
        ["features", "targets", "normalization", "sample_period_s", "sample_period_seconds", "window", "window_length", "horizon", "task", "state"];

    /// <summary>Keys a user's metadata may carry for people (stored, never interpreted).</summary>
    internal static IReadOnlyList<string> DescriptiveKeys { get; } =
        ["name", "description", "notes", "author", "license", "version", "model", "source", "split", "training", "holdout", "data_stats"];

    private static readonly string[] FeatureKeys = ["name", "unit", "min", "max", "mean", "std", "description"];
    private static readonly string[] NormalizationKeys = ["kind", "type", "min", "max", "data_min", "data_max", "mean", "std", "scale", "formula", "fitted_on", "note", "description"];

    private ModelContract() { }

    /// <summary>Input features in input order; null when the metadata has no "features".</summary>
    public IReadOnlyList<ContractFeature>? Features { get; private init; }

    /// <summary>Names of the forecast features in output order; null: every feature.</summary>
    public IReadOnlyList<string>? Targets { get; private init; }

    /// <summary>
    /// Null when the metadata says nothing about normalization; <see cref="NormalizationKind.None"/> when it says "none"
    /// (with 0 features when neither it nor "features" says how many: <see cref="Normalization.ForFeatures"/>).
    /// </summary>
    public Normalization? Normalization { get; private init; }

    /// <summary>Time between two samples the model was trained on, in seconds ("sample_period"), or null.</summary>
    public double? SamplePeriodSeconds { get; private init; }

    /// <summary><see cref="SamplePeriodSeconds"/> as a <see cref="TimeSpan"/>, or null.</summary>
    public TimeSpan? SamplePeriod => SamplePeriodSeconds is { } s ? TimeSpan.FromSeconds(s) : null;

    /// <summary>Samples per model input (the window length, in samples), or null.</summary>
    public int? Window { get; private init; }

    /// <summary>Forecast steps wanted per forecast, or null (the model's own output steps).</summary>
    public int? Horizon { get; private init; }

    /// <summary>forecaster | classifier | dual_encoder | generic (synonyms mapped), or null.</summary>
    public string? Task { get; private init; }

    /// <summary>Stateful models: state input -> output pairs; null when absent.</summary>
    public IReadOnlyList<StatePair>? State { get; private init; }

    /// <summary>
    /// Parses <paramref name="metadata"/>. With <paramref name="strict"/> (a user's `--metadata` file), a key
    /// that is neither a contract key, a descriptive key nor one of <paramref name="otherKnownKeys"/> is an
    /// error that names it and the known keys; otherwise (a blob, which also holds Edge's own keys) unknown
    /// keys are ignored. Every message starts with <paramref name="origin"/>.
    /// </summary>
    public static ModelContract Parse(JsonObject metadata, string origin = "metadata", bool strict = false, IReadOnlyList<string>? otherKnownKeys = null)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        if (strict)
        {
            var known = ContractKeys.Concat(DescriptiveKeys).Concat(otherKnownKeys ?? []).ToList();
            var unknown = metadata.Select(kv => kv.Key).Where(k => !known.Contains(k, StringComparer.Ordinal)).ToList();
            if (unknown.Count > 0)
                throw new EdgeException($"{origin}: unknown key{(unknown.Count > 1 ? "s" : "")} {string.Join(", ", unknown.Select(k => $"'{Clip(k)}'"))}; known keys: {string.Join(", ", ContractKeys)} (and descriptive: {string.Join(", ", DescriptiveKeys)})");
        }

        JsonArray? featureNodes = null;
        List<ContractFeature>? features = null;
        if (metadata["features"] is JsonNode fnode)
        {
            featureNodes = fnode as JsonArray ?? throw new EdgeException($"{origin}: \"features\" must be a list of names or {{\"name\", \"unit\"}} objects");
            if (featureNodes.Count == 0) throw new EdgeException($"{origin}: \"features\" is empty");
            if (featureNodes.Count > ContractLimits.MaxFeatures) throw new EdgeException($"{origin}: \"features\" lists {featureNodes.Count} features; at most {ContractLimits.MaxFeatures}");
            features = featureNodes.Select((n, i) => ParseFeature(n, i, origin, strict)).ToList();
            var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var f in features)
                if (!seen.Add(f.Name)) throw new EdgeException($"{origin}: feature '{Clip(f.Name)}' is listed twice in \"features\"");
        }

        List<string>? targets = null;
        if (metadata["targets"] is JsonNode tnode)
        {
            if (tnode is not JsonArray ta || ta.Count == 0) throw new EdgeException($"{origin}: \"targets\" must be a non-empty list of feature names");
            targets = ta.Select((n, i) => Str(n, $"targets[{i}]", origin)).ToList();
            if (targets.Distinct(StringComparer.OrdinalIgnoreCase).Count() != targets.Count)
                throw new EdgeException($"{origin}: \"targets\" names a feature twice ({string.Join(", ", targets)})");
            if (features is not null) _ = TargetIndices(targets, features, origin);
        }

        Normalization? normalization = null;
        if (metadata["normalization"] is JsonNode nnode)
        {
            if (nnode is not JsonObject no) throw new EdgeException($"{origin}: \"normalization\" must be an object such as {{\"kind\": \"minmax\", \"min\": [...], \"max\": [...]}}");
            normalization = ParseNormalization(no, featureNodes, features?.Count, origin, strict);
        }
        else if (featureNodes is not null && featureNodes.OfType<JsonObject>().Any(o => o["min"] is not null || o["mean"] is not null))
            normalization = ParseNormalization(new JsonObject(), featureNodes, features!.Count, origin, strict);

        double? period = Agree(origin, "sample_period_s", PositiveNumber(metadata, "sample_period_s", origin), "sample_period_seconds", PositiveNumber(metadata, "sample_period_seconds", origin));
        if (period is { } p && !(p >= ContractLimits.MinSamplePeriodSeconds && p <= ContractLimits.MaxSamplePeriodSeconds))
            throw new EdgeException(string.Create(CultureInfo.InvariantCulture,
                $"{origin}: sample period {p:G6} s is outside [{ContractLimits.MinSamplePeriodSeconds:G}, {ContractLimits.MaxSamplePeriodSeconds:G}] s (1 microsecond .. 366 days)"));
        int? window = Agree(origin, "window", Count(metadata, "window", ContractLimits.MaxWindow, origin), "window_length", Count(metadata, "window_length", ContractLimits.MaxWindow, origin));
        int? horizon = Count(metadata, "horizon", ContractLimits.MaxHorizon, origin);

        string? task = metadata["task"] is JsonNode tk ? CanonicalTask(Str(tk, "task", origin), origin) : null;

        List<StatePair>? state = null;
        if (metadata["state"] is JsonNode snode)
        {
            if (snode is not JsonArray sa) throw new EdgeException($"{origin}: \"state\" must be a list of {{\"input\": NAME, \"output\": NAME}}");
            state = [];
            for (int k = 0; k < sa.Count; k++)
            {
                if (sa[k] is not JsonObject so || so["input"] is not JsonNode iv || so["output"] is not JsonNode ov)
                    throw new EdgeException($"{origin}: state[{k}] must be {{\"input\": NAME, \"output\": NAME}}");
                state.Add(new StatePair(Str(iv, $"state[{k}].input", origin), Str(ov, $"state[{k}].output", origin)));
            }
        }

        return new ModelContract
        {
            Features = features,
            Targets = targets,
            Normalization = normalization,
            SamplePeriodSeconds = period,
            Window = window,
            Horizon = horizon,
            Task = task,
            State = state,
        };
    }

    /// <summary>The index into <paramref name="features"/> of each target name (case-insensitive), in target order.</summary>
    internal static int[] TargetIndices(IReadOnlyList<string> targets, IReadOnlyList<ContractFeature> features, string origin = "metadata")
    {
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(features);
        return targets.Select(n =>
        {
            for (int i = 0; i < features.Count; i++)
                if (string.Equals(features[i].Name, n, StringComparison.OrdinalIgnoreCase)) return i;
            throw new EdgeException($"{origin}: target '{Clip(n)}' is not one of the features ({string.Join(", ", features.Select(x => x.Name))})");
        }).ToArray();
    }

    /// <summary>This contract's target indices: every feature in order when "targets" is absent.</summary>
    public int[] TargetIndices(int featureCount, string origin = "metadata")
    {
        if (Targets is null) return Enumerable.Range(0, featureCount).ToArray();
        if (Features is null) throw new EdgeException($"{origin}: \"targets\" names features, but there is no \"features\" list to find them in");
        return TargetIndices(Targets, Features, origin);
    }

    /// <summary>
    /// Checks the contract against the graph it will be stored with (`convert --metadata`): the feature count and
    /// the normalization's length against the sample input's last axis, the window against its time axis, targets
    /// without features, state pairs against the graph's inputs and outputs, and the forecast output's length
    /// against whole steps of the targets.
    /// </summary>
    internal void CheckAgainst(Graph graph, string origin)
    {
        ArgumentNullException.ThrowIfNull(graph);
        foreach (var p in State ?? [])
        {
            if (!graph.Inputs.Any(i => i.Name == p.Input)) throw new EdgeException($"{origin}: state input '{Clip(p.Input)}' is not an input of the model ({string.Join(", ", graph.Inputs.Select(i => i.Name))})");
            if (!graph.Outputs.Any(o => o.Name == p.Output)) throw new EdgeException($"{origin}: state output '{Clip(p.Output)}' is not an output of the model ({string.Join(", ", graph.Outputs.Select(o => o.Name))})");
        }
        if (Targets is not null && Features is null)
            throw new EdgeException($"{origin}: \"targets\" names features, but there is no \"features\" list to find them in");
        var sampleInputs = graph.Inputs.Where(i => !(State ?? []).Any(p => p.Input == i.Name)).ToList();
        if (sampleInputs.Count != 1 || sampleInputs[0].DataType != DataType.Float32) return; // not a sample stream: nothing to compare
        var input = sampleInputs[0];
        int? statistics = Normalization is { Features: > 0 } n ? n.Features : null;
        int? features = Features?.Count ?? statistics;
        string what = Features is not null ? $"\"features\" lists {Features.Count}" : $"\"normalization\" has {statistics} values per statistic";
        if (Features is not null && statistics is not null && statistics != Features.Count)
            throw new EdgeException($"{origin}: \"normalization\" has {statistics} values per statistic but \"features\" lists {Features.Count}");
        var s = input.Shape;
        if (features is { } f)
        {
            if (s.Length == 3 && s[2] > 0 && s[2] != f)
                throw new EdgeException($"{origin}: {what} feature(s), but input '{input.Name}' {input.ShapeString} takes {s[2]} per sample (its last axis)");
            if (s.Length == 2 && s[1] > 0 && s[1] % f != 0)
                throw new EdgeException($"{origin}: {what} feature(s), but input '{input.Name}' {input.ShapeString} does not hold whole samples of {f}");
        }
        if (Window is { } w && s.Length == 3 && s[1] > 0 && s[1] != w)
            throw new EdgeException($"{origin}: \"window\" is {w}, but input '{input.Name}' {input.ShapeString} takes windows of {s[1]} samples");

        int? targetCount = Targets?.Count ?? features;
        var outputs = graph.Outputs.Where(o => !(State ?? []).Any(p => p.Output == o.Name)).ToList();
        if (targetCount is { } t && outputs.Count == 1 && outputs[0].DataType == DataType.Float32 && outputs[0].Shape.Length >= 2 && outputs[0].Shape.Skip(1).All(d => d > 0))
        {
            long perSample = outputs[0].Shape.Skip(1).Aggregate(1L, (a, d) => a * d);
            if (perSample % t != 0)
                throw new EdgeException($"{origin}: the model forecasts {t} feature(s) per step ({(Targets is null ? "every feature" : "\"targets\"")}), but output '{outputs[0].Name}' {outputs[0].ShapeString} holds {perSample} values per sample, not whole steps of {t}");
        }
    }

    /// <summary>
    /// {"kind": "minmax", "min": [...], "max": [...]} (aliases data_min, data_max), {"kind": "standard", "mean": [...],
    /// "std": [...]} (alias scale) or {"kind": "none"}; "type" for "kind"; the statistics may instead sit on each
    /// feature object. Without a kind, the statistics present decide. <paramref name="features"/>: the count the
    /// statistics must have, when known.
    /// </summary>
    internal static Normalization ParseNormalization(JsonObject o, JsonArray? featureNodes, int? features, string origin, bool strict = false)
    {
        ArgumentNullException.ThrowIfNull(o);
        if (strict)
        {
            var unknown = o.Select(kv => kv.Key).Where(k => !NormalizationKeys.Contains(k, StringComparer.Ordinal)).ToList();
            if (unknown.Count > 0)
                throw new EdgeException($"{origin}: unknown key{(unknown.Count > 1 ? "s" : "")} {string.Join(", ", unknown.Select(k => $"'normalization.{Clip(k)}'"))}; known: {string.Join(", ", NormalizationKeys)}");
        }
        string kind = (o["kind"] ?? o["type"]) is JsonNode k ? Str(k, "normalization.kind", origin).ToLowerInvariant() : "";
        int? count = features;
        float[]? Stat(params string[] names)
        {
            foreach (var name in names)
            {
                if (o[name] is null) continue;
                if (o[name] is not JsonArray a) throw new EdgeException($"{origin}: normalization.{name} must be a list of numbers, one per feature");
                if (count is { } c && a.Count != c) throw new EdgeException($"{origin}: normalization.{name} has {a.Count} value(s) but there are {c} features");
                if (a.Count == 0) throw new EdgeException($"{origin}: normalization.{name} is empty");
                count = a.Count;
                return a.Select((x, i) => Finite(x, $"normalization.{name}[{i}]", origin)).ToArray();
            }
            if (featureNodes is not null && featureNodes.All(n => n is JsonObject fo && fo[names[0]] is not null))
            {
                if (count is { } c && featureNodes.Count != c) throw new EdgeException($"{origin}: features carry {featureNodes.Count} \"{names[0]}\" values but there are {c} features");
                count = featureNodes.Count;
                return featureNodes.Select((n, i) => Finite(((JsonObject)n!)[names[0]], $"features[{i}].{names[0]}", origin)).ToArray();
            }
            return null;
        }
        if (kind.Length == 0) kind = Stat("min", "data_min") is not null ? "minmax" : Stat("mean") is not null ? "standard" : "none";
        switch (kind)
        {
            case "minmax" or "min_max" or "min-max":
            {
                var min = Stat("min", "data_min") ?? throw new EdgeException($"{origin}: minmax normalization needs \"min\" (one value per feature)");
                var max = Stat("max", "data_max") ?? throw new EdgeException($"{origin}: minmax normalization needs \"max\" (one value per feature)");
                for (int i = 0; i < min.Length; i++)
                    if (max[i] < min[i]) throw new EdgeException(string.Create(CultureInfo.InvariantCulture, $"{origin}: normalization max[{i}] = {max[i]} is below min[{i}] = {min[i]}"));
                return Normalization.MinMax(min, max);
            }
            case "standard" or "zscore" or "meanstd":
            {
                var mean = Stat("mean") ?? throw new EdgeException($"{origin}: standard normalization needs \"mean\" (one value per feature)");
                var std = Stat("std", "scale") ?? throw new EdgeException($"{origin}: standard normalization needs \"std\" (one value per feature)");
                for (int i = 0; i < std.Length; i++)
                    if (std[i] < 0) throw new EdgeException(string.Create(CultureInfo.InvariantCulture, $"{origin}: normalization std[{i}] = {std[i]} is negative"));
                return Normalization.Standard(mean, std);
            }
            case "none" or "identity":
                return Normalization.Identity(count ?? featureNodes?.Count ?? 0); // 0: as many features as the model has
            default:
                throw new EdgeException($"{origin}: normalization kind '{Clip(kind)}' is not one of minmax, standard, none");
        }
    }

    /// <summary>forecaster | classifier | dual_encoder | generic, from the accepted synonyms.</summary>
    internal static string CanonicalTask(string task, string origin = "metadata")
    {
        ArgumentNullException.ThrowIfNull(task);
        return task.ToLowerInvariant() switch
        {
            "forecaster" or "forecast" or "forecasting" or "regression" => "forecaster",
            "classifier" or "classification" or "language_model" or "sequence_classification" => "classifier",
            "dual_encoder" or "dual-encoder" or "ranking" or "retrieval" => "dual_encoder",
            "generic" => "generic",
            _ => throw new EdgeException($"{origin}: \"task\" '{Clip(task)}' is not one of forecaster, classifier, dual_encoder, generic"),
        };
    }

    private static ContractFeature ParseFeature(JsonNode? n, int i, string origin, bool strict)
    {
        switch (n)
        {
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                string s = v.GetValue<string>();
                return s.Trim().Length > 0 ? new ContractFeature(s, null) : throw new EdgeException($"{origin}: features[{i}] is an empty name");
            case JsonObject o:
                if (strict && o.Select(kv => kv.Key).FirstOrDefault(k => !FeatureKeys.Contains(k, StringComparer.Ordinal)) is { } bad)
                    throw new EdgeException($"{origin}: unknown key 'features[{i}].{Clip(bad)}'; known: {string.Join(", ", FeatureKeys)}");
                string name = o["name"] is JsonNode nm ? Str(nm, $"features[{i}].name", origin) : throw new EdgeException($"{origin}: features[{i}] has no \"name\"");
                if (name.Trim().Length == 0) throw new EdgeException($"{origin}: features[{i}].name is empty");
                return new ContractFeature(name, o["unit"] is JsonNode u && u.GetValueKind() != JsonValueKind.Null ? Str(u, $"features[{i}].unit", origin) : null);
            default:
                throw new EdgeException($"{origin}: features[{i}] must be a name or {{\"name\", \"unit\"}}");
        }
    }

    private static T? Agree<T>(string origin, string a, T? va, string b, T? vb) where T : struct, IEquatable<T>
    {
        if (va is { } x && vb is { } y && !x.Equals(y))
            throw new EdgeException(string.Create(CultureInfo.InvariantCulture, $"{origin}: \"{a}\" ({x}) and its alias \"{b}\" ({y}) disagree"));
        return va ?? vb;
    }

    private static string Str(JsonNode? n, string what, string origin) =>
        n is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : throw new EdgeException($"{origin}: {what} must be a string, got {Show(n)}");

    /// <summary>A JSON number or a numeric string; null for an absent key or JSON null.</summary>
    private static double? Number(JsonNode? n, string what, string origin)
    {
        if (n is null) return null;
        if (n is JsonValue v)
        {
            switch (v.GetValueKind())
            {
                case JsonValueKind.Number: // whatever CLR type backs the node (a config's float, a parsed document's number)
                    return double.Parse(v.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture);
                case JsonValueKind.String when double.TryParse(v.GetValue<string>(), NumberStyles.Float, CultureInfo.InvariantCulture, out double d):
                    return d;
                case JsonValueKind.Null:
                    return null;
            }
        }
        throw new EdgeException($"{origin}: {what} must be a number, got {Show(n)}");
    }

    private static float Finite(JsonNode? n, string what, string origin)
    {
        double d = Number(n, what, origin) ?? throw new EdgeException($"{origin}: {what} is null");
        float f = (float)d;
        return float.IsFinite(f) ? f : throw new EdgeException($"{origin}: {what} = {Show(n)} is not a finite float32");
    }

    private static double? PositiveNumber(JsonObject meta, string key, string origin)
    {
        double? d = Number(meta[key], $"\"{key}\"", origin);
        if (d is { } x && !(x > 0 && double.IsFinite(x))) throw new EdgeException($"{origin}: \"{key}\" must be a positive number of seconds, got {Show(meta[key])}");
        return d;
    }

    private static int? Count(JsonObject meta, string key, int max, string origin)
    {
        double? d = Number(meta[key], $"\"{key}\"", origin);
        if (d is not { } x) return null;
        if (!(x >= 1 && x <= max && x == Math.Floor(x)))
            throw new EdgeException(string.Create(CultureInfo.InvariantCulture, $"{origin}: \"{key}\" must be a whole number from 1 to {max:N0}, got {Show(meta[key])}"));
        return (int)x;
    }

    private static string Show(JsonNode? n) => n is null ? "null" : Clip(n.ToJsonString());

    private static string Clip(string s)
    {
        var clean = new string(s.Select(c => char.IsControl(c) ? '?' : c).ToArray());
        return clean.Length <= 60 ? clean : clean[..60] + "...";
    }
}
