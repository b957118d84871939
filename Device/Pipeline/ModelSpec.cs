using Edge.Runtime.Contract;

namespace Edge.Device.Pipeline;

public sealed record Feature(string Name, string? Unit);

/// <summary>
/// What the pipeline needs to know about a model, resolved from the blob's metadata with the
/// configuration as the fallback (see Config/ModelSpecReader and docs/config.md).
/// </summary>
public sealed class ModelSpec
{
    public ModelSpec(IReadOnlyList<Feature> features, IReadOnlyList<int> targets, Normalization normalizer, TimeSpan? period, int window)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(normalizer);
        if (features.Count == 0) throw new ArgumentException("a model needs at least one feature", nameof(features));
        if (normalizer.Features != features.Count)
            throw new ArgumentException($"normalization has {normalizer.Features} values per statistic but there are {features.Count} features", nameof(normalizer));
        if (targets.Count == 0 || targets.Any(t => t < 0 || t >= features.Count))
            throw new ArgumentException("targets must name at least one feature", nameof(targets));
        if (window < 1) throw new ArgumentOutOfRangeException(nameof(window), window, "window must be at least 1");
        if (period is { } p && p <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(period), p, "sample period must be positive");
        Features = features;
        Targets = targets;
        Normalizer = normalizer;
        Period = period;
        Window = window;
    }

    public IReadOnlyList<Feature> Features { get; }

    /// <summary>Index into <see cref="Features"/> of each model output feature, in output order.</summary>
    public IReadOnlyList<int> Targets { get; }

    /// <summary>The blob's (or the config's) normalization: Edge.Runtime.Contract's, so the quantizer computes the same bits.</summary>
    public Normalization Normalizer { get; }

    /// <summary>The model's sample period; null when neither the blob nor the configuration gives one.</summary>
    public TimeSpan? Period { get; }

    /// <summary>Samples per forecast input.</summary>
    public int Window { get; }

    /// <summary>True when the model forecasts every input feature in input order (needed for autoregressive rollout).</summary>
    public bool OutputsAllFeatures => Targets.Count == Features.Count && Targets.Select((t, i) => t == i).All(b => b);

    public int IndexOf(string feature)
    {
        for (int i = 0; i < Features.Count; i++)
            if (string.Equals(Features[i].Name, feature, StringComparison.OrdinalIgnoreCase)) return i;
        return -1;
    }
}
