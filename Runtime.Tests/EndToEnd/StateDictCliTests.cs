using System.Text.Json;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Tests.EndToEnd;

/// <summary>
/// `edge-quantize convert model.pt --spec spec.json` then `edge predict`, for every PyTorch state_dict
/// fixture (tools/make_pt_fixtures.py): outputs equal PyTorch's own to 1e-4.
/// </summary>
[TestClass]
public sealed class StateDictCliTests
{
    public static IEnumerable<object[]> Cases() =>
        Directory.GetDirectories(Path.Combine(TestPaths.Fixtures, "pt"))
            .Where(d => File.Exists(Path.Combine(d, "case.json")) && File.Exists(Path.Combine(d, "spec.json")))
            .SelectMany(d => ModelFiles(d).Select(f => new object[] { Path.GetFileName(d), f }));

    private static IEnumerable<string> ModelFiles(string dir)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "case.json")));
        foreach (var f in doc.RootElement.GetProperty("model_files").EnumerateArray()) yield return f.GetString()!;
    }

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void ConvertWithSpecThenPredict_MatchesPyTorch(string fixture, string modelFile)
    {
        string dir = Path.Combine(TestPaths.Fixtures, "pt", fixture);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "case.json")));
        var root = doc.RootElement;
        string Resolve(string rel) => Path.Combine(TestPaths.Fixtures, rel);
        var inputs = root.GetProperty("inputs").EnumerateObject().ToDictionary(p => p.Name, p => Resolve(p.Value.GetString()!), StringComparer.Ordinal);
        var outputs = root.GetProperty("outputs").EnumerateObject().ToDictionary(p => p.Name, p => Resolve(p.Value.GetString()!), StringComparer.Ordinal);
        if (inputs.Count == 0 || outputs.Count == 0) Assert.Inconclusive($"{fixture} has no runnable inputs/outputs");

        string tmp = TestPaths.NewTempDir();
        string edge = Path.Combine(tmp, fixture + ".edge");
        var c = EdgeCli.Quantize("convert", Path.Combine(dir, modelFile), "--spec", Path.Combine(dir, root.GetProperty("spec").GetString()!), "--output", edge, "--precision", "fp32");
        Assert.AreEqual(0, c.ExitCode, c.ToString());
        var got = EdgeCli.Predict(edge, inputs, outputs.Keys.ToList(), Path.Combine(tmp, "out"));
        foreach (var (name, file) in outputs)
            Assertions.AssertClose(Npy.Read(file), got[name], Parity.Tolerance, $"{fixture}/{modelFile} output '{name}'");
    }

    [TestMethod]
    public void StateDictWithoutSpec_IsAOneLineError()
    {
        var r = EdgeCli.Quantize("convert", Path.Combine(TestPaths.Fixtures, "pt", "seed_gru", "model.pt"), "--output", Path.Combine(TestPaths.NewTempDir(), "x.edge"));
        Assert.AreEqual(1, r.ExitCode, r.ToString());
        StringAssert.Contains(r.Stderr, "--spec");
        Assert.AreEqual(1, r.Stderr.TrimEnd().Split('\n').Length, r.ToString());
    }

    /// <summary>docs/spec.md: every problem on its own line under one header, whether the spec has several mistakes or the state_dict does not fit it.</summary>
    [TestMethod]
    public void SpecProblems_ArePrintedOnePerLine()
    {
        string dir = TestPaths.NewTempDir();
        string pt = Path.Combine(TestPaths.Fixtures, "pt", "local_linear", "model.pt");
        string Spec(string json)
        {
            string path = Path.Combine(dir, "spec.json");
            File.WriteAllText(path, json);
            return path;
        }

        // Two problems in the state_dict against the spec: the header, then one line each.
        var r = EdgeCli.Quantize("convert", pt, "--output", Path.Combine(dir, "x.edge"), "--spec", Spec("""
            {"inputs": [{"name": "input", "shape": [null, 30]}],
             "layers": [{"name": "local", "kind": "local_linear", "prefix": "loc", "kernel_size": 5, "padding": 2, "stride": 3}]}
            """));
        Assert.AreEqual(1, r.ExitCode, r.ToString());
        CollectionAssert.AreEqual(new[]
        {
            "edge-quantize: error: model.pt does not match spec.json (2 problems):",
            "  - layers[0] (local): missing key 'loc.weight' (expected shape (10, 5, ?))",
            "  - unused keys (no layer reads them; set \"allow_unused\": true to ignore them): 'weight' (10, 5, 4), 'bias' (10, 4)",
        }, r.Stderr.TrimEnd().Split('\n').Select(l => l.TrimEnd('\r')).ToArray(), r.ToString());

        // Mistakes in several places of the spec come out together, each naming its field.
        r = EdgeCli.Quantize("convert", pt, "--output", Path.Combine(dir, "x.edge"), "--spec", Spec("""
            {"inputs": [{"name": "input", "shape": [null, 30], "dtype": "float16"}],
             "layers": [{"name": "local", "kind": "local_linear", "paddin": 2}, {"kind": "attention"}],
             "output": []}
            """));
        Assert.AreEqual(1, r.ExitCode, r.ToString());
        var lines = r.Stderr.TrimEnd().Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        Assert.AreEqual("edge-quantize: error: spec.json: 4 problems:", lines[0], r.ToString());
        Assert.AreEqual(5, lines.Length, r.ToString());
        StringAssert.StartsWith(lines[1], "  - inputs[0].dtype: 'float16' is not one of");
        StringAssert.StartsWith(lines[2], "  - layers[0].paddin: unknown field for kind local_linear");
        StringAssert.StartsWith(lines[3], "  - layers[1].kind: 'attention' is not one of");
        StringAssert.StartsWith(lines[4], "  - output: unknown field for the spec");
        Assert.IsFalse(File.Exists(Path.Combine(dir, "x.edge")), "nothing is written");
    }
}
