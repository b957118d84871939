using System.Text.Json.Nodes;
using Edge.Quantizer;
using Edge.Quantizer.Import;
using Edge.Quantizer.Import.Keras;
using Edge.Runtime.Execution;
using Edge.Runtime.Format;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;
using static Edge.Runtime.Tests.Assertions;

namespace Edge.Runtime.Tests.Import;

/// <summary>
/// Keras SimpleRNN (Fixtures/keras/simple_rnn/, written with h5py by tools/make_keras_fixtures.py; goldens from the
/// numpy Keras reference tools/keras_reference.py, itself checked against nn.RNN): tanh with return_sequences, relu
/// with go_backwards, a bias-free linear one, a Dense head. fp32 matches the reference through a blob, int8 stays
/// within cosine 0.999 of fp32, and what the cell cannot run is refused in one line.
/// </summary>
[TestClass]
public sealed class KerasSimpleRnnTests
{
    private static string Dir => Path.Combine(TestPaths.Fixtures, "keras", "simple_rnn");

    private static (Dictionary<string, Tensor> Inputs, Tensor Expected) Golden() =>
        (new Dictionary<string, Tensor> { ["x"] = Npy.Read(Path.Combine(Dir, "in_x.npy")) }, Npy.Read(Path.Combine(Dir, "out_out.npy")));

    [TestMethod]
    public void SimpleRnnStack_MatchesTheNumpyKerasReference_ThroughABlob()
    {
        var graph = KerasImporter.Import(Path.Combine(Dir, "model.h5"));
        var rnns = graph.Nodes.Where(n => n.Kind == OpKind.Rnn).ToList();
        CollectionAssert.AreEqual(new[] { "Tanh", "Relu", "Linear" }, rnns.Select(n => n.GetStrings("activations")!.Single()).ToArray());
        CollectionAssert.AreEqual(new[] { "forward", "reverse", "forward" }, rnns.Select(n => n.GetString("direction", "")).ToArray());
        var (inputs, expected) = Golden();
        var (loaded, _) = EdgeBlob.Read(EdgeBlob.ToBytes(graph, new JsonObject()), "simple_rnn.edge");
        var y = new Session(loaded).Run(inputs)["out"];
        AssertClose(expected, y, new Tolerance(1e-4, 1e-4), "SimpleRNN stack vs the numpy Keras reference");
    }

    [TestMethod]
    public void SimpleRnnStack_Int8_StaysWithinTheInt8TargetOfFp32()
    {
        string dir = TestPaths.NewTempDir();
        Converter.Convert(new ConvertOptions(Path.Combine(Dir, "model.h5"), Path.Combine(dir, "fp32.edge"), Precision.Fp32));
        Converter.Convert(new ConvertOptions(Path.Combine(Dir, "model.h5"), Path.Combine(dir, "int8.edge"), Precision.Int8));
        var int8 = EdgeModel.Load(Path.Combine(dir, "int8.edge"));
        Assert.AreEqual(3, int8.Graph.Nodes.Count(n => n.Kind == OpKind.Rnn && int8.Graph.QuantizedConstants.ContainsKey(n.Inputs[2])), "every Rnn's R is int8");
        var (inputs, expected) = Golden();
        var a = EdgeModel.Load(Path.Combine(dir, "fp32.edge")).CreateSession().Run(inputs)["out"];
        var b = int8.CreateSession().Run(inputs)["out"];
        AssertClose(expected, a, new Tolerance(1e-4, 1e-4), "converted fp32 vs the reference");
        double cos = Int8.Int8ModelTests.Cosine(a, b);
        Assert.IsTrue(cos >= 0.999, $"cosine int8 vs fp32 = {cos:F6} < 0.999");
    }

    [TestMethod]
    [DataRow("refuse_selu.h5", "'selu'")]
    [DataRow("refuse_stateful.h5", "stateful=True")]
    public void WhatTheCellCannotRun_IsRefusedInOneLineNamingTheLayer(string file, string what)
    {
        string path = Path.Combine(Dir, file);
        var e = Assert.Throws<EdgeException>(() => KerasImporter.Import(path));
        StringAssert.Contains(e.Message, path);
        StringAssert.Contains(e.Message, "rnn_tanh");
        StringAssert.Contains(e.Message, what);
        Assert.DoesNotContain("\n", e.Message);
    }
}
