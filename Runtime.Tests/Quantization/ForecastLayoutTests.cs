using System.Globalization;
using System.Text.Json.Nodes;
using Edge.Device.Config;
using Edge.Device.Sources;
using Edge.Quantizer.Calibration;
using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;
using Edge.Runtime.Tests.EndToEnd;

namespace Edge.Runtime.Tests.Quantization;

/// <summary>
/// Calibration and evaluation from a CSV recording for every forecaster output layout, against PyTorch's goldens
/// (tools/make_forecast_layouts.py): (N, F), (N, 1, F), (N, S, F), (N, S * F), a subset of the features as targets,
/// and a graph exported with a fixed batch.
/// </summary>
[TestClass]
public sealed class ForecastLayoutTests
{
    private static string Dir => Path.Combine(TestPaths.Fixtures, "forecast_layouts");
    private static string F(string name) => Path.Combine(Dir, name);
    private static JsonObject Case => JsonNode.Parse(File.ReadAllText(F("case.json")))!.AsObject();

    private static string MetaFor(string model) => model == "subset" ? F("meta_subset.json") : F("meta.json");

    private static void AssertOneLineError(EdgeCli.Result r, params string[] parts)
    {
        Assert.AreEqual(1, r.ExitCode, r.ToString());
        Assert.AreEqual(1, r.Stderr.TrimEnd().Split('\n').Length, r.ToString());
        StringAssert.StartsWith(r.Stderr, "edge-quantize: error: ");
        foreach (var p in parts) StringAssert.Contains(r.Stderr, p, r.ToString());
    }

    [TestMethod]
    [DataRow("n_f")]
    [DataRow("n_1_f")]
    [DataRow("n_s_f")]
    [DataRow("n_sf")]
    [DataRow("subset")]
    [DataRow("fixed_batch")]
    public void ConvertWithCalibrationCsv_AndEvaluate_GivePyTorchsForecastErrors(string model)
    {
        var c = Case["models"]![model]!.AsObject();
        string dir = TestPaths.NewTempDir();
        string edge = Path.Combine(dir, model + ".edge");
        // batch size 5 leaves a short last batch (and is not the fixed batch of 4)
        var r = EdgeCli.Quantize("convert", F(model + ".onnx"), "--output", edge, "--precision", "int8", "--metadata", MetaFor(model),
            "--calibration", F("recording.csv"), "--batch-size", "5");
        Assert.AreEqual(0, r.ExitCode, r.ToString());
        Assert.IsTrue(File.Exists(edge));
        StringAssert.Contains(r.Stdout, "calibrated");
        Assert.DoesNotContain("warning", r.Stderr, "the metadata has a normalization");

        var report = JsonNode.Parse(File.ReadAllText(Path.ChangeExtension(edge, null) + ".report.json"))!;
        AssertRmse(c, report, model);

        string json = Path.Combine(dir, "eval.json");
        var e = EdgeCli.Quantize("evaluate", "--model", F(model + ".onnx"), "--quantized", edge, "--data", F("recording.csv"), "--json", json, "--batch-size", "7");
        Assert.AreEqual(0, e.ExitCode, e.ToString());
        AssertRmse(c, JsonNode.Parse(File.ReadAllText(json))!, model);
    }

    private static void AssertRmse(JsonObject c, JsonNode report, string model)
    {
        var forecast = report["forecast"] ?? throw new AssertFailedException($"{model}: the report has no forecast section: {report}");
        int windows = (int)c["output_shape"]![0]!;
        Assert.AreEqual(windows, (int)forecast["windows"]!, model);
        Assert.AreEqual((int)c["steps"]!, (int)forecast["horizon"]!, model);
        var features = forecast["features"]!.AsArray();
        var expected = c["fp32_rmse"]!.AsObject();
        Assert.HasCount(expected.Count, features, model);
        int k = 0;
        foreach (var (name, value) in expected)
        {
            Assert.AreEqual(name, (string)features[k]!["name"]!, model);
            double want = (double)value!, got = (double)features[k]!["rmse_fp32"]!;
            Assert.AreEqual(want, got, 1e-4 * want + 1e-6, $"{model}: fp32 RMSE of {name} (PyTorch {want})");
            k++;
        }
    }

