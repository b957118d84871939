using System.Globalization;
using System.Text.Json.Nodes;
using Edge.Device.Pipeline;
using Edge.Runtime;
using Edge.Runtime.Contract;
using Edge.Runtime.Ir;

namespace Edge.Device.Config;

/// <summary>
/// Builds the <see cref="ModelSpec"/> from the blob's model contract (<see cref="ModelContract"/>, docs/config.md:
/// "features", "targets", "normalization", "sample_period_s", "window", "horizon"), falling back to the config
/// file where the blob lacks a key, and finally to what the graph's input shape says. The blob's keys and the
/// config's are parsed and range-checked by the same contract code the quantizer uses.
/// </summary>
public static class ModelSpecReader
{
    public sealed record Result(ModelSpec Spec, int? MetadataHorizon, IReadOnlyList<string> Notes);

    private const string BlobOrigin = "blob metadata";
    private const string ConfigOrigin = "config (file or flags)";

    public static Result Read(EdgeModel model, RunConfig config)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(config);
        var notes = new List<string>();
        var input = PickInput(model.Graph, config.Input);
        var blob = ModelContract.Parse(model.Metadata, BlobOrigin);
        var fallback = ModelContract.Parse(ConfigAsMetadata(config), ConfigOrigin);
        if (config.Horizon is { } h && h is < 1 or > ContractLimits.MaxHorizon)
            throw new EdgeException(string.Create(CultureInfo.InvariantCulture,
                $"horizon (--horizon or config \"horizon\") must be a whole number from 1 to {ContractLimits.MaxHorizon:N0}, got {h}"));

        // features
        IReadOnlyList<ContractFeature> contractFeatures;
        if (blob.Features is { } bf) contractFeatures = bf;
        else if (fallback.Features is { } cf)
        {
            contractFeatures = cf;
            notes.Add("features from the config (the blob has none)");
        }
        else
        {
            int count = InferFeatureCount(input) ?? (blob.Normalization is { Features: > 0 } bn0 ? bn0.Features : (int?)null)
                ?? throw new EdgeException($"the model's input {input} does not say how many features it takes and neither the blob nor the config lists \"features\"");
            contractFeatures = Enumerable.Range(0, count).Select(i => new ContractFeature($"x{i}", null)).ToList();
            notes.Add($"features unnamed (x0..x{count - 1}): neither the blob nor the config lists \"features\"");
        }
        var features = contractFeatures.Select(x => new Feature(x.Name, x.Unit)).ToList();
        int f = features.Count;

        // targets
        var targetNames = blob.Targets ?? fallback.Targets;
        var targets = targetNames is null ? Enumerable.Range(0, f).ToArray()
            : ModelContract.TargetIndices(targetNames, contractFeatures, blob.Targets is not null ? BlobOrigin : ConfigOrigin);

        // normalization
        Normalization normalizer;
        string normOrigin = BlobOrigin;
        if (blob.Normalization is { } bn) normalizer = bn;
        else if (fallback.Normalization is { } cn)
        {
            normalizer = cn;
            normOrigin = ConfigOrigin;
            notes.Add($"normalization ({normalizer.Kind}) from the config (the blob has none)");
        }
        else
        {
            normalizer = Normalization.Identity(f);
            notes.Add("no normalization: neither the blob nor the config has \"normalization\"; values go to the model as they are");
        }
        normalizer = normalizer.ForFeatures(f)
            ?? throw new EdgeException($"{normOrigin}: normalization has {normalizer.Features} values per statistic but there are {f} features");

        // period
        var period = blob.SamplePeriod;
        if (period is null && fallback.SamplePeriod is { } cp)
        {
            period = cp;
            notes.Add("sample period from the config (the blob has none)");
        }

        // window
        int? window = blob.Window;
        if (window is null && fallback.Window is { } cw)
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

        try
        {
            var spec = new ModelSpec(features, targets, normalizer, period, window.Value);
            return new Result(spec, blob.Horizon, notes);
        }
        catch (ArgumentException e)
        {
            throw new EdgeException(e.Message, e);
        }
    }

    /// <summary>The config's model keys in the metadata's own form, so that the contract parses and checks them.</summary>
    private static JsonObject ConfigAsMetadata(RunConfig c)
    {
        var o = new JsonObject();
        if (c.Features is { Count: > 0 } fs)
            o["features"] = new JsonArray(fs.Select(x => (JsonNode)new JsonObject { ["name"] = x.Name, ["unit"] = x.Unit }).ToArray());
        if (c.Targets is { } ts) o["targets"] = new JsonArray(ts.Select(t => (JsonNode?)JsonValue.Create(t)).ToArray());
        if (c.Normalization is { } n)
        {
            var no = new JsonObject { ["kind"] = n.Kind };
            if (n.Min is not null) no["min"] = Array(n.Min);
            if (n.Max is not null) no["max"] = Array(n.Max);
            if (n.Mean is not null) no["mean"] = Array(n.Mean);
            if (n.Std is not null) no["std"] = Array(n.Std);
            o["normalization"] = no;
        }
        if ((c.SamplePeriodS ?? c.Source?.PeriodS) is { } p) o["sample_period_s"] = p;
        if (c.Window is { } w) o["window"] = w;
        return o;
    }

    private static JsonArray Array(float[] v) => new(v.Select(x => (JsonNode?)JsonValue.Create(x)).ToArray());

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
}
