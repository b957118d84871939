using System.Text.Json.Nodes;
using Edge.Quantizer.Import.Keras;
using Edge.Quantizer.Import.Onnx;
using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Kernels;
using Edge.Runtime.Streaming;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Tests.Streaming;

/// <summary>
/// The fp32 stream with cached input projections runs the batch layer's own recurrent core (project the
/// inputs, run steps from projections), so every forecast equals the batch session's on the same window bit
/// for bit, on every kernel path: the LSTM and GRU fixture models, RNNs (tanh, relu, linear), and small layers built here whose hidden
/// sizes leave vector tails (1, 3, 5, 20) with and without clip and in both GRU reset variants
/// (no fixture streams a cached GRU with linear_before_reset = 0: the Keras one runs reverse).
/// </summary>
[TestClass]
public sealed class CachedRecurrenceTests
{
    private const int Window = 6, Features = 3;

    /// <summary>x (1, window, 3) -> LSTM, GRU or RNN (batch first) -> Y_h (1, 1, H) -> Dense -> y (1, 1, 2).</summary>
    private static EdgeModel Tiny(bool lstm, int hidden, float clip, long linearBeforeReset, string? rnnActivation = null)
    {
        bool rnn = rnnActivation is not null;
        var rng = new Random(hidden * 7 + (lstm ? 1 : rnn ? 4 : 2) + (int)linearBeforeReset * 3 + (clip > 0 ? 5 : 0));
        Tensor Rand(float scale, params int[] shape)
        {
            var t = Tensor.Zeros<float>(shape);
            var s = t.Span<float>();
            for (int i = 0; i < s.Length; i++) s[i] = (float)((rng.NextDouble() - 0.5) * 2 * scale);
            return t;
        }
        int gates = lstm ? 4 : rnn ? 1 : 3;
        var g = new Graph { Name = "tiny" };
        g.Inputs.Add(new ValueInfo("x", DataType.Float32, [ValueInfo.Dynamic, Window, Features]));
        g.Constants["W"] = Rand(1.5f, 1, gates * hidden, Features);
        g.Constants["R"] = Rand(1.5f, 1, gates * hidden, hidden);
        g.Constants["B"] = Rand(0.5f, 1, 2 * gates * hidden);
        g.Constants["D"] = Rand(1f, 2, hidden);
        var node = new Node(lstm ? OpKind.Lstm : rnn ? OpKind.Rnn : OpKind.Gru, "rnn", ["x", "W", "R", "B"], ["", "h"]).Set("hidden_size", (long)hidden).Set("layout", 1L);
        if (clip > 0) node.Set("clip", clip);
        if (rnn) node.Set("activations", new[] { rnnActivation! });
        else if (!lstm) node.Set("linear_before_reset", linearBeforeReset);
        g.Nodes.Add(node);
        g.Nodes.Add(new Node(OpKind.Dense, "head", ["h", "D"], ["y"]));
        g.Outputs.Add(new ValueInfo("y", DataType.Float32, [ValueInfo.Dynamic, 1, 2]));
        return new EdgeModel(g, new JsonObject { ["window"] = Window });
    }

    private static void AssertStreamEqualsBatch(EdgeModel model, string what, string? output = null, int? window = null)
    {
        foreach (var isa in IsaSelector.Supported)
        {
            var options = new SessionOptions { Isa = isa };
            var session = model.CreateSession(options);
            var stream = model.CreateStream(new StreamOptions { Session = options, CacheProjections = ProjectionCache.On, Output = output, Window = window });
            string input = stream.InputName;
            Assert.IsTrue(stream.CachesInputProjections, stream.ProjectionCacheNote);
            int n = stream.Window, f = stream.InputFeatures;
            var series = ForecastStreamTests.Series(n + 12, f, seed: 5);
            var forecast = new float[stream.ForecastLength];
            int checkedWindows = 0;
            for (int t = 0; t < series.Length; t++)
            {
                if (!stream.TryPush(series[t], forecast)) continue;
                var x = new float[n * f];
                for (int k = 0; k < n; k++) series[t - n + 1 + k].CopyTo(x, k * f);
                var expected = session.Run(new Dictionary<string, Tensor> { [input] = Tensor.FromArray(x, 1, n, f) })[stream.OutputName]
                    .Contiguous().ReadOnlySpan<float>();
                Assert.AreEqual(expected.Length, forecast.Length, what);
                for (int i = 0; i < expected.Length; i++)
                    Assert.AreEqual(BitConverter.SingleToInt32Bits(expected[i]), BitConverter.SingleToInt32Bits(forecast[i]),
                        $"{what}, {IsaSelector.Name(isa)}, n ending at {t}, element {i}: stream {forecast[i]:R}, batch {expected[i]:R}");
                checkedWindows++;
            }
            Assert.AreEqual(series.Length - n + 1, checkedWindows, what);
        }
    }

    [TestMethod]
    [DataRow(1, 0f)]
    [DataRow(3, 0f)]
    [DataRow(5, 0f)]
    [DataRow(20, 0f)]
    [DataRow(3, 0.8f)]
    [DataRow(20, 0.8f)]
    public void Fp32Lstm_CachedStream_EqualsTheBatchSession_BitForBit(int hidden, float clip) =>
        AssertStreamEqualsBatch(Tiny(lstm: true, hidden, clip, 0), $"LSTM({hidden}) clip {clip}");

    [TestMethod]
    [DataRow(1, 0L)]
    [DataRow(3, 0L)]
    [DataRow(3, 1L)]
    [DataRow(5, 1L)]
    [DataRow(20, 0L)]
    [DataRow(20, 1L)]
    public void Fp32Gru_CachedStream_EqualsTheBatchSession_BitForBit(int hidden, long linearBeforeReset) =>
        AssertStreamEqualsBatch(Tiny(lstm: false, hidden, 0f, linearBeforeReset), $"GRU({hidden}) linear_before_reset {linearBeforeReset}");

    [TestMethod]
    [DataRow(1, "Tanh", 0f)]
    [DataRow(3, "Tanh", 0f)]
    [DataRow(5, "Relu", 0f)]
    [DataRow(20, "Tanh", 0.8f)]
    [DataRow(20, "Relu", 0f)]
    [DataRow(7, "Linear", 0f)]
    public void Fp32Rnn_CachedStream_EqualsTheBatchSession_BitForBit(int hidden, string activation, float clip) =>
        AssertStreamEqualsBatch(Tiny(lstm: false, hidden, clip, 0, activation), $"RNN({hidden}) {activation} clip {clip}");

    [TestMethod]
    [DataRow("models/forecaster/model.onnx", null, null)]                      // LSTM(200) encoder and decoder, Conv1D head
    [DataRow("fixed_batch/seed_forecaster/model.onnx", null, null)]            // LSTM(20) x 2
    [DataRow("models/gru2_batchfirst/model_opset17.onnx", "output", null)]    // GRU(13) x 2, linear_before_reset = 1
    [DataRow("rnn/tanh_last/model.onnx", null, null)]                       // RNN(16) tanh, Gemm head on the last step
    public void Fp32Fixture_CachedStream_EqualsTheBatchSession_BitForBit(string file, string? output, int? window)
    {
        string path = Path.Combine(TestPaths.Fixtures, file);
        var graph = path.EndsWith(".onnx", StringComparison.Ordinal) ? OnnxImporter.Import(path) : KerasImporter.Import(path);
        AssertStreamEqualsBatch(new EdgeModel(graph, new JsonObject()), file, output, window);
    }
}