    [TestMethod]
    [DataRow("n_f")]
    [DataRow("n_s_f")]
    [DataRow("subset")]
    [DataRow("fixed_batch")]
    public void RecordingWindows_AreTheNormalizedRows_AndTheFp32OutputIsPyTorchs(string model)
    {
        var c = Case["models"]![model]!.AsObject();
        var graph = Edge.Quantizer.Import.ModelImporter.Import(F(model + ".onnx"));
        var meta = JsonNode.Parse(File.ReadAllText(MetaFor(model)))!.AsObject();
        var data = ModelData.Load([F("recording.csv")], null, graph.Inputs, graph.Outputs, meta, "--calibration", graph: graph);
        int n = (int)c["output_shape"]![0]!;
        Assert.AreEqual(n, data.Count);
        var golden = Npy.Read(F("windows.npy")).ReadOnlySpan<float>()[..(n * 8 * 4)].ToArray();
        var windows = data.Inputs["x"].ReadOnlySpan<float>().ToArray();
        CollectionAssert.AreEqual(golden.Select(BitConverter.SingleToInt32Bits).ToArray(), windows.Select(BitConverter.SingleToInt32Bits).ToArray(),
            "the windows are numpy's float32 (x - min) / (max - min), bit for bit");
        CollectionAssert.AreEqual(c["output_shape"]!.AsArray().Select(d => (int)d!).ToArray(), data.Targets!.ShapeArray(), "targets take the output's layout");

        var session = new Session(graph);
        var (outputs, _) = Edge.Quantizer.Evaluation.Evaluator.RunBoth(session, session, data, ["y"], 3);
        var want = Npy.Read(F(model + ".npy"));
        CollectionAssert.AreEqual(want.ShapeArray(), outputs["y"].ShapeArray());
        var a = outputs["y"].ReadOnlySpan<float>();
        var b = want.ReadOnlySpan<float>();
        for (int i = 0; i < a.Length; i++) Assert.AreEqual(b[i], a[i], 1e-4f + 1e-4f * Math.Abs(b[i]), $"{model} element {i}");
    }

    /// <summary>
    /// One blob, one recording: the quantizer's calibration windows and the device pipeline's normalized samples (the
    /// device's line parser, then ModelSpecReader's normalization) are the same float32 bits.
    /// </summary>
    [TestMethod]
    public void QuantizerAndDevice_NormalizeTheSameRecordingToTheSameBits()
    {
        string dir = TestPaths.NewTempDir();
        string edge = Path.Combine(dir, "m.edge");
        var r = EdgeCli.Quantize("convert", F("n_f.onnx"), "--output", edge, "--precision", "fp32", "--metadata", F("meta.json"), "--quiet");
        Assert.AreEqual(0, r.ExitCode, r.ToString());
        var model = EdgeModel.Load(edge);
        var data = ModelData.Load([F("recording.csv")], null, model.Graph.Inputs, model.Graph.Outputs, model.Metadata, "--data");
        var quantizer = data.Inputs["x"].ReadOnlySpan<float>();

        var spec = ModelSpecReader.Read(model, new RunConfig()).Spec;
        var lines = File.ReadAllLines(F("recording.csv")).Skip(1).ToArray();
        var device = new float[lines.Length * 4];
        var raw = new float[4];
        for (int row = 0; row < lines.Length; row++)
        {
            var cells = lines[row].Split(',');
            for (int j = 0; j < 4; j++) Assert.IsTrue(FieldMap.TryParseValue(cells[j + 1], out raw[j]));
            spec.Normalizer.Normalize(raw, device.AsSpan(row * 4, 4));
        }
        int checkedValues = 0;
        for (int w = 0; w < data.Count; w++)
            for (int k = 0; k < 8 * 4; k++, checkedValues++)
                Assert.AreEqual(BitConverter.SingleToInt32Bits(device[w * 4 + k]), BitConverter.SingleToInt32Bits(quantizer[w * 32 + k]), $"window {w} value {k}");
        Assert.IsGreaterThan(1000, checkedValues);
    }

