using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Edge.Runtime;
using Edge.Runtime.Execution;
using Edge.Runtime.Kernels;
using Edge.Runtime.Streaming;
using Microsoft.ML.OnnxRuntime;

namespace Edge.Perf;

/// <summary>
/// <c>dotnet run -c Release --project perf -- --per-call [--json FILE] [--calls N] [--case NAME]... [--precision fp32|int8] [--isa NAME]...</c>: Edge (fp32 and int8, every
/// kernel path in-process through <see cref="Edge.Runtime.Execution.SessionOptions.Isa"/>) and ONNX Runtime fp32 and int8 (its own
/// dynamic int8 model where there is one; same settings as <see cref="OnnxRuntimeBenchmarks"/>) on the <see cref="BenchModels"/> cases, every call timed on its own,
/// engines interleaved case by case.
/// <para>Why next to BenchmarkDotNet: BenchmarkDotNet reports per-iteration means, and on a shared machine a
/// scheduler time slice (~4 ms, another process's turn on the core) lands inside some iterations; at 100-500 µs
/// per call that moves a mean by several times while the per-call median does not move. The median of single
/// calls is the figure this table compares; p90 shows the spread. BenchmarkDotNet stays the source for the
/// per-ISA runtime switches (DOTNET_EnableAVX2=0 ...) and MemoryDiagnoser.</para>
/// <para>The filters keep a run short on a shared machine: <c>--case</c> takes a case ("lstm200 T=50") or a model
/// ("lstm200": all its cases), <c>--precision</c> one Edge precision, <c>--isa</c> an <c>EDGE_ISA</c> name; each
/// repeatable option may be given more than once. ONNX Runtime runs for every selected case.</para>
/// </summary>
public static class PerCall
{
    public static int Run(string[] args)
    {
        string? json = null;
        int calls = 2000;
        var caseFilter = new List<string>();
        var isaFilter = new List<Isa>();
        string[] precisions = ["fp32", "int8"];
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--json" && i + 1 < args.Length) json = args[++i];
            else if (args[i] == "--calls" && i + 1 < args.Length) calls = int.Parse(args[++i], CultureInfo.InvariantCulture);
            else if (args[i] == "--case" && i + 1 < args.Length) caseFilter.Add(args[++i]);
            else if (args[i] == "--isa" && i + 1 < args.Length) isaFilter.Add(IsaSelector.Parse(args[++i]));
            else if (args[i] == "--precision" && i + 1 < args.Length)
            {
                string p = args[++i];
                if (p is not ("fp32" or "int8")) throw new ArgumentException($"--precision {p}: expected fp32 or int8");
                precisions = [p];
            }
        }
        var cases = BenchModels.Cases.Where(c => caseFilter.Count == 0 || caseFilter.Any(f => c == f || c.Split(' ')[0] == f)).ToArray();
        if (cases.Length == 0) throw new ArgumentException($"--case {string.Join(", ", caseFilter)}: expected one of {string.Join(", ", BenchModels.Cases)} or a model name");
        var isas = isaFilter.Count == 0 ? IsaSelector.Supported : IsaSelector.Supported.Where(isaFilter.Contains).ToArray();
        if (isas.Count == 0) throw new ArgumentException($"--isa: none of {string.Join(", ", isaFilter.Select(IsaSelector.Name))} is supported here");
        var results = new JsonArray();
        var table = new StringBuilder();
        table.Append("| case |");
        foreach (var p in precisions)
            foreach (var isa in isas) table.Append(CultureInfo.InvariantCulture, $" Edge {p} {IsaSelector.Name(isa)} |");
        table.AppendLine(" ONNX Runtime fp32 | ONNX Runtime int8 |");
        table.AppendLine("|---|" + string.Concat(Enumerable.Repeat("---|", precisions.Length * isas.Count + 2)));
        foreach (var @case in cases)
        {
            var (model, steps, _) = BenchModels.Parse(@case);
            int n = steps == 1 ? calls : Math.Max(calls / 5, 200);
            table.Append(CultureInfo.InvariantCulture, $"| {@case} |");
            foreach (var precision in precisions)
            {
                var blob = EdgeModel.Load(BenchModels.Edge(model, precision));
                foreach (var isa in isas)
                {
                    var runner = blob.CreateSession(new Edge.Runtime.Execution.SessionOptions { Isa = isa }).CreateRunner();
                    int seed = 1;
                    foreach (var (name, shape) in BenchModels.Inputs(@case))
                        BenchModels.Fill(runner.Input(runner.InputIndex(name), shape).Span<float>(), seed++);
                    int count = isa == Isa.Scalar ? Math.Max(n / 10, 50) : n;
                    var (median, p10, p90) = Time(runner.Invoke, count);
                    table.Append(CultureInfo.InvariantCulture, $" {Fmt(median)} [{Fmt(p10)}..{Fmt(p90)}] |");
                    results.Add((JsonNode)new JsonObject
                    {
                        ["case"] = @case, ["engine"] = "edge", ["precision"] = precision, ["isa"] = IsaSelector.Name(isa),
                        ["calls"] = count, ["median_us"] = Math.Round(median, 3), ["p10_us"] = Math.Round(p10, 3), ["p90_us"] = Math.Round(p90, 3),
                    });
                }
            }
            // ONNX Runtime fp32, then its own int8 (tools/make_ort_int8.py) where the model has one.
            foreach (var (ortCase, ortPrecision) in new[] { (@case, "fp32"), (@case + " ort-int8", "int8") })
            {
                if (ortPrecision == "int8" && !OnnxRuntimeBenchmarks.OrtInt8Cases.Contains(ortCase))
                {
                    table.Append(" - |");
                    continue;
                }
                using var ort = new OnnxRuntimeBenchmarks { Case = ortCase };
                ort.Setup();
                var (median, p10, p90) = Time(ort.Run, n);
                table.Append(CultureInfo.InvariantCulture, $" {Fmt(median)} [{Fmt(p10)}..{Fmt(p90)}] |");
                results.Add((JsonNode)new JsonObject
                {
                    ["case"] = @case, ["engine"] = "onnxruntime", ["precision"] = ortPrecision, ["isa"] = null,
                    ["calls"] = n, ["median_us"] = Math.Round(median, 3), ["p10_us"] = Math.Round(p10, 3), ["p90_us"] = Math.Round(p90, 3),
                });
            }
            table.AppendLine();
            if (model == "forecaster50") StreamPushRow(model, precisions, isas, n, table, results);
        }
        Console.WriteLine("per call, microseconds: median [p10..p90]");
        Console.Write(table);
        if (json is not null)
        {
            var doc = new JsonObject
            {
                ["tool"] = "perf --per-call",
                ["created_utc"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
                ["dotnet"] = System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
                ["results"] = results,
            };
            File.WriteAllText(json, doc.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) + "\n");
            Console.WriteLine($"wrote {json}");
        }
        return 0;
    }

    /// <summary>
    /// The device loop's cost per forecast: <see cref="ForecastStream"/> (window style, the default projection cache: the
    /// encoder's W·x computed once per sample) pushing one new sample into a full 50-sample window, which returns a
    /// forecast. ONNX Runtime has no streaming API; its column is "-".
    /// </summary>
    private static void StreamPushRow(string model, string[] precisions, IReadOnlyList<Isa> isas, int n, StringBuilder table, JsonArray results)
    {
        const string name = "forecaster50 stream push";
        table.Append(CultureInfo.InvariantCulture, $"| {name} |");
        foreach (var precision in precisions)
        {
            var blob = EdgeModel.Load(BenchModels.Edge(model, precision));
            foreach (var isa in isas)
            {
                var stream = blob.CreateStream(new StreamOptions { Session = new Edge.Runtime.Execution.SessionOptions { Isa = isa } });
                var samples = new float[64 * stream.InputFeatures];
                BenchModels.Fill(samples, 7);
                var forecast = new float[stream.ForecastLength];
                int next = 0;
                void Push()
                {
                    stream.TryPush(samples.AsSpan(next * stream.InputFeatures, stream.InputFeatures), forecast);
                    next = (next + 1) % 64;
                }
                for (int i = 0; i < stream.Window; i++) Push();
                int count = isa == Isa.Scalar ? Math.Max(n / 10, 50) : n;
                var (median, p10, p90) = Time(Push, count);
                table.Append(CultureInfo.InvariantCulture, $" {Fmt(median)} [{Fmt(p10)}..{Fmt(p90)}] |");
                results.Add((JsonNode)new JsonObject
                {
                    ["case"] = name, ["engine"] = "edge", ["precision"] = precision, ["isa"] = IsaSelector.Name(isa),
                    ["caches_input_projections"] = stream.CachesInputProjections,
                    ["calls"] = count, ["median_us"] = Math.Round(median, 3), ["p10_us"] = Math.Round(p10, 3), ["p90_us"] = Math.Round(p90, 3),
                });
            }
        }
        table.AppendLine(" - |");
    }

    /// <summary>Warm-up (at least 1 s, so tiered compilation and dynamic PGO have finished), then <paramref name="count"/> timed calls.</summary>
    private static (double Median, double P10, double P90) Time(Action call, int count)
    {
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < 50 || Stopwatch.GetElapsedTime(start) < TimeSpan.FromSeconds(1); i++) call();
        var us = new double[count];
        for (int i = 0; i < count; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            call();
            us[i] = (Stopwatch.GetTimestamp() - t0) * 1e6 / Stopwatch.Frequency;
        }
        Array.Sort(us);
        double Rank(double q) => us[Math.Clamp((int)Math.Ceiling(q * count) - 1, 0, count - 1)];
        return (Rank(0.5), Rank(0.1), Rank(0.9));
    }

    private static string Fmt(double us) => us >= 1000 ? us.ToString("#,0", CultureInfo.InvariantCulture) : us >= 10 ? us.ToString("0.0", CultureInfo.InvariantCulture) : us.ToString("0.00", CultureInfo.InvariantCulture);
}
