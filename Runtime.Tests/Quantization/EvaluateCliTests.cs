using System.Text.Json.Nodes;
using Edge.Runtime.Tests.EndToEnd;
using static Edge.Runtime.Tests.Quantization.QuantizationTestData;

namespace Edge.Runtime.Tests.Quantization;

/// <summary>`edge-quantize evaluate`: the report on stdout (and --json/--html), exit codes, one-line errors.</summary>
[TestClass]
public sealed class EvaluateCliTests
{
    private static string Int8(string dir, string fixture, params string[] extra)
    {
        string edge = Path.Combine(dir, fixture + ".edge");
        var r = EdgeCli.Quantize(["convert", Fixture(fixture, "model.onnx"), "--output", edge, "--precision", "int8", "--quiet", .. extra]);
        Assert.AreEqual(0, r.ExitCode, r.ToString());
        return edge;
    }

    private static void AssertOneLineError(EdgeCli.Result r, params string[] parts)
    {
        Assert.AreEqual(1, r.ExitCode, r.ToString());
        Assert.AreEqual(1, r.Stderr.TrimEnd().Split('\n').Length, r.ToString());
        StringAssert.StartsWith(r.Stderr, "edge-quantize: error: ");
        foreach (var p in parts) StringAssert.Contains(r.Stderr, p);
    }

    [TestMethod]
    public void Forecaster_PrintsTheReport_AndWritesJsonAndHtml()
    {
        string dir = TestPaths.NewTempDir();
        string meta = WriteForecasterMetadata(dir, 45);
        string edge = Int8(dir, "forecaster", "--metadata", meta);
        string csv = WriteRecordingCsv(dir, 45);
        string json = Path.Combine(dir, "r.json"), html = Path.Combine(dir, "r.html");
        var r = EdgeCli.Quantize("evaluate", "--model", Fixture("forecaster", "model.onnx"), "--quantized", edge, "--data", csv, "--json", json, "--html", html, "--batch-size", "4");
        Assert.AreEqual(0, r.ExitCode, r.ToString());
        Assert.AreEqual("", r.Stderr, "a short evaluation prints no progress when stderr is not a terminal");
        StringAssert.Contains(r.Stdout, "task: forecaster (metadata \"task\" = \"forecaster\")");
        StringAssert.Contains(r.Stdout, "weights (5 int8");
        StringAssert.Contains(r.Stdout, "forecast: RMSE");
        StringAssert.Contains(r.Stdout, "/decoder/LSTM R");
        StringAssert.Contains(r.Stdout, "f0 (degC)");
        StringAssert.Contains(r.Stdout, "targets: min output cosine");
        var report = JsonNode.Parse(File.ReadAllText(json))!;
        Assert.AreEqual(35, report["forecast"]!["windows"]!.GetValue<int>());
        Assert.AreEqual(4, report["data"]!["batch_size"]!.GetValue<int>());
        StringAssert.Contains(File.ReadAllText(html), "<svg");
    }

    [TestMethod]
    public void ReadyWindowsWithTargets_AndAnFp32BlobAsTheModel()
    {
        string dir = TestPaths.NewTempDir();
        string edge = Int8(dir, "forecaster");
        string fp32 = Path.Combine(dir, "fp32.edge");
        Assert.AreEqual(0, EdgeCli.Quantize("convert", Fixture("forecaster", "model.onnx"), "--output", fp32, "--precision", "fp32", "--quiet").ExitCode);
        // the fixture's own x.npy (4, 10, 6) with the PyTorch forecasts as "targets"
        string json = Path.Combine(dir, "r.json");
        var r = EdgeCli.Quantize("evaluate", "--model", fp32, "--quantized", edge, "--data", Fixture("forecaster", "x.npy"), "--targets", Fixture("forecaster", "forecast.npy"), "--json", json);
        Assert.AreEqual(0, r.ExitCode, r.ToString());
        StringAssert.Contains(r.Stdout, "task: forecaster (graph shapes");
        var f = JsonNode.Parse(File.ReadAllText(json))!["forecast"]!;
        Assert.AreEqual(4, f["windows"]!.GetValue<int>());
        Assert.IsTrue(f["rmse_fp32"]!.GetValue<double>() < 1e-4, "Edge fp32 against PyTorch's own forecasts");
    }

    [TestMethod]
    public void DualEncoder_TakesNamedInputs()
    {
        string dir = TestPaths.NewTempDir();
        string edge = Int8(dir, "dual_encoder");
        var r = EdgeCli.Quantize("evaluate", "--model", Fixture("dual_encoder", "model.onnx"), "--quantized", edge,
            "--data", "context=" + Fixture("dual_encoder", "context.npy"), "--data", "response=" + Fixture("dual_encoder", "response.npy"));
        Assert.AreEqual(0, r.ExitCode, r.ToString());
        StringAssert.Contains(r.Stdout, "score correlation int8 vs fp32: Pearson");
        StringAssert.Contains(r.Stdout, "top-1 agreement: n/a (no grouped candidates");

        AssertOneLineError(EdgeCli.Quantize("evaluate", "--model", Fixture("dual_encoder", "model.onnx"), "--quantized", edge, "--data", Fixture("dual_encoder", "context.npy")),
            "the model has 2 inputs", "--data NAME=FILE");
        AssertOneLineError(EdgeCli.Quantize("evaluate", "--model", Fixture("dual_encoder", "model.onnx"), "--quantized", edge, "--data", "context=" + Fixture("dual_encoder", "context.npy")),
            "no data for input 'response'");
    }