    /// <summary>
    /// The first hour's last step: the blob converted with the metadata and the calibration recording, replayed through
    /// `edge run`, forecasts what PyTorch forecasts (de-normalized with the same contract), window by window.
    /// </summary>
    [TestMethod]
    [DataRow("n_f")]
    [DataRow("subset")]
    public void EdgeRun_ReplayingTheRecording_ForecastsWhatPyTorchDoes(string model)
    {
        var c = Case["models"]![model]!.AsObject();
        string dir = TestPaths.NewTempDir();
        string edge = Path.Combine(dir, "m.edge");
        var r = EdgeCli.Quantize("convert", F(model + ".onnx"), "--output", edge, "--precision", "fp32", "--metadata", MetaFor(model), "--calibration", F("recording.csv"), "--quiet");
        Assert.AreEqual(0, r.ExitCode, r.ToString());
        var run = EdgeCli.Device("run", "--model", edge, "--replay", F("recording.csv"), "--speed", "fast");
        Assert.AreEqual(0, run.ExitCode, run.ToString());
        var lines = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        var meta = JsonNode.Parse(File.ReadAllText(F("meta.json")))!;
        var names = c["targets"]!.AsArray().Select(t => (string)t!).ToArray();
        var all = Case["features"]!.AsArray().Select(t => (string)t!).ToList();
        var golden = Npy.Read(F(model + ".npy"));
        int n = golden.Dim(0);
        Assert.IsGreaterThanOrEqualTo(n, lines.Count, run.ToString());
        var y = golden.ReadOnlySpan<float>();
        for (int w = 0; w < n; w++)
        {
            var step = lines[w]["forecast"]![0]!;
            for (int j = 0; j < names.Length; j++)
            {
                int f = all.IndexOf(names[j]);
                float min = (float)meta["normalization"]!["min"]![f]!, max = (float)meta["normalization"]!["max"]![f]!;
                float want = y[w * names.Length + j] * (max - min) + min;
                float got = (float)step[names[j]]!;
                Assert.AreEqual(want, got, 1e-4f * (max - min), $"{model}: window {w}, {names[j]}");
            }
        }
    }

    [TestMethod]
    public void CalibrationCsv_WithoutNormalization_WarnsOnce()
    {
        string dir = TestPaths.NewTempDir();
        var meta = JsonNode.Parse(File.ReadAllText(F("meta.json")))!.AsObject();
        meta.Remove("normalization");
        string path = Path.Combine(dir, "meta.json");
        File.WriteAllText(path, meta.ToJsonString());
        var r = EdgeCli.Quantize("convert", F("n_f.onnx"), "--output", Path.Combine(dir, "m.edge"), "--precision", "fp32", "--metadata", path, "--calibration", F("recording.csv"));
        Assert.AreEqual(0, r.ExitCode, r.ToString());
        var warnings = r.Stderr.Split('\n').Where(l => l.StartsWith("warning:", StringComparison.Ordinal)).ToList();
        Assert.HasCount(1, warnings, r.ToString());
        StringAssert.Contains(warnings[0], "no \"normalization\"");

        meta["normalization"] = new JsonObject { ["kind"] = "none" };
        File.WriteAllText(path, meta.ToJsonString());
        r = EdgeCli.Quantize("convert", F("n_f.onnx"), "--output", Path.Combine(dir, "m2.edge"), "--precision", "fp32", "--metadata", path, "--calibration", F("recording.csv"));
        Assert.AreEqual(0, r.ExitCode, r.ToString());
        Assert.DoesNotContain("warning", r.Stderr, "\"kind\": \"none\" says the raw values are right");

        File.WriteAllText(path, """{"normalization": {"kind": "none"}}""");
        r = EdgeCli.Quantize("convert", F("n_f.onnx"), "--output", Path.Combine(dir, "m3.edge"), "--precision", "fp32", "--metadata", path, "--calibration", F("recording.csv"));
        Assert.AreEqual(0, r.ExitCode, r.ToString());
        Assert.DoesNotContain("warning", r.Stderr, "a bare none needs no feature list");
        var spec = Edge.Device.Config.ModelSpecReader.Read(EdgeModel.Load(Path.Combine(dir, "m3.edge")), new Edge.Device.Config.RunConfig()).Spec;
        Assert.AreEqual(4, spec.Normalizer.Features);
    }

