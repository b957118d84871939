using System.Text.Json.Nodes;
using Edge.Device.Config;
using Edge.Runtime.Contract;
using Edge.Runtime.Format;
using Edge.Runtime.Streaming;
using Edge.Runtime.Tests.EndToEnd;

namespace Edge.Runtime.Tests.Contract;

/// <summary>The one model contract: every accepted form, the limits, and `edge run` refusing out-of-range blobs cleanly.</summary>
[TestClass]
public sealed class ModelContractTests
{
    private static ModelContract Parse(string json, bool strict = false) => ModelContract.Parse(JsonNode.Parse(json)!.AsObject(), "m", strict);

    [TestMethod]
    public void EveryAcceptedForm_ParsesToTheSameContract()
    {
        var a = Parse("""{"features": [{"name": "t", "unit": "C"}, "h"], "normalization": {"kind": "minmax", "min": [0, 10], "max": [20, 30]}, "sample_period_s": 60, "window": 8, "horizon": 3}""");
        var b = Parse("""{"features": [{"name": "t", "unit": "C", "min": 0, "max": 20}, {"name": "h", "min": 10, "max": 30}], "sample_period_seconds": "60", "window_length": 8, "horizon": 3.0}""");
        var c = Parse("""{"features": ["t", "h"], "normalization": {"type": "min-max", "data_min": [0, 10], "data_max": [20, 30]}, "sample_period_s": 60, "window": 8, "horizon": 3}""");
        foreach (var x in new[] { a, b, c })
        {
            Assert.AreEqual(NormalizationKind.MinMax, x.Normalization!.Kind);
            CollectionAssert.AreEqual(new[] { 0f, 10f }, x.Normalization.Offset.ToArray());
            CollectionAssert.AreEqual(new[] { 20f, 20f }, x.Normalization.Scale.ToArray());
            Assert.AreEqual(TimeSpan.FromMinutes(1), x.SamplePeriod);
            Assert.AreEqual(8, x.Window);
            Assert.AreEqual(3, x.Horizon);
            CollectionAssert.AreEqual(new[] { "t", "h" }, x.Features!.Select(f => f.Name).ToArray());
        }
        Assert.AreEqual("C", a.Features![0].Unit);

        var none = Parse("""{"features": ["t", "h"], "normalization": {"kind": "none"}}""");
        Assert.AreEqual(NormalizationKind.None, none.Normalization!.Kind);
        Assert.AreEqual(2, none.Normalization.Features);
        Assert.IsNull(Parse("""{"features": ["t"]}""").Normalization, "absent is not the same as none");
        var bare = Parse("""{"normalization": {"kind": "none"}}""").Normalization!;
        Assert.AreEqual(NormalizationKind.None, bare.Kind);
        Assert.AreEqual(4, bare.ForFeatures(4)!.Features, "a bare none fits any feature count");
        Assert.IsNull(a.Normalization!.ForFeatures(3), "a minmax of 2 features does not fit 3");

        var std = Parse("""{"normalization": {"kind": "zscore", "mean": [5], "scale": [0]}, "task": "regression", "state": [{"input": "h0", "output": "hn"}]}""");
        Assert.AreEqual(NormalizationKind.Standard, std.Normalization!.Kind);
        Assert.AreEqual(1f, std.Normalization.Scale[0], "a zero deviation scales by 1");
        Assert.AreEqual("forecaster", std.Task);
        Assert.AreEqual(new StatePair("h0", "hn"), std.State![0]);
    }

