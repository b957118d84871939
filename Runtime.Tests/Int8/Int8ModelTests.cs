using System.Text.Json;
using Edge.Quantizer;
using Edge.Runtime.Execution;
using Edge.Runtime.Kernels;
using Edge.Runtime.Tensors;
using Edge.Runtime.Tests.EndToEnd;
using Edge.Runtime.Tests.Sessions;

namespace Edge.Runtime.Tests.Int8;

/// <summary>
/// Whole models converted to int8 (the PyTorch fixtures under Fixtures/models and the three real Keras
/// models in ../shared/models when the checkout sits next to them, else those cases are skipped), run by int8 kernels:
/// <list type="bullet">
/// <item>every int8 weight is taken as int8 (no layer falls back to a dequantized copy);</item>
/// <item>outputs are bit-identical on every ISA path this CPU supports (the kernels give the same int32
///   accumulators, the same activation bytes and the same dequantization on every path; the fp32 gate
///   math does not depend on the forced path);</item>
/// <item>the Keras models keep cosine &gt;= 0.999 against fp32 on the inputs in Fixtures/keras;</item>
/// <item>a warm int8 runner allocates nothing.</item>
/// </list>
/// </summary>
[TestClass]
public sealed class Int8ModelTests
{
    public static IEnumerable<object[]> Models() =>
        FixtureCase.AllOnnxModels().Select(m => new object[] { m.Fixture + "/" + m.ModelFile })
            .Concat(AllKerasCases().Select(k => new object[] { "keras:" + k }));

    /// <summary>Fixtures/keras cases whose model is one of the shared real Keras models.</summary>
    private static readonly string[] SharedKerasCases = ["airquality_lstm_relu", "airsensor_gru_h5", "airsensor_gru_keras"];

    public static IEnumerable<object[]> KerasModels() => SharedKerasCases.Select(k => new object[] { k });

    /// <summary>Every Fixtures/keras case (the shared real models and the made ones: Conv1D, Bilinear, LocallyConnected1D, GRU reset-before, ...).</summary>
    private static IEnumerable<string> AllKerasCases() =>
        Directory.EnumerateDirectories(Path.Combine(TestPaths.Fixtures, "keras"))
            .Where(d => File.Exists(Path.Combine(d, "case.json"))).Select(d => Path.GetFileName(d)!).Order(StringComparer.Ordinal);

    private static readonly Dictionary<string, (EdgeModel Fp32, EdgeModel Int8)> s_converted = new(StringComparer.Ordinal);

    [TestMethod]
    [DynamicData(nameof(Models))]
    public void Int8Model_TakesEveryInt8WeightAsInt8_AndIsBitIdenticalOnEveryIsa(string model)
    {
        var (_, int8) = Converted(model);
        var inputs = Inputs(model);
        Assert.IsTrue(int8.Graph.QuantizedConstants.Count > 0, $"{model}: nothing was quantized");
        Dictionary<string, Tensor>? reference = null;
        Isa referenceIsa = Isa.Scalar;
        foreach (var isa in IsaSelector.Supported)
        {
            var session = int8.CreateSession(new SessionOptions { Isa = isa });
            Assert.AreEqual(isa, session.Isa);
            Assert.AreEqual(0, session.DequantizedWeights.Count,
                $"{model} on {IsaSelector.Name(isa)}: weights run dequantized in fp32: {string.Join(", ", session.DequantizedWeights)}");
            var outputs = session.Run(inputs);
            if (reference is null)
            {
                (reference, referenceIsa) = (outputs, isa);
                continue;
            }
            foreach (var (name, expected) in reference)
                SessionRunnerTests.AssertBitEqual(expected, outputs[name],
                    $"{model} output '{name}': {IsaSelector.Name(isa)} vs {IsaSelector.Name(referenceIsa)}");
        }
    }

    [TestMethod]
    [DynamicData(nameof(KerasModels))]
    public void KerasModel_Int8_HasCosineAtLeast0999AgainstFp32(string keras)
    {
        string model = "keras:" + keras;
        var (fp32, int8) = Converted(model);
        var inputs = Inputs(model);
        var a = fp32.CreateSession().Run(inputs);
        var b = int8.CreateSession().Run(inputs);
        foreach (var (name, t) in a)
        {
            double cos = Cosine(t, b[name]);
            Console.WriteLine($"{keras} output '{name}': cosine int8 vs fp32 = {cos:F6}");
            Assert.IsTrue(cos >= 0.999, $"{keras} output '{name}': cosine int8 vs fp32 = {cos:F6} < 0.999");
        }
    }

    /// <summary>Prints int8 vs fp32 cosine of every fixture (Int8AccuracyTests asserts the target; this records the margin).</summary>
    [TestMethod]
    public void AllFixtures_Int8VsFp32Cosines_AreReported()
    {
        foreach (var m in Models().Select(o => (string)o[0]).Where(m => !IsSharedAndMissing(m)))
        {
            var (fp32, int8) = Converted(m);
            var inputs = Inputs(m);
            var a = fp32.CreateSession().Run(inputs);
            var b = int8.CreateSession().Run(inputs);
            foreach (var (name, t) in a)
            {
                if (t.DataType != DataType.Float32) continue;
                double cos = Cosine(t, b[name]);
                Console.WriteLine($"{m} output '{name}': cosine {cos:F6}");
                Assert.IsTrue(cos >= 0.999, $"{m} output '{name}': cosine int8 vs fp32 = {cos:F6} < 0.999");
            }
        }
    }

