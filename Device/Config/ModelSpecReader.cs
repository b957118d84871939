using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.Device.Pipeline;
using Edge.Runtime;
using Edge.Runtime.Ir;

namespace Edge.Device.Config;

/// <summary>
/// Builds the <see cref="ModelSpec"/> from the blob's metadata keys (docs/config.md: "features",
/// "targets", "normalization", "sample_period_s", "window", "horizon"), falling back to the config
/// file where the blob lacks a key, and finally to what the graph's input shape says.
/// </summary>
public static class ModelSpecReader
{
    public sealed record Result(ModelSpec Spec, int? MetadataHorizon, IReadOnlyList<string> Notes);

    public static Result Read(EdgeModel model, RunConfig config)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(config);
        var meta = model.Metadata;
        var notes = new List<string>();
        var input = PickInput(model.Graph, config.Input);

        // features
        List<Feature>? features = null;
        JsonArray? featureNodes = meta["features"] as JsonArray;
        if (featureNodes is not null) features = featureNodes.Select((n, i) => ParseFeature(n, i)).ToList();
        else if (config.Features is { Count: > 0 })
        {
            features = config.Features.Select(f => new Feature(f.Name, f.Unit)).ToList();
            notes.Add("features from the config (the blob has none)");
        }
        else
        {
            int count = InferFeatureCount(input)
                ?? throw new EdgeException($"the model's input {input} does not say how many features it takes and neither the blob nor the config lists \"features\"");
            features = Enumerable.Range(0, count).Select(i => new Feature($"x{i}", null)).ToList();
            notes.Add($"features unnamed (x0..x{count - 1}): neither the blob nor the config lists \"features\"");
        }
        if (features.Count == 0) throw new EdgeException("\"features\" is empty");
        var dup = features.GroupBy(f => f.Name, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new EdgeException($"feature '{dup.Key}' is listed twice");
        int f = features.Count;

        // targets
        IReadOnlyList<string>? targetNames = meta["targets"] is JsonArray ta ? ta.Select(n => Str(n, "targets")).ToList() : config.Targets;
        var targets = targetNames is null
            ? Enumerable.Range(0, f).ToArray()
            : targetNames.Select(n =>
            {
                int i = features.FindIndex(x => string.Equals(x.Name, n, StringComparison.OrdinalIgnoreCase));
                return i >= 0 ? i : throw new EdgeException($"target '{n}' is not one of the features ({string.Join(", ", features.Select(x => x.Name))})");
            }).ToArray();

        // normalization
        Normalizer normalizer;
        if (meta["normalization"] is JsonObject norm) normalizer = ParseNormalization(norm, featureNodes, f, "blob metadata");
        else if (featureNodes is not null && featureNodes.OfType<JsonObject>().Any(o => o["min"] is not null || o["mean"] is not null))
            normalizer = ParseNormalization(new JsonObject(), featureNodes, f, "blob metadata");
        else if (config.Normalization is { } cn)
        {
            normalizer = FromConfig(cn, f);
            notes.Add($"normalization ({normalizer.Kind}) from the config (the blob has none)");
        }
        else
        {
            normalizer = Normalizer.Identity(f);
            notes.Add("no normalization: neither the blob nor the config has \"normalization\"; values go to the model as they are");
        }

        // period
        // "sample_period_seconds" / "window_length" are accepted as aliases (tools/train_forecaster.py's meta.json).
        double? periodS = Number(meta["sample_period_s"], "sample_period_s") ?? Number(meta["sample_period_seconds"], "sample_period_seconds");
        if (periodS is null && (config.SamplePeriodS ?? config.Source?.PeriodS) is { } cp)
        {
            periodS = cp;
            notes.Add("sample period from the config (the blob has none)");
        }
        if (periodS is { } ps && !(ps > 0 && double.IsFinite(ps))) throw new EdgeException($"sample_period_s must be a positive number of seconds, got {ps}");

        // window
        int? window = (int?)(Number(meta["window"], "window") ?? Number(meta["window_length"], "window_length"));
        if (window is null && config.Window is { } cw)
        {
            window = cw;
            notes.Add("window from the config (the blob has none)");
        }
        window ??= InferWindow(input, f);
        if (window is null)
        {
            window = 1;
            notes.Add("window 1: neither the blob, the config nor the input shape gives one");
        }
        int? metaHorizon = (int?)Number(meta["horizon"], "horizon");

        try
        {
            var spec = new ModelSpec(features, targets, normalizer, periodS is { } p ? TimeSpan.FromSeconds(p) : null, window.Value);
            return new Result(spec, metaHorizon, notes);
        }
        catch (ArgumentException e)
        {
            throw new EdgeException(e.Message, e);
        }
    }

    private static ValueInfo PickInput(Graph graph, string? name)
    {
        if (name is not null) return graph.Inputs.FirstOrDefault(i => i.Name == name) ?? throw new EdgeException($"the model has no input '{name}'");
        return graph.Inputs.Count == 1 ? graph.Inputs[0] : throw new EdgeException($"the model has {graph.Inputs.Count} inputs; name one with \"input\" in the config");
    }

