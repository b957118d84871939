using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.Quantizer;
using Edge.Quantizer.Import;
using Edge.Quantizer.Import.PyTorch;
using Edge.Runtime.Execution;
using Edge.Runtime.Format;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;
using Edge.Runtime.Tests.EndToEnd;

namespace Edge.Runtime.Tests.Import;

/// <summary>
/// The spec kinds beyond recurrent stacks (elementwise add/sub/mul/div, slice, dropout, softmax, sum/mean,
/// matmul/bmm, batch_norm, layer_norm, repeat_vector with n_from), on the modules of
/// tools/make_pt_fixtures.py in Fixtures/pt_kinds/: each converts and reproduces PyTorch's outputs
/// (written by torch) to 1e-5 in fp32; int8 stays within cosine 0.999 of fp32 as every int8 fixture must.
/// </summary>
[TestClass]
public sealed class SpecKindsTests
{
    private static string Root => Path.Combine(TestPaths.Fixtures, "pt_kinds");

    public static IEnumerable<object[]> Cases =>
        Directory.EnumerateDirectories(Root).Select(d => new object[] { Path.GetFileName(d)! }).OrderBy(c => (string)c[0], StringComparer.Ordinal);

    private static (Dictionary<string, Tensor> Inputs, Dictionary<string, Tensor> Outputs) Case(string name)
    {
        using var c = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, name, "case.json")));
        Dictionary<string, Tensor> Read(string what) => c.RootElement.GetProperty(what).EnumerateObject()
            .ToDictionary(p => p.Name, p => Npy.Read(Path.Combine(TestPaths.Fixtures, p.Value.GetString()!)), StringComparer.Ordinal);
        return (Read("inputs"), Read("outputs"));
    }

    private static string Model(string name) => Path.Combine(Root, name, "model.pt");

    private static string SpecOf(string name) => Path.Combine(Root, name, "spec.json");

    [TestMethod]
    public void EveryNewKind_HasAFixture()
    {
        var kinds = Cases.SelectMany(c => JsonDocument.Parse(File.ReadAllText(SpecOf((string)c[0]))).RootElement.GetProperty("layers")
            .EnumerateArray().Select(l => l.GetProperty("kind").GetString()!)).ToHashSet();
        foreach (var k in new[] { "add", "sub", "mul", "div", "slice", "dropout", "softmax", "sum", "mean", "matmul", "bmm", "batch_norm", "layer_norm", "repeat_vector", "max", "prelu" })
            Assert.Contains(k, kinds, $"no pt_kinds fixture uses kind '{k}'");
    }

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void Fp32_MatchesPyTorch(string name)
    {
        var (inputs, expected) = Case(name);
        var graph = PyTorchImporter.Import(Model(name), SpecOf(name));
        var (reloaded, _) = EdgeBlob.Read(EdgeBlob.ToBytes(graph, new JsonObject { ["model_name"] = name }), name + ".edge");
        var result = new Session(reloaded).Run(inputs);
        foreach (var (output, golden) in expected)
            Assertions.AssertClose(golden, result[output], new Tolerance(1e-5, 1e-5), $"{name} '{output}': Edge fp32 vs PyTorch");
    }

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void Int8_StaysWithinTheInt8TargetOfFp32(string name)
    {
        var (inputs, expected) = Case(name);
        string dir = TestPaths.NewTempDir();
        Converter.Convert(new ConvertOptions(Model(name), Path.Combine(dir, "fp32.edge"), Precision.Fp32, SpecPath: SpecOf(name)));
        Converter.Convert(new ConvertOptions(Model(name), Path.Combine(dir, "int8.edge"), Precision.Int8, SpecPath: SpecOf(name)));
        var int8 = EdgeModel.Load(Path.Combine(dir, "int8.edge"));
        Assert.IsTrue(int8.Graph.QuantizedConstants.Count > 0, $"{name}: no weight was quantized");
        var a = EdgeModel.Load(Path.Combine(dir, "fp32.edge")).CreateSession().Run(inputs);
        var b = int8.CreateSession().Run(inputs);
        foreach (var (output, golden) in expected)
        {
            Assertions.AssertClose(golden, a[output], new Tolerance(1e-5, 1e-5), $"{name} '{output}': converted fp32 vs PyTorch");
            double cos = Int8.Int8ModelTests.Cosine(a[output], b[output]);
            Assert.IsTrue(cos >= 0.999, $"{name} '{output}': cosine int8 vs fp32 = {cos:F6} < 0.999");
        }
    }

    [TestMethod]
    public void BatchNorm_FoldsIntoTheLinearAndConvBeforeIt_ButNotAfterARelu()
    {
        var graph = PyTorchImporter.Import(Model("batch_norm_head"), SpecOf("batch_norm_head"));
        // bn1 (after fc1) and bn3 (after the conv) fold into their weights; bn2 follows a ReLU and stays x * scale + shift.
        var muls = graph.Nodes.Where(n => n.Kind == OpKind.Mul).Select(n => n.Name).ToList();
        CollectionAssert.AreEqual(new[] { "bn2/mul" }, muls, "the batch_norms left as a scale (Mul): " + string.Join(", ", graph.Nodes.Select(n => $"{n.Kind} {n.Name}")));
        Assert.AreEqual(1, graph.Nodes.Count(n => n.Kind == OpKind.Add), "only bn2's shift is an Add");
        Assert.IsTrue(graph.Nodes.Any(n => n.Kind == OpKind.Conv1D && n.Inputs[1].EndsWith("/weight_bn", StringComparison.Ordinal)), "the conv reads the folded weight");
    }

    [TestMethod]
    public void RepeatVector_NFrom_FollowsTheInputsLength()
    {
        var graph = PyTorchImporter.Import(Model("layer_norm_seq2seq"), SpecOf("layer_norm_seq2seq"));
        var (inputs, _) = Case("layer_norm_seq2seq");
        var x = inputs["x"]; // (3, 5, 4)
        foreach (int length in new[] { 2, 5 })
        {
            var shorter = Tensor.Zeros(DataType.Float32, 3, length, 4);
            for (int n = 0; n < 3; n++)
                for (int t = 0; t < length; t++)
                    for (int f = 0; f < 4; f++) shorter.Set(x.Get<float>(n, t, f), n, t, f);
            var y = new Session(graph).Run(new Dictionary<string, Tensor> { ["x"] = shorter })["y"];
            CollectionAssert.AreEqual(new[] { 3, length, 2 }, y.ShapeArray(), "the decoder runs as many steps as the input has");
        }
    }

    [TestMethod]
    public void PyTorchGraphs_GoThroughTheOptimizer()
    {
        // The spec emits an Identity node for "identity"; ImportPipeline's optimizer removes it, as it does for ONNX and Keras.
        var sd = new Dictionary<string, Tensor> { ["fc.weight"] = Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3), ["fc.bias"] = Tensor.FromArray(new float[] { 0.5f, -1 }, 2) };
        var spec = Spec.Parse("""
            {"inputs": [{"name": "x", "shape": [null, 3]}],
             "layers": [{"name": "fc", "kind": "linear"}, {"name": "same", "kind": "activation", "function": "identity"},
                        {"name": "drop", "kind": "dropout"}, {"name": "y", "kind": "add", "inputs": ["same", "same"]}]}
            """);
        Assert.IsTrue(SpecGraphBuilder.Build(sd, spec).Nodes.Any(n => n.Kind == OpKind.Identity), "the builder emits the identity");
        var graph = PyTorchImporter.FromStateDict(sd, spec);
        Assert.IsFalse(graph.Nodes.Any(n => n.Kind == OpKind.Identity), "the optimizer removed it");
        var y = new Session(graph).Run(new Dictionary<string, Tensor> { ["x"] = Tensor.FromArray(new float[] { 1, 0, -1 }, 1, 3) })["y"];
        CollectionAssert.AreEqual(new[] { 2 * (1 - 3 + 0.5), 2 * (4 - 6 - 1.0) }, y.ToDoubleArray());
    }

    [TestMethod]
    public void SpecErrors_NameTheLayerAndField()
    {
        var sd = new Dictionary<string, Tensor>();
        (string Layers, string Expect)[] cases =
        [
            ("""{"kind": "add", "inputs": ["x", "z"]}""", "layers[0].inputs: shapes (?, 3, 4) and (?, 5) do not broadcast"),
            ("""{"kind": "add", "inputs": ["x"]}""", "layers[0].inputs: add takes two inputs [a, b], got 1"),
            ("""{"kind": "mul"}""", "layers[0].inputs: required, [a, b] (or input and a constant value) for mul"),
            ("""{"kind": "sub", "inputs": ["x", "x"], "value": 1}""", "layers[0].value: sub takes either inputs [a, b] or input and value, not both"),
            ("""{"kind": "slice", "dim": 1, "start": 3, "end": 3}""", "layers[0].start/end: [3:3] selects nothing of axis 1 of (?, 3, 4)"),
            ("""{"kind": "slice", "dim": 3}""", "layers[0].dim: axis 3 is out of range for rank 3"),
            ("""{"kind": "slice", "dim": 1, "step": 0}""", "layers[0].step: 0 must be positive"),
            ("""{"kind": "softmax", "dim": 5}""", "layers[0].dim: axis 5 is out of range for rank 3"),
            ("""{"kind": "sum"}""", "layers[0].dim: required"),
            ("""{"kind": "mean", "dim": []}""", "layers[0].dim: [] names no axis"),
            ("""{"kind": "max", "dim": 3}""", "layers[0].dim: axis 3 is out of range for rank 3"),
            ("""{"kind": "prelu", "num_parameters": 0}""", "layers[0].num_parameters: 0 must be at least 1"),
            ("""{"kind": "bmm", "inputs": ["x", "z"]}""", "layers[0].inputs: bmm needs (B, N, M) and (B, M, P), got (?, 3, 4) and (?, 5)"),
            ("""{"kind": "matmul", "inputs": ["x", "x"]}""", "layers[0].inputs: cannot multiply (?, 3, 4) by (?, 3, 4) (4 vs 3)"),
            ("""{"kind": "layer_norm", "normalized_shape": [5]}""", "layers[0].normalized_shape: [5] does not match the trailing axes of the input (?, 3, 4)"),
            ("""{"kind": "batch_norm", "num_features": 7}""", "layers[0].num_features: 7, but the input (?, 3, 4) has 3 channels (axis 1)"),
            ("""{"kind": "batch_norm", "input": "z", "eps": 0}""", "layers[0].eps: 0 must be a positive number"),
            ("""{"kind": "batch_norm", "track_running_stats": false}""", "layers[0].track_running_stats: false normalizes with each batch's own statistics"),
            ("""{"kind": "repeat_vector", "input": "z", "n": 2, "n_from": "x"}""", "layers[0].n: give either n or n_from, not both"),
            ("""{"kind": "repeat_vector", "input": "z", "n_from": "x", "n_axis": 3}""", "layers[0].n_axis: axis 3 is out of range for rank 3"),
            ("""{"kind": "dropout", "rate": 0.5}""", "layers[0].rate: unknown field for kind dropout"),
        ];
        foreach (var (layers, expect) in cases)
        {
            string json = $$"""{"inputs": [{"name": "x", "shape": [null, 3, 4]}, {"name": "z", "shape": [null, 5]}], "layers": [{{layers}}]}""";
            var e = Assert.Throws<EdgeException>(() => SpecGraphBuilder.Build(sd, Spec.Parse(json, "spec.json"), "model.pt"), json);
            StringAssert.Contains(e.Message, "spec.json: " + expect, json);
        }
    }

    [TestMethod]
    public void BatchNorm_MissingStatistics_AreListedByKey()
    {
        var sd = new Dictionary<string, Tensor> { ["bn.weight"] = Tensor.FromArray(new float[] { 1, 1, 1 }, 3), ["bn.bias"] = Tensor.FromArray(new float[3], 3) };
        var spec = Spec.Parse("""{"inputs": [{"name": "x", "shape": [null, 3]}], "layers": [{"name": "bn", "kind": "batch_norm"}]}""", "spec.json");
        var e = Assert.Throws<EdgeException>(() => SpecGraphBuilder.Build(sd, spec, "model.pt"));
        StringAssert.Contains(e.Message, "layers[0] (bn): missing key 'bn.running_mean' (expected shape (3,))");
        StringAssert.Contains(e.Message, "layers[0] (bn): missing key 'bn.running_var' (expected shape (3,))");
    }
}
