using Edge.Quantizer.Import.PyTorch;
using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;
using Edge.Runtime.Tests.EndToEnd;

namespace Edge.Runtime.Tests.Import;

/// <summary>
/// The spec that describes a state_dict's graph (docs/spec.md): its errors name the spec field or the
/// state_dict key with its shape; the IR it builds has the PyTorch module's layouts.
/// </summary>
[TestClass]
public sealed class SpecTests
{
    private static StateDict Pt(string fixture) => StateDict.Load(Path.Combine(TestPaths.Fixtures, "pt", fixture, "model.pt"));

    private static EdgeException BuildFails(string fixture, string json)
    {
        var sd = Pt(fixture);
        return Assert.Throws<EdgeException>(() => SpecGraphBuilder.Build(sd.Tensors, Spec.Parse(json, "spec.json"), "model.pt"));
    }

    [TestMethod]
    public void MissingKey_IsNamedWithItsExpectedShape_AndTheKeysLeftOverAreListed()
    {
        var e = BuildFails("local_linear", """
            {"inputs": [{"name": "input", "shape": [null, 30]}],
             "layers": [{"name": "local", "kind": "local_linear", "prefix": "loc", "kernel_size": 5, "padding": 2, "stride": 3}]}
            """);
        StringAssert.Contains(e.Message, "model.pt does not match spec.json (2 problems)");
        StringAssert.Contains(e.Message, "layers[0] (local): missing key 'loc.weight' (expected shape (10, 5, ?))");
        StringAssert.Contains(e.Message, "unused keys (no layer reads them; set \"allow_unused\": true to ignore them): 'weight' (10, 5, 4), 'bias' (10, 4)");
    }

    [TestMethod]
    public void WrongHiddenSize_ReportsEveryMismatchedKeyWithBothShapes()
    {
        var e = BuildFails("gru2_batchfirst", """
            {"inputs": [{"name": "x", "shape": [null, null, 7]}],
             "layers": [{"name": "gru", "kind": "gru", "hidden_size": 12, "num_layers": 2, "batch_first": true}]}
            """);
        StringAssert.Contains(e.Message, "layers[0] (gru): 'gru.weight_ih_l0' has shape (39, 7), expected (36, 7)");
        StringAssert.Contains(e.Message, "'gru.weight_hh_l0' has shape (39, 13), expected (36, 12)");
        StringAssert.Contains(e.Message, "'gru.bias_hh_l1' has shape (39,), expected (36,)");
        Assert.IsFalse(e.Message.Contains("unused keys", StringComparison.Ordinal), "a mis-shaped key is used, not unused: " + e.Message);
    }

    [TestMethod]
    public void WrongInputFeatures_AreAShapeMismatchOfTheInputWeight()
    {
        var e = BuildFails("seed_gru", """
            {"inputs": [{"name": "x", "shape": [null, null, 95]}],
             "layers": [{"name": "gru", "kind": "gru", "hidden_size": 96}]}
            """);
        StringAssert.Contains(e.Message, "'gru.weight_ih_l0' has shape (288, 96), expected (288, 95)");
    }

    [TestMethod]
    public void UnusedKeys_AreAnError_UnlessAllowed()
    {
        const string spec = """
            {"inputs": [{"name": "tokens", "shape": [null, null], "dtype": "int64"}],
             "layers": [{"name": "embedding", "kind": "embedding"},
                        {"name": "lstm", "kind": "lstm", "hidden_size": 32, "batch_first": true}]ALLOW}
            """;
        var e = BuildFails("char_lstm", spec.Replace("ALLOW", "", StringComparison.Ordinal));
        StringAssert.Contains(e.Message, "(1 problem)");
        StringAssert.Contains(e.Message, "'head.weight' (44, 32), 'head.bias' (44,)");

        var sd = Pt("char_lstm");
        var graph = SpecGraphBuilder.Build(sd.Tensors, Spec.Parse(spec.Replace("ALLOW", ", \"allow_unused\": true", StringComparison.Ordinal)));
        Assert.AreEqual("lstm", graph.Outputs.Single().Name, "without outputs, the last layer's output is named after it");
        CollectionAssert.AreEqual(new[] { -1, -1, 32 }, graph.Outputs[0].Shape);
    }

