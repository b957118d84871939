using System.Text.Json;
using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;
using static Edge.Runtime.Tests.Assertions;

namespace Edge.Runtime.Tests.Layers;

/// <summary>
/// The fp32 Lstm, Gru and Rnn operators against goldens from PyTorch (nn.LSTM / nn.GRU / nn.RNN, and explicit
/// float64 gate math where nn.LSTM/nn.GRU cannot express the configuration) and ONNX's own
/// conformance data, all made by tools/make_recurrent_fixtures.py into Fixtures/recurrent/&lt;case&gt;/.
/// </summary>
[TestClass]
public sealed class RecurrentTests
{
    private const double Atol = 1e-4, Rtol = 1e-4;
    private static readonly Tolerance Close = new(Atol, Rtol);
    private static readonly string[] InputSlots = ["X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"];
    private static readonly string[] WeightSlots = ["W", "R", "B", "P"];

    // ── golden cases ──────────────────────────────────────────────────────────────────────────

    [TestMethod]
    [DataRow("gru_seed_96")]
    [DataRow("gru_2layer_batch_first")]
    [DataRow("lstm_bidirectional")]
    [DataRow("lstm_initial_state")]
    [DataRow("lstm_3layer_batch_first")]
    [DataRow("lstm_2layer_bidirectional_state")]
    [DataRow("lstm_seq_lens_bidirectional")]
    [DataRow("gru_seq_lens_bidirectional_batch_first")]
    [DataRow("lstm_relu")]
    [DataRow("gru_reset_before_linear")]
    [DataRow("lstm_peepholes")]
    [DataRow("lstm_hardsigmoid_clip_input_forget_reverse")]
    [DataRow("gru_activations_per_direction")]
    [DataRow("lstm_more_activations")]
    [DataRow("onnx_gru_batchwise")]
    [DataRow("onnx_gru_defaults")]
    [DataRow("onnx_gru_seq_length")]
    [DataRow("onnx_gru_with_initial_bias")]
    [DataRow("onnx_lstm_batchwise")]
    [DataRow("onnx_lstm_defaults")]
    [DataRow("onnx_lstm_with_initial_bias")]
    [DataRow("onnx_lstm_with_peepholes")]
    [DataRow("rnn_tanh")]
    [DataRow("rnn_relu_2layer_batch_first")]
    [DataRow("rnn_tanh_bidirectional_2layer_state")]
    [DataRow("rnn_relu_seq_lens_bidirectional_batch_first")]
    [DataRow("rnn_linear_reverse_lengths")]
    [DataRow("rnn_activations_per_direction_clip")]
    [DataRow("onnx_rnn_seq_length")]
    [DataRow("onnx_simple_rnn_batchwise")]
    [DataRow("onnx_simple_rnn_defaults")]
    [DataRow("onnx_simple_rnn_with_initial_bias")]
    public void Case_MatchesGolden_WithConstantAndRuntimeWeights(string name)
    {
        var c = FixtureCase.Load(name);
        foreach (bool constantWeights in new[] { true, false })
            RunAndCompare(c, constantWeights, $"{name} ({(constantWeights ? "constant" : "runtime")} weights)");
    }

    [TestMethod]
    public void Lstm_WithoutHiddenSizeAttribute_TakesItFromR()
    {
        var c = FixtureCase.Load("lstm_bidirectional");
        foreach (var layer in c.Layers) layer.Attributes.Remove("hidden_size");
        RunAndCompare(c, constantWeights: true, "lstm_bidirectional without hidden_size");
    }

    [TestMethod]
    public void Gru_InSessionWithDynamicBatch_MatchesGoldenAndOmitsAbsentY()
    {
        var c = FixtureCase.Load("gru_seq_lens_bidirectional_batch_first");
        var layer = c.Layers[0];
        var graph = new Graph();
        var names = new List<string>();
        for (int slot = 0; slot < InputSlots.Length; slot++)
        {
            string key = InputSlots[slot];
            if (key == "X") { names.Add("X"); continue; }
            if (!layer.Inputs.TryGetValue(key, out var t)) { names.Add(""); continue; }
            names.Add(key);
            if (WeightSlots.Contains(key)) graph.Constants[key] = t;
            else graph.Inputs.Add(new ValueInfo(key, t.DataType, Dynamic(t.ShapeArray(), 0)));
        }
        while (names[^1].Length == 0) names.RemoveAt(names.Count - 1);
        graph.Inputs.Insert(0, new ValueInfo("X", DataType.Float32, [-1, -1, c.X.Dim(2)]));
        var node = new Node(OpKind.Gru, "gru_in_session", names, ["", "Y_h"]);
        foreach (var (k, v) in layer.Attributes) node.Attributes[k] = v;
        graph.Nodes.Add(node);
        graph.Outputs.Add(new ValueInfo("Y_h", DataType.Float32, [-1, 2, 5]));

        var feeds = new Dictionary<string, Tensor> { ["X"] = c.X };
        foreach (var info in graph.Inputs.Skip(1)) feeds[info.Name] = layer.Inputs[info.Name];
        var result = new Session(graph).Run(feeds);

        Assert.AreEqual(1, result.Count);
        AssertClose(layer.Outputs["Y_h"], result["Y_h"], Close, "session Y_h");
    }