    [TestMethod]
    [DataRow("seed_gru/model.onnx")]
    [DataRow("forecaster/model.onnx")]
    public void Int8Runner_WarmCall_AllocatesNothing_OnEveryIsa(string model)
    {
        var (_, int8) = Converted(model);
        var inputs = Inputs(model);
        foreach (var isa in IsaSelector.Supported)
        {
            var session = int8.CreateSession(new SessionOptions { Isa = isa });
            var runner = session.CreateRunner();
            var expected = session.Run(inputs);
            for (int i = 0; i < session.Inputs.Count; i++) runner.Bind(i, inputs[session.Inputs[i].Name]);
            runner.Invoke();
            SessionRunnerTests.AssertSameOutputs(session.Graph, expected, runner, $"{model} int8 runner on {IsaSelector.Name(isa)}");
            SessionRunnerTests.AssertNoAllocation(runner, $"{model} int8 runner on {IsaSelector.Name(isa)}");
        }
    }

    [TestMethod]
    public void SessionOptions_IsaNull_FollowsTheEnvironment_AndAnUnsupportedIsaIsRefused()
    {
        var (_, int8) = Converted("seed_gru/model.onnx");
        Assert.AreEqual(IsaSelector.FromEnvironment(), int8.CreateSession().Isa);
        var unsupported = Enum.GetValues<Isa>().Where(i => !IsaSelector.IsSupported(i)).ToArray();
        foreach (var isa in unsupported)
        {
            var e = Assert.ThrowsExactly<EdgeException>(() => int8.CreateSession(new SessionOptions { Isa = isa }));
            StringAssert.Contains(e.Message, IsaSelector.Name(isa));
        }
    }

    [TestMethod]
    public void Convert_DefaultPrecision_IsInt8()
    {
        string edge = Path.Combine(TestPaths.NewTempDir(), "m.edge");
        var r = EdgeCli.Quantize("convert", FixtureCase.Load("seed_gru").PathOf("model.onnx"), "--output", edge, "--quiet");
        Assert.AreEqual(0, r.ExitCode, r.ToString());
        var model = EdgeModel.Load(edge);
        Assert.AreEqual("int8", model.Metadata["precision"]!.GetValue<string>());
        Assert.AreEqual(2, model.Graph.QuantizedConstants.Count, "the GRU's W and R");
        Assert.AreEqual(0, model.CreateSession().DequantizedWeights.Count);
    }

    // ── helpers ─────────────────────────────────────────────────────────────────────────────

    /// <summary>"fixture/model.onnx" or "keras:case" converted to fp32 and int8 blobs (once per test run).</summary>
    internal static (EdgeModel Fp32, EdgeModel Int8) Converted(string model)
    {
        lock (s_converted)
        {
            if (s_converted.TryGetValue(model, out var m)) return m;
            string source = SourcePath(model);
            string dir = TestPaths.NewTempDir();
            Converter.Convert(new ConvertOptions(source, Path.Combine(dir, "fp32.edge"), Precision.Fp32));
            Converter.Convert(new ConvertOptions(source, Path.Combine(dir, "int8.edge"), Precision.Int8));
            m = (EdgeModel.Load(Path.Combine(dir, "fp32.edge")), EdgeModel.Load(Path.Combine(dir, "int8.edge")));
            s_converted[model] = m;
            return m;
        }
    }

    private static string SourcePath(string model)
    {
        if (!model.StartsWith("keras:", StringComparison.Ordinal))
        {
            var parts = model.Split('/');
            return FixtureCase.Load(parts[0]).PathOf(parts[1]);
        }
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(KerasDir(model), "case.json")));
        var m = doc.RootElement.GetProperty("model");
        return m.TryGetProperty("shared", out var shared)
            ? TestPaths.SharedModel(shared.GetString()!)
            : Path.Combine(KerasDir(model), m.GetProperty("file").GetString()!);
    }

    /// <summary>A case whose model is a third-party file in ../shared/models that this checkout does not have.</summary>
    private static bool IsSharedAndMissing(string model)
    {
        if (!model.StartsWith("keras:", StringComparison.Ordinal)) return false;
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(KerasDir(model), "case.json")));
        return doc.RootElement.GetProperty("model").TryGetProperty("shared", out var shared)
            && !File.Exists(Path.Combine(TestPaths.SharedModels, shared.GetString()!));
    }

    private static string KerasDir(string model) => Path.Combine(TestPaths.Fixtures, "keras", model["keras:".Length..]);

    internal static Dictionary<string, Tensor> Inputs(string model)
    {
        if (!model.StartsWith("keras:", StringComparison.Ordinal)) return FixtureCase.Load(model.Split('/')[0]).Inputs();
        string dir = KerasDir(model);
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, "case.json")));
        return doc.RootElement.GetProperty("inputs").EnumerateObject()
            .ToDictionary(p => p.Name, p => Npy.Read(Path.Combine(dir, "in_" + p.Name + ".npy")), StringComparer.Ordinal);
    }

    internal static double Cosine(Tensor x, Tensor y)
    {
        var a = x.ToDoubleArray();
        var b = y.ToDoubleArray();
        Assert.AreEqual(a.Length, b.Length);
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }
        return na == 0 && nb == 0 ? 1 : dot / Math.Sqrt(na * nb);
    }
}
