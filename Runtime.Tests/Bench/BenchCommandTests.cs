using System.Text.Json.Nodes;
using Edge.Device;
using Edge.Device.Bench;
using Edge.Quantizer.Quantization;
using Edge.Runtime.Format;
using Edge.Runtime.Ir;
using Edge.Runtime.Kernels;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Tests.Bench;

/// <summary>
/// `edge bench`: the JSON it writes has the fields docs/benchmarks.md documents with sane values, `--isa all`
/// measures exactly the paths <see cref="IsaSelector.Supported"/> lists, and bad arguments are one line.
/// No timing is asserted (the machine is shared): only orderings that hold for any sample (min ≤ median ≤ p99).
/// </summary>
[TestClass]
public sealed class BenchCommandTests
{
    private static string s_dir = null!;
    private static string s_fp32 = null!;
    private static string s_int8 = null!;
    private static string s_fixedBatch = null!;

    [ClassInitialize]
    public static void Init(TestContext _)
    {
        s_dir = TestPaths.NewTempDir();
        s_fp32 = Path.Combine(s_dir, "tiny.fp32.edge");
        s_int8 = Path.Combine(s_dir, "tiny.int8.edge");
        s_fixedBatch = Path.Combine(s_dir, "fixed.edge");
        EdgeBlob.Write(s_fp32, TinyLstm(batch: -1), new JsonObject { ["model_name"] = "tiny", ["window"] = 6 });
        var q = TinyLstm(batch: -1);
        ModelQuantizer.QuantizeWeights(q);
        EdgeBlob.Write(s_int8, q, new JsonObject { ["model_name"] = "tiny", ["window"] = 6 });
        EdgeBlob.Write(s_fixedBatch, TinyLstm(batch: 1), new JsonObject { ["model_name"] = "fixed" });
    }

    [ClassCleanup]
    public static void Cleanup()
    {
        try { Directory.Delete(s_dir, recursive: true); } catch (IOException) { }
    }

    /// <summary>An LSTM(hidden 16, input 3) over (N, T, 3) (batch first), the time axis dynamic so the blob's window (6) gives it.</summary>
    private static Graph TinyLstm(int batch)
    {
        var rng = new Random(5);
        Tensor Rand(params int[] shape)
        {
            var t = Tensor.Zeros<float>(shape);
            var s = t.Span<float>();
            for (int i = 0; i < s.Length; i++) s[i] = (float)(rng.NextDouble() - 0.5);
            return t;
        }
        var g = new Graph { Name = "tiny" };
        g.Inputs.Add(new ValueInfo("x", DataType.Float32, [batch, -1, 3]));
        g.Constants["W"] = Rand(1, 64, 3);
        g.Constants["R"] = Rand(1, 64, 16);
        g.Constants["B"] = Rand(1, 128);
        g.Nodes.Add(new Node(OpKind.Lstm, "lstm", ["x", "W", "R", "B"], ["", "h"]).Set("hidden_size", 16L).Set("layout", 1L));
        g.Outputs.Add(new ValueInfo("h", DataType.Float32, [batch, 1, 16]));
        return g;
    }