    private static int[] Dynamic(int[] shape, int axis)
    {
        shape[axis] = ValueInfo.Dynamic;
        return shape;
    }

    // ── semantics not covered by a framework golden ───────────────────────────────────────────

    [TestMethod]
    public void Lstm_ZeroSequenceLength_GivesZeroOutputsAndKeepsInitialState()
    {
        var c = FixtureCase.Load("lstm_initial_state"); // batch first, 2 rows
        var layer = c.Layers[0];
        var inputs = new Dictionary<string, Tensor>(layer.Inputs) { ["sequence_lens"] = Tensor.FromArray(new long[] { 0, 4 }, 2) };
        var outs = RunLayer(OpKind.Lstm, layer.Attributes, c.X, inputs, constantWeights: true);
        var y = outs[0]!;
        for (int t = 0; t < c.X.Dim(1); t++)
            for (int k = 0; k < 5; k++)
                Assert.AreEqual(0f, y.Get<float>(0, t, 0, k), $"Y[0, {t}, 0, {k}] should be 0 past sequence_lens");
        for (int k = 0; k < 5; k++)
        {
            Assert.AreEqual(layer.Inputs["initial_h"].Get<float>(0, 0, k), outs[1]!.Get<float>(0, 0, k));
            Assert.AreEqual(layer.Inputs["initial_c"].Get<float>(0, 0, k), outs[2]!.Get<float>(0, 0, k));
        }
        // Row 1 ran its full length: same as the golden without lengths.
        AssertClose(Slice(layer.Outputs["Y_h"], 1), Slice(outs[1]!, 1), Close, "Y_h row 1");
    }

    [TestMethod]
    public void Lstm_OnlyYhRequested_LeavesOtherOutputsNull()
    {
        var c = FixtureCase.Load("lstm_bidirectional");
        var layer = c.Layers[0];
        var op = OperatorFactory.Create(MakeNode(OpKind.Lstm, "lstm0", layer.Attributes, layer.Inputs, ["", "Y_h"]),
            new OperatorContext(new Dictionary<string, Tensor>()));
        var outs = new Tensor?[2];
        op.Run(Inputs(c.X, layer.Inputs), outs);
        Assert.IsNull(outs[0]);
        AssertClose(layer.Outputs["Y_h"], outs[1]!, Close, "Y_h");
    }

    // ── bad models and inputs ─────────────────────────────────────────────────────────────────

    [TestMethod]
    public void Lstm_WrongWShape_NamesNodeAndW()
    {
        var e = Assert.ThrowsExactly<EdgeException>(() => CreateLstm(w: Tensor.Zeros<float>(1, 15, 3)));
        StringAssert.Contains(e.Message, "'lstm0'");
        StringAssert.Contains(e.Message, "W has shape (1, 15, 3)");
        StringAssert.Contains(e.Message, "16");
    }

    [TestMethod]
    public void Lstm_WrongWShapeAsRuntimeInput_NamesNodeAtRun()
    {
        var node = new Node(OpKind.Lstm, "lstm_rt", ["X", "W", "R"], ["Y"]).Set("hidden_size", 4L);
        var op = OperatorFactory.Create(node, new OperatorContext(new Dictionary<string, Tensor>()));
        var e = Assert.ThrowsExactly<EdgeException>(() =>
            op.Run(new Tensor?[] { Tensor.Zeros<float>(2, 1, 3), Tensor.Zeros<float>(1, 16), Tensor.Zeros<float>(1, 16, 4) }, new Tensor?[1]));
        StringAssert.Contains(e.Message, "'lstm_rt'");
        StringAssert.Contains(e.Message, "W has shape (1, 16)");
    }

