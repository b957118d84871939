using Edge.Quantizer.Import.Onnx;
using Edge.Runtime.Ir;
using Google.Protobuf;
using Onnx;
using Edge.Runtime.Tests.Import;
using OnnxType = Onnx.TensorProto.Types.DataType;
using static Edge.Runtime.Tests.Import.OnnxImporterTests;

namespace Edge.Runtime.Tests.Hostile;

/// <summary>
/// Issue 15's ONNX reproducers, built from their descriptions with the generated protobuf classes:
/// hidden_size 2^40, a Transpose perm with a negative entry, Gather/Concat axis 5 on a rank-3 tensor,
/// a ConstantOfShape that would fold into 3.2 GB, an attribute of the wrong type. Each is refused with
/// one EdgeException naming the node, without a large allocation.
/// </summary>
[TestClass]
public sealed class OnnxHostileTests
{
    private static Graph Import(ModelProto model) => OnnxImporter.Import(model.ToByteArray(), "hostile.onnx");

    private static EdgeException Refused(ModelProto model, long capBytes = 64L << 20)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<EdgeException>(() => Import(model));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.IsLessThan(capBytes, allocated, $"{allocated} bytes allocated before: {e.Message}");
        Assert.IsFalse(e.Message.Contains('\n', StringComparison.Ordinal), e.Message);
        return e;
    }

    [TestMethod]
    public void LstmHiddenSize2Pow40_IsRefused()
    {
        var model = Model(
            [Input("X", OnnxType.Float, 5, 1, 3)], [Input("Y", OnnxType.Float, 5, 1, 1, 2)],
            [Op("LSTM", "lstm", ["X", "W", "R"], ["Y"], Attr("hidden_size", 1L << 40))],
            FloatTensor("W", new float[24], 1, 8, 3), FloatTensor("R", new float[16], 1, 8, 2));
        StringAssert.Contains(Refused(model).Message, "ONNX node 'lstm' (LSTM) in hostile.onnx: hidden_size 1099511627776 is larger than Edge accepts");
    }

    [TestMethod]
    [DataRow(new long[] { -1, 2, 1, 0 })]
    [DataRow(new long[] { 0, 1, 1, 2 })]
    [DataRow(new long[] { 0, 1, 2, 4 })]
    public void TransposePermThatIsNotAPermutation_IsRefused(long[] perm)
    {
        var model = Model([Input("X", OnnxType.Float, 2, 3, 4, 5)], [Input("Y", OnnxType.Float, 5, 4, 3, 2)],
            [Op("Transpose", "t", ["X"], ["Y"], Attr("perm", perm))]);
        StringAssert.Contains(Refused(model).Message, "ONNX node 't' (Transpose) in hostile.onnx: perm [");
    }

    [TestMethod]
    public void TransposePermOfTheWrongLength_IsRefused()
    {
        var model = Model([Input("X", OnnxType.Float, 2, 3, 4)], [Input("Y", OnnxType.Float, 4, 3, 2)],
            [Op("Transpose", "t", ["X"], ["Y"], Attr("perm", [1L, 0]))]);
        StringAssert.Contains(Refused(model).Message, "has 2 entries for an input of rank 3");
    }

    [TestMethod]
    public void ValidTranspose_StillImports()
    {
        var model = Model([Input("X", OnnxType.Float, 2, 3, 4)], [Input("Y", OnnxType.Float, 4, 2, 3)],
            [Op("Transpose", "t", ["X"], ["Y"], Attr("perm", [2L, 0, 1]))]);
        CollectionAssert.AreEqual(new long[] { 2, 0, 1 }, Import(model).Nodes.Single().GetInts("perm"));
    }

    [TestMethod]
    [DataRow(5L)]
    [DataRow(-4L)]
    public void GatherAxisOutsideTheRank_IsRefused(long axis)
    {
        var model = Model([Input("X", OnnxType.Float, 2, 3, 4)], [Input("Y", OnnxType.Float, 2, 3, 4)],
            [Op("Gather", "g", ["X", "I"], ["Y"], Attr("axis", axis))], Int64Tensor("I", [0L, 1], 2));
        StringAssert.Contains(Refused(model).Message, $"ONNX node 'g' (Gather) in hostile.onnx: axis {axis} is out of range for 'X' of rank 3");
    }

    [TestMethod]
    public void ConcatAxisOutsideTheRank_IsRefused()
    {
        var model = Model([Input("X", OnnxType.Float, 2, 3, 4), Input("Z", OnnxType.Float, 2, 3, 4)], [Input("Y", OnnxType.Float, 4, 3, 4)],
            [Op("Concat", "c", ["X", "Z"], ["Y"], Attr("axis", 5L))]);
        StringAssert.Contains(Refused(model).Message, "ONNX node 'c' (Concat) in hostile.onnx: axis 5 is out of range for 'X' of rank 3");
    }

    [TestMethod]
    public void ConstantOfShapeFoldingInto3GB_IsRefusedWithinTheBudget()
    {
        // ConstantOfShape((2, 20000, 20000)) + X: folding would create 3.2 GB from a model of a few bytes
        var model = Model([Input("X", OnnxType.Float, 2, 20000, 20000)], [Input("Y", OnnxType.Float, 2, 20000, 20000)],
            [Op("ConstantOfShape", "zeros", ["S"], ["Z"]), Op("Add", "add", ["X", "Z"], ["Y"])],
            Int64Tensor("S", [2L, 20000, 20000], 3));
        var e = Refused(model);
        StringAssert.Contains(e.Message, "folding node 'zeros' (ConstantOfShape)");
        StringAssert.Contains(e.Message, "(2, 20000, 20000)");
        StringAssert.Contains(e.Message, "budget for folding");
    }

    [TestMethod]
    public void SmallConstantOfShape_StillFolds()
    {
        var model = Model([Input("X", OnnxType.Float, 2, 3)], [Input("Y", OnnxType.Float, 2, 3)],
            [Op("ConstantOfShape", "zeros", ["S"], ["Z"]), Op("Add", "add", ["X", "Z"], ["Y"])],
            Int64Tensor("S", [2L, 3], 2));
        var graph = Import(model);
        Assert.IsFalse(graph.Nodes.Any(n => n.Kind == OpKind.ConstantOfShape));
    }

    [TestMethod]
    public void AttributeOfTheWrongType_IsRefused()
    {
        var perm = new AttributeProto { Name = "perm", Type = AttributeProto.Types.AttributeType.Int, I = 1 };
        var model = Model([Input("X", OnnxType.Float, 2, 3)], [Input("Y", OnnxType.Float, 3, 2)],
            [Op("Transpose", "t", ["X"], ["Y"], perm)]);
        StringAssert.Contains(Refused(model).Message, "attribute 'perm' should be a list of ints");
    }

    [TestMethod]
    public void ControlCharactersInANodeName_AreNotEchoed()
    {
        var model = Model([Input("X", OnnxType.Float, 2, 3)], [Input("Y", OnnxType.Float, 2, 3)],
            [Op("Transpose", "t\u001b[2J\r\n", ["X"], ["Y"], Attr("perm", [0L, 0]))]);
        var e = Refused(model);
        StringAssert.Contains(e.Message, "ONNX node 't?[2J??' (Transpose)");
    }

    // ── helpers ──────────────────────────────────────────────────────────────────────────────────

    // The node, value and tensor builders are OnnxImporterTests'; the reproducers only fix the opset.
    internal static ModelProto Model(ValueInfoProto[] inputs, ValueInfoProto[] outputs, NodeProto[] nodes, params TensorProto[] initializers) =>
        OnnxImporterTests.Model(13, inputs, outputs, nodes, initializers);
}