    [TestMethod]
    [DataRow("""{"horizon": 2147483647}""", "\"horizon\" must be a whole number from 1 to 10,000, got 2147483647")]
    [DataRow("""{"horizon": 1000000}""", "\"horizon\" must be a whole number from 1 to 10,000")]
    [DataRow("""{"horizon": 2.5}""", "\"horizon\" must be a whole number")]
    [DataRow("""{"window": 0}""", "\"window\" must be a whole number from 1 to 1,000,000, got 0")]
    [DataRow("""{"window_length": 1e12}""", "\"window_length\" must be a whole number from 1 to 1,000,000")]
    [DataRow("""{"sample_period_s": 1e300}""", "sample period 1E+300 s is outside [1E-06, 31622400] s")]
    [DataRow("""{"sample_period_seconds": 9223372036854775808}""", "sample period 9.22337E+18 s is outside")]
    [DataRow("""{"sample_period_s": -1}""", "\"sample_period_s\" must be a positive number of seconds, got -1")]
    [DataRow("""{"sample_period_s": 60, "sample_period_seconds": 30}""", "disagree")]
    [DataRow("""{"normalization": {"kind": "minmax", "min": [1], "max": [0]}}""", "normalization max[0] = 0 is below min[0] = 1")]
    [DataRow("""{"normalization": {"kind": "standard", "mean": [1], "std": [-1]}}""", "normalization std[0] = -1 is negative")]
    [DataRow("""{"normalization": {"kind": "minmax", "min": [1e39], "max": [2e39]}}""", "normalization.min[0] = 1e39 is not a finite float32")]
    [DataRow("""{"normalization": {"kind": "log"}}""", "normalization kind 'log' is not one of minmax, standard, none")]
    [DataRow("""{"features": ["a", "A"]}""", "feature 'A' is listed twice")]
    [DataRow("""{"features": ["a"], "targets": ["b"]}""", "target 'b' is not one of the features (a)")]
    [DataRow("""{"task": "translation"}""", "\"task\" 'translation' is not one of forecaster, classifier, dual_encoder, generic")]
    public void OutOfRangeOrMalformed_IsOneClearError(string json, string message)
    {
        var e = Assert.ThrowsExactly<EdgeException>(() => Parse(json));
        StringAssert.StartsWith(e.Message, "m: ");
        StringAssert.Contains(e.Message, message);
        Assert.DoesNotContain("\n", e.Message);
    }

