using System.Globalization;
using System.Net;
using System.Text;
using Edge.Runtime;

namespace Edge.Device.Bench;

/// <summary>
/// Text and HTML renderings of bench results: one result (what `edge bench` prints), and two or more side by
/// side (`edge bench --compare`). A comparison has one row per (file, ISA run), in the order given; the ratio
/// column is the row's batch-1 step median divided by the baseline's: the first file's best path (the one a
/// session picks by itself on that machine; its first run if none is marked). Above 1 is slower, below 1 faster.
/// </summary>
public static class BenchReport
{
    /// <summary>One row of a comparison.</summary>
    public sealed record Row(string Label, BenchResult Result, BenchRun Run)
    {
        public string Emulated => Result.Emulated;
    }

    public static List<Row> Rows(IReadOnlyList<(string Label, BenchResult Result)> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        return files.SelectMany(f => f.Result.Runs.Select(r => new Row(f.Label, f.Result, r))).ToList();
    }

    /// <summary>The row every ratio divides by: the first file's best path, else its first run.</summary>
    public static Row Baseline(IReadOnlyList<Row> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var first = rows[0].Result;
        return rows.FirstOrDefault(r => ReferenceEquals(r.Result, first) && r.Run.Best) ?? rows[0];
    }

    /// <summary>"AMD EPYC", or "cortex-a76 (emulated)" for a qemu run.</summary>
    private static string CpuLabel(BenchResult r) =>
        r.Emulated == "yes" ? $"{r.Machine["emulated_cpu"]?.ToString() ?? r.Machine["architecture"]?.ToString() ?? "?"} (emulated)" : Short(r.CpuModel, 28);

    /// <summary>Short labels: file names, or the paths where two files share a name.</summary>
    public static List<(string Label, BenchResult Result)> Load(IReadOnlyList<string> paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var results = paths.Select(BenchResult.Load).ToList();
        var names = paths.Select(Path.GetFileName).ToList();
        bool unique = names.Distinct(StringComparer.Ordinal).Count() == names.Count;
        return paths.Select((p, i) => (unique ? names[i]! : p, results[i])).ToList();
    }

    /// <summary>What `edge bench` prints for one result.</summary>
    public static string Single(BenchResult r)
    {
        ArgumentNullException.ThrowIfNull(r);
        var sb = new StringBuilder();
        var m = r.Model;
        string inputs = string.Join(", ", m.Inputs.Select(i => $"{i.Name} ({string.Join(", ", i.Shape)})"));
        sb.AppendLine(CultureInfo.InvariantCulture, $"edge bench: {m.File} ({m.Precision}{(m.Int8Weights > 0 ? $", {m.Int8Weights} int8 weights" : "")}), inputs {inputs}, {m.TimeSteps} time step{(m.TimeSteps == 1 ? "" : "s")}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"machine: {MachineLine(r)}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"settings: {r.Warmup} warm-up, {r.Steps} measured steps at batch 1{(r.Batch > 1 ? $", forecasts at batch {r.Batch}" : "")}");
        var table = new List<string[]>
        {
            new[] { "isa", "execution", "step median us", "p99 us", "min us", "mean us", "us/time step", $"forecast us (b={r.Batch})", "forecasts/s", "alloc B/step", "stream push us", "session ms" },
        };
        foreach (var run in r.Runs)
        {
            table.Add(
            [
                run.Isa + (run.Best ? " *" : ""), run.Execution,
                F(run.Step.MedianUs), F(run.Step.P99Us), F(run.Step.MinUs), F(run.Step.MeanUs),
                F(run.Step.MedianUs / Math.Max(1, m.TimeSteps)), F(run.Forecast.MedianUs),
                BenchJson.Format(run.ThroughputPerSecond, "0"), BenchJson.Format(run.AllocatedBytesPerStep, "0.##"),
                run.Stream is { } st ? F(st.Push.MedianUs) : "-", F(run.SessionMs),
            ]);
        }
        AppendTable(sb, table);
        if (r.Runs.FirstOrDefault(x => x.Stream is not null)?.Stream is { } s0)
            sb.AppendLine(CultureInfo.InvariantCulture, $"stream push: the device loop (ForecastStream, {s0.Style}{(s0.Style == "window" ? $" over {s0.Window} samples" : ": state carried from push to push")}{(s0.CachesInputProjections ? ", input projections cached" : "")}): one sample in, one forecast out, median");
        sb.AppendLine(CultureInfo.InvariantCulture, $"peak RSS: {(r.PeakRssBytes is { } b ? (b / 1048576.0).ToString("0.0", CultureInfo.InvariantCulture) + " MiB" : "unknown")}   (* = the path a session picks by itself)");
        foreach (var n in r.Notes) sb.AppendLine("note: " + n);
        return sb.ToString();
    }

