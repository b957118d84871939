using System.Globalization;

namespace Edge.Quantizer.Report;

/// <summary>The accuracy report as plain text (what `evaluate` prints): the same figures as the JSON.</summary>
internal static class TextReport
{
    public static void Write(AccuracyReport report, TextWriter w)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(w);
        var c = CultureInfo.InvariantCulture;
        w.WriteLine($"accuracy report: {report.ModelName}: int8 {report.Int8Source} vs fp32 {report.Fp32Source}");
        w.WriteLine($"task: {report.Task.Name} ({report.Task.DetectedFrom})");
        w.WriteLine($"data: {report.Data}{(report.Data.TargetsFile is null ? "" : ", targets: " + report.Data.TargetsFile)}; batch size {report.BatchSize}");

        w.WriteLine();
        w.WriteLine($"weights ({report.Weights.Count} int8, per-row symmetric):");
        if (report.Weights.Count == 0) w.WriteLine("  none (the blob holds no int8 weights)");
        int nameWidth = Math.Min(48, report.Weights.Select(x => report.WeightLabel(x).Length).DefaultIfEmpty(4).Max());
        foreach (var q in report.Weights)
            w.WriteLine(string.Create(c, $"  {report.WeightLabel(q).PadRight(nameWidth)}  {q.Kind,-18} {"(" + string.Join(", ", q.Shape) + ")",-16} SQNR {Db(q.SqnrDb)}  max |err| {q.MaxAbsError:G3}"));

        w.WriteLine();
        w.WriteLine("outputs (int8 vs fp32):");
        foreach (var o in report.Outputs)
            w.WriteLine(string.Create(c, $"  {o.Name}: RMSE {o.Rmse:G4}, max abs error {o.MaxAbsError:G4}, cosine {o.Cosine:F6}{(o.Cosine >= AccuracyReport.CosineTarget ? "" : $"  (below the {AccuracyReport.CosineTarget} target)")}"));

        if (report.Forecast is { } f)
        {
            w.WriteLine();
            w.WriteLine(string.Create(c, $"forecast '{f.Output}' against the real next values ({f.Windows} windows, horizon {f.Horizon}, units: {f.Units}):"));
            int width = f.Features.Append(f.Overall).Append(f.OverallNormalized).Max(x => x.Name.Length + (x.Unit.Length > 0 ? x.Unit.Length + 3 : 0));
            w.WriteLine($"  {"".PadRight(width)}  {"RMSE fp32",12}  {"RMSE int8",12}  {"int8 vs fp32",12}");
            foreach (var e in f.Features.Append(f.Overall).Append(f.OverallNormalized))
            {
                string label = e.Unit.Length > 0 ? $"{e.Name} ({e.Unit})" : e.Name;
                w.WriteLine(string.Create(c, $"  {label.PadRight(width)}  {e.RmseFp32,12:G5}  {e.RmseInt8,12:G5}  {Pct(e.RelativeDifferencePct),12}"));
            }
        }
        if (report.Classification is { } k)
        {
            w.WriteLine();
            w.WriteLine(string.Create(c, $"classifier '{k.Output}': {k.Positions} positions, {k.Classes} classes; {k.Layout}; targets: {k.Targets}"));
            w.WriteLine(string.Create(c, $"  cross-entropy fp32 {k.CrossEntropyFp32:F6}, int8 {k.CrossEntropyInt8:F6} (difference {k.CrossEntropyInt8 - k.CrossEntropyFp32:+0.000000;-0.000000;0})"));
            w.WriteLine(string.Create(c, $"  top-1 agreement int8 vs fp32: {100 * k.Top1Agreement:F2} %"));
            if (k.Top1AccuracyFp32 is double aa && k.Top1AccuracyInt8 is double ab)
                w.WriteLine(string.Create(c, $"  top-1 accuracy against the targets: fp32 {100 * aa:F2} %, int8 {100 * ab:F2} %"));
        }
        if (report.Ranking is { } r)
        {
            w.WriteLine();
            w.WriteLine(string.Create(c, $"dual encoder '{r.Output}': {r.Pairs} pairs"));
            w.WriteLine(string.Create(c, $"  score correlation int8 vs fp32: Pearson {Corr(r.Pearson)}, Spearman {Corr(r.Spearman)}"));
            w.WriteLine(r.Top1Agreement is double t
                ? string.Create(c, $"  top-1 agreement: {100 * t:F2} % of {r.Grouping}")
                : $"  top-1 agreement: n/a ({r.Grouping})");
        }

        w.WriteLine();
        string forecastLine = report.ForecastOk is bool ok
            ? string.Create(c, $"; forecast RMSE int8 vs fp32 {Pct(report.Forecast!.Overall.RelativeDifferencePct)} (target <= +{AccuracyReport.ForecastTargetPct} %): {(ok ? "ok" : "MISSED")}")
            : "";
        w.WriteLine(string.Create(c, $"targets: min output cosine {report.MinCosine:F6} (target >= {AccuracyReport.CosineTarget}): {(report.CosineOk ? "ok" : "MISSED")}{forecastLine}"));
        foreach (var note in report.Notes) w.WriteLine($"note: {note}");
    }

    private static string Db(double db) => double.IsPositiveInfinity(db) ? "exact" : db.ToString("F1", CultureInfo.InvariantCulture) + " dB";

    internal static string Pct(double p) => double.IsNaN(p) ? "n/a" : p.ToString("+0.00;-0.00;0.00", CultureInfo.InvariantCulture) + " %";

    private static string Corr(double r) => double.IsNaN(r) ? "n/a (constant scores)" : r.ToString("F6", CultureInfo.InvariantCulture);
}