    [TestMethod]
    public void Gru_WrongRShape_NamesNodeAndR()
    {
        var node = new Node(OpKind.Gru, "gru0", ["X", "W", "R"], ["Y"]).Set("hidden_size", 4L);
        var constants = new Dictionary<string, Tensor> { ["W"] = Tensor.Zeros<float>(1, 12, 3), ["R"] = Tensor.Zeros<float>(1, 12, 5) };
        var e = Assert.ThrowsExactly<EdgeException>(() => OperatorFactory.Create(node, new OperatorContext(constants)));
        StringAssert.Contains(e.Message, "'gru0'");
        StringAssert.Contains(e.Message, "R has shape (1, 12, 5)");
    }

    [TestMethod]
    public void Lstm_WrongBAndPShapes_NameTheInput()
    {
        var eb = Assert.ThrowsExactly<EdgeException>(() => CreateLstm(b: Tensor.Zeros<float>(1, 16)));
        StringAssert.Contains(eb.Message, "B has shape (1, 16)");
        var ep = Assert.ThrowsExactly<EdgeException>(() => CreateLstm(p: Tensor.Zeros<float>(1, 16)));
        StringAssert.Contains(ep.Message, "P has shape (1, 16)");
    }

    [TestMethod]
    public void Lstm_WeightsForTwoDirectionsOnForwardNode_AreRefused()
    {
        var e = Assert.ThrowsExactly<EdgeException>(() => CreateLstm(w: Tensor.Zeros<float>(2, 16, 3)));
        StringAssert.Contains(e.Message, "'lstm0'");
        StringAssert.Contains(e.Message, "1 direction");
    }

    [TestMethod]
    public void Lstm_XWithWrongInputSize_NamesNodeAndShape()
    {
        var op = CreateLstm();
        var e = Assert.ThrowsExactly<EdgeException>(() => op.Run(new Tensor?[] { Tensor.Zeros<float>(5, 2, 4) }, new Tensor?[3]));
        StringAssert.Contains(e.Message, "'lstm0'");
        StringAssert.Contains(e.Message, "(5, 2, 4)");
        StringAssert.Contains(e.Message, "input_size 3");
    }

    [TestMethod]
    public void Lstm_XOfRank2_IsRefused()
    {
        var e = Assert.ThrowsExactly<EdgeException>(() => CreateLstm().Run(new Tensor?[] { Tensor.Zeros<float>(5, 3) }, new Tensor?[3]));
        StringAssert.Contains(e.Message, "rank 3");
    }

    [TestMethod]
    [DataRow(6L)]
    [DataRow(-1L)]
    public void Lstm_SequenceLengthOutOfRange_NamesTheBatchRow(long bad)
    {
        var node = new Node(OpKind.Lstm, "lstm0", ["X", "W", "R", "", "lens"], ["Y"]).Set("hidden_size", 4L);
        var op = OperatorFactory.Create(node, new OperatorContext(Weights(4, 3)));
        var lens = Tensor.FromArray(new long[] { 5, bad }, 2);
        var e = Assert.ThrowsExactly<EdgeException>(() =>
            op.Run(new Tensor?[] { Tensor.Zeros<float>(5, 2, 3), null, null, null, lens }, new Tensor?[1]));
        StringAssert.Contains(e.Message, "'lstm0'");
        StringAssert.Contains(e.Message, $"sequence_lens[1] is {bad}");
    }

    [TestMethod]
    public void Gru_InitialStateOfWrongShape_IsRefused()
    {
        var node = new Node(OpKind.Gru, "gru0", ["X", "W", "R", "", "", "h0"], ["Y"]).Set("hidden_size", 4L).Set("layout", 1L);
        var constants = new Dictionary<string, Tensor> { ["W"] = Tensor.Zeros<float>(1, 12, 3), ["R"] = Tensor.Zeros<float>(1, 12, 4) };
        var op = OperatorFactory.Create(node, new OperatorContext(constants));
        var e = Assert.ThrowsExactly<EdgeException>(() =>
            op.Run(new Tensor?[] { Tensor.Zeros<float>(2, 5, 3), null, null, null, null, Tensor.Zeros<float>(1, 2, 4) }, new Tensor?[1]));
        StringAssert.Contains(e.Message, "initial_h has shape (1, 2, 4)");
        StringAssert.Contains(e.Message, "(2, 1, 4)");
    }