    [TestMethod]
    public void Classifier_WithAndWithoutTargets()
    {
        string dir = TestPaths.NewTempDir();
        string edge = Int8(dir, "char_lstm");
        var r = EdgeCli.Quantize("evaluate", "--model", Fixture("char_lstm", "model.onnx"), "--quantized", edge, "--data", Fixture("char_lstm", "tokens.npy"));
        Assert.AreEqual(0, r.ExitCode, r.ToString());
        StringAssert.Contains(r.Stdout, "targets: fp32 arg max");
        r = EdgeCli.Quantize("evaluate", "--model", Fixture("char_lstm", "model.onnx"), "--quantized", edge, "--data", Fixture("char_lstm", "tokens.npy"), "--targets", Fixture("char_lstm", "targets.npy"));
        Assert.AreEqual(0, r.ExitCode, r.ToString());
        StringAssert.Contains(r.Stdout, "top-1 accuracy against the targets");
        AssertOneLineError(EdgeCli.Quantize("evaluate", "--model", Fixture("char_lstm", "model.onnx"), "--quantized", edge, "--data", Fixture("char_lstm", "tokens.npy"), "--targets", Fixture("char_lstm", "loss.npy")),
            "--targets", "loss.npy");
    }

    [TestMethod]
    public void UserErrors_AreOneLineWithExitCode1()
    {
        string dir = TestPaths.NewTempDir();
        string edge = Int8(dir, "forecaster");
        string model = Fixture("forecaster", "model.onnx");
        AssertOneLineError(EdgeCli.Quantize("evaluate", "--model", model, "--quantized", Path.Combine(dir, "missing.edge"), "--data", Fixture("forecaster", "x.npy")),
            "--quantized", "missing.edge", "no such file");
        AssertOneLineError(EdgeCli.Quantize("evaluate", "--model", model, "--quantized", edge, "--data", Path.Combine(dir, "none.csv")), "none.csv", "no such file");
        AssertOneLineError(EdgeCli.Quantize("evaluate", "--model", model, "--quantized", edge, "--data", Fixture("char_lstm", "tokens.npy")), "tokens.npy", "does not fit input 'x'");
        AssertOneLineError(EdgeCli.Quantize("evaluate", "--model", edge, "--quantized", edge, "--data", Fixture("forecaster", "x.npy")), "holds int8 weights");
        AssertOneLineError(EdgeCli.Quantize("evaluate", "--model", Fixture("seed_gru", "model.onnx"), "--quantized", edge, "--data", Fixture("forecaster", "x.npy")), "same model");

        string csv = Path.Combine(dir, "bad.csv");
        File.WriteAllText(csv, "timestamp,a,b,c,d,e,f\n" + string.Concat(Enumerable.Range(0, 20).Select(i => $"2024-01-01T00:{i:00}:00,1,2,3,4,5,6\n")).Replace("00:07:00,1,2,3", "00:07:00,1,2,x3", StringComparison.Ordinal));
        AssertOneLineError(EdgeCli.Quantize("evaluate", "--model", model, "--quantized", edge, "--data", csv), "bad.csv line 9, column 4 ('c'): 'x3' is not a finite number");

        var parse = EdgeCli.Quantize("evaluate", "--model", model, "--quantized", edge);
        Assert.AreNotEqual(0, parse.ExitCode, parse.ToString());
        StringAssert.Contains(parse.Stderr, "--data");
        var batch = EdgeCli.Quantize("evaluate", "--model", model, "--quantized", edge, "--data", Fixture("forecaster", "x.npy"), "--batch-size", "0");
        Assert.AreNotEqual(0, batch.ExitCode, batch.ToString());
        StringAssert.Contains(batch.Stderr, "--batch-size must be at least 1");
    }

    [TestMethod]
    public void Convert_BadCalibrationData_LeavesNoBlob()
    {
        string dir = TestPaths.NewTempDir();
        string edge = Path.Combine(dir, "m.edge");
        string csv = Path.Combine(dir, "short.csv");
        File.WriteAllText(csv, "timestamp,a,b,c,d,e,f\n2024-01-01,1,2,3,4,5,6\n");
        var r = EdgeCli.Quantize("convert", Fixture("forecaster", "model.onnx"), "--output", edge, "--precision", "int8", "--calibration", csv);
        AssertOneLineError(r, "1 samples", "at least 11");
        Assert.IsFalse(File.Exists(edge));
        Assert.IsFalse(File.Exists(Path.Combine(dir, "m.report.json")));
    }
}