    /// <summary>The side-by-side text table of <paramref name="files"/> with ratios to the first row.</summary>
    public static string Compare(IReadOnlyList<(string Label, BenchResult Result)> files)
    {
        var rows = Rows(files);
        var sb = new StringBuilder();
        var baseRow = Baseline(rows);
        sb.AppendLine(CultureInfo.InvariantCulture, $"edge bench --compare: {files.Count} files, {rows.Count} runs; ratio = step median / {baseRow.Label} {baseRow.Run.Isa}'s (the first file's best path); > 1 is slower");
        for (int i = 0; i < files.Count; i++)
            sb.AppendLine(CultureInfo.InvariantCulture, $"  [{i + 1}] {files[i].Label}: {files[i].Result.Model.File}, {MachineLine(files[i].Result)}");
        var table = new List<string[]>
        {
            new[] { "file", "cpu", "model", "isa", "execution", "step median us", "p99 us", "mean us", "forecasts/s", "alloc B/step", "stream push us", "ratio" },
        };
        double baseline = baseRow.Run.Step.MedianUs;
        foreach (var row in rows)
        {
            table.Add(
            [
                row.Label, CpuLabel(row.Result), row.Result.Model.File,
                row.Run.Isa, row.Run.Execution,
                F(row.Run.Step.MedianUs), F(row.Run.Step.P99Us), F(row.Run.Step.MeanUs),
                BenchJson.Format(row.Run.ThroughputPerSecond, "0"), BenchJson.Format(row.Run.AllocatedBytesPerStep, "0.##"),
                row.Run.Stream is { } st ? F(st.Push.MedianUs) : "-",
                Ratio(row.Run.Step.MedianUs, baseline),
            ]);
        }
        AppendTable(sb, table);
        foreach (var note in CompareNotes(files)) sb.AppendLine("note: " + note);
        return sb.ToString();
    }

    /// <summary>"2.35" for a row 2.35 times slower than the baseline.</summary>
    public static string Ratio(double value, double baseline) =>
        baseline > 0 && !double.IsNaN(value) ? (value / baseline).ToString(value / baseline < 0.1 ? "0.0###" : "0.00", CultureInfo.InvariantCulture) : "-";

    public static IEnumerable<string> CompareNotes(IReadOnlyList<(string Label, BenchResult Result)> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var models = files.Select(f => f.Result.Model).ToList();
        if (models.Select(m => m.Sha256).Distinct(StringComparer.Ordinal).Count() > 1)
        {
            bool sameShape = models.Select(m => $"{m.Name}/{m.TimeSteps}").Distinct(StringComparer.Ordinal).Count() == 1;
            yield return sameShape
                ? "the files measure different blobs of the same model (e.g. fp32 and int8, or another build of it)"
                : "the files measure different models: " + string.Join(", ", files.Select(f => $"{f.Label}: {f.Result.Model.Name} ({f.Result.Model.TimeSteps} steps)"));
        }
        foreach (var f in files.Where(f => f.Result.Emulated == "yes"))
            yield return $"{f.Label} ran under emulation: its timings are not meaningful (it shows that the build and its paths run)";
        foreach (var f in files.Where(f => f.Result.Emulated == "unknown"))
            yield return $"{f.Label}: could not tell whether it ran under emulation";
    }

    private static string MachineLine(BenchResult r)
    {
        var m = r.Machine;
        string? Get(string k) => m[k]?.ToString();
        var parts = new List<string> { Get("cpu_model") ?? "unknown CPU" };
        if (Get("board") is { } board) parts.Add(board);
        parts.Add($"{Get("cores") ?? "?"} cores");
        if (BenchJson.OptionalNumber(m, "frequency_mhz") is { } f) parts.Add($"{f.ToString("0", CultureInfo.InvariantCulture)} MHz");
        parts.Add(Get("architecture") ?? "?");
        parts.Add(Get("os") ?? "?");
        parts.Add($"{Get("dotnet") ?? ".NET ?"} ({Get("runtime") ?? "?"})");
        if (Get("build") is { } build) parts.Add($"build {build}");
        parts.Add($"Edge {Get("edge_version") ?? "?"}");
        parts.Add($"emulated: {Get("emulated") ?? "unknown"}");
        return string.Join(", ", parts);
    }

    private static string F(double v) => BenchJson.Format(v, v < 10 ? "0.000" : v < 1000 ? "0.0" : "0");

