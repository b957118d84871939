using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.Quantizer.Import.Onnx;
using Edge.Runtime.Execution;
using Edge.Runtime.Streaming;
using Edge.Runtime.Tensors;
using Edge.Runtime.Tests.EndToEnd;
using Edge.Runtime.Tests.Streaming;

namespace Edge.Runtime.Tests.Import;

/// <summary>
/// ONNX exported with a fixed batch (torch.onnx.export without dynamic_axes; fixtures from
/// tools/make_first_hour.py, goldens from PyTorch): a recurrent graph whose rows do not mix is imported with
/// a dynamic batch, so it runs at the exported batch, at batch 1 and as a stream; one that mixes its rows
/// keeps its fixed batch and says what to re-export.
/// </summary>
[TestClass]
public sealed class FixedBatchOnnxTests
{
    private static string Dir(string name) => Path.Combine(TestPaths.Fixtures, "fixed_batch", name);

    private static Tensor Read(string name, string file) => Npy.Read(Path.Combine(Dir(name), file));

    [TestMethod]
    [DataRow("lstm_last_linear", 0)]
    [DataRow("seed_forecaster", 0)]
    [DataRow("gru_seq_first", 1)]
    public void FixedBatchRecurrentGraph_RunsAtItsBatchAndAtBatch1_LikePyTorch(string name, int batchAxis)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Dir(name), "case.json")));
        var outputs = doc.RootElement.GetProperty("outputs").EnumerateArray().Select(o => o.GetString()!).ToList();
        var x = Read(name, "x.npy");
        var graph = OnnxImporter.Import(Path.Combine(Dir(name), "model.onnx"));

        var input = graph.Inputs.Single();
        Assert.AreEqual(-1, input.Shape[batchAxis], $"{name}: {input} keeps the exported batch");
        for (int d = 0; d < input.Shape.Length; d++)
            if (d != batchAxis) Assert.AreEqual(x.Shape[d], input.Shape[d], $"{name}: only the batch axis is relaxed: {input}");

        var session = new Session(graph);
        var atBatch = session.Run(new Dictionary<string, Tensor> { ["x"] = x });
        var atOne = session.Run(new Dictionary<string, Tensor> { ["x"] = Read(name, "x1.npy") });
        foreach (var o in outputs)
        {
            Assertions.AssertClose(Read(name, o + ".npy"), atBatch[o], Parity.Tolerance, $"{name} '{o}' at the exported batch {x.Shape[batchAxis]}");
            Assertions.AssertClose(Read(name, o + "1.npy"), atOne[o], Parity.Tolerance, $"{name} '{o}' at batch 1");
        }
    }

    [TestMethod]
    public void GraphThatMixesItsRows_KeepsItsFixedBatch_AndSaysWhatToReExport()
    {
        string path = Path.Combine(Dir("batch_mixing"), "model.onnx");
        var graph = OnnxImporter.Import(path);
        CollectionAssert.AreEqual(new[] { 4, 6, 3 }, graph.Inputs[0].Shape, "left as exported");
        CollectionAssert.AreEqual(new[] { 1, 2 }, graph.Outputs[0].Shape, "left as exported");
        Assertions.AssertClose(Read("batch_mixing", "y.npy"), new Session(graph).Run(new Dictionary<string, Tensor> { ["x"] = Read("batch_mixing", "x.npy") })["y"], Parity.Tolerance,
            "batch_mixing at its own batch");

        var result = OnnxBatchRelaxation.Relax(graph);
        Assert.IsFalse(result.Relaxed);
        StringAssert.Contains(result.Refusal, "input 'x' (4, 6, 3) was exported with a fixed batch");
        StringAssert.Contains(result.Refusal, "re-export with torch.onnx.export(..., dynamic_axes={'x': {0: 'batch'}, 'y': {0: 'batch'}})");
        CollectionAssert.AreEqual(new[] { 4, 6, 3 }, graph.Inputs[0].Shape, "a refused relaxation changes nothing");

        // The stream says the same, naming the input.
        var e = Assert.Throws<EdgeException>(() => new EdgeModel(graph, new JsonObject()).CreateStream());
        StringAssert.Contains(e.Message, "input 'x' (4, 6, 3): a stream runs batch 1, the batch axis is fixed at 4");
        StringAssert.Contains(e.Message, "dynamic_axes={'x': {0: 'batch'}}");
    }

    /// <summary>The forecaster exported at batch 4 streams: every forecast equals PyTorch's on that window alone.</summary>
    [TestMethod]
    public void FixedBatchForecaster_Streams_LikeBatch1PyTorch()
    {
        string dir = Path.Combine(TestPaths.Fixtures, "first_hour");
        var model = new EdgeModel(OnnxImporter.Import(Path.Combine(dir, "model.onnx")), new JsonObject());
        var windows = Npy.Read(Path.Combine(dir, "test_windows.npy"));
        var golden = Npy.Read(Path.Combine(dir, "test_forecasts.npy"));
        int n = windows.Shape[0], w = windows.Shape[1], f = windows.Shape[2];
        var stream = model.CreateStream();
        Assert.AreEqual(w, stream.Window);
        var x = windows.ReadOnlySpan<float>();
        var expected = golden.ReadOnlySpan<float>();
        var forecast = new float[stream.ForecastLength];
        // Window 0's samples, then the last sample of each next window: the stream sees the recording once.
        for (int t = 0; t < w - 1; t++) Assert.IsFalse(stream.TryPush(x.Slice(t * f, f), forecast));
        for (int k = 0; k < n; k++)
        {
            Assert.IsTrue(stream.TryPush(x.Slice(((k * w) + w - 1) * f, f), forecast));
            Assertions.AssertClose(expected.Slice(k * f, f), forecast, Tolerance.Scaled(1e-4), $"window {k}");
        }
    }
}