    [TestMethod]
    [DataRow("""{"horizn": 3}""", "unknown key 'horizn'; known keys: features, targets, normalization")]
    [DataRow("""{"features": ["a", "b"]}""", "\"features\" lists 2 feature(s), but input 'x' (?, 8, 4) takes 4 per sample")]
    [DataRow("""{"features": ["a", "b", "c", "d"], "normalization": {"kind": "minmax", "min": [0, 0, 0], "max": [1, 1, 1, 1]}}""", "normalization.min has 3 value(s) but there are 4 features")]
    [DataRow("""{"normalization": {"kind": "standard", "mean": [0, 0, 0], "std": [1, 1, 1]}}""", "\"normalization\" has 3 values per statistic feature(s), but input 'x'")]
    [DataRow("""{"features": ["a", "b", "c", "d"], "targets": ["a", "e"]}""", "target 'e' is not one of the features (a, b, c, d)")]
    [DataRow("""{"features": ["a", "b", "c", "d"], "targets": ["a", "b", "c"]}""", "output 'y' (?, 4) holds 4 values per sample, not whole steps of 3")]
    [DataRow("""{"window": 12}""", "\"window\" is 12, but input 'x' (?, 8, 4) takes windows of 8 samples")]
    [DataRow("""{"horizon": 1000000}""", "\"horizon\" must be a whole number from 1 to 10,000, got 1000000")]
    [DataRow("""{"sample_period_s": 1e300}""", "sample period 1E+300 s is outside")]
    [DataRow("""{"window": 8, "window_length": 9}""", "\"window\" (8) and its alias \"window_length\" (9) disagree")]
    public void MetadataMistakes_AreOneLine_AndNothingIsWritten(string json, string message)
    {
        string dir = TestPaths.NewTempDir();
        string meta = Path.Combine(dir, "meta.json"), edge = Path.Combine(dir, "m.edge");
        File.WriteAllText(meta, json);
        var r = EdgeCli.Quantize("convert", F("n_f.onnx"), "--output", edge, "--metadata", meta);
        AssertOneLineError(r, "--metadata meta.json: ", message);
        Assert.IsFalse(File.Exists(edge), "nothing is written");
    }

    [TestMethod]
    public void EveryFileOption_NamesItself()
    {
        string dir = TestPaths.NewTempDir();
        string edge = Path.Combine(dir, "m.edge");
        string nope = Path.Combine(dir, "nope");
        AssertOneLineError(EdgeCli.Quantize("convert", F("n_f.onnx"), "--output", edge, "--metadata", nope + ".json"), $"--metadata: no such file '{nope}.json'");
        AssertOneLineError(EdgeCli.Quantize("convert", F("n_f.onnx"), "--output", edge, "--calibration", nope + ".csv"), $"--calibration: no such file '{nope}.csv'");
        AssertOneLineError(EdgeCli.Quantize("convert", F("n_f.onnx"), "--output", edge, "--eval-data", F("windows.npy"), "--eval-targets", nope + ".npy"), $"--eval-targets: no such file '{nope}.npy'");
        AssertOneLineError(EdgeCli.Quantize("convert", F("n_f.onnx"), "--output", edge, "--eval-data", nope + ".npy"), $"--eval-data: no such file '{nope}.npy'");
        AssertOneLineError(EdgeCli.Quantize("convert", F("n_f.onnx"), "--output", edge, "--freeze", $"w={nope}.npy"), $"--freeze w: no such file '{nope}.npy'");
        Assert.IsFalse(File.Exists(edge));
        var ok = EdgeCli.Quantize("convert", F("n_f.onnx"), "--output", edge, "--quiet");
        Assert.AreEqual(0, ok.ExitCode, ok.ToString());
        AssertOneLineError(EdgeCli.Quantize("evaluate", "--model", F("n_f.onnx"), "--quantized", edge, "--data", nope + ".csv"), $"--data: no such file '{nope}.csv'");
        AssertOneLineError(EdgeCli.Quantize("evaluate", "--model", F("n_f.onnx"), "--quantized", edge, "--data", F("windows.npy"), "--targets", nope + ".npy"), $"--targets: no such file '{nope}.npy'");
    }

