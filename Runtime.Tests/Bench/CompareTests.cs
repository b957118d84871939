using System.Globalization;
using Edge.Device;
using Edge.Device.Bench;

namespace Edge.Runtime.Tests.Bench;

/// <summary>`edge bench --compare` on hand-written result files: the table, the ratios to the first row, the HTML.</summary>
[TestClass]
public sealed class CompareTests
{
    /// <summary>A minimal result file as docs/benchmarks.md documents it: one run with a given median.</summary>
    internal static string ResultJson(string arch, string cpu, string isa, double medianUs, string emulated, string sha = "aa") =>
        string.Create(CultureInfo.InvariantCulture, $$"""
        {
          "schema": "edge-bench/1",
          "created_utc": "2026-11-28T10:00:00Z",
          "command": "edge bench --model m.edge",
          "model": { "file": "forecaster50.int8.edge", "name": "forecaster50", "bytes": 520768, "sha256": "{{sha}}",
                     "precision": "int8", "int8_weights": 5, "inputs": [ { "name": "x", "shape": [1, 50, 6] } ], "time_steps": 50 },
          "settings": { "steps": 1000, "warmup": 100, "batch": 1, "isa": "best" },
          "machine": { "architecture": "{{arch}}", "cpu_model": "{{cpu}}", "cores": 4, "frequency_mhz": 2400, "os": "Debian GNU/Linux 12",
                       "kernel": "Linux 6.1", "dotnet": ".NET 10.0.0", "runtime": "nativeaot", "edge_version": "0.1.0",
                       "emulated": "{{emulated}}", "emulation_detail": "test" },
          "runs": [ { "isa": "{{isa}}", "best": true, "execution": "int8", "session_ms": 3.5,
                      "step": { "count": 1000, "min_us": {{medianUs * 0.9}}, "median_us": {{medianUs}}, "p90_us": {{medianUs * 1.1}}, "p99_us": {{medianUs * 1.5}}, "max_us": {{medianUs * 3}}, "mean_us": {{medianUs * 1.05}}, "stdev_us": 1 },
                      "forecast": { "count": 1000, "min_us": {{medianUs * 0.9}}, "median_us": {{medianUs}}, "p99_us": {{medianUs * 1.5}}, "mean_us": {{medianUs * 1.05}} },
                      "batch": 1, "throughput_per_s": {{1e6 / medianUs}}, "allocated_bytes_per_step": 0 } ],
          "peak_rss_bytes": 41943040,
          "notes": []
        }
        """);

    private static (string A, string B, string C) WriteFiles()
    {
        string dir = TestPaths.NewTempDir();
        string a = Path.Combine(dir, "x64.json"), b = Path.Combine(dir, "pi5.json"), c = Path.Combine(dir, "pi4-qemu.json");
        File.WriteAllText(a, ResultJson("x64", "AMD EPYC", "avx512", 40, "no"));
        File.WriteAllText(b, ResultJson("arm64", "Cortex-A76", "neondot", 100, "no"));
        File.WriteAllText(c, ResultJson("arm64", "emulated cortex-a72 (host: AMD EPYC)", "neon", 5000, "yes"));
        return (a, b, c);
    }

    [TestMethod]
    public void TableHasOneRowPerRunWithRatiosToTheFirst()
    {
        var (a, b, c) = WriteFiles();
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Assert.AreEqual(0, DeviceCli.Run(["bench", "--compare", a, b, c], stdout, stderr), stderr.ToString());
        var text = stdout.ToString();
        var lines = text.Split('\n');
        string Row(string label) => lines.Single(l => l.StartsWith(label + " ", StringComparison.Ordinal));
        Assert.EndsWith(" 1.00", Row("x64.json").TrimEnd());
        Assert.EndsWith(" 2.50", Row("pi5.json").TrimEnd(), "100 us / 40 us");
        Assert.EndsWith(" 125.00", Row("pi4-qemu.json").TrimEnd(), "5000 us / 40 us");
        StringAssert.Contains(Row("pi5.json"), "neondot");
        StringAssert.Contains(Row("pi5.json"), "100.0");
        StringAssert.Contains(Row("pi4-qemu.json"), "(emulated)");
        StringAssert.Contains(text, "pi4-qemu.json ran under emulation");
        StringAssert.Contains(text, "ratio");
    }