    private static string Short(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";

    private static void AppendTable(StringBuilder sb, List<string[]> rows)
    {
        int cols = rows[0].Length;
        var width = new int[cols];
        foreach (var r in rows)
            for (int c = 0; c < cols; c++) width[c] = Math.Max(width[c], r[c].Length);
        for (int i = 0; i < rows.Count; i++)
        {
            var line = new StringBuilder();
            for (int c = 0; c < cols; c++)
            {
                bool numeric = c > 0 && i > 0 && rows[i][c].Length > 0 && (char.IsDigit(rows[i][c][0]) || rows[i][c] == "-");
                line.Append(numeric ? rows[i][c].PadLeft(width[c]) : rows[i][c].PadRight(width[c]));
                if (c < cols - 1) line.Append("  ");
            }
            sb.AppendLine(line.ToString().TrimEnd());
            if (i == 0) sb.AppendLine(new string('-', width.Sum() + 2 * (cols - 1)));
        }
    }

    // ------------------------------------------------------------------ HTML

    /// <summary>
    /// One self-contained HTML page (no scripts, no external resources): the machines, the table of
    /// <see cref="Compare"/>, and an inline SVG bar chart of the step medians with p99 whiskers (a log scale
    /// when the rows span more than 30x, as an emulated run next to a native one does).
    /// </summary>
    public static string Html(IReadOnlyList<(string Label, BenchResult Result)> files)
    {
        var rows = Rows(files);
        var sb = new StringBuilder();
        sb.AppendLine("<!DOCTYPE html>");
        sb.AppendLine("<html lang=\"en\"><head><meta charset=\"utf-8\"><title>edge bench comparison</title>");
        sb.AppendLine("<style>body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}" +
                      "td,th{border:1px solid #ccc;padding:4px 8px;font-size:13px}td.n{text-align:right;font-variant-numeric:tabular-nums}" +
                      "th{background:#f3f3f3}.emu{color:#a33}.note{color:#555;font-size:13px}</style></head><body>");
        sb.AppendLine("<h1>edge bench comparison</h1>");
        var baseRow = Baseline(rows);
        sb.AppendLine(CultureInfo.InvariantCulture, $"<p>Ratio = batch-1 step median / that of {E(baseRow.Label)} {E(baseRow.Run.Isa)} (the first file's best path); above 1 is slower.</p>");
        sb.AppendLine("<h2>Machines</h2><table><tr><th>file</th><th>model</th><th>cpu</th><th>board</th><th>cores</th><th>MHz</th><th>arch</th><th>os</th><th>.NET</th><th>Edge</th><th>emulated</th><th>created</th></tr>");
        foreach (var (label, r) in files)
        {
            var m = r.Machine;
            string G(string k) => E(m[k]?.ToString() ?? "");
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"<tr><td>{E(label)}</td><td>{E(r.Model.File)} ({E(r.Model.Precision)}, {r.Model.TimeSteps} steps)</td><td>{G("cpu_model")}</td><td>{G("board")}</td><td class=n>{G("cores")}</td>" +
                $"<td class=n>{(BenchJson.OptionalNumber(m, "frequency_mhz") is { } f ? f.ToString("0", CultureInfo.InvariantCulture) : "")}</td><td>{G("architecture")}</td><td>{G("os")}</td>" +
                $"<td>{G("dotnet")} ({G("runtime")})</td><td>{G("edge_version")}</td><td{(r.Emulated == "yes" ? " class=emu" : "")}>{E(r.Emulated)}</td><td>{E(r.CreatedUtc)}</td></tr>");
        }
        sb.AppendLine("</table>");
        sb.AppendLine("<h2>Results</h2><table><tr><th>file</th><th>isa</th><th>execution</th><th>step median µs</th><th>p99 µs</th><th>min µs</th><th>mean µs</th><th>forecast µs (batch)</th><th>forecasts/s</th><th>alloc B/step</th><th>stream push µs</th><th>ratio</th></tr>");
        double baseline = baseRow.Run.Step.MedianUs;
        foreach (var row in rows)
        {
            var s = row.Run.Step;
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"<tr><td{(row.Emulated == "yes" ? " class=emu" : "")}>{E(row.Label)}{(row.Emulated == "yes" ? " (emulated)" : "")}</td><td>{E(row.Run.Isa)}</td><td>{E(row.Run.Execution)}</td>" +
                $"<td class=n>{F(s.MedianUs)}</td><td class=n>{F(s.P99Us)}</td><td class=n>{F(s.MinUs)}</td><td class=n>{F(s.MeanUs)}</td>" +
                $"<td class=n>{F(row.Run.Forecast.MedianUs)} ({row.Run.Batch})</td><td class=n>{BenchJson.Format(row.Run.ThroughputPerSecond, "0")}</td>" +
                $"<td class=n>{BenchJson.Format(row.Run.AllocatedBytesPerStep, "0.##")}</td><td class=n>{(row.Run.Stream is { } st ? F(st.Push.MedianUs) : "-")}</td><td class=n>{Ratio(s.MedianUs, baseline)}</td></tr>");
        }
        sb.AppendLine("</table>");
        sb.AppendLine("<h2>Step latency (median, whisker to p99)</h2>");
        sb.AppendLine(Chart(rows));
        foreach (var note in CompareNotes(files)) sb.AppendLine($"<p class=note>Note: {E(note)}</p>");
        sb.AppendLine("</body></html>");
        return sb.ToString();
    }

