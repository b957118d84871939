using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Quantization;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Tests.Int8;

/// <summary>
/// An Embedding whose table is stored int8 with one scale per row: the session gathers int8 rows and
/// dequantizes each by its own row's scale (never feeding an fp32 copy of the table), which must give exactly
/// what the fp32 Embedding gives on the dequantized table, and stay within half a step of the original values.
/// </summary>
[TestClass]
public sealed class Int8EmbeddingTests
{
    private const int Vocab = 13, D = 7;

    private static (Tensor Table, QuantizedWeight Q) Table()
    {
        var rng = new Random(21);
        var v = new float[Vocab * D];
        // Rows of very different magnitudes: one shared scale would flatten the small rows to zero.
        for (int r = 0; r < Vocab; r++)
            for (int k = 0; k < D; k++)
                v[r * D + k] = (float)(rng.NextDouble() * 2 - 1) * MathF.Pow(3f, r - 6);
        var table = Tensor.FromArray(v, Vocab, D);
        return (table, WeightQuantizer.QuantizePerRow(table, 0));
    }

    private static Session Session(Graph g) => new(g, new SessionOptions());

    private static Graph Graph(Action<Graph> addTable, int[] idShape)
    {
        var g = new Graph();
        g.Inputs.Add(new ValueInfo("ids", DataType.Int64, idShape));
        g.Nodes.Add(new Node(OpKind.Embedding, "emb", ["ids", "table"], ["y"]));
        g.Outputs.Add(new ValueInfo("y", DataType.Float32, [.. idShape, D]));
        addTable(g);
        return g;
    }

    [TestMethod]
    public void Int8Table_GathersRowsTimesTheirOwnScale_EqualToFp32OnTheDequantizedTable()
    {
        var (table, q) = Table();
        long[] idValues = [12, 0, 5, 5, 6, 1, 11, 3];
        var ids = Tensor.FromArray(idValues, 2, 4);
        var int8 = Session(Graph(g => g.QuantizedConstants["table"] = q, [2, 4]));
        Assert.AreEqual(0, int8.DequantizedWeights.Count, "the table was fed as fp32: the int8 gather was not used");
        var y = int8.Run(new Dictionary<string, Tensor> { ["ids"] = ids })["y"];
        CollectionAssert.AreEqual(new[] { 2, 4, D }, y.ShapeArray());

        var fp32 = Session(Graph(g => g.Constants["table"] = WeightQuantizer.Dequantize(q), [2, 4]));
        var expected = fp32.Run(new Dictionary<string, Tensor> { ["ids"] = ids })["y"];
        CollectionAssert.AreEqual(expected.Contiguous().ReadOnlySpan<float>().ToArray(), y.Contiguous().ReadOnlySpan<float>().ToArray(), "int8 gather differs from fp32 on the dequantized table");

        // Independently of the runtime: q * scale[row], and within half a quantization step of the original.
        var qv = q.Values.Contiguous().ReadOnlySpan<sbyte>().ToArray();
        var orig = table.Contiguous().ReadOnlySpan<float>().ToArray();
        var got = y.Contiguous().ReadOnlySpan<float>().ToArray();
        for (int i = 0; i < idValues.Length; i++)
        {
            int row = (int)idValues[i];
            for (int k = 0; k < D; k++)
            {
                Assert.AreEqual(qv[row * D + k] * q.Scales[row], got[i * D + k], $"position {i}, column {k}");
                Assert.AreEqual(orig[row * D + k], got[i * D + k], q.Scales[row] * 0.5 + 1e-12, $"position {i}, column {k}: more than half a step from the fp32 table");
            }
        }
    }

    [TestMethod]
    public void Int8Table_OutOfRangeIndex_IsOneClearError()
    {
        var (_, q) = Table();
        var s = Session(Graph(g => g.QuantizedConstants["table"] = q, [3]));
        var e = Assert.ThrowsExactly<EdgeException>(() => s.Run(new Dictionary<string, Tensor> { ["ids"] = Tensor.FromArray(new long[] { 1, Vocab, 2 }, 3) }));
        StringAssert.Contains(e.Message, $"index {Vocab}");
        StringAssert.Contains(e.Message, $"vocabulary of size {Vocab}");
    }

    [TestMethod]
    public void Int8Table_WithAColumnScale_IsRefusedNamingTheNode()
    {
        var (table, _) = Table();
        var byColumn = WeightQuantizer.QuantizePerRow(Tensor.FromArray(table.Contiguous().ReadOnlySpan<float>().ToArray(), Vocab, D, 1), 1);
        var e = Assert.ThrowsExactly<EdgeException>(() => Session(Graph(g => g.QuantizedConstants["table"] = byColumn, [3])));
        StringAssert.Contains(e.Message, "emb");
        StringAssert.Contains(e.Message, "int8 table must be (V, D)");
    }
}