    private static (int Code, string Out, string Err) Cli(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = DeviceCli.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static JsonObject Bench(string model, params string[] extra)
    {
        string json = Path.Combine(s_dir, Guid.NewGuid().ToString("N") + ".json");
        var (code, output, err) = Cli(["bench", "--model", model, "--steps", "40", "--warmup", "3", "--json", json, .. extra]);
        Assert.AreEqual(0, code, err + output);
        Assert.Contains("step median us", output);
        return (JsonObject)JsonNode.Parse(File.ReadAllText(json))!;
    }

    [TestMethod]
    public void JsonHasTheDocumentedFieldsWithSaneValues()
    {
        var doc = Bench(s_fp32, "--batch", "3");
        Assert.AreEqual("edge-bench/1", (string?)doc["schema"]);
        Assert.StartsWith("edge bench --model", (string?)doc["command"]);
        Assert.IsNotNull(doc["created_utc"]);

        var model = (JsonObject)doc["model"]!;
        Assert.AreEqual("tiny.fp32.edge", (string?)model["file"]);
        Assert.AreEqual("tiny", (string?)model["name"]);
        Assert.AreEqual(new FileInfo(s_fp32).Length, (long)model["bytes"]!);
        Assert.AreEqual(64, ((string?)model["sha256"])!.Length);
        Assert.AreEqual("fp32", (string?)model["precision"]);
        Assert.AreEqual(0, (int)model["int8_weights"]!);
        Assert.AreEqual(6, (int)model["time_steps"]!, "the blob's window gives the dynamic time axis");
        var input = (JsonObject)((JsonArray)model["inputs"]!)[0]!;
        Assert.AreEqual("x", (string?)input["name"]);
        CollectionAssert.AreEqual(new[] { 1, 6, 3 }, ((JsonArray)input["shape"]!).Select(d => (int)d!).ToArray());

        var settings = (JsonObject)doc["settings"]!;
        Assert.AreEqual(40, (int)settings["steps"]!);
        Assert.AreEqual(3, (int)settings["warmup"]!);
        Assert.AreEqual(3, (int)settings["batch"]!);

        var machine = (JsonObject)doc["machine"]!;
        foreach (var key in new[] { "architecture", "cpu_model", "os", "kernel", "dotnet", "runtime", "edge_version", "emulated", "emulation_detail" })
            Assert.IsFalse(string.IsNullOrWhiteSpace((string?)machine[key]), key);
        Assert.IsGreaterThan(0, (int)machine["cores"]!);
        CollectionAssert.Contains(new[] { "yes", "no", "unknown" }, (string?)machine["emulated"]);
        CollectionAssert.Contains(new[] { "jit", "nativeaot" }, (string?)machine["runtime"]);
        Assert.IsTrue(machine.ContainsKey("frequency_mhz"), "frequency_mhz is present (null when unreadable)");
        if (OperatingSystem.IsLinux()) Assert.IsGreaterThan(0L, (long)doc["peak_rss_bytes"]!);
        Assert.IsInstanceOfType<JsonArray>(doc["notes"]);

        var runs = (JsonArray)doc["runs"]!;
        Assert.HasCount(1, runs);
        var run = (JsonObject)runs[0]!;
        Assert.AreEqual(IsaSelector.Name(IsaSelector.FromEnvironment()), (string?)run["isa"]);
        Assert.AreEqual("fp32", (string?)run["execution"]);
        Assert.AreEqual(3, (int)run["batch"]!);
        Assert.IsGreaterThan(0.0, (double)run["throughput_per_s"]!);
        Assert.IsGreaterThanOrEqualTo(0.0, (double)run["allocated_bytes_per_step"]!);
        Assert.IsGreaterThanOrEqualTo(0.0, (double)run["session_ms"]!);
        var step = (JsonObject)run["step"]!;
        Assert.AreEqual(40, (int)step["count"]!, "every measured step is counted");
        CheckOrdering(step);
        Assert.IsTrue(run.ContainsKey("stream"), "stream is present (null for a model that does not stream)");
        if (run["stream"] is JsonObject stream)
        {
            Assert.AreEqual(40, (int)((JsonObject)stream["push"]!)["count"]!);
            CheckOrdering((JsonObject)stream["push"]!);
            Assert.AreEqual(6, (int)stream["window"]!);
        }
        var forecast = (JsonObject)run["forecast"]!;
        Assert.IsGreaterThanOrEqualTo(20, (int)forecast["count"]!);
        CheckOrdering(forecast);

        // The file reads back into the same figures (what --compare uses).
        var back = BenchResult.FromJson(doc, "doc");
        Assert.AreEqual((double)step["median_us"]!, back.Runs[0].Step.MedianUs);
    }

    private static void CheckOrdering(JsonObject s)
    {
        double min = (double)s["min_us"]!, median = (double)s["median_us"]!, p90 = (double)s["p90_us"]!, p99 = (double)s["p99_us"]!, max = (double)s["max_us"]!, mean = (double)s["mean_us"]!;
        Assert.IsGreaterThan(0.0, min);
        Assert.IsGreaterThanOrEqualTo(min, median);
        Assert.IsGreaterThanOrEqualTo(median, p90);
        Assert.IsGreaterThanOrEqualTo(p90, p99);
        Assert.IsGreaterThanOrEqualTo(p99, max);
        Assert.IsTrue(mean >= min && mean <= max, $"mean {mean} outside [{min}, {max}]");
        Assert.IsGreaterThanOrEqualTo(0.0, (double)s["stdev_us"]!);
    }

    [TestMethod]
    public void IsaAllRunsExactlyTheSupportedPaths()
    {
        var doc = Bench(s_int8, "--isa", "all", "--time-steps", "2");
        var runs = ((JsonArray)doc["runs"]!).Cast<JsonObject>().ToList();
        CollectionAssert.AreEqual(IsaSelector.Supported.Select(IsaSelector.Name).ToArray(), runs.Select(r => (string)r["isa"]!).ToArray());
        Assert.AreEqual(IsaSelector.Name(IsaSelector.Best), (string?)runs.Single(r => (bool)r["best"]!)["isa"]);
        Assert.AreEqual("all", (string?)((JsonObject)doc["settings"]!)["isa"]);
        Assert.AreEqual("int8", (string?)((JsonObject)doc["model"]!)["precision"]);
        Assert.AreEqual(2, (int)((JsonObject)doc["model"]!)["time_steps"]!, "--time-steps overrides the window");
        foreach (var r in runs)
        {
            Assert.AreEqual(40, (int)((JsonObject)r["step"]!)["count"]!);
            string execution = (string)r["execution"]!;
            Assert.IsTrue(execution is "int8" or "fp32-fallback" || execution.StartsWith("mixed", StringComparison.Ordinal), execution);
        }
    }

    [TestMethod]
    public void BatchAndTimeAxesOfTheInputs()
    {
        var g = new Graph { Name = "cells" };
        g.Inputs.Add(new ValueInfo("x", DataType.Float32, [-1, -1, 8]));
        g.Inputs.Add(new ValueInfo("h0", DataType.Float32, [1, -1, 200]));
        var shapes = BenchRunner.InputShapes(g, batch: 4, timeSteps: 7, "m.edge");
        CollectionAssert.AreEqual(new[] { 4, 7, 8 }, shapes[0]);
        CollectionAssert.AreEqual(new[] { 1, 4, 200 }, shapes[1], "an ONNX state's batch is its axis 1");

        var fixedBatch = new Graph { Name = "fixed" };
        fixedBatch.Inputs.Add(new ValueInfo("x", DataType.Float32, [1, -1, 3]));
        CollectionAssert.AreEqual(new[] { 1, 7, 3 }, BenchRunner.InputShapes(fixedBatch, 1, 7, "m.edge")[0], "no dynamic axis 0: the dynamic axis is time");
        Assert.ThrowsExactly<EdgeException>(() => BenchRunner.InputShapes(fixedBatch, 2, 7, "m.edge"));
    }

    [TestMethod]
    public void OnePathByName()
    {
        var doc = Bench(s_fp32, "--isa", "scalar");
        var run = (JsonObject)((JsonArray)doc["runs"]!).Single()!;
        Assert.AreEqual("scalar", (string?)run["isa"]);
        Assert.AreEqual(IsaSelector.Best == Isa.Scalar, (bool)run["best"]!);
    }

    [TestMethod]
    [DataRow("bench")]
    [DataRow("bench", "--steps", "10")]
    [DataRow("bench", "--model", "MODEL", "--steps", "0")]
    [DataRow("bench", "--model", "MODEL", "--steps", "ten")]
    [DataRow("bench", "--model", "MODEL", "--warmup", "-1")]
    [DataRow("bench", "--model", "MODEL", "--batch", "0")]
    [DataRow("bench", "--model", "MODEL", "--time-steps", "0")]
    [DataRow("bench", "--model", "MODEL", "--isa", "sse9")]
    [DataRow("bench", "--model", "MODEL", "--isa", "UNSUPPORTED")]
    [DataRow("bench", "--model", "MODEL", "--steps")]
    [DataRow("bench", "--model", "MODEL", "--frobnicate")]
    [DataRow("bench", "--model", "MODEL", "--html", "x.html")]
    [DataRow("bench", "--model", "/nonexistent/model.edge")]
    [DataRow("bench", "--model", "FIXED", "--batch", "4")]
    [DataRow("bench", "--compare", "A")]
    [DataRow("bench", "--compare")]
    [DataRow("bench", "--compare", "A", "A", "--steps", "5")]
    [DataRow("bench", "--compare", "A", "/nonexistent/b.json")]
    [DataRow("bench", "--compare", "A", "NOTBENCH")]
    public void BadArgumentsAreOneLine(params string[] args)
    {
        string notBench = Path.Combine(s_dir, "notbench.json");
        File.WriteAllText(notBench, "{\"schema\": \"something-else\"}");
        string a = Path.Combine(s_dir, "compare-a.json");
        File.WriteAllText(a, CompareTests.ResultJson("x64", "AMD EPYC", "avx2", 100, "no"));
        string unsupported = IsaSelector.IsSupported(Isa.Neon) ? "avx2" : "neon";
        var resolved = args.Select(x => x switch
        {
            "MODEL" => s_fp32,
            "FIXED" => s_fixedBatch,
            "A" => a,
            "NOTBENCH" => notBench,
            "UNSUPPORTED" => unsupported,
            _ => x,
        }).ToArray();
        var (code, _, err) = Cli(resolved);
        Assert.AreEqual(1, code, $"{string.Join(' ', args)}: {err}");
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.HasCount(1, lines, $"{string.Join(' ', args)}: {err}");
        Assert.StartsWith("edge: error: ", lines[0]);
    }
}