    private static string Chart(List<Row> rows)
    {
        const int labelWidth = 260, plotWidth = 520, barHeight = 22, gap = 8, top = 10, axis = 30;
        double max = rows.Max(r => Math.Max(r.Run.Step.P99Us, r.Run.Step.MedianUs));
        double min = rows.Min(r => r.Run.Step.MedianUs);
        bool log = min > 0 && max / min > 30;
        double lo = log ? Math.Pow(10, Math.Floor(Math.Log10(min))) : 0;
        double hi = log ? Math.Pow(10, Math.Ceiling(Math.Log10(max))) : max * 1.1;
        double X(double v) => labelWidth + plotWidth * (log ? (Math.Log10(Math.Max(v, lo)) - Math.Log10(lo)) / (Math.Log10(hi) - Math.Log10(lo)) : v / hi);
        int height = top + rows.Count * (barHeight + gap) + axis;
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{labelWidth + plotWidth + 170}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">");
        string[] colors = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7"];
        var fileIndex = rows.Select(r => r.Label).Distinct(StringComparer.Ordinal).ToList();
        for (int i = 0; i < rows.Count; i++)
        {
            var r = rows[i];
            double y = top + i * (barHeight + gap);
            double x1 = X(r.Run.Step.MedianUs), xp = X(r.Run.Step.P99Us);
            string color = colors[fileIndex.IndexOf(r.Label) % colors.Length];
            string label = $"{r.Label} {r.Run.Isa}";
            sb.AppendLine(CultureInfo.InvariantCulture, $"<text x=\"{labelWidth - 6}\" y=\"{y + barHeight * 0.7:0.#}\" text-anchor=\"end\">{E(Short(label, 40))}</text>");
            sb.AppendLine(CultureInfo.InvariantCulture, $"<rect x=\"{labelWidth}\" y=\"{y:0.#}\" width=\"{Math.Max(1, x1 - labelWidth):0.#}\" height=\"{barHeight}\" fill=\"{color}\"{(r.Emulated == "yes" ? " fill-opacity=\"0.45\"" : "")}><title>{E(label)}: median {F(r.Run.Step.MedianUs)} µs, p99 {F(r.Run.Step.P99Us)} µs</title></rect>");
            sb.AppendLine(CultureInfo.InvariantCulture, $"<line x1=\"{x1:0.#}\" x2=\"{xp:0.#}\" y1=\"{y + barHeight / 2.0:0.#}\" y2=\"{y + barHeight / 2.0:0.#}\" stroke=\"#333\"/><line x1=\"{xp:0.#}\" x2=\"{xp:0.#}\" y1=\"{y + 5:0.#}\" y2=\"{y + barHeight - 5:0.#}\" stroke=\"#333\"/>");
            sb.AppendLine(CultureInfo.InvariantCulture, $"<text x=\"{Math.Max(x1, xp) + 4:0.#}\" y=\"{y + barHeight * 0.7:0.#}\">{F(r.Run.Step.MedianUs)} µs{(r.Emulated == "yes" ? " (emulated)" : "")}</text>");
        }
        double axisY = top + rows.Count * (barHeight + gap);
        sb.AppendLine(CultureInfo.InvariantCulture, $"<line x1=\"{labelWidth}\" x2=\"{labelWidth + plotWidth}\" y1=\"{axisY:0.#}\" y2=\"{axisY:0.#}\" stroke=\"#999\"/>");
        var ticks = log
            ? Enumerable.Range(0, (int)Math.Round(Math.Log10(hi / lo)) + 1).Select(k => lo * Math.Pow(10, k))
            : Enumerable.Range(0, 6).Select(k => hi * k / 5);
        foreach (var t in ticks)
            sb.AppendLine(CultureInfo.InvariantCulture, $"<text x=\"{X(t):0.#}\" y=\"{axisY + 16:0.#}\" text-anchor=\"middle\" fill=\"#555\">{F(t)}</text>");
        sb.AppendLine(CultureInfo.InvariantCulture, $"<text x=\"{labelWidth + plotWidth:0.#}\" y=\"{axisY + 28:0.#}\" text-anchor=\"end\" fill=\"#555\">µs per step{(log ? " (log scale)" : "")}</text>");
        sb.AppendLine("</svg>");
        return sb.ToString();
    }

    private static string E(string s) => WebUtility.HtmlEncode(s);

    /// <summary>Loads and checks the --compare files (two or more).</summary>
    public static List<(string Label, BenchResult Result)> LoadForCompare(IReadOnlyList<string> paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        if (paths.Count < 2) throw new EdgeException($"--compare needs two or more result files, got {paths.Count}");
        return Load(paths);
    }
}
