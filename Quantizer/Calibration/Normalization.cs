using System.Globalization;
using System.Text.Json.Nodes;
using Edge.Runtime;

namespace Edge.Quantizer.Calibration;

/// <summary>
/// Per-feature normalization from a blob's metadata, the same the device pipeline applies:
/// <c>{"kind": "minmax", "min": [...], "max": [...]}</c>: x' = (x - min) / (max - min);
/// <c>{"kind": "standard", "mean": [...], "std": [...]}</c>: x' = (x - mean) / std.
/// Both are x' = (x - Offset) / Scale, so one pair of arrays serves both and the inverse.
/// </summary>
public sealed class Normalization
{
    private Normalization(string kind, double[] offset, double[] scale)
    {
        Kind = kind;
        Offset = offset;
        Scale = scale;
    }

    public string Kind { get; }
    public double[] Offset { get; }
    public double[] Scale { get; }
    public int Features => Offset.Length;

    /// <summary>Reads metadata["normalization"]; null when the metadata has none.</summary>
    public static Normalization? FromMetadata(JsonObject metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        if (metadata["normalization"] is not JsonObject n) return null;
        string kind = (n["kind"] as JsonValue)?.TryGetValue(out string? k) == true ? k! : throw new EdgeException("metadata 'normalization' has no \"kind\" (\"minmax\" or \"standard\")");
        switch (kind)
        {
            case "minmax":
            {
                var min = Numbers(n, "min");
                var max = Numbers(n, "max");
                if (min.Length != max.Length) throw new EdgeException($"metadata 'normalization': {min.Length} min values but {max.Length} max values");
                var scale = new double[min.Length];
                for (int i = 0; i < min.Length; i++)
                {
                    scale[i] = max[i] - min[i];
                    if (!(scale[i] > 0)) throw new EdgeException($"metadata 'normalization': feature {i} has max {max[i]} <= min {min[i]}");
                }
                return new Normalization(kind, min, scale);
            }
            case "standard":
            {
                var mean = Numbers(n, "mean");
                var std = Numbers(n, "std");
                if (mean.Length != std.Length) throw new EdgeException($"metadata 'normalization': {mean.Length} mean values but {std.Length} std values");
                for (int i = 0; i < std.Length; i++)
                    if (!(std[i] > 0)) throw new EdgeException($"metadata 'normalization': std of feature {i} is {std[i]}; it must be > 0");
                return new Normalization(kind, mean, std);
            }
            default:
                throw new EdgeException($"metadata 'normalization': unknown kind '{kind}'; expected \"minmax\" or \"standard\"");
        }
    }

    /// <summary>Normalizes a (rows, Features) row-major block in place (float32, as the device does).</summary>
    public void Apply(Span<float> values)
    {
        for (int i = 0; i < values.Length; i++)
        {
            int f = i % Offset.Length;
            values[i] = (float)((values[i] - Offset[f]) / Scale[f]);
        }
    }

    /// <summary>Back to the recording's units, for feature <paramref name="feature"/>.</summary>
    public double Invert(double normalized, int feature) => normalized * Scale[feature] + Offset[feature];

    private static double[] Numbers(JsonObject n, string key)
    {
        if (n[key] is not JsonArray a) throw new EdgeException($"metadata 'normalization' ({n["kind"]}) needs a list \"{key}\"");
        var result = new double[a.Count];
        for (int i = 0; i < a.Count; i++)
        {
            if (a[i] is not JsonValue v || !v.TryGetValue(out double d) || !double.IsFinite(d))
                throw new EdgeException($"metadata 'normalization': {key}[{i}] = {a[i]?.ToJsonString() ?? "null"} is not a finite number");
            result[i] = d;
        }
        return result;
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Kind} over {Features} features");
}
