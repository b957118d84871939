using System.Text.Json.Nodes;

namespace Edge.Device.Bench;

/// <summary>
/// A latency distribution in microseconds. Percentiles are nearest-rank on the sorted samples (p99 of 1000
/// samples is the 990th smallest), so every figure is a latency that was actually observed.
/// </summary>
public sealed record LatencyStats(int Count, double MinUs, double MedianUs, double P90Us, double P99Us, double MaxUs, double MeanUs, double StdevUs)
{
    /// <summary>Stats of <paramref name="samplesUs"/> (sorted in place).</summary>
    public static LatencyStats From(Span<double> samplesUs)
    {
        if (samplesUs.IsEmpty) throw new ArgumentException("no samples", nameof(samplesUs));
        samplesUs.Sort();
        double sum = 0;
        foreach (var s in samplesUs) sum += s;
        double mean = sum / samplesUs.Length;
        double sq = 0;
        foreach (var s in samplesUs) sq += (s - mean) * (s - mean);
        double stdev = samplesUs.Length > 1 ? Math.Sqrt(sq / (samplesUs.Length - 1)) : 0;
        return new LatencyStats(samplesUs.Length, samplesUs[0], Rank(samplesUs, 0.5), Rank(samplesUs, 0.9), Rank(samplesUs, 0.99), samplesUs[^1], mean, stdev);
    }

    /// <summary>Nearest rank: the smallest sample with at least <paramref name="q"/> of the samples at or below it.</summary>
    public static double Rank(ReadOnlySpan<double> sorted, double q)
    {
        int rank = (int)Math.Ceiling(q * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    /// <summary>Every figure divided by <paramref name="divisor"/> (per forecast of a batch, per time step of a sequence).</summary>
    public LatencyStats Per(int divisor) => divisor == 1 ? this
        : new LatencyStats(Count, MinUs / divisor, MedianUs / divisor, P90Us / divisor, P99Us / divisor, MaxUs / divisor, MeanUs / divisor, StdevUs / divisor);

    public JsonObject ToJson() => new()
    {
        ["count"] = Count,
        ["min_us"] = Round(MinUs),
        ["median_us"] = Round(MedianUs),
        ["p90_us"] = Round(P90Us),
        ["p99_us"] = Round(P99Us),
        ["max_us"] = Round(MaxUs),
        ["mean_us"] = Round(MeanUs),
        ["stdev_us"] = Round(StdevUs),
    };

    public static LatencyStats FromJson(JsonNode? node, string where)
    {
        if (node is not JsonObject o) throw new Runtime.EdgeException($"{where}: expected an object with count, min_us, median_us, p99_us, mean_us");
        return new LatencyStats(
            (int)BenchJson.Number(o, "count", where),
            BenchJson.Number(o, "min_us", where),
            BenchJson.Number(o, "median_us", where),
            BenchJson.OptionalNumber(o, "p90_us") ?? double.NaN,
            BenchJson.Number(o, "p99_us", where),
            BenchJson.OptionalNumber(o, "max_us") ?? double.NaN,
            BenchJson.Number(o, "mean_us", where),
            BenchJson.OptionalNumber(o, "stdev_us") ?? double.NaN);
    }

    /// <summary>Three decimals (nanoseconds): enough for microsecond steps, short JSON.</summary>
    internal static double Round(double v) => Math.Round(v, 3);
}
