using Edge.Quantizer;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Tests.EndToEnd;

/// <summary>
/// `convert --precision int8` on every PyTorch fixture: the int8 model's outputs stay within the
/// quantization targets of the fp32 model (cosine >= 0.999), the blob shrinks, and the bytes are
/// reproducible.
/// </summary>
[TestClass]
public sealed class Int8AccuracyTests
{
    public static IEnumerable<object[]> Models() => FixtureCase.AllOnnxModels().Select(m => new object[] { m.Fixture, m.ModelFile });

    [TestMethod]
    [DynamicData(nameof(Models))]
    public void Int8Outputs_HaveCosineAtLeast0999AgainstFp32(string fixture, string modelFile)
    {
        var c = FixtureCase.Load(fixture);
        string dir = TestPaths.NewTempDir();
        var fp32 = Convert(c.PathOf(modelFile), Path.Combine(dir, "fp32.edge"), Precision.Fp32);
        var int8 = Convert(c.PathOf(modelFile), Path.Combine(dir, "int8.edge"), Precision.Int8);
        Assert.IsTrue(int8.Graph.QuantizedConstants.Count > 0, $"{fixture}: no weight was quantized");
        Assert.IsTrue(int8.Graph.QuantizedConstants.Values.All(q => q.Values.DataType == DataType.Int8));

        var inputs = c.Inputs();
        var a = fp32.CreateSession().Run(inputs);
        var b = int8.CreateSession().Run(inputs);
        foreach (var name in c.OutputNames)
        {
            if (a[name].DataType != DataType.Float32) continue;
            double cos = Int8.Int8ModelTests.Cosine(a[name], b[name]);
            Assert.IsTrue(cos >= 0.999, $"{fixture}/{modelFile} output '{name}': cosine int8 vs fp32 = {cos:F6} < 0.999");
        }
    }

    [TestMethod]
    public void Int8Blob_IsAtMost30PercentOfFp32_AndByteIdenticalAcrossRuns()
    {
        var c = FixtureCase.Load("forecaster");
        string dir = TestPaths.NewTempDir();
        Convert(c.PathOf("model.onnx"), Path.Combine(dir, "fp32.edge"), Precision.Fp32);
        Convert(c.PathOf("model.onnx"), Path.Combine(dir, "a.edge"), Precision.Int8);
        Convert(c.PathOf("model.onnx"), Path.Combine(dir, "b.edge"), Precision.Int8);
        long fp32 = new FileInfo(Path.Combine(dir, "fp32.edge")).Length, int8 = new FileInfo(Path.Combine(dir, "a.edge")).Length;
        Assert.IsTrue(int8 <= 0.30 * fp32, $"int8 blob {int8} bytes is more than 30 % of the fp32 blob {fp32} bytes");
        CollectionAssert.AreEqual(File.ReadAllBytes(Path.Combine(dir, "a.edge")), File.ReadAllBytes(Path.Combine(dir, "b.edge")), "two int8 conversions differ");
    }

    private static EdgeModel Convert(string model, string output, Precision precision)
    {
        Converter.Convert(new ConvertOptions(model, output, precision));
        return EdgeModel.Load(output);
    }
}