    [TestMethod]
    public void NonFiniteWeights_AreRefusedInBothPrecisions_OrKeptInFp32OnRequest()
    {
        string dir = TestPaths.NewTempDir();
        string edge = Path.Combine(dir, "m.edge");
        foreach (var precision in new[] { "fp32", "int8" })
        {
            var r = EdgeCli.Quantize("convert", F("nonfinite.onnx"), "--output", edge, "--precision", precision);
            AssertOneLineError(r, "nonfinite.onnx: weight '/fc/Gemm/bias' has 1 infinite values, weight '/fc/Gemm/weight' has 3 NaN values");
            Assert.IsFalse(File.Exists(edge), precision);
        }
        AssertOneLineError(EdgeCli.Quantize("convert", F("nonfinite.onnx"), "--output", edge, "--precision", "int8", "--allow-nonfinite"), "int8 cannot quantize them");
        var kept = EdgeCli.Quantize("convert", F("nonfinite.onnx"), "--output", edge, "--precision", "fp32", "--allow-nonfinite");
        Assert.AreEqual(0, kept.ExitCode, kept.ToString());
        StringAssert.Contains(kept.Stderr, "warning: nonfinite.onnx: weight '");
        Assert.IsTrue(File.Exists(edge));
    }

    [TestMethod]
    public void AReportThatCannotBeMade_WritesNothing_AndSaysWhy()
    {
        string dir = TestPaths.NewTempDir();
        string edge = Path.Combine(dir, "m.edge");
        // ready windows with targets of one step (N, 4) for a model that forecasts three steps (N, 12)
        var r = EdgeCli.Quantize("convert", F("n_sf.onnx"), "--output", edge, "--precision", "int8", "--metadata", F("meta.json"),
            "--eval-data", F("windows.npy"), "--eval-targets", F("n_f.npy"));
        AssertOneLineError(r, "accuracy report: forecast targets (56, 4) do not match the forecast 'y' (56, 12)", "nothing was written");
        Assert.IsFalse(File.Exists(edge));
        Assert.IsFalse(File.Exists(Path.Combine(dir, "m.report.json")));
    }

    [TestMethod]
    public void WindowsOfAFixedBatchGraph_RunInPaddedBatches()
    {
        // The importer relaxes this export's batch (its rows do not mix); a graph it could not relax keeps the exported
        // batch of 4 on its inputs and outputs, which is what the windows are cut for here.
        var graph = Edge.Quantizer.Import.ModelImporter.Import(F("fixed_batch.onnx"));
        static IReadOnlyList<ValueInfo> Fixed(IEnumerable<ValueInfo> values) =>
            values.Select(v => v with { Shape = v.Shape.Select((d, i) => i == 0 && d < 0 ? 4 : d).ToArray() }).ToList();
        var meta = JsonNode.Parse(File.ReadAllText(F("meta.json")))!.AsObject();
        var data = ModelData.Load([F("recording.csv")], null, Fixed(graph.Inputs), Fixed(graph.Outputs), meta);
        Assert.AreEqual(4, data.FixedBatch);
        Assert.AreEqual(4, data.RunBatch(64));
        var last = data.Batch(data.Count - 2, 2)["x"];
        Assert.AreEqual(4, last.Dim(0));
        var rows = last.ReadOnlySpan<float>().ToArray();
        CollectionAssert.AreEqual(rows[32..64], rows[64..96], "padding repeats the last window");
        CollectionAssert.AreEqual(rows[32..64], rows[96..128]);
    }
}
