using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Edge.Runtime.Tests.Bench;

/// <summary>
/// perf/models/*.ort-int8.onnx (tools/make_ort_int8.py: ONNX Runtime's own dynamic int8, the benchmark peer of
/// Edge int8) is a real int8 model that agrees with its fp32 original when both run in ONNX Runtime.
/// </summary>
[TestClass]
public sealed class OrtInt8PeerTests
{
    private static string Model(string name) => Path.Combine(TestPaths.RepoRoot, "perf", "models", name + ".onnx");

    [TestMethod]
    [DataRow("lstm200", 50, 0.02)]
    [DataRow("forecaster50", 50, 0.05)]
    public void OrtInt8Model_AgreesWithFp32_InOnnxRuntime(string name, int steps, double tolerance)
    {
        var int8Path = Model(name + ".ort-int8");
        var bytes = File.ReadAllBytes(int8Path);
        // The rewrite really quantized: DynamicQuantizeLSTM nodes, no float LSTM left.
        var graph = Onnx.ModelProto.Parser.ParseFrom(bytes).Graph;
        Assert.IsTrue(graph.Node.Any(n => n.OpType == "DynamicQuantizeLSTM" && n.Domain == "com.microsoft"), $"{int8Path}: no DynamicQuantizeLSTM");
        Assert.IsFalse(graph.Node.Any(n => n.OpType == "LSTM"), $"{int8Path}: a float LSTM is left");

        var rng = new Random(5);
        int features = name == "forecaster50" ? 6 : 8;
        var inputs = new List<NamedOnnxValue>
        {
            NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(Enumerable.Range(0, steps * features).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray(), [1, steps, features])),
        };
        if (name == "lstm200")
        {
            inputs.Add(NamedOnnxValue.CreateFromTensor("h0", new DenseTensor<float>(Enumerable.Range(0, 200).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray(), [1, 1, 200])));
            inputs.Add(NamedOnnxValue.CreateFromTensor("c0", new DenseTensor<float>(Enumerable.Range(0, 200).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray(), [1, 1, 200])));
        }
        float[] Run(byte[] model)
        {
            using var session = new InferenceSession(model);
            using var results = session.Run(inputs);
            return results.First().AsEnumerable<float>().ToArray();
        }
        var fp32 = Run(File.ReadAllBytes(Model(name)));
        var int8 = Run(bytes);
        Assert.HasCount(fp32.Length, int8);
        double worst = fp32.Zip(int8, (a, b) => Math.Abs(a - b)).Max();
        Assert.IsLessThanOrEqualTo(tolerance, worst, $"{name}: ORT int8 vs fp32 max |diff| {worst}");
        Assert.IsGreaterThan(0.0, worst, $"{name}: int8 identical to fp32, so nothing was quantized");
    }
}