    [TestMethod]
    public void RatioIsMedianOverTheFirstRowsMedian()
    {
        var files = BenchReport.LoadForCompare([WriteFiles().A, WriteFiles().B]);
        var rows = BenchReport.Rows(files);
        Assert.AreEqual("2.50", BenchReport.Ratio(rows[1].Run.Step.MedianUs, rows[0].Run.Step.MedianUs));
        Assert.AreEqual("0.40", BenchReport.Ratio(rows[0].Run.Step.MedianUs, rows[1].Run.Step.MedianUs));
    }

    [TestMethod]
    public void HtmlIsSelfContainedWithAnSvgChart()
    {
        var (a, b, c) = WriteFiles();
        string html = Path.Combine(Path.GetDirectoryName(a)!, "cmp.html");
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Assert.AreEqual(0, DeviceCli.Run(["bench", "--compare", a, b, c, "--html", html], stdout, stderr), stderr.ToString());
        var page = File.ReadAllText(html);
        StringAssert.StartsWith(page, "<!DOCTYPE html>");
        StringAssert.Contains(page, "<svg");
        Assert.AreEqual(3, page.Split("<rect ").Length - 1, "one bar per run");
        StringAssert.Contains(page, "log scale", "5000 us next to 40 us spans more than 30x");
        StringAssert.Contains(page, ">2.50<");
        Assert.DoesNotContain("<script", page);
        Assert.DoesNotContain("http://", page.Replace("http://www.w3.org/2000/svg", "", StringComparison.Ordinal));
    }

    [TestMethod]
    public void BaselineIsTheFirstFilesBestPath()
    {
        string dir = TestPaths.NewTempDir();
        string a = Path.Combine(dir, "x64-all.json"), b = Path.Combine(dir, "pi5.json");
        // x64 --isa all: scalar (not best) at 400 us first, then avx2 (best) at 40 us.
        var doc = System.Text.Json.Nodes.JsonNode.Parse(ResultJson("x64", "AMD EPYC", "avx2", 40, "no"))!.AsObject();
        var runs = doc["runs"]!.AsArray();
        var scalar = System.Text.Json.Nodes.JsonNode.Parse(runs[0]!.ToJsonString())!.AsObject();
        scalar["isa"] = "scalar";
        scalar["best"] = false;
        scalar["step"]!["median_us"] = 400.0;
        runs.Insert(0, scalar);
        File.WriteAllText(a, doc.ToJsonString());
        File.WriteAllText(b, ResultJson("arm64", "Cortex-A76", "neondot", 100, "no"));
        var text = BenchReport.Compare(BenchReport.LoadForCompare([a, b]));
        var lines = text.Split('\n');
        Assert.EndsWith(" 10.00", lines.Single(l => l.StartsWith("x64-all.json", StringComparison.Ordinal) && l.Contains("scalar", StringComparison.Ordinal)).TrimEnd());
        Assert.EndsWith(" 1.00", lines.Single(l => l.StartsWith("x64-all.json", StringComparison.Ordinal) && l.Contains("avx2", StringComparison.Ordinal)).TrimEnd());
        Assert.EndsWith(" 2.50", lines.Single(l => l.StartsWith("pi5.json", StringComparison.Ordinal)).TrimEnd());
        StringAssert.Contains(text, "x64-all.json avx2's (the first file's best path)");
    }

    [TestMethod]
    public void DifferentModelsAreNoted()
    {
        string dir = TestPaths.NewTempDir();
        string a = Path.Combine(dir, "a.json"), b = Path.Combine(dir, "b.json");
        File.WriteAllText(a, ResultJson("x64", "AMD EPYC", "avx2", 40, "no", sha: "aa"));
        File.WriteAllText(b, ResultJson("x64", "AMD EPYC", "avx2", 80, "no", sha: "bb"));
        var text = BenchReport.Compare(BenchReport.LoadForCompare([a, b]));
        StringAssert.Contains(text, "different blobs of the same model");
    }
}