    [TestMethod]
    public void SpecErrors_NameTheField()
    {
        (string Json, string Expect)[] cases =
        [
            ("""{"inputs": [{"name": "x", "shape": [null, 3]}], "layers": [{"kind": "lstm", "hiden_size": 4}]}""", "layers[0].hiden_size: unknown field for kind lstm"),
            ("""{"inputs": [{"name": "x", "shape": [null, 3]}], "layers": [{"kind": "gru", "hidden_size": "96"}]}""", "layers[0].hidden_size: expected an integer, got \"96\""),
            ("""{"inputs": [{"name": "x", "shape": [null, 3]}], "layers": [{"kind": "linear", "input": "y"}]}""", "layers[0].input: 'y' is not a graph input or an earlier layer"),
            ("""{"inputs": [{"name": "x", "shape": [null, 3]}], "layers": [{"kind": "attention"}]}""", "layers[0].kind: 'attention' is not one of"),
            ("""{"inputs": [{"name": "x", "shape": [null, 3]}], "layers": [{"kind": "gru", "hidden_size": 4}]}""", "layers[0].input: gru needs a rank-3 input (seq, batch, features), got (?, 3)"),
            ("""{"inputs": [{"name": "x", "shape": [null, 3, 2]}], "layers": [{"kind": "lstm", "hidden_size": 4, "return": "all"}]}""", "layers[0].return: 'all' is not one of"),
            ("""{"inputs": [{"name": "x", "shape": [null, 3, 2]}], "layers": [{"kind": "conv1d", "padding": "full"}]}""", "layers[0].padding: 'full' is not"),
            ("""{"inputs": [{"name": "x", "shape": [null, 3]}], "layers": [{"kind": "activation", "function": "swish"}]}""", "layers[0].function: 'swish' is not one of"),
            ("""{"inputs": [{"name": "x", "shape": [null, 3, 2]}], "layers": [{"kind": "lstm", "hidden_size": 4, "initial_h": "x"}]}""", "layers[0].initial_h: 'x' is (?, 3, 2); expected (num_layers*num_directions = 1, batch, hidden_size = 4)"),
            ("""{"inputs": [{"name": "x", "shape": [null, "3"]}], "layers": [{"kind": "linear"}]}""", "inputs[0].shape: \"3\" is not a dimension"),
            ("""{"inputs": [{"name": "x", "shape": [null, 3], "dtype": "float16"}], "layers": [{"kind": "linear"}]}""", "inputs[0].dtype: 'float16' is not one of"),
            ("""{"inputs": [{"name": "x", "shape": [null, 3]}], "layers": [{"name": "x", "kind": "linear"}]}""", "layers[0].name: 'x' is already the name of an input or another layer"),
            ("""{"inputs": [{"name": "x", "shape": [null, 3]}], "layers": [{"kind": "linear"}], "output": []}""", "output: unknown field for the spec"),
            ("""{"inputs": [{"name": "x", "shape": [null, 3]}], "layers": []}""", "layers: at least one layer is needed"),
            ("""{"inputs": [{"name": "x", "shape": [null, 3]}], "layers": [{"kind": "linear"}], "outputs": [{"name": "y", "from": "linear_0:h_n"}]}""", "outputs[0].from: 'linear_0:h_n' is not"),
            ("""{"inputs": [{"name": "x", "shape": [null, 3]}] "layers": []}""", "spec.json: not valid JSON"),
        ];
        var sd = new Dictionary<string, Tensor>();
        foreach (var (json, expect) in cases)
        {
            var e = Assert.Throws<EdgeException>(() => SpecGraphBuilder.Build(sd, Spec.Parse(json, "spec.json")), json);
            StringAssert.Contains(e.Message, expect, json);
        }
    }

