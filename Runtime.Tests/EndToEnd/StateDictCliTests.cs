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
            Parity.AssertClose(Npy.Read(file), got[name], $"{fixture}/{modelFile} output '{name}'");
    }

    [TestMethod]
    public void StateDictWithoutSpec_IsAOneLineError()
    {
        var r = EdgeCli.Quantize("convert", Path.Combine(TestPaths.Fixtures, "pt", "seed_gru", "model.pt"), "--output", Path.Combine(TestPaths.NewTempDir(), "x.edge"));
        Assert.AreEqual(1, r.ExitCode, r.ToString());
        StringAssert.Contains(r.Stderr, "--spec");
        Assert.AreEqual(1, r.Stderr.TrimEnd().Split('\n').Length, r.ToString());
    }
}