    [TestMethod]
    [DataRow("direction", "sideways", "direction")]
    [DataRow("activations", "Swish", "Swish")]
    [DataRow("activations", "count", "3 per direction")]
    [DataRow("layout", "2", "layout")]
    [DataRow("clip", "-1", "clip")]
    [DataRow("input_forget", "2", "input_forget")]
    public void Lstm_BadAttribute_NamesNodeAndAttribute(string attribute, string value, string expected)
    {
        var e = Assert.ThrowsExactly<EdgeException>(() => CreateLstm(configure: n =>
        {
            switch (attribute)
            {
                case "direction": n.Set("direction", value); break;
                case "activations": n.Set("activations", value == "count" ? new[] { "Sigmoid", "Tanh" } : new[] { "Sigmoid", value, "Tanh" }); break;
                case "clip": n.Set("clip", float.Parse(value, System.Globalization.CultureInfo.InvariantCulture)); break;
                default: n.Set(attribute, long.Parse(value, System.Globalization.CultureInfo.InvariantCulture)); break;
            }
        }));
        StringAssert.Contains(e.Message, "'lstm0'");
        StringAssert.Contains(e.Message, expected);
    }

    [TestMethod]
    public void Gru_LinearBeforeResetOutOfRange_IsRefused()
    {
        var node = new Node(OpKind.Gru, "gru0", ["X", "W", "R"], ["Y"]).Set("hidden_size", 4L).Set("linear_before_reset", 3L);
        var e = Assert.ThrowsExactly<EdgeException>(() => OperatorFactory.Create(node, new OperatorContext(new Dictionary<string, Tensor>())));
        StringAssert.Contains(e.Message, "'gru0'");
        StringAssert.Contains(e.Message, "linear_before_reset");
    }

    [TestMethod]
    public void Lstm_IntegerX_IsRefused()
    {
        var e = Assert.ThrowsExactly<EdgeException>(() => CreateLstm().Run(new Tensor?[] { Tensor.Zeros<long>(5, 2, 3) }, new Tensor?[3]));
        StringAssert.Contains(e.Message, "X is int64");
    }

    // ── helpers ───────────────────────────────────────────────────────────────────────────────

    private static Dictionary<string, Tensor> Weights(int hidden, int inputSize, Tensor? w = null, Tensor? b = null, Tensor? p = null)
    {
        var d = new Dictionary<string, Tensor>
        {
            ["W"] = w ?? Tensor.Zeros<float>(1, 4 * hidden, inputSize),
            ["R"] = Tensor.Zeros<float>(1, 4 * hidden, hidden),
        };
        if (b is not null) d["B"] = b;
        if (p is not null) d["P"] = p;
        return d;
    }

    private static IOperator CreateLstm(Tensor? w = null, Tensor? b = null, Tensor? p = null, Action<Node>? configure = null)
    {
        var node = new Node(OpKind.Lstm, "lstm0", ["X", "W", "R", b is null ? "" : "B", "", "", "", p is null ? "" : "P"], ["Y", "Y_h", "Y_c"])
            .Set("hidden_size", 4L);
        configure?.Invoke(node);
        return OperatorFactory.Create(node, new OperatorContext(Weights(4, 3, w, b, p)));
    }

    private static Node MakeNode(OpKind kind, string name, Dictionary<string, Ir.Attribute> attributes, IReadOnlyDictionary<string, Tensor> inputs, string[] outputs)
    {
        var names = InputSlots.Select(s => s == "X" || inputs.ContainsKey(s) ? s : "").ToList();
        while (names[^1].Length == 0) names.RemoveAt(names.Count - 1);
        var node = new Node(kind, name, names, outputs);
        foreach (var (k, v) in attributes) node.Attributes[k] = v;
        return node;
    }

    private static Tensor?[] Inputs(Tensor x, IReadOnlyDictionary<string, Tensor> inputs) =>
        InputSlots.Select(s => s == "X" ? x : inputs.TryGetValue(s, out var t) ? t : null).ToArray();

    /// <summary>Prepares and runs one layer; weights are graph constants or runtime inputs (as ONNX conformance tests feed them).</summary>
    private static Tensor?[] RunLayer(OpKind kind, Dictionary<string, Ir.Attribute> attributes, Tensor x, IReadOnlyDictionary<string, Tensor> inputs, bool constantWeights)
    {
        string[] outputs = kind == OpKind.Lstm ? ["Y", "Y_h", "Y_c"] : ["Y", "Y_h"];
        var node = MakeNode(kind, "layer", attributes, inputs, outputs);
        var constants = constantWeights
            ? inputs.Where(kv => WeightSlots.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value)
            : new Dictionary<string, Tensor>();
        var op = OperatorFactory.Create(node, new OperatorContext(constants));
        var result = new Tensor?[outputs.Length];
        // As in Session, constants are passed along with the other inputs.
        op.Run(Inputs(x, inputs).AsSpan(0, node.Inputs.Count), result);
        return result;
    }

