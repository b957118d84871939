using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.Quantizer.Calibration;
using Edge.Quantizer.Evaluation;
using Edge.Quantizer.Quantization;

namespace Edge.Quantizer.Report;

/// <summary>fp32 vs int8 on one graph output.</summary>
internal sealed record OutputComparison(string Name, int[] Shape, long Elements, double Rmse, double MaxAbsError, double MeanAbsError, double Cosine)
{
    /// <summary>Paired values for the scatter plot (every k-th element, at most a few thousand).</summary>
    public float[] SampleFp32 { get; init; } = [];
    public float[] SampleInt8 { get; init; } = [];

    /// <summary>Histogram of int8 - fp32 over all elements: bin edges from -<see cref="HistogramRange"/> to +.</summary>
    public int[] ErrorHistogram { get; init; } = [];
    public double HistogramRange { get; init; }
}

/// <summary>Forecast error against the real next values for one feature (or pooled).</summary>
internal sealed record ForecastError(string Name, string Unit, double RmseFp32, double RmseInt8)
{
    /// <summary>(int8 - fp32) / fp32 in percent; NaN when the fp32 error is 0.</summary>
    public double RelativeDifferencePct => RmseFp32 == 0 ? double.NaN : 100 * (RmseInt8 - RmseFp32) / RmseFp32;
}

internal sealed record ForecastMetrics(string Output, int Windows, int Horizon, string Units, string? Normalization,
    ForecastError Overall, ForecastError OverallNormalized, IReadOnlyList<ForecastError> Features)
{
    /// <summary>Per feature, the first forecast step of every window (in <see cref="Units"/>): actual, fp32, int8; for the plot.</summary>
    public IReadOnlyList<(double[] Actual, double[] Fp32, double[] Int8)> Series { get; init; } = [];
}

internal sealed record ClassificationMetrics(string Output, long Positions, int Classes, string Layout, string Targets,
    double CrossEntropyFp32, double CrossEntropyInt8, double Top1Agreement, double? Top1AccuracyFp32, double? Top1AccuracyInt8);

internal sealed record RankingMetrics(string Output, int Pairs, double Pearson, double Spearman, int Groups, double? Top1Agreement, string Grouping);

/// <summary>
/// The accuracy report of an int8 blob against its fp32 model (README: "Accuracy report"). Written
/// as FILE.report.json (<see cref="ToJson"/>), FILE.report.html (<see cref="HtmlReport"/>) and as
/// text by `evaluate`. Holds no timestamps or durations: the same inputs give the same report.
/// </summary>
internal sealed class AccuracyReport
{
    public const double CosineTarget = 0.999;
    public const double ForecastTargetPct = 2.0;

    public required string ModelName { get; init; }
    public required string Fp32Source { get; init; }
    public required string Int8Source { get; init; }
    public long? Int8Bytes { get; set; }
    public required ModelTask Task { get; init; }
    public required ModelData Data { get; init; }
    public required int BatchSize { get; init; }
    public required IReadOnlyList<QuantizedWeightReport> Weights { get; init; }
    public required IReadOnlyList<OutputComparison> Outputs { get; init; }
    public ForecastMetrics? Forecast { get; init; }
    public ClassificationMetrics? Classification { get; init; }
    public RankingMetrics? Ranking { get; init; }
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>What each int8 weight is to its node: "W" (input matrix), "R" (recurrent matrix), "M" (bilinear), by weight name.</summary>
    public IReadOnlyDictionary<string, string> WeightRoles { get; init; } = new Dictionary<string, string>();

    public string WeightLabel(QuantizedWeightReport w)
    {
        ArgumentNullException.ThrowIfNull(w);
        return WeightRoles.TryGetValue(w.Name, out var role) ? $"{w.Node} {role}" : w.Node;
    }

    public double MinCosine => Outputs.Count == 0 ? double.NaN : Outputs.Min(o => o.Cosine);
    public double MinSqnrDb => Weights.Count == 0 ? double.NaN : Weights.Min(w => w.SqnrDb);
    public bool CosineOk => Outputs.All(o => o.Cosine >= CosineTarget);
    public bool? ForecastOk => Forecast is null ? null : !(Forecast.Overall.RelativeDifferencePct > ForecastTargetPct);

    /// <summary>The short form stored in the blob's metadata (provenance.accuracy).</summary>
    public JsonObject Summary()
    {
        var s = new JsonObject
        {
            ["task"] = Task.Name,
            ["data"] = string.Join(", ", Data.Files.Select(f => f.File)),
            ["count"] = Data.Count,
            ["min_output_cosine"] = Num(MinCosine, 6),
            ["min_weight_sqnr_db"] = Num(MinSqnrDb, 2),
        };
        if (Forecast is not null)
        {
            s["forecast_rmse_fp32"] = Num(Forecast.Overall.RmseFp32, 6);
            s["forecast_rmse_int8"] = Num(Forecast.Overall.RmseInt8, 6);
            s["forecast_rmse_relative_difference_pct"] = Num(Forecast.Overall.RelativeDifferencePct, 3);
        }
        if (Classification is not null)
        {
            s["cross_entropy_fp32"] = Num(Classification.CrossEntropyFp32, 6);
            s["cross_entropy_int8"] = Num(Classification.CrossEntropyInt8, 6);
            s["top1_agreement"] = Num(Classification.Top1Agreement, 6);
        }
        if (Ranking is not null)
        {
            s["score_pearson"] = Num(Ranking.Pearson, 6);
            s["score_spearman"] = Num(Ranking.Spearman, 6);
        }
        return s;
    }

