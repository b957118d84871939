using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Edge.Quantizer.Calibration;
using Edge.Quantizer.Import;
using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;
using Edge.Runtime.Tests.EndToEnd;
using static Edge.Runtime.Tests.Quantization.QuantizationTestData;

namespace Edge.Runtime.Tests.Quantization;

/// <summary>`convert --precision int8 --calibration`: static activation ranges, and the report files for each kind of model.</summary>
[TestClass]
public sealed class AccuracyReportTests
{
    private static readonly string[] TopLevel = ["report_version", "generated_by", "model", "task", "data", "weights", "outputs", "forecast", "classification", "ranking", "targets", "notes"];
    private static readonly string[] WeightFields = ["name", "node", "role", "kind", "shape", "rows", "sqnr_db", "max_abs_error"];
    private static readonly string[] OutputFields = ["name", "shape", "elements", "rmse", "max_abs_error", "mean_abs_error", "cosine"];

    private static (JsonObject Report, string Html, EdgeModel Model, string Stdout) ConvertWithReport(string dir, string model, params string[] extra)
    {
        string edge = Path.Combine(dir, "m.edge");
        var r = EdgeCli.Quantize(["convert", model, "--output", edge, "--precision", "int8", .. extra]);
        Assert.AreEqual(0, r.ExitCode, r.ToString());
        Assert.IsTrue(File.Exists(Path.Combine(dir, "m.report.json")), r.ToString());
        Assert.IsTrue(File.Exists(Path.Combine(dir, "m.report.html")), r.ToString());
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "m.report.json")))!.AsObject();
        foreach (var key in TopLevel) Assert.IsTrue(json.ContainsKey(key), $"report has no '{key}'");
        foreach (var w in json["weights"]!.AsArray()) foreach (var f in WeightFields) Assert.IsTrue(w!.AsObject().ContainsKey(f), $"weight has no '{f}'");
        foreach (var o in json["outputs"]!.AsArray())
        {
            foreach (var f in OutputFields) Assert.IsTrue(o!.AsObject().ContainsKey(f), $"output has no '{f}'");
            Assert.IsTrue(o!["cosine"]!.GetValue<double>() >= 0.999, $"output {o["name"]}: cosine {o["cosine"]} < 0.999");
        }
        Assert.IsTrue(json["weights"]!.AsArray().Count > 0);
        Assert.AreEqual(new FileInfo(edge).Length, json["model"]!["int8_bytes"]!.GetValue<long>());
        string html = File.ReadAllText(Path.Combine(dir, "m.report.html"));
        return (json, html, EdgeModel.Load(edge), r.Stdout);
    }

    [TestMethod]
    public void Forecaster_CsvRecording_ReportAndCalibrationSummary()
    {
        string dir = TestPaths.NewTempDir();
        string csv = WriteRecordingCsv(dir, 60);
        string meta = WriteForecasterMetadata(dir, 60);
        var (json, html, model, stdout) = ConvertWithReport(dir, Fixture("forecaster", "model.onnx"), "--calibration", csv, "--metadata", meta, "--batch-size", "7");

        Assert.AreEqual("forecaster", json["task"]!["kind"]!.GetValue<string>());
        StringAssert.Contains(json["task"]!["detected_from"]!.GetValue<string>(), "metadata");
        Assert.AreEqual(50, json["data"]!["count"]!.GetValue<int>());
        Assert.AreEqual(60, json["data"]!["samples"]!.GetValue<int>());
        var f = json["forecast"]!;
        Assert.AreEqual(50, f["windows"]!.GetValue<int>());
        Assert.AreEqual("minmax", f["normalization"]!.GetValue<string>());
        var features = f["features"]!.AsArray();
        CollectionAssert.AreEqual(new[] { "f0", "f1", "f2", "f3", "f4", "f5" }, features.Select(x => x!["name"]!.GetValue<string>()).ToArray());
        Assert.AreEqual("degC", features[0]!["unit"]!.GetValue<string>());
        double a = f["rmse_fp32"]!.GetValue<double>(), b = f["rmse_int8"]!.GetValue<double>();
        Assert.AreEqual(100 * (b - a) / a, f["relative_difference_pct"]!.GetValue<double>(), 1e-3);
        Assert.IsTrue(f["rmse_normalized_fp32"]!.GetValue<double>() > 0);
        Assert.IsNull(json["classification"]);
        Assert.IsNull(json["ranking"]);
        StringAssert.Contains(stdout, "forecast 'forecast' against the real next values");

        // calibration summary in the blob's metadata, hash computed here
        var cal = model.Metadata["provenance"]!["calibration"]!;
        Assert.AreEqual(60, cal["samples"]!.GetValue<int>());
        Assert.AreEqual(50, cal["windows"]!.GetValue<int>());
        using (var fs = File.OpenRead(csv))
            Assert.AreEqual(Convert.ToHexStringLower(SHA256.HashData(fs)), cal["files"]![0]!["sha256"]!.GetValue<string>());
        Assert.IsNotNull(model.Metadata["provenance"]!["accuracy"]!["forecast_rmse_relative_difference_pct"]);

        // self-contained HTML with the plots
        StringAssert.StartsWith(html, "<!DOCTYPE html>");
        Assert.IsFalse(html.Contains("<script", StringComparison.OrdinalIgnoreCase), "no scripts");
        Assert.IsFalse(html.Contains("<link", StringComparison.OrdinalIgnoreCase) || html.Contains("src=", StringComparison.OrdinalIgnoreCase) || html.Contains("@import", StringComparison.Ordinal), "nothing loaded from elsewhere");
        StringAssert.Contains(html, "<title>weight SQNR</title>");
        StringAssert.Contains(html, "<title>forecast: int8 vs fp32</title>");
        StringAssert.Contains(html, "<title>forecast: error histogram</title>");
        StringAssert.Contains(html, "<title>f0: forecast vs actual</title>");
    }

    [TestMethod]
    public void Calibration_StoresInputAbsMax_EqualToAnIndependentMeasurement()
    {
        string dir = TestPaths.NewTempDir();
        const int rows = 40;
        string csv = WriteRecordingCsv(dir, rows);
        string meta = WriteForecasterMetadata(dir, rows);
        string edge = Path.Combine(dir, "m.edge");
        var r = EdgeCli.Quantize("convert", Fixture("forecaster", "model.onnx"), "--output", edge, "--precision", "int8", "--calibration", csv, "--metadata", meta, "--batch-size", "3", "--quiet");
        Assert.AreEqual(0, r.ExitCode, r.ToString());

        // The windows, built here from the generating function and the same min-max normalization.
        var min = new double[6];
        var max = new double[6];
        for (int f = 0; f < 6; f++)
        {
            min[f] = Enumerable.Range(0, rows).Min(i => (double)(float)Value(i, f));
            max[f] = Enumerable.Range(0, rows).Max(i => (double)(float)Value(i, f));
        }
        int n = rows - 10;
        var x = new float[n * 10 * 6];
        for (int w = 0; w < n; w++)
            for (int t = 0; t < 10; t++)
                for (int f = 0; f < 6; f++)
                    x[(w * 10 + t) * 6 + f] = (float)(((float)Value(w + t, f) - min[f]) / (max[f] - min[f]));
        var input = Tensor.FromArray(x, n, 10, 6);
        AssertAbsMaxMatches(EdgeModel.Load(edge).Graph, Fixture("forecaster", "model.onnx"), new() { ["x"] = input }, expectedNodes: 3);

        // encoder LSTM input = the windows themselves: its absmax is the largest normalized value, 1 for min-max
        var lstm = EdgeModel.Load(edge).Graph.Nodes.First(nd => nd.Kind == OpKind.Lstm);
        Assert.AreEqual(1f, lstm.GetFloat(Calibrator.AttributeName, -1), 1e-6f);
    }

    [TestMethod]
    public void CharLstm_Report_CrossEntropyMatchesPyTorchAndCalibrationIsIndependent()
    {
        string dir = TestPaths.NewTempDir();
        string tokens = Fixture("char_lstm", "tokens.npy"), targets = Fixture("char_lstm", "targets.npy");
        var (json, html, model, _) = ConvertWithReport(dir, Fixture("char_lstm", "model.onnx"),
            "--calibration", tokens, "--eval-data", tokens, "--eval-targets", targets, "--batch-size", "48");
        Assert.AreEqual("classifier", json["task"]!["kind"]!.GetValue<string>());
        StringAssert.Contains(json["task"]!["detected_from"]!.GetValue<string>(), "graph shapes");
        var c = json["classification"]!;
        Assert.AreEqual(128 * 100, c["positions"]!.GetValue<int>());
        Assert.AreEqual(44, c["classes"]!.GetValue<int>());
        Assert.AreEqual("targets.npy", c["targets"]!.GetValue<string>());
        float loss = Npy.Read(Fixture("char_lstm", "loss.npy")).ReadOnlySpan<float>()[0];
        Assert.AreEqual(loss, c["cross_entropy_fp32"]!.GetValue<double>(), 1e-4, "Edge fp32 over (N, C, D) vs PyTorch's loss.npy");
        Assert.AreEqual(c["cross_entropy_int8"]!.GetValue<double>() - c["cross_entropy_fp32"]!.GetValue<double>(), c["cross_entropy_difference"]!.GetValue<double>(), 1e-6);
        double agree = c["top1_agreement"]!.GetValue<double>();
        Assert.IsTrue(agree is > 0.95 and <= 1, $"top-1 agreement {agree}");
        Assert.IsNotNull(c["top1_accuracy_fp32"]);
        StringAssert.Contains(html, "Classifier");

        AssertAbsMaxMatches(model.Graph, Fixture("char_lstm", "model.onnx"), new() { ["tokens"] = Npy.Read(tokens) }, expectedNodes: 2);
    }

    [TestMethod]
    public void DualEncoder_Report_HasCorrelationAndGroupedTop1()
    {
        string dir = TestPaths.NewTempDir();
        var (ctx, resp) = WriteGroupedPairs(dir);
        var (json, html, model, _) = ConvertWithReport(dir, Fixture("dual_encoder", "model.onnx"),
            "--calibration", $"context={ctx}", "--calibration", $"response={resp}", "--batch-size", "5");
        Assert.AreEqual("dual_encoder", json["task"]!["kind"]!.GetValue<string>());
        var k = json["ranking"]!;
        Assert.AreEqual(16, k["pairs"]!.GetValue<int>());
        Assert.AreEqual(4, k["groups"]!.GetValue<int>());
        Assert.IsTrue(k["pearson"]!.GetValue<double>() > 0.99, k.ToJsonString());
        Assert.IsTrue(k["spearman"]!.GetValue<double>() > 0.9, k.ToJsonString());
        double top1 = k["top1_agreement"]!.GetValue<double>();
        Assert.IsTrue(top1 is >= 0 and <= 1);
        Assert.AreEqual(2, json["data"]!["files"]!.AsArray().Count);
        StringAssert.Contains(html, "Dual encoder");
        AssertAbsMaxMatches(model.Graph, Fixture("dual_encoder", "model.onnx"),
            new() { ["context"] = Npy.Read(ctx), ["response"] = Npy.Read(resp) }, expectedNodes: 3);
    }

    /// <summary>The report and the convert output say the embedding table is int8, and the scores stay within the int8 targets.</summary>
    [TestMethod]
    public void DualEncoderVocab_ReportAndOutput_SayTheEmbeddingTableIsInt8()
    {
        string dir = TestPaths.NewTempDir();
        var (json, _, model, stdout) = ConvertWithReport(dir, Fixture("dual_encoder_vocab", "model.onnx"),
            "--calibration", "context=" + Fixture("dual_encoder_vocab", "context.npy"), "--calibration", "response=" + Fixture("dual_encoder_vocab", "response.npy"));
        var tables = json["weights"]!.AsArray().Where(w => w!["kind"]!.GetValue<string>() == "Embedding").ToList();
        Assert.AreEqual(1, tables.Count, json["weights"]!.ToJsonString());
        Assert.AreEqual("table", tables[0]!["role"]!.GetValue<string>());
        CollectionAssert.AreEqual(new[] { 1000, 64 }, tables[0]!["shape"]!.AsArray().Select(x => x!.GetValue<int>()).ToArray());
        Assert.AreEqual(1000, tables[0]!["rows"]!.GetValue<int>());
        string name = tables[0]!["name"]!.GetValue<string>();
        StringAssert.Contains(stdout, $"embedding table '{name}' (1000, 64) is int8, one scale per row");
        Assert.IsTrue(model.Graph.QuantizedConstants.ContainsKey(name));
        Assert.IsTrue(json["ranking"]!["pearson"]!.GetValue<double>() > 0.99, json["ranking"]!.ToJsonString());
        var meta = model.Metadata["quantization"]!["weights"]!.AsArray().Single(w => w!["name"]!.GetValue<string>() == name);
        Assert.AreEqual("embedding table", meta!["role"]!.GetValue<string>());
    }

    [TestMethod]
    public void SameInputs_GiveByteIdenticalBlobAndReport()
    {
        string dir = TestPaths.NewTempDir();
        string csv = WriteRecordingCsv(dir, 30);
        string meta = WriteForecasterMetadata(dir, 30);
        var bytes = new List<(byte[] Blob, string Json, string Html)>();
        foreach (var (sub, bs) in new[] { ("a", "1"), ("b", "64"), ("c", "64") })
        {
            string d = Path.Combine(dir, sub);
            Directory.CreateDirectory(d);
            var r = EdgeCli.Quantize("convert", Fixture("forecaster", "model.onnx"), "--output", Path.Combine(d, "m.edge"), "--precision", "int8", "--calibration", csv, "--metadata", meta, "--batch-size", bs, "--quiet");
            Assert.AreEqual(0, r.ExitCode, r.ToString());
            bytes.Add((File.ReadAllBytes(Path.Combine(d, "m.edge")), File.ReadAllText(Path.Combine(d, "m.report.json")), File.ReadAllText(Path.Combine(d, "m.report.html"))));
        }
        CollectionAssert.AreEqual(bytes[1].Blob, bytes[2].Blob, "two conversions with the same inputs differ");
        Assert.AreEqual(bytes[1].Json, bytes[2].Json);
        Assert.AreEqual(bytes[1].Html, bytes[2].Html);
        // batch size 1 vs 64: only the recorded batch size may differ
        static string Mask(string s) => System.Text.RegularExpressions.Regex.Replace(s, "\"batch_size\": ?\\d+|batch size \\d+", "batch");
        Assert.AreEqual(Mask(bytes[1].Json), Mask(bytes[0].Json));
        Assert.AreEqual(Mask(bytes[1].Html), Mask(bytes[0].Html));
    }

    /// <summary>
    /// For every node the blob says it calibrated, runs the fp32 source model on all the data at once
    /// with that node's input as an extra output, takes max |x| with a plain loop, and compares.
    /// </summary>
    private static void AssertAbsMaxMatches(Graph blobGraph, string sourceModel, Dictionary<string, Tensor> inputs, int expectedNodes)
    {
        var calibrated = blobGraph.Nodes.Where(n => n.Attributes.ContainsKey(Calibrator.AttributeName)).ToList();
        Assert.AreEqual(expectedNodes, calibrated.Count, string.Join(", ", calibrated.Select(n => n.Name)));
        foreach (var node in calibrated)
        {
            var g = ModelImporter.Import(sourceModel);
            g.Outputs.Clear();
            g.Outputs.Add(new ValueInfo(node.Input(0), DataType.Float32, []));
            var value = new Session(g).Run(inputs)[node.Input(0)];
            double absMax = 0;
            foreach (float v in value.Contiguous().ReadOnlySpan<float>()) absMax = Math.Max(absMax, Math.Abs(v));
            float stored = node.GetFloat(Calibrator.AttributeName, float.NaN);
            Assert.AreEqual(absMax, stored, 1e-6 * absMax, $"node '{node.Name}' ({node.Kind}): stored {stored}, measured {absMax}");
        }
    }
}