    private static void RunAndCompare(FixtureCase c, bool constantWeights, string what)
    {
        var x = c.X;
        Tensor? y = null;
        for (int k = 0; k < c.Layers.Count; k++)
        {
            var layer = c.Layers[k];
            if (k > 0) x = NextLayerInput(y!, layer.Attributes);
            var outs = RunLayer(c.Kind, layer.Attributes, x, layer.Inputs, constantWeights);
            y = outs[0];
            AssertClose(layer.Outputs["Y_h"], outs[1]!, Close, $"{what}: layer {k} Y_h");
            if (layer.Outputs.TryGetValue("Y_c", out var yc)) AssertClose(yc, outs[2]!, Close, $"{what}: layer {k} Y_c");
        }
        if (c.Y is not null) AssertClose(c.Y, y!, Close, $"{what}: Y");
    }

    /// <summary>Y (seq, dirs, batch, H) or (batch, seq, dirs, H) -> X of the next layer with (dirs, H) merged into features.</summary>
    private static Tensor NextLayerInput(Tensor y, Dictionary<string, Ir.Attribute> attributes)
    {
        bool batchFirst = attributes.TryGetValue("layout", out var l) && l.Int == 1;
        return batchFirst
            ? y.Reshape(y.Dim(0), y.Dim(1), y.Dim(2) * y.Dim(3))
            : y.Permute(0, 2, 1, 3).Contiguous().Reshape(y.Dim(0), y.Dim(2), y.Dim(1) * y.Dim(3));
    }

    private static Tensor Slice(Tensor state, int batchRow)
    {
        // (batch, dirs, H) layout-1 state: one batch row.
        var s = state.ToDoubleArray();
        int per = state.Dim(1) * state.Dim(2);
        return Tensor.FromArray(s.Skip(batchRow * per).Take(per).Select(v => (float)v).ToArray(), state.Dim(1), state.Dim(2));
    }

    private sealed record FixtureLayer(Dictionary<string, Ir.Attribute> Attributes, Dictionary<string, Tensor> Inputs, Dictionary<string, Tensor> Outputs);

    private sealed record FixtureCase(OpKind Kind, Tensor X, Tensor? Y, List<FixtureLayer> Layers)
    {
        public static FixtureCase Load(string name)
        {
            string dir = Path.Combine(TestPaths.Fixtures, "recurrent", name);
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "case.json")));
            var root = doc.RootElement;
            Tensor Npy(JsonElement file) => Edge.Runtime.Tensors.Npy.Read(Path.Combine(dir, file.GetString()!));
            var kind = root.GetProperty("op").GetString() switch { "Lstm" => OpKind.Lstm, "Rnn" => OpKind.Rnn, _ => OpKind.Gru };
            var y = root.GetProperty("Y");
            var layers = new List<FixtureLayer>();
            foreach (var l in root.GetProperty("layers").EnumerateArray())
            {
                var attrs = new Dictionary<string, Ir.Attribute>(StringComparer.Ordinal);
                foreach (var a in l.GetProperty("attrs").EnumerateObject()) attrs[a.Name] = ToAttribute(a.Name, a.Value);
                var ins = l.GetProperty("inputs").EnumerateObject().ToDictionary(p => p.Name, p => Npy(p.Value));
                var outs = l.GetProperty("outputs").EnumerateObject().ToDictionary(p => p.Name, p => Npy(p.Value));
                layers.Add(new FixtureLayer(attrs, ins, outs));
            }
            return new FixtureCase(kind, Npy(root.GetProperty("X")), y.ValueKind == JsonValueKind.Null ? null : Npy(y), layers);
        }

        private static Ir.Attribute ToAttribute(string name, JsonElement v) => name switch
        {
            "clip" => Ir.Attribute.Of(v.GetSingle()),
            "activation_alpha" or "activation_beta" => Ir.Attribute.Of(v.EnumerateArray().Select(e => e.GetSingle()).ToArray()),
            "activations" => Ir.Attribute.Of(v.EnumerateArray().Select(e => e.GetString()!).ToArray()),
            "direction" => Ir.Attribute.Of(v.GetString()!),
            _ => Ir.Attribute.Of(v.GetInt64()),
        };
    }
}