    public JsonObject ToJson()
    {
        var json = new JsonObject
        {
            ["report_version"] = 1,
            ["generated_by"] = "edge-quantize " + Converter.Version,
            ["model"] = new JsonObject
            {
                ["name"] = ModelName,
                ["fp32"] = Fp32Source,
                ["int8"] = Int8Source,
                ["int8_bytes"] = Int8Bytes,
            },
            ["task"] = new JsonObject { ["kind"] = Task.Name, ["detected_from"] = Task.DetectedFrom },
            ["data"] = new JsonObject
            {
                ["files"] = Data.Summary()["files"]!.DeepClone(),
                ["samples"] = Data.Samples,
                ["count"] = Data.Count,
                ["targets"] = Data.TargetsFile,
                ["batch_size"] = BatchSize,
            },
            ["weights"] = new JsonArray(Weights.Select(w => (JsonNode)new JsonObject
            {
                ["name"] = w.Name,
                ["node"] = w.Node,
                ["role"] = WeightRoles.TryGetValue(w.Name, out var role) ? role : null,
                ["kind"] = w.Kind.ToString(),
                ["shape"] = new JsonArray(w.Shape.Select(d => (JsonNode)JsonValue.Create(d)).ToArray()),
                ["rows"] = w.Rows,
                ["sqnr_db"] = Num(w.SqnrDb, 3),
                ["max_abs_error"] = Num(w.MaxAbsError, 8),
            }).ToArray()),
            ["outputs"] = new JsonArray(Outputs.Select(o => (JsonNode)new JsonObject
            {
                ["name"] = o.Name,
                ["shape"] = new JsonArray(o.Shape.Select(d => (JsonNode)JsonValue.Create(d)).ToArray()),
                ["elements"] = o.Elements,
                ["rmse"] = Num(o.Rmse, 8),
                ["max_abs_error"] = Num(o.MaxAbsError, 8),
                ["mean_abs_error"] = Num(o.MeanAbsError, 8),
                ["cosine"] = Num(o.Cosine, 8),
            }).ToArray()),
            ["forecast"] = Forecast is null ? null : new JsonObject
            {
                ["output"] = Forecast.Output,
                ["windows"] = Forecast.Windows,
                ["horizon"] = Forecast.Horizon,
                ["units"] = Forecast.Units,
                ["normalization"] = Forecast.Normalization,
                ["rmse_fp32"] = Num(Forecast.Overall.RmseFp32, 8),
                ["rmse_int8"] = Num(Forecast.Overall.RmseInt8, 8),
                ["relative_difference_pct"] = Num(Forecast.Overall.RelativeDifferencePct, 4),
                ["rmse_normalized_fp32"] = Num(Forecast.OverallNormalized.RmseFp32, 8),
                ["rmse_normalized_int8"] = Num(Forecast.OverallNormalized.RmseInt8, 8),
                ["relative_difference_normalized_pct"] = Num(Forecast.OverallNormalized.RelativeDifferencePct, 4),
                ["features"] = new JsonArray(Forecast.Features.Select(f => (JsonNode)new JsonObject
                {
                    ["name"] = f.Name,
                    ["unit"] = f.Unit,
                    ["rmse_fp32"] = Num(f.RmseFp32, 8),
                    ["rmse_int8"] = Num(f.RmseInt8, 8),
                    ["relative_difference_pct"] = Num(f.RelativeDifferencePct, 4),
                }).ToArray()),
            },
            ["classification"] = Classification is null ? null : new JsonObject
            {
                ["output"] = Classification.Output,
                ["positions"] = Classification.Positions,
                ["classes"] = Classification.Classes,
                ["layout"] = Classification.Layout,
                ["targets"] = Classification.Targets,
                ["cross_entropy_fp32"] = Num(Classification.CrossEntropyFp32, 8),
                ["cross_entropy_int8"] = Num(Classification.CrossEntropyInt8, 8),
                ["cross_entropy_difference"] = Num(Classification.CrossEntropyInt8 - Classification.CrossEntropyFp32, 8),
                ["top1_agreement"] = Num(Classification.Top1Agreement, 8),
                ["top1_accuracy_fp32"] = Classification.Top1AccuracyFp32 is double a ? Num(a, 8) : null,
                ["top1_accuracy_int8"] = Classification.Top1AccuracyInt8 is double b ? Num(b, 8) : null,
            },
            ["ranking"] = Ranking is null ? null : new JsonObject
            {
                ["output"] = Ranking.Output,
                ["pairs"] = Ranking.Pairs,
                ["pearson"] = Num(Ranking.Pearson, 8),
                ["spearman"] = Num(Ranking.Spearman, 8),
                ["groups"] = Ranking.Groups,
                ["grouping"] = Ranking.Grouping,
                ["top1_agreement"] = Ranking.Top1Agreement is double t ? Num(t, 8) : null,
            },
            ["targets"] = new JsonObject
            {
                ["min_output_cosine"] = Num(MinCosine, 8),
                ["cosine_target"] = CosineTarget,
                ["cosine_ok"] = CosineOk,
                ["forecast_rmse_target_pct"] = Forecast is null ? null : ForecastTargetPct,
                ["forecast_ok"] = ForecastOk,
            },
            ["notes"] = new JsonArray(Notes.Select(n => (JsonNode)JsonValue.Create(n)).ToArray()),
        };
        return json;
    }

    public string ToJsonString() => ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";

    /// <summary>JSON has no NaN or infinity: those become null (an exact copy's SQNR, an undefined correlation).</summary>
    internal static JsonNode? Num(double v, int digits) => double.IsFinite(v) ? JsonValue.Create(Math.Round(v, digits)) : null;
}