    [TestMethod]
    public void Strict_NamesUnknownKeys_WithTheKnownOnes_WhileABlobsOwnKeysPass()
    {
        var e = Assert.ThrowsExactly<EdgeException>(() => Parse("""{"horizn": 3, "windw": 2, "description": "fine"}""", strict: true));
        StringAssert.Contains(e.Message, "unknown keys 'horizn', 'windw'; known keys: features, targets, normalization, sample_period_s");
        e = Assert.ThrowsExactly<EdgeException>(() => Parse("""{"normalization": {"kind": "none", "mn": [0]}}""", strict: true));
        StringAssert.Contains(e.Message, "'normalization.mn'");
        e = Assert.ThrowsExactly<EdgeException>(() => Parse("""{"features": [{"name": "a", "units": "C"}]}""", strict: true));
        StringAssert.Contains(e.Message, "'features[0].units'");
        Assert.AreEqual(3, Parse("""{"horizon": 3, "model_name": "x", "provenance": {}}""").Horizon, "a blob's other keys are not the contract's business");
        var sample = JsonNode.Parse(File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "samples", "forecaster", "meta.json")))!.AsObject();
        Assert.IsNotNull(ModelContract.Parse(sample, "meta.json", strict: true).Normalization, "the sample's meta.json passes the strict check");
    }

    private static string BlobWith(string dir, Action<JsonObject> edit)
    {
        string edge = Path.Combine(dir, "m.edge");
        var layouts = Path.Combine(TestPaths.Fixtures, "forecast_layouts");
        var r = EdgeCli.Quantize("convert", Path.Combine(layouts, "n_f.onnx"), "--output", edge, "--precision", "fp32", "--metadata", Path.Combine(layouts, "meta.json"), "--quiet");
        Assert.AreEqual(0, r.ExitCode, r.ToString());
        var model = EdgeModel.Load(edge);
        var meta = (JsonObject)model.Metadata.DeepClone();
        edit(meta);
        string out_ = Path.Combine(dir, "edited.edge");
        EdgeBlob.Write(out_, model.Graph, meta);
        return out_;
    }

    [TestMethod]
    [DataRow("horizon", "2147483647", null, "\"horizon\" must be a whole number from 1 to 10,000")]
    [DataRow("horizon", "1000000", null, "\"horizon\" must be a whole number from 1 to 10,000")]
    [DataRow("sample_period_s", "1e300", null, "sample period 1E+300 s is outside")]
    [DataRow("sample_period_seconds", "9223372036854775808", null, "sample period 9.22337E+18 s is outside")]
    [DataRow(null, null, "2147483647", "horizon (--horizon or config \"horizon\") must be a whole number from 1 to 10,000, got 2147483647")]
    public void EdgeRun_RefusesOutOfRangeBlobsAndFlags_OneLineExit1(string? key, string? value, string? horizonFlag, string message)
    {
        string dir = TestPaths.NewTempDir();
        string edge = BlobWith(dir, m =>
        {
            m.Remove("sample_period_s");
            if (key is not null) m[key] = JsonNode.Parse(value!);
        });
        string[] args = ["run", "--model", edge, "--replay", Path.Combine(TestPaths.Fixtures, "forecast_layouts", "recording.csv"), "--speed", "fast"];
        var r = EdgeCli.Device(horizonFlag is null ? args : [.. args, "--horizon", horizonFlag]);
        Assert.AreEqual(1, r.ExitCode, r.ToString());
        var errorLines = r.Stderr.Split('\n').Where(l => l.Contains("error", StringComparison.Ordinal)).ToList();
        Assert.HasCount(1, errorLines, r.ToString());
        StringAssert.Contains(errorLines[0], message, r.ToString());
        Assert.DoesNotContain("   at ", r.Stderr, "no stack trace");
    }

    [TestMethod]
    public void ModelSpecReader_ReadsTheBlobThroughTheContract_WithConfigFallback()
    {
        string dir = TestPaths.NewTempDir();
        var model = EdgeModel.Load(BlobWith(dir, m => { m.Remove("normalization"); m.Remove("sample_period_s"); }));
        var config = new RunConfig
        {
            Normalization = new NormalizationConfig { Kind = "standard", Mean = [1, 2, 3, 4], Std = [2, 2, 2, 0] },
            SamplePeriodS = 1e300,
        };
        var e = Assert.ThrowsExactly<EdgeException>(() => ModelSpecReader.Read(model, config));
        StringAssert.StartsWith(e.Message, "config (file or flags): sample period 1E+300 s is outside");
        config.SamplePeriodS = 30;
        var read = ModelSpecReader.Read(model, config);
        Assert.AreEqual(TimeSpan.FromSeconds(30), read.Spec.Period);
        Assert.AreEqual(NormalizationKind.Standard, read.Spec.Normalizer.Kind);
        Assert.AreEqual(1f, read.Spec.Normalizer.Scale[3]);
        Assert.AreEqual(8, read.Spec.Window);
        config.Normalization = new NormalizationConfig { Kind = "minmax", Min = [0, 0], Max = [1, 1] };
        e = Assert.ThrowsExactly<EdgeException>(() => ModelSpecReader.Read(model, config));
        StringAssert.Contains(e.Message, "config (file or flags): normalization has 2 values per statistic but there are 4 features");
    }

    [TestMethod]
    public void Stream_RefusesAHugeHorizon_WithoutOverflow()
    {
        string dir = TestPaths.NewTempDir();
        var model = EdgeModel.Load(BlobWith(dir, _ => { }));
        var e = Assert.ThrowsExactly<EdgeException>(() => model.CreateStream(new StreamOptions { Horizon = int.MaxValue }));
        StringAssert.Contains(e.Message, "stream horizon must be from 1 to 10000, got 2147483647");
        Assert.AreEqual(10_000, model.CreateStream(new StreamOptions { Horizon = 10_000 }).Horizon);
    }
}
