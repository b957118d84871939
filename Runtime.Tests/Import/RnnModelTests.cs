using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.Quantizer;
using Edge.Quantizer.Import;
using Edge.Quantizer.Import.Onnx;
using Edge.Quantizer.Import.PyTorch;
using Edge.Runtime.Execution;
using Edge.Runtime.Format;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Tests.Import;

/// <summary>
/// Vanilla RNN models (nn.RNN tanh and relu, 1-2 layers, bidirectional) from tools/make_rnn_fixtures.py in
/// Fixtures/rnn/: the same weights as a state_dict with a spec (kind <c>rnn</c>) and as torch.onnx's ONNX
/// (<c>RNN</c> op). Both convert to Rnn nodes, reproduce PyTorch's outputs to 1e-5 in fp32 (through a blob), and
/// int8 stays within cosine 0.999 of fp32 as every int8 fixture must.
/// </summary>
[TestClass]
public sealed class RnnModelTests
{
    private static string Root => Path.Combine(TestPaths.Fixtures, "rnn");

    public static IEnumerable<object[]> Cases =>
        from d in Directory.EnumerateDirectories(Root).Order(StringComparer.Ordinal)
        from format in new[] { "spec", "onnx" }
        select new object[] { Path.GetFileName(d)!, format };

    private static (Dictionary<string, Tensor> Inputs, Dictionary<string, Tensor> Outputs) Case(string name)
    {
        using var c = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, name, "case.json")));
        Dictionary<string, Tensor> Read(string what) => c.RootElement.GetProperty(what).EnumerateObject()
            .ToDictionary(p => p.Name, p => Npy.Read(Path.Combine(Root, name, p.Value.GetString()!)), StringComparer.Ordinal);
        return (Read("inputs"), Read("outputs"));
    }

    private static Graph Import(string name, string format) => format == "spec"
        ? PyTorchImporter.Import(Path.Combine(Root, name, "model.pt"), Path.Combine(Root, name, "spec.json"))
        : OnnxImporter.Import(Path.Combine(Root, name, "model.onnx"));

    private static ConvertOptions Options(string name, string format, string output, Precision precision) => format == "spec"
        ? new ConvertOptions(Path.Combine(Root, name, "model.pt"), output, precision, SpecPath: Path.Combine(Root, name, "spec.json"))
        : new ConvertOptions(Path.Combine(Root, name, "model.onnx"), output, precision);

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void Fp32_MatchesPyTorch(string name, string format)
    {
        var (inputs, expected) = Case(name);
        var graph = Import(name, format);
        Assert.IsTrue(graph.Nodes.Any(n => n.Kind == OpKind.Rnn), $"{name} ({format}): no Rnn node in {string.Join("; ", graph.Nodes.Select(n => n.Kind))}");
        Assert.IsFalse(graph.Nodes.Any(n => n.Kind is OpKind.Lstm or OpKind.Gru), $"{name} ({format})");
        var (reloaded, _) = EdgeBlob.Read(EdgeBlob.ToBytes(graph, new JsonObject { ["model_name"] = name }), name + ".edge");
        var result = new Session(reloaded).Run(inputs);
        foreach (var (output, golden) in expected)
            Assertions.AssertClose(golden, result[output], new Tolerance(1e-5, 1e-5), $"{name} ({format}) '{output}': Edge fp32 vs PyTorch");
    }

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void Int8_StaysWithinTheInt8TargetOfFp32(string name, string format)
    {
        var (inputs, expected) = Case(name);
        string dir = TestPaths.NewTempDir();
        Converter.Convert(Options(name, format, Path.Combine(dir, "fp32.edge"), Precision.Fp32));
        Converter.Convert(Options(name, format, Path.Combine(dir, "int8.edge"), Precision.Int8));
        var int8 = EdgeModel.Load(Path.Combine(dir, "int8.edge"));
        foreach (var rnn in int8.Graph.Nodes.Where(n => n.Kind == OpKind.Rnn))
        {
            Assert.IsTrue(int8.Graph.QuantizedConstants.ContainsKey(rnn.Inputs[1]), $"{name} ({format}): W of '{rnn.Name}' is not int8");
            Assert.IsTrue(int8.Graph.QuantizedConstants.ContainsKey(rnn.Inputs[2]), $"{name} ({format}): R of '{rnn.Name}' is not int8");
        }
        var a = EdgeModel.Load(Path.Combine(dir, "fp32.edge")).CreateSession().Run(inputs);
        var b = int8.CreateSession().Run(inputs);
        foreach (var (output, golden) in expected)
        {
            Assertions.AssertClose(golden, a[output], new Tolerance(1e-5, 1e-5), $"{name} ({format}) '{output}': converted fp32 vs PyTorch");
            double cos = Int8.Int8ModelTests.Cosine(a[output], b[output]);
            Assert.IsTrue(cos >= 0.999, $"{name} ({format}) '{output}': cosine int8 vs fp32 = {cos:F6} < 0.999");
        }
    }

    [TestMethod]
    [DataRow("bidir_head", Precision.Fp32)]
    [DataRow("bidir_head", Precision.Int8)]
    [DataRow("relu_2layer", Precision.Int8)]
    public void Runner_WarmCall_IsBitForBitSessionRun_AndAllocatesNothing_OnEveryIsa(string name, Precision precision)
    {
        string dir = TestPaths.NewTempDir();
        Converter.Convert(Options(name, "onnx", Path.Combine(dir, "m.edge"), precision));
        var model = EdgeModel.Load(Path.Combine(dir, "m.edge"));
        var (inputs, _) = Case(name);
        foreach (var isa in Edge.Runtime.Kernels.IsaSelector.Supported)
        {
            var session = model.CreateSession(new SessionOptions { Isa = isa });
            var runner = session.CreateRunner();
            var expected = session.Run(inputs);
            for (int i = 0; i < session.Inputs.Count; i++) runner.Bind(i, inputs[session.Inputs[i].Name]);
            runner.Invoke();
            string what = $"{name} {precision} runner on {Edge.Runtime.Kernels.IsaSelector.Name(isa)}";
            Sessions.SessionRunnerTests.AssertSameOutputs(session.Graph, expected, runner, what);
            Sessions.SessionRunnerTests.AssertNoAllocation(runner, what);
        }
    }

    [TestMethod]
    public void Spec_Nonlinearity_SetsTheActivation_AndAnUnknownOneIsOneLine()
    {
        var graph = Import("relu_2layer", "spec");
        var rnns = graph.Nodes.Where(n => n.Kind == OpKind.Rnn).ToList();
        Assert.HasCount(2, rnns);
        foreach (var n in rnns) CollectionAssert.AreEqual(new[] { "Relu" }, n.GetStrings("activations"), n.Name);

        string dir = TestPaths.NewTempDir();
        string spec = File.ReadAllText(Path.Combine(Root, "relu_2layer", "spec.json")).Replace("\"relu\"", "\"gelu\"", StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(dir, "spec.json"), spec);
        var e = Assert.Throws<EdgeException>(() => PyTorchImporter.Import(Path.Combine(Root, "relu_2layer", "model.pt"), Path.Combine(dir, "spec.json")));
        StringAssert.Contains(e.Message, "nonlinearity");
        StringAssert.Contains(e.Message, "gelu");
        Assert.DoesNotContain("\n", e.Message.TrimEnd());
    }
}
