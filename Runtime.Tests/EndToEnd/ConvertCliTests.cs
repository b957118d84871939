namespace Edge.Runtime.Tests.EndToEnd;

/// <summary>`edge-quantize convert` options beyond the model itself, and `inspect`.</summary>
[TestClass]
public sealed class ConvertCliTests
{
    private static string SeedGru => Path.Combine(TestPaths.Fixtures, "models", "seed_gru", "model.onnx");

    [TestMethod]
    public void Metadata_IsStoredInTheBlob()
    {
        string dir = TestPaths.NewTempDir();
        string meta = Path.Combine(dir, "meta.json");
        File.WriteAllText(meta, """{"features": [{"name": "temperature", "unit": "degC"}], "sample_period_s": 60, "window": 12}""");
        string edge = Path.Combine(dir, "m.edge");
        var r = EdgeCli.Quantize("convert", SeedGru, "--output", edge, "--metadata", meta, "--quiet");
        Assert.AreEqual(0, r.ExitCode, r.ToString());
        Assert.AreEqual("", r.Stdout);
        var m = EdgeModel.Load(edge).Metadata;
        Assert.AreEqual("degC", m["features"]![0]!["unit"]!.GetValue<string>());
        Assert.AreEqual(60, m["sample_period_s"]!.GetValue<int>());
        Assert.AreEqual(12, m["window"]!.GetValue<int>());
        Assert.AreEqual("model", m["model_name"]!.GetValue<string>());
    }

    [TestMethod]
    [DataRow("""{"inputs": []}""", "'inputs' is written by edge-quantize")]
    [DataRow("""[1, 2]""", "expected a JSON object")]
    [DataRow("""{"window": """, "not valid JSON")]
    public void BadMetadata_IsAOneLineErrorNamingTheFile(string json, string message)
    {
        string dir = TestPaths.NewTempDir();
        string meta = Path.Combine(dir, "meta.json");
        File.WriteAllText(meta, json);
        var r = EdgeCli.Quantize("convert", SeedGru, "--output", Path.Combine(dir, "m.edge"), "--metadata", meta);
        Assert.AreEqual(1, r.ExitCode, r.ToString());
        StringAssert.Contains(r.Stderr, "meta.json");
        StringAssert.Contains(r.Stderr, message);
        Assert.AreEqual(1, r.Stderr.TrimEnd().Split('\n').Length, r.ToString());
        Assert.IsFalse(File.Exists(Path.Combine(dir, "m.edge")), "a refused conversion must not leave a blob behind");
    }

    [TestMethod]
    public void Inspect_ShowsGraphParametersAndInt8Weights()
    {
        string dir = TestPaths.NewTempDir();
        string edge = Path.Combine(dir, "m.edge");
        var c = EdgeCli.Quantize("convert", SeedGru, "--output", edge, "--precision", "int8");
        Assert.AreEqual(0, c.ExitCode, c.ToString());
        StringAssert.Contains(c.Stdout, "quantized 2 weight matrices");
        var r = EdgeCli.Quantize("inspect", edge);
        Assert.AreEqual(0, r.ExitCode, r.ToString());
        StringAssert.Contains(r.Stdout, "Gru(");
        StringAssert.Contains(r.Stdout, "hidden_size=96");
        // nn.GRU(96, 96): 2 x 288 x 96 weights + 2 x 288 biases = 55,872 (+1 for the Squeeze axes constant)
        StringAssert.Contains(r.Stdout, "parameters: 55,873");
        StringAssert.Contains(r.Stdout, "int8(1, 288, 96), 288 row scales (row axis 1)");
    }

    [TestMethod]
    public void UnknownFormatAndMissingFile_AreOneLineErrors()
    {
        string dir = TestPaths.NewTempDir();
        string txt = Path.Combine(dir, "model.txt");
        File.WriteAllText(txt, "hello");
        foreach (var (path, message) in new[] { (txt, "unknown model format"), (Path.Combine(dir, "nope.onnx"), "no such file") })
        {
            var r = EdgeCli.Quantize("convert", path, "--output", Path.Combine(dir, "m.edge"));
            Assert.AreEqual(1, r.ExitCode, r.ToString());
            StringAssert.Contains(r.Stderr, message);
            Assert.AreEqual(1, r.Stderr.TrimEnd().Split('\n').Length, r.ToString());
        }
    }
}
