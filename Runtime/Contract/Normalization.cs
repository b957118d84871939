namespace Edge.Runtime.Contract;

/// <summary>How a <see cref="Normalization"/> was fitted.</summary>
public enum NormalizationKind
{
    /// <summary>No scaling: x' = x.</summary>
    None,
    /// <summary>x' = (x - min) / (max - min), scikit-learn's MinMaxScaler to [0, 1].</summary>
    MinMax,
    /// <summary>x' = (x - mean) / std, scikit-learn's StandardScaler.</summary>
    Standard,
}

/// <summary>
/// Per-feature affine scaling as the model was trained: min-max (scikit-learn MinMaxScaler to [0, 1]:
/// x' = (x - min) / (max - min)) or standard (StandardScaler: x' = (x - mean) / std), or none. Stored as
/// x' = (x - Offset) / Scale in float32, so that both kinds share one loop and every user of a blob (the
/// quantizer's calibration and evaluation, the device pipeline) computes the same bits. A zero range or
/// deviation (a constant feature in the training data) scales by 1, as scikit-learn does.
/// </summary>
public sealed class Normalization
{
    private readonly float[] _offset;
    private readonly float[] _scale;

    private Normalization(NormalizationKind kind, float[] offset, float[] scale)
    {
        Kind = kind;
        _offset = offset;
        _scale = scale;
    }

    /// <summary>How it was fitted.</summary>
    public NormalizationKind Kind { get; }

    /// <summary>Number of features it scales (the length of <see cref="Offset"/> and <see cref="Scale"/>).</summary>
    public int Features => _offset.Length;

    /// <summary>Subtracted before scaling (min or mean; 0 for none).</summary>
    public ReadOnlySpan<float> Offset => _offset;

    /// <summary>Divided by (max - min or std; 1 where that is zero, and for none).</summary>
    public ReadOnlySpan<float> Scale => _scale;

    /// <summary>No scaling over <paramref name="features"/> features. Throws <see cref="ArgumentOutOfRangeException"/> when negative.</summary>
    public static Normalization Identity(int features)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(features);
        var scale = new float[features];
        scale.AsSpan().Fill(1f);
        return new(NormalizationKind.None, new float[features], scale);
    }

    /// <summary>
    /// Min-max scaling from per-feature minima and maxima (raw units; copied). Throws <see cref="ArgumentException"/>
    /// when the lengths differ.
    /// </summary>
    public static Normalization MinMax(float[] min, float[] max)
    {
        ArgumentNullException.ThrowIfNull(min);
        ArgumentNullException.ThrowIfNull(max);
        if (min.Length != max.Length) throw new ArgumentException($"min has {min.Length} values, max {max.Length}");
        var scale = new float[min.Length];
        for (int i = 0; i < scale.Length; i++)
        {
            float range = max[i] - min[i];
            scale[i] = range == 0 || !float.IsFinite(range) ? 1 : range;
        }
        return new Normalization(NormalizationKind.MinMax, (float[])min.Clone(), scale);
    }

    /// <summary>
    /// Standard scaling from per-feature means and standard deviations (raw units; copied). Throws
    /// <see cref="ArgumentException"/> when the lengths differ.
    /// </summary>
    public static Normalization Standard(float[] mean, float[] std)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Length != std.Length) throw new ArgumentException($"mean has {mean.Length} values, std {std.Length}");
        var scale = new float[std.Length];
        for (int i = 0; i < scale.Length; i++) scale[i] = std[i] == 0 || !float.IsFinite(std[i]) ? 1 : std[i];
        return new Normalization(NormalizationKind.Standard, (float[])mean.Clone(), scale);
    }

    /// <summary>
    /// This normalization for <paramref name="features"/> features: itself when the counts agree, an identity of that
    /// size for a "none" that did not say its count (0 features); null when the counts disagree.
    /// </summary>
    public Normalization? ForFeatures(int features) =>
        Features == features ? this : Kind == NormalizationKind.None && Features == 0 ? Identity(features) : null;

    /// <summary>One raw feature vector -> model units.</summary>
    public void Normalize(ReadOnlySpan<float> raw, Span<float> normalized)
    {
        if (raw.Length != _offset.Length || normalized.Length != _offset.Length)
            throw new ArgumentException($"expected {_offset.Length} features, got {raw.Length} -> {normalized.Length}");
        for (int i = 0; i < raw.Length; i++) normalized[i] = (raw[i] - _offset[i]) / _scale[i];
    }

    /// <summary>A (rows, <see cref="Features"/>) row-major block, in place; the same operations as <see cref="Normalize"/>.</summary>
    public void NormalizeRows(Span<float> values)
    {
        int f = _offset.Length;
        if (f == 0 || values.Length % f != 0) throw new ArgumentException($"{values.Length} values are not whole rows of {f} features", nameof(values));
        for (int r = 0; r < values.Length; r += f)
        {
            var row = values.Slice(r, f);
            for (int i = 0; i < f; i++) row[i] = (row[i] - _offset[i]) / _scale[i];
        }
    }

    /// <summary>Model units -> raw units for one feature.</summary>
    public float Denormalize(int feature, float value) => value * _scale[feature] + _offset[feature];

    /// <summary>The kind and feature count, e.g. "minmax over 4 feature(s)".</summary>
    public override string ToString() => $"{Kind.ToString().ToLowerInvariant()} over {Features} feature(s)";
}
