using System.Text.Json;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;
using static Edge.Runtime.Tests.Layers.OpsHarness;
using static Edge.Runtime.Tests.Assertions;

namespace Edge.Runtime.Tests.Layers;

/// <summary>
/// ONNX's own node conformance tests (Debian libonnx-testdata, converted by
/// tools/make_layer_fixtures.py into layers/onnx/&lt;test&gt;/ with the IR kind and attributes in node.json)
/// run operator by operator, without the importer: Slice clamping, Gather negative indices, Reshape
/// 0/-1/allowzero, ReduceSum empty axes, Pad modes, Gemm attributes, Softmax legacy axes, Shape
/// start/end, ConstantOfShape, Cast, Conv auto_pad...
/// </summary>
[TestClass]
public sealed class OnnxNodeConformanceTests
{
    private static string Root => Path.Combine(LayerFixtures, "onnx");

    public static IEnumerable<object[]> Cases =>
        File.ReadAllLines(Path.Combine(Root, "index.txt")).Where(l => l.Length > 0).Select(l => new object[] { l });

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void OnnxNodeTest_MatchesExpectedOutput(string testCase)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, testCase, "node.json")));
        var kind = Enum.Parse<OpKind>(doc.RootElement.GetProperty("kind").GetString()!);
        var inputs = new List<Tensor?>();
        for (int i = 0; File.Exists(Path.Combine(Root, testCase, $"in_{i}.npy")); i++)
            inputs.Add(Npy.Read(Path.Combine(Root, testCase, $"in_{i}.npy")));
        var expected = Npy.Read(Path.Combine(Root, testCase, "out.npy"));
        var y = RunAll(kind, n => Configure(n, doc.RootElement.GetProperty("attributes")), inputs.ToArray())[0];
        Assert.AreEqual(expected.DataType, y.DataType, $"{testCase}: dtype");
        AssertClose(expected, y, Close, testCase);
    }

    private static void Configure(Node node, JsonElement attributes)
    {
        foreach (var a in attributes.EnumerateObject())
        {
            var (type, v) = a.Value.EnumerateObject().Select(p => (p.Name, p.Value)).Single();
            switch (type)
            {
                case "int": node.Set(a.Name, v.GetInt64()); break;
                case "float": node.Set(a.Name, v.GetSingle()); break;
                case "string": node.Set(a.Name, v.GetString()!); break;
                case "ints": node.Set(a.Name, v.EnumerateArray().Select(e => e.GetInt64()).ToArray()); break;
                case "floats": node.Set(a.Name, v.EnumerateArray().Select(e => e.GetSingle()).ToArray()); break;
                default: throw new AssertFailedException($"attribute {a.Name}: unknown type {type}");
            }
        }
    }
}