    private static int? InferFeatureCount(ValueInfo input) => input.Shape.Length switch
    {
        3 when input.Shape[2] > 0 => input.Shape[2],
        2 when input.Shape[0] != 1 && input.Shape[0] >= 0 && input.Shape[1] > 0 => input.Shape[1], // (time, features)
        _ => null,
    };

    private static int? InferWindow(ValueInfo input, int features) => input.Shape.Length switch
    {
        3 when input.Shape[1] > 0 => input.Shape[1],
        2 when input.Shape[1] > 0 && (input.Shape[0] < 0 || input.Shape[0] == 1) && input.Shape[1] % features == 0 => input.Shape[1] / features,
        2 when input.Shape[0] > 0 => input.Shape[0],
        _ => null,
    };

    private static Feature ParseFeature(JsonNode? n, int i) => n switch
    {
        JsonValue v when v.GetValueKind() == JsonValueKind.String => new Feature(v.GetValue<string>(), null),
        JsonObject o => new Feature(
            o["name"] is JsonNode name ? Str(name, $"features[{i}].name") : throw new EdgeException($"metadata features[{i}] has no \"name\""),
            o["unit"] is JsonNode unit ? Str(unit, $"features[{i}].unit") : null),
        _ => throw new EdgeException($"metadata features[{i}] must be a name or {{\"name\", \"unit\"}}"),
    };

    private static Normalizer FromConfig(NormalizationConfig c, int f)
    {
        var o = new JsonObject { ["kind"] = c.Kind };
        if (c.Min is not null) o["min"] = Array(c.Min);
        if (c.Max is not null) o["max"] = Array(c.Max);
        if (c.Mean is not null) o["mean"] = Array(c.Mean);
        if (c.Std is not null) o["std"] = Array(c.Std);
        return ParseNormalization(o, null, f, "config");
    }

    private static JsonArray Array(float[] v) => new(v.Select(x => (JsonNode?)JsonValue.Create((double)x)).ToArray());

    /// <summary>
    /// {"kind": "minmax", "min": [...], "max": [...]} or {"kind": "standard", "mean": [...], "std": [...]}
    /// or {"kind": "none"}; the statistics may instead sit on each feature object ({"name", "unit", "min", "max"}).
    /// </summary>
    internal static Normalizer ParseNormalization(JsonObject o, JsonArray? featureNodes, int f, string origin)
    {
        string kind = (o["kind"] ?? o["type"]) is JsonNode k ? Str(k, "normalization.kind").ToLowerInvariant() : "";
        float[]? Stat(params string[] names)
        {
            foreach (var name in names)
            {
                if (o[name] is JsonArray a)
                {
                    if (a.Count != f) throw new EdgeException($"{origin}: normalization.{name} has {a.Count} values but there are {f} features");
                    return a.Select((x, i) => (float)(Number(x, $"normalization.{name}[{i}]") ?? throw new EdgeException($"{origin}: normalization.{name}[{i}] is null"))).ToArray();
                }
            }
            if (featureNodes is not null && featureNodes.All(n => n is JsonObject fo && fo[names[0]] is not null))
                return featureNodes.Select((n, i) => (float)Number(((JsonObject)n!)[names[0]], $"features[{i}].{names[0]}")!.Value).ToArray();
            return null;
        }
        if (kind.Length == 0) kind = Stat("min") is not null ? "minmax" : Stat("mean") is not null ? "standard" : "none";
        switch (kind)
        {
            case "minmax" or "min_max" or "min-max":
                return Normalizer.MinMax(
                    Stat("min", "data_min") ?? throw new EdgeException($"{origin}: minmax normalization needs \"min\""),
                    Stat("max", "data_max") ?? throw new EdgeException($"{origin}: minmax normalization needs \"max\""));
            case "standard" or "zscore" or "meanstd":
                return Normalizer.Standard(
                    Stat("mean") ?? throw new EdgeException($"{origin}: standard normalization needs \"mean\""),
                    Stat("std", "scale") ?? throw new EdgeException($"{origin}: standard normalization needs \"std\""));
            case "none" or "identity":
                return Normalizer.Identity(f);
            default:
                throw new EdgeException($"{origin}: normalization kind '{kind}' is not one of minmax, standard, none");
        }
    }

    private static string Str(JsonNode? n, string what) =>
        n is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : throw new EdgeException($"metadata {what} must be a string");

    private static double? Number(JsonNode? n, string what)
    {
        if (n is null) return null;
        if (n is JsonValue v)
        {
            switch (v.GetValueKind())
            {
                case JsonValueKind.Number:
                    return v.GetValue<double>();
                case JsonValueKind.String when double.TryParse(v.GetValue<string>(), NumberStyles.Float, CultureInfo.InvariantCulture, out double d):
                    return d;
                case JsonValueKind.Null:
                    return null;
            }
        }
        throw new EdgeException($"metadata {what} must be a number, got {n.ToJsonString()}");
    }
}
