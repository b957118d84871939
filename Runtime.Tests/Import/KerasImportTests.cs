using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.Quantizer.Import;
using Edge.Quantizer.Import.Keras;
using Edge.Runtime.Execution;
using Edge.Runtime.Format;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;
using static Edge.Runtime.Tests.Assertions;

namespace Edge.Runtime.Tests.Import;

/// <summary>
/// The Keras importer against tools/keras_reference.py, a numpy implementation of Keras semantics that reads
/// the files with h5py (no code shared with Edge's reader). Fixtures: Runtime.Tests/Fixtures/keras/&lt;case&gt;/
/// with case.json, in_&lt;input&gt;.npy and out_&lt;output&gt;.npy; the model is either the folder's own synthetic
/// file (tools/make_keras_fixtures.py) or a real model in ../shared/models.
/// </summary>
[TestClass]
public sealed class KerasImportTests
{
    private const double Atol = 1e-4, Rtol = 1e-4;
    private static readonly Tolerance Close = new(Atol, Rtol);

    private static string FixtureDir(string name) => Path.Combine(TestPaths.Fixtures, "keras", name);

    private static string ModelPath(string caseName)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(FixtureDir(caseName), "case.json")));
        var model = doc.RootElement.GetProperty("model");
        string path = model.TryGetProperty("shared", out var shared)
            ? TestPaths.SharedModel(shared.GetString()!)
            : Path.Combine(FixtureDir(caseName), model.GetProperty("file").GetString()!);
        if (!File.Exists(path)) Assert.Fail($"{path} is missing (shared models live in ../shared/models; synthetic ones come from tools/make_keras_fixtures.py)");
        return path;
    }

    private static (Dictionary<string, Tensor> Inputs, Dictionary<string, Tensor> Outputs) Golden(string caseName)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(FixtureDir(caseName), "case.json")));
        Dictionary<string, Tensor> Read(string key, string prefix) =>
            doc.RootElement.GetProperty(key).EnumerateObject()
                .ToDictionary(p => p.Name, p => Npy.Read(Path.Combine(FixtureDir(caseName), $"{prefix}{p.Name}.npy")), StringComparer.Ordinal);
        return (Read("inputs", "in_"), Read("outputs", "out_"));
    }

    // ── every model against the numpy reference ─────────────────────────────────────────────────

    [TestMethod]
    [DataRow("airsensor_gru_h5")]
    [DataRow("airsensor_gru_keras")]
    [DataRow("airquality_lstm_relu")]
    [DataRow("conv_forecaster")]
    [DataRow("conv_causal_head")]
    [DataRow("gru_reset_before")]
    [DataRow("locally_connected")]
    [DataRow("embedding_lstm")]
    [DataRow("embedding_no_shape")]
    [DataRow("dual_encoder_k2")]
    [DataRow("dual_encoder_k3")]
    [DataRow("lstm_relu")]
    [DataRow("hard_sigmoid_k2")]
    [DataRow("hard_sigmoid_k3")]
    [DataRow("hard_sigmoid_k3_keras")]
    [DataRow("prelu")]
    [DataRow("global_max_pool")]
    [DataRow("keras22_sequential")]
    [DataRow("keras1_sequential")]
    [DataRow("normalization")]
    [DataRow("merges")]
    [DataRow("bidirectional_k2")]
    [DataRow("bidirectional_k3")]
    [DataRow("pool_reshape")]
    [DataRow("attention_k2")]
    [DataRow("attention_k3")]
    public void Model_MatchesNumpyKerasReference(string caseName)
    {
        var graph = KerasImporter.Import(ModelPath(caseName));
        var (inputs, expected) = Golden(caseName);
        CollectionAssert.AreEquivalent(inputs.Keys.ToList(), graph.Inputs.Select(i => i.Name).ToList(), "graph inputs = Keras input layer names");
        CollectionAssert.AreEquivalent(expected.Keys.ToList(), graph.Outputs.Select(o => o.Name).ToList(), "graph outputs = Keras output layer names");
        var feeds = inputs.ToDictionary(kv => kv.Key, kv => AsInputType(graph, kv.Key, kv.Value), StringComparer.Ordinal);
        var actual = new Session(graph).Run(feeds);
        foreach (var (name, want) in expected)
            AssertClose(want, actual[name], Close, $"{caseName}: output '{name}'");
    }

    [TestMethod]
    [DataRow("airsensor_gru_keras")]
    [DataRow("dual_encoder_k3")]
    [DataRow("embedding_lstm")]
    [DataRow("embedding_no_shape")]
    public void Model_SurvivesEdgeBlobRoundTrip(string caseName)
    {
        var graph = KerasImporter.Import(ModelPath(caseName));
        var (inputs, expected) = Golden(caseName);
        var (loaded, _) = EdgeBlob.Read(EdgeBlob.ToBytes(graph, new JsonObject()), caseName);
        var feeds = inputs.ToDictionary(kv => kv.Key, kv => AsInputType(loaded, kv.Key, kv.Value), StringComparer.Ordinal);
        var actual = new Session(loaded).Run(feeds);
        foreach (var (name, want) in expected)
            AssertClose(want, actual[name], Close, $"{caseName} from .edge: output '{name}'");
    }

    /// <summary>The int8 conversion of the layers added for issue 17, against the numpy reference (cosine, as Int8ModelTests holds the real models).</summary>
    [TestMethod]
    [DataRow("global_max_pool")]
    [DataRow("keras22_sequential")]
    [DataRow("keras1_sequential")]
    [DataRow("normalization")]
    [DataRow("merges")]
    [DataRow("bidirectional_k2")]
    [DataRow("bidirectional_k3")]
    [DataRow("pool_reshape")]
    [DataRow("attention_k2")]
    [DataRow("attention_k3")]
    public void Model_Int8_HasCosineAtLeast0999AgainstReference(string caseName)
    {
        var (_, int8) = Int8.Int8ModelTests.Converted("keras:" + caseName);
        var (inputs, expected) = Golden(caseName);
        var feeds = inputs.ToDictionary(kv => kv.Key, kv => AsInputType(int8.Graph, kv.Key, kv.Value), StringComparer.Ordinal);
        var actual = int8.CreateSession().Run(feeds);
        foreach (var (name, want) in expected)
        {
            double cos = Int8.Int8ModelTests.Cosine(want, actual[name]);
            Assert.IsTrue(cos >= 0.999, $"{caseName} output '{name}': cosine int8 vs reference = {cos:F6} < 0.999");
        }
    }

    // ── what the IR looks like ───────────────────────────────────────────────────────────────────

    [TestMethod]
    public void AirQualityLstm_KeepsReluAsCellAndOutputActivation()
    {
        var graph = KerasImporter.Import(TestPaths.SharedModel("airquality_lstm_relu.h5"));
        var lstm = graph.Nodes.Single(n => n.Kind == OpKind.Lstm);
        CollectionAssert.AreEqual(new[] { "Sigmoid", "Relu", "Relu" }, lstm.GetStrings("activations"));
        Assert.AreEqual(50L, lstm.GetInt("hidden_size", 0));
        Assert.AreEqual(1L, lstm.GetInt("layout", 0));
        CollectionAssert.AreEqual(new[] { -1, 10, 13 }, graph.Inputs.Single().Shape);
        Assert.AreEqual("lstm_6_input", graph.Inputs.Single().Name);
        CollectionAssert.AreEqual(new[] { -1, 1 }, graph.Outputs.Single().Shape);
    }

    /// <summary>The same layer kinds as the shared air-quality model, from the repository's own fixture.</summary>
    [TestMethod]
    public void LstmRelu_KeepsReluAsCellAndOutputActivation()
    {
        var graph = KerasImporter.Import(ModelPath("lstm_relu"));
        var lstm = graph.Nodes.Single(n => n.Kind == OpKind.Lstm);
        CollectionAssert.AreEqual(new[] { "Sigmoid", "Relu", "Relu" }, lstm.GetStrings("activations"));
        CollectionAssert.AreEqual(new[] { -1, 10, 13 }, graph.Inputs.Single().Shape);
    }

    [TestMethod]
    public void AirSensorGru_IsResetAfterGruWithBothBiases()
    {
        foreach (var file in new[] { "airsensor_gru.h5", "airsensor_gru.keras" })
        {
            var graph = KerasImporter.Import(TestPaths.SharedModel(file));
            var gru = graph.Nodes.Single(n => n.Kind == OpKind.Gru);
            Assert.AreEqual(1L, gru.GetInt("linear_before_reset", 0), file);
            var b = graph.Constants[gru.Inputs[3]];
            CollectionAssert.AreEqual(new[] { 1, 6 * 64 }, b.ShapeArray(), file);
            // The recurrent half of B is the Keras bias row 1, so it is not all zero.
            Assert.IsTrue(b.ToDoubleArray().Skip(3 * 64).Any(v => v != 0), $"{file}: recurrent bias lost");
        }
    }

    [TestMethod]
    public void GruResetBefore_UsesLinearBeforeReset0AndReverseDirection()
    {
        var graph = KerasImporter.Import(ModelPath("gru_reset_before"));
        var grus = graph.Nodes.Where(n => n.Kind == OpKind.Gru).ToList();
        Assert.AreEqual(2, grus.Count);
        Assert.AreEqual(0L, grus[0].GetInt("linear_before_reset", -1));
        Assert.AreEqual("reverse", grus[0].GetString("direction", ""));
        Assert.AreEqual(1L, grus[1].GetInt("linear_before_reset", -1));
        Assert.IsFalse(grus[1].HasInput(3), "use_bias=False: no B input");
    }

    [TestMethod]
    [DataRow("dual_encoder_k2", 8)]
    [DataRow("dual_encoder_k3", 6)]
    public void DualEncoder_DotOfBiasFreeDenseBecomesBilinear(string caseName, int units)
    {
        var graph = KerasImporter.Import(ModelPath(caseName));
        var bilinear = graph.Nodes.Single(n => n.Kind == OpKind.Bilinear);
        Assert.IsFalse(graph.Nodes.Any(n => n.Kind is OpKind.ReduceSum or OpKind.Mul), "Dot should not remain as Mul + ReduceSum");
        Assert.IsFalse(graph.Nodes.Any(n => n.Kind == OpKind.Dense && n.Name == "M"), "the folded Dense M should be gone");
        CollectionAssert.AreEqual(new[] { units, units }, graph.Constants[bilinear.Inputs[2]].ShapeArray(), "M (D1, D2)");
    }

    [TestMethod]
    public void DualEncoderK2_SharedLstmRunsTwiceOnOneSetOfWeights()
    {
        var graph = KerasImporter.Import(ModelPath("dual_encoder_k2"));
        var lstms = graph.Nodes.Where(n => n.Kind == OpKind.Lstm).ToList();
        Assert.AreEqual(2, lstms.Count);
        Assert.AreEqual(lstms[0].Inputs[1], lstms[1].Inputs[1], "both calls read the same W");
        Assert.AreEqual(lstms[0].Inputs[2], lstms[1].Inputs[2], "both calls read the same R");
    }

    [TestMethod]
    public void HardSigmoid_FollowsKerasVersion()
    {
        var k2 = KerasImporter.Import(ModelPath("hard_sigmoid_k2"));
        var k3 = KerasImporter.Import(ModelPath("hard_sigmoid_k3"));
        Assert.AreEqual(0.2f, k2.Nodes.Single(n => n.Kind == OpKind.Lstm).GetFloats("activation_alpha")![0]);
        Assert.AreEqual(1f / 6f, k3.Nodes.Single(n => n.Kind == OpKind.Lstm).GetFloats("activation_alpha")![0]);
        Assert.AreEqual(1f / 6f, k3.Nodes.Single(n => n.Kind == OpKind.HardSigmoid).GetFloat("alpha", 0));
        // Same weights, different definitions: the reference outputs differ, so matching both proves the version is read.
        var (_, o2) = Golden("hard_sigmoid_k2");
        var (_, o3) = Golden("hard_sigmoid_k3");
        Assert.IsTrue(o2["dense"].ToDoubleArray().Zip(o3["dense"].ToDoubleArray()).Max(p => Math.Abs(p.First - p.Second)) > 1e-2);
    }

    [TestMethod]
    public void SameModelInH5AndKeras_ImportsToTheSameIr()
    {
        var h5 = KerasImporter.Import(ModelPath("hard_sigmoid_k3"));
        var zip = KerasImporter.Import(ModelPath("hard_sigmoid_k3_keras"));
        CollectionAssert.AreEqual(h5.Nodes.Select(Describe).ToList(), zip.Nodes.Select(Describe).ToList());
        CollectionAssert.AreEquivalent(h5.Constants.Keys.ToList(), zip.Constants.Keys.ToList());
        foreach (var (name, t) in h5.Constants)
        {
            CollectionAssert.AreEqual(t.ShapeArray(), zip.Constants[name].ShapeArray(), name);
            CollectionAssert.AreEqual(t.ToDoubleArray(), zip.Constants[name].ToDoubleArray(), name);
        }
        static string Describe(Node n) => n + " " + string.Join(";", n.Attributes.OrderBy(a => a.Key).Select(a => $"{a.Key}={a.Value}"));
    }

    [TestMethod]
    public void ConvForecaster_ConvIsSameUpperBetweenTransposes()
    {
        var graph = KerasImporter.Import(ModelPath("conv_forecaster"));
        var conv = graph.Nodes.Single(n => n.Kind == OpKind.Conv1D);
        Assert.AreEqual("SAME_UPPER", conv.GetString("auto_pad", ""));
        CollectionAssert.AreEqual(new[] { 3, 8, 4 }, graph.Constants[conv.Inputs[1]].ShapeArray(), "W (filters, channels, kernel)");
        Assert.AreEqual(2, graph.Nodes.Count(n => n.Kind == OpKind.Transpose));
        Assert.IsTrue(graph.Nodes.Any(n => n.Kind == OpKind.RepeatVector));
        CollectionAssert.AreEqual(new[] { -1, 2, 3 }, graph.Outputs.Single().Shape);
    }

    [TestMethod]
    public void Keras1Sequential_ReadsKeras1KeysAndPerGateWeights()
    {
        var graph = KerasImporter.Import(ModelPath("keras1_sequential"));
        Assert.AreEqual("convolution1d_1_input", graph.Inputs.Single().Name);
        var lstm = graph.Nodes.Single(n => n.Kind == OpKind.Lstm);
        CollectionAssert.AreEqual(new[] { "HardSigmoid", "Tanh", "Tanh" }, lstm.GetStrings("activations"), "inner_activation is the gate activation");
        Assert.AreEqual(0.2f, lstm.GetFloats("activation_alpha")![0], "Keras 1 hard_sigmoid");
        Assert.AreEqual(0L, graph.Nodes.Single(n => n.Kind == OpKind.Gru).GetInt("linear_before_reset", -1), "a Keras 1 GRU resets before U_h");
        Assert.AreEqual("SAME_UPPER", graph.Nodes.Single(n => n.Kind == OpKind.Conv1D).GetString("auto_pad", ""));
    }

    [TestMethod]
    public void Normalization_FoldsBatchNormOnlyWhereExact()
    {
        var graph = KerasImporter.Import(ModelPath("normalization"));
        var names = graph.Nodes.Select(n => n.Name).ToHashSet();
        Assert.IsFalse(names.Contains("bn_conv/mul") || names.Contains("bn_dense/mul"), "BatchNormalization after a linear Conv1D / Dense folds into it");
        Assert.IsTrue(names.Contains("bn_input/mul") && names.Contains("bn_lstm/mul"), "after the input or an LSTM it stays a per-channel affine");
        Assert.IsTrue(graph.Nodes.Any(n => n.Kind == OpKind.Sqrt && n.Name == "ln/sqrt"), "LayerNormalization");
    }

    [TestMethod]
    public void Bidirectional_IsAForwardAndAReverseNodePerLayer()
    {
        var graph = KerasImporter.Import(ModelPath("bidirectional_k2"));
        var recurrent = graph.Nodes.Where(n => n.Kind is OpKind.Lstm or OpKind.Gru).ToList();
        Assert.AreEqual(6, recurrent.Count);
        CollectionAssert.AreEqual(new[] { "forward", "reverse", "forward", "reverse", "forward", "reverse" }, recurrent.Select(n => n.GetString("direction", "")).ToList());
        Assert.IsFalse(graph.Nodes.Any(n => n.Kind == OpKind.Slice), "the reverse direction already returns input order; nothing to flip");
    }

    // ── refusals ─────────────────────────────────────────────────────────────────────────────────

    [TestMethod]
    public void LambdaLayer_IsRefusedByClassAndName()
    {
        string path = Path.Combine(FixtureDir("refuse"), "lambda.h5");
        var e = Assert.ThrowsExactly<UnsupportedModelException>(() => KerasImporter.Import(path));
        StringAssert.Contains(e.Message, "unsupported Keras layer 'Lambda' (name 'scale_by_two')");
        StringAssert.Contains(e.Message, path);
    }

    [TestMethod]
    public void LambdaLayer_MessageNamesTheBuiltInAlternatives()
    {
        var e = Assert.ThrowsExactly<UnsupportedModelException>(() => KerasImporter.Import(Path.Combine(FixtureDir("refuse"), "lambda.h5")));
        StringAssert.Contains(e.Message, "Add/Subtract/Multiply");
        Assert.IsFalse(e.Message.Contains('\n'), "one line");
    }

    [TestMethod]
    public void CustomLayer_IsRefusedByClassAndNameAsCustom()
    {
        string path = Path.Combine(FixtureDir("refuse"), "custom.h5");
        var e = Assert.ThrowsExactly<UnsupportedModelException>(() => KerasImporter.Import(path));
        StringAssert.Contains(e.Message, "unsupported Keras layer 'Scale' (name 'my_scale'): a custom layer class");
        StringAssert.Contains(e.Message, path);
    }

    [TestMethod]
    public void StatefulRecurrentLayer_IsRefusedNotConvertedWithZeroState()
    {
        string path = Path.Combine(FixtureDir("refuse"), "stateful.h5");
        var e = Assert.ThrowsExactly<UnsupportedModelException>(() => KerasImporter.Import(path));
        StringAssert.Contains(e.Message, path);
        StringAssert.Contains(e.Message, "layer 'lstm' (LSTM) has stateful=True");
        StringAssert.Contains(e.Message, "stateful=False");
        Assert.IsFalse(e.Message.Contains('\n'), "one line");
    }

    [TestMethod]
    public void UnknownLayer_IsRefusedByClassAndName()
    {
        string path = Path.Combine(FixtureDir("refuse"), "unknown.h5");
        var e = Assert.ThrowsExactly<UnsupportedModelException>(() => KerasImporter.Import(path));
        StringAssert.Contains(e.Message, "unsupported Keras layer 'MaxPooling2D' (name 'max_pooling2d')");
    }

    [TestMethod]
    public void LayerWithAnEmptyWeightGroup_SaysTheModelWasSavedBeforeItWasBuilt()
    {
        string path = Path.Combine(FixtureDir("refuse"), "unbuilt.h5");
        var e = Assert.ThrowsExactly<EdgeException>(() => KerasImporter.Import(path));
        StringAssert.Contains(e.Message, "layer 'head' (Dense) has no weights in the file");
        StringAssert.Contains(e.Message, "saved before it was built");
    }

    [TestMethod]
    public void MissingWeightDataset_NamesLayerAndWeight()
    {
        string path = Path.Combine(FixtureDir("refuse"), "missing_weight.h5");
        var e = Assert.ThrowsExactly<EdgeException>(() => KerasImporter.Import(path));
        StringAssert.Contains(e.Message, path);
        StringAssert.Contains(e.Message, "layer 'head' (Dense)");
        StringAssert.Contains(e.Message, "head/bias:0");
    }

    [TestMethod]
    public void DatasetWithAbsurdDimensions_IsRefusedBeforeReading()
    {
        string path = Path.Combine(FixtureDir("refuse"), "huge_dataset.h5");
        var e = Assert.ThrowsExactly<EdgeException>(() => KerasImporter.Import(path));
        StringAssert.Contains(e.Message, "absurd dimensions");
        StringAssert.Contains(e.Message, "model_weights/head/head/bias:0");
    }

    [TestMethod]
    public void WeightsOnlyFile_IsRefusedWithAHint()
    {
        string path = Path.Combine(FixtureDir("refuse"), "weights_only.h5");
        var e = Assert.ThrowsExactly<EdgeException>(() => KerasImporter.Import(path));
        StringAssert.Contains(e.Message, path);
        StringAssert.Contains(e.Message, "model_config");
        StringAssert.Contains(e.Message, "model.save");
    }

    /// <summary>Keras 3 keys weight groups by keras.src.utils.naming.to_snake_case of the class (values from that function).</summary>
    [TestMethod]
    [DataRow("LSTM", "lstm")]
    [DataRow("GRU", "gru")]
    [DataRow("Conv1D", "conv1d")]
    [DataRow("TimeDistributed", "time_distributed")]
    [DataRow("InputLayer", "input_layer")]
    [DataRow("RepeatVector", "repeat_vector")]
    [DataRow("LocallyConnected1D", "locally_connected1d")]
    public void KerasGroupKey_IsSnakeCasedClassName(string className, string key) =>
        Assert.AreEqual(key, KerasModelFile.SnakeCase(className));

    [TestMethod]
    [DataRow("conv_forecaster", 0.05)]
    [DataRow("conv_forecaster", 0.3)]
    [DataRow("conv_forecaster", 0.6)]
    [DataRow("conv_forecaster", 0.95)]
    [DataRow("dual_encoder_k3", 0.5)]
    [DataRow("dual_encoder_k3", 0.99)]
    public void TruncatedFile_IsRefusedNamingIt(string caseName, double keep)
    {
        string source = ModelPath(caseName);
        var bytes = File.ReadAllBytes(source);
        string dir = TestPaths.NewTempDir();
        string path = Path.Combine(dir, "cut" + Path.GetExtension(source));
        File.WriteAllBytes(path, bytes[..(int)(bytes.Length * keep)]);
        var e = Assert.Throws<EdgeException>(() => KerasImporter.Import(path));
        StringAssert.Contains(e.Message, path);
    }

    [TestMethod]
    public void NotAModelFile_IsRefusedNamingIt()
    {
        string path = Path.Combine(TestPaths.NewTempDir(), "notes.h5");
        File.WriteAllText(path, "this is not an HDF5 file");
        var e = Assert.Throws<EdgeException>(() => KerasImporter.Import(path));
        StringAssert.Contains(e.Message, path);
        StringAssert.Contains(e.Message, "HDF5");
    }

    [TestMethod]
    public void KerasZipWithAbsurdlyCompressedEntry_IsRefusedBeforeInflating()
    {
        using var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
        {
            using (var s = zip.CreateEntry("config.json", CompressionLevel.SmallestSize).Open())
            {
                var spaces = new byte[1 << 20];
                Array.Fill(spaces, (byte)' ');
                for (int i = 0; i < 48; i++) s.Write(spaces); // 48 MiB of blanks, deflated to ~50 KB
            }
            using (var s = zip.CreateEntry("metadata.json").Open()) s.Write(Encoding.UTF8.GetBytes("{\"keras_version\": \"3.8.0\"}"));
        }
        var e = Assert.ThrowsExactly<EdgeException>(() => KerasImporter.Import(ms.ToArray(), "bomb.keras"));
        StringAssert.Contains(e.Message, "bomb.keras");
        StringAssert.Contains(e.Message, "config.json");
    }

    [TestMethod]
    public void KerasZipWithoutWeights_IsRefusedNamingTheEntry()
    {
        using var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
        using (var s = zip.CreateEntry("config.json").Open())
            s.Write(Encoding.UTF8.GetBytes("{\"class_name\": \"Sequential\", \"config\": {\"layers\": []}}"));
        var e = Assert.ThrowsExactly<EdgeException>(() => KerasImporter.Import(ms.ToArray(), "noweights.keras"));
        StringAssert.Contains(e.Message, "model.weights.h5");
    }

    // ── helpers ──────────────────────────────────────────────────────────────────────────────────

    /// <summary>The reference stores integer ids as float32 when Keras's input layer is float32; feed what the graph declares.</summary>
    private static Tensor AsInputType(Graph graph, string name, Tensor t)
    {
        var type = graph.Inputs.Single(i => i.Name == name).DataType;
        if (t.DataType == type) return t;
        var values = t.ToDoubleArray();
        return type switch
        {
            DataType.Float32 => Tensor.FromArray(values.Select(v => (float)v).ToArray(), t.ShapeArray()),
            DataType.Int64 => Tensor.FromArray(values.Select(v => (long)v).ToArray(), t.ShapeArray()),
            DataType.Int32 => Tensor.FromArray(values.Select(v => (int)v).ToArray(), t.ShapeArray()),
            _ => throw new InvalidOperationException(type.ToString()),
        };
    }
}