    [TestMethod]
    public void HiddenSize_IsInferredFromTheWeights_WhenLeftOut()
    {
        var sd = Pt("lstm_bidir");
        // Through the importer's whole path: the builder emits Y_c, ImportPipeline's dead-node pass drops it.
        var graph = PyTorchImporter.FromStateDict(sd.Tensors, Spec.Parse("""
            {"inputs": [{"name": "x", "shape": [null, null, 5]}],
             "layers": [{"name": "lstm", "kind": "lstm", "bidirectional": true}],
             "outputs": [{"name": "h_n", "from": "lstm:h_n"}, {"name": "output", "from": "lstm"}]}
            """));
        var lstm = graph.Nodes.Single(n => n.Kind == OpKind.Lstm);
        Assert.AreEqual(8L, lstm.GetInt("hidden_size", 0));
        Assert.AreEqual("bidirectional", lstm.GetString("direction", ""));
        CollectionAssert.AreEqual(new[] { 2, -1, 8 }, graph.Outputs[0].Shape, "h_n (layers*dirs, batch, H)");
        CollectionAssert.AreEqual(new[] { -1, -1, 16 }, graph.Outputs[1].Shape, "output (seq, batch, dirs*H)");
        Assert.IsFalse(lstm.Outputs[2].Length > 0, "Y_c is not read, so the node does not produce it");
    }

    [TestMethod]
    public void StripPrefix_RemovesDataParallelsModulePrefix()
    {
        var sd = Pt("local_linear");
        var prefixed = sd.Tensors.ToDictionary(kv => "module." + kv.Key, kv => kv.Value);
        var graph = SpecGraphBuilder.Build(prefixed, Spec.Parse("""
            {"strip_prefix": "module.", "inputs": [{"name": "input", "shape": [null, 30]}],
             "layers": [{"name": "local", "kind": "local_linear", "prefix": "", "padding": 2, "stride": 3}]}
            """));
        var x = Npy.Read(Path.Combine(TestPaths.Fixtures, "models", "local_linear", "input.npy"));
        var y = new Session(graph).Run(new Dictionary<string, Tensor> { ["input"] = x })["local"];
        Assertions.AssertClose(Npy.Read(Path.Combine(TestPaths.Fixtures, "models", "local_linear", "output.npy")), y, Parity.Tolerance, "local_linear with kernel_size from the weight");
    }

    /// <summary>The shorthand recurrent stack → last step → linear head, against a PyTorch golden (char_lstm's logits at the last step).</summary>
    [TestMethod]
    public void ReturnLastWithHead_IsTheLastStepOfTheFullModel()
    {
        var sd = Pt("char_lstm");
        var graph = SpecGraphBuilder.Build(sd.Tensors, Spec.Parse("""
            {"inputs": [{"name": "tokens", "shape": [null, null], "dtype": "int64"}],
             "layers": [{"name": "embedding", "kind": "embedding"},
                        {"name": "lstm", "kind": "lstm", "batch_first": true, "return": "last", "head": "head"}],
             "outputs": [{"name": "next_logits", "from": "lstm"}]}
            """));
        var tokens = Parity.Rows(Npy.Read(Path.Combine(TestPaths.Fixtures, "models", "char_lstm", "tokens.npy")), 0, 4);
        var logits = Parity.Rows(Npy.Read(Path.Combine(TestPaths.Fixtures, "models", "char_lstm", "logits.npy")), 0, 4); // (4, 100, 44)
        var y = new Session(graph).Run(new Dictionary<string, Tensor> { ["tokens"] = tokens })["next_logits"];
        var expected = Tensor.Zeros(DataType.Float32, 4, 44);
        for (int n = 0; n < 4; n++)
            for (int c = 0; c < 44; c++) expected.Set(logits.Get<float>(n, 99, c), n, c);
        Assertions.AssertClose(expected, y, Parity.Tolerance, "lstm return last + head vs PyTorch logits[:, -1]");
    }
}
