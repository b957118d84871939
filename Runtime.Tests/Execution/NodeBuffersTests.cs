using System.Text.Json;
using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;
using Edge.Runtime.Tests.Layers;

namespace Edge.Runtime.Tests.Sessions;

/// <summary>
/// Every operator run with a reusing <see cref="NodeBuffers"/> gives, bit for bit, what it gives with
/// fresh memory, also after a call on other values (so nothing an earlier call left in a reused buffer
/// leaks into a result), and allocates nothing on a repeated call. Cases: ONNX's node conformance
/// tests (layers/onnx) and the layer golden fixtures' operators.
/// </summary>
[TestClass]
public sealed class NodeBuffersTests
{
    private static string Root => Path.Combine(OpsHarness.LayerFixtures, "onnx");

    public static IEnumerable<object[]> Cases =>
        File.ReadAllLines(Path.Combine(Root, "index.txt")).Where(l => l.Length > 0).Select(l => new object[] { l });

    [TestMethod]
    public unsafe void ReusedOutputsTemporariesAndScratch_StartOnA64ByteBoundary_AndGrowAligned()
    {
        // The kernels stream through these with 512-bit loads and stores: a buffer off the boundary splits every one.
        var buffers = new NodeBuffers();
        static long Address<T>(Span<T> s) where T : unmanaged { fixed (T* p = s) return (long)p; }
        foreach (int n in new[] { 1, 7, 200, 801, 4096 })
        {
            Assert.AreEqual(0, Address(buffers.Scratch<float>(0, n)) % 64, $"float scratch of {n}");
            Assert.AreEqual(0, Address(buffers.Scratch<sbyte>(1, n)) % 64, $"sbyte scratch of {n}");
            Assert.AreEqual(0, Address(buffers.Scratch<int>(2, n)) % 64, $"int scratch of {n}");
            Assert.AreEqual(0, Address(buffers.Output(0, DataType.Float32, [1, n]).Span<float>()) % 64, $"output of {n}");
            Assert.AreEqual(0, Address(buffers.Temporary(0, DataType.Int32, [n]).Span<int>()) % 64, $"temporary of {n}");
        }
        // The packed weights' row scales and sums, read by the same kernels, likewise; their values as given.
        var w = Edge.Runtime.Kernels.PackedInt8Matrix.Pack([1, -2, 3, 4, 5, -6, 7, 8, 9], [0.5f, 0.25f, 2f], 3, 3);
        fixed (float* scales = &w.ScalesStart) Assert.AreEqual(0, (long)scales % 64, "row scales");
        fixed (int* sums = &w.SumsStart) Assert.AreEqual(0, (long)sums % 64, "row sums");
        CollectionAssert.AreEqual(new[] { 0.5f, 0.25f, 2f }, w.RowScales.ToArray());
        CollectionAssert.AreEqual(new[] { 2, 3, 24 }, w.RowSums.ToArray());
        // A reused scratch keeps its place and its length is the one asked for.
        var first = buffers.Scratch<float>(5, 300);
        var again = buffers.Scratch<float>(5, 100);
        Assert.AreEqual(Address(first), Address(again));
        Assert.AreEqual(100, again.Length);
    }

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void Operator_WithReusedBuffers_MatchesFreshMemoryAndAllocatesNothing(string testCase)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, testCase, "node.json")));
        var kind = Enum.Parse<OpKind>(doc.RootElement.GetProperty("kind").GetString()!);
        var inputs = new List<Tensor?>();
        for (int i = 0; File.Exists(Path.Combine(Root, testCase, $"in_{i}.npy")); i++)
            inputs.Add(Npy.Read(Path.Combine(Root, testCase, $"in_{i}.npy")));
        var names = inputs.Select((t, i) => t is null ? "" : $"in_{i}").ToArray();
        var node = new Node(kind, $"test_{kind}", names, ["out_0"]);
        foreach (var a in doc.RootElement.GetProperty("attributes").EnumerateObject())
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
        var op = OperatorFactory.Create(node, new OperatorContext(new Dictionary<string, Tensor>()));
        var original = inputs.ToArray();
        // Other values of the same shapes: floats moved (x/2 + 1/4); integer inputs are shapes, axes and indices, kept.
        var other = original.Select(t => t is { DataType: DataType.Float32 } ? Moved(t) : t).ToArray();

        var expected = Run(op, original, NodeBuffers.Fresh);
        var expectedOther = Run(op, other, NodeBuffers.Fresh);
        var buffers = new NodeBuffers();
        SessionRunnerTests.AssertBitEqual(expected, Run(op, original, buffers), $"{testCase}: first call");
        SessionRunnerTests.AssertBitEqual(expectedOther, Run(op, other, buffers), $"{testCase}: second call, other values");
        var y = Run(op, original, buffers);
        SessionRunnerTests.AssertBitEqual(expected, y, $"{testCase}: third call, first values again");

        // Recurrent layers given their weights at run time re-pack them per call (a graph has them as constants).
        if (kind is OpKind.Lstm or OpKind.Gru) return;
        var outs = new Tensor?[1];
        SessionRunnerTests.AssertNoAllocation(() => op.Run(original, outs, buffers), $"{testCase} ({kind})");
    }

    [TestMethod]
    public void Views_ShareTheirSourceAndAreCachedWhileItIsUnchanged()
    {
        var buffers = new NodeBuffers();
        var x = Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        var v = buffers.View(0, x, [3, 2]);
        Assert.AreSame(v, buffers.View(0, x, [3, 2]), "same source, same shape: the cached view");
        x.Span<float>()[5] = 60;
        Assert.AreEqual(60f, v.Get<float>(2, 1), "a view shares its source's storage");
        Assert.AreNotSame(v, buffers.View(0, x, [6]), "another shape: another view");
        Assert.AreNotSame(v, buffers.View(0, x.Clone(), [3, 2]), "another source: another view");
        Assert.ThrowsExactly<EdgeException>(() => buffers.View(0, x, [4]));

        var strided = x.Permute(1, 0);
        var copy = buffers.View(1, strided, [6]);
        CollectionAssert.AreEqual(new float[] { 1, 4, 2, 5, 3, 60 }, copy.Span<float>().ToArray(), "a strided source is copied in C order");
    }

    [TestMethod]
    public void OutputsAndScratch_AreReusedWhileTheShapeHolds_AndRemadeWhenItChanges()
    {
        var buffers = new NodeBuffers();
        var a = buffers.Output(0, DataType.Float32, [2, 3]);
        Assert.AreSame(a, buffers.Output(0, DataType.Float32, [2, 3]));
        Assert.AreNotSame(a, buffers.Output(0, DataType.Int64, [2, 3]), "another type");
        var b = buffers.Output(0, DataType.Float32, [3, 2]);
        Assert.AreNotSame(a, b, "another shape");
        b.Span<float>().Fill(7);
        CollectionAssert.AreEqual(new float[6], buffers.ZeroedOutput(0, DataType.Float32, [3, 2]).Span<float>().ToArray(), "ZeroedOutput clears a reused buffer");

        buffers.Scratch<float>(0, 8).Fill(1);
        Assert.AreEqual(1f, buffers.Scratch<float>(0, 4)[3], "a smaller request reuses the array");
        Assert.AreEqual(16, buffers.Scratch<float>(0, 16).Length);
        Assert.AreNotSame(NodeBuffers.Fresh.Output(0, DataType.Float32, [1]), NodeBuffers.Fresh.Output(0, DataType.Float32, [1]), "Fresh never reuses");
        Assert.IsFalse(NodeBuffers.Fresh.Reuses);
    }

    private static Tensor Run(IOperator op, Tensor?[] inputs, NodeBuffers buffers)
    {
        var outs = new Tensor?[1];
        op.Run(inputs, outs, buffers);
        return outs[0] ?? throw new AssertFailedException("no output");
    }

    private static Tensor Moved(Tensor t)
    {
        var c = t.Clone();
        var s = c.Span<float>();
        for (int i = 0; i < s.Length; i++) s[i] = s[i] * 0.5f + 0.25f;
        return c;
    }
}
