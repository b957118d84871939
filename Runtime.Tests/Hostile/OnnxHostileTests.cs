using Edge.Quantizer.Import.Onnx;
using Edge.Runtime.Ir;
using Google.Protobuf;
using Onnx;
using OnnxType = Onnx.TensorProto.Types.DataType;

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
            [Value("X", OnnxType.Float, 5, 1, 3)], [Value("Y", OnnxType.Float, 5, 1, 1, 2)],
            [Op("LSTM", "lstm", ["X", "W", "R"], ["Y"], Attr("hidden_size", 1L << 40))],
            Floats("W", new float[24], 1, 8, 3), Floats("R", new float[16], 1, 8, 2));
        StringAssert.Contains(Refused(model).Message, "ONNX node 'lstm' (LSTM) in hostile.onnx: hidden_size 1099511627776 is larger than Edge accepts");
    }

    [TestMethod]
    [DataRow(new long[] { -1, 2, 1, 0 })]
    [DataRow(new long[] { 0, 1, 1, 2 })]
    [DataRow(new long[] { 0, 1, 2, 4 })]
    public void TransposePermThatIsNotAPermutation_IsRefused(long[] perm)
    {
        var model = Model([Value("X", OnnxType.Float, 2, 3, 4, 5)], [Value("Y", OnnxType.Float, 5, 4, 3, 2)],
            [Op("Transpose", "t", ["X"], ["Y"], Attr("perm", perm))]);
        StringAssert.Contains(Refused(model).Message, "ONNX node 't' (Transpose) in hostile.onnx: perm [");
    }

    [TestMethod]
    public void TransposePermOfTheWrongLength_IsRefused()
    {
        var model = Model([Value("X", OnnxType.Float, 2, 3, 4)], [Value("Y", OnnxType.Float, 4, 3, 2)],
            [Op("Transpose", "t", ["X"], ["Y"], Attr("perm", [1L, 0]))]);
        StringAssert.Contains(Refused(model).Message, "has 2 entries for an input of rank 3");
    }

    [TestMethod]
    public void ValidTranspose_StillImports()
    {
        var model = Model([Value("X", OnnxType.Float, 2, 3, 4)], [Value("Y", OnnxType.Float, 4, 2, 3)],
            [Op("Transpose", "t", ["X"], ["Y"], Attr("perm", [2L, 0, 1]))]);
        CollectionAssert.AreEqual(new long[] { 2, 0, 1 }, Import(model).Nodes.Single().GetInts("perm"));
    }

    [TestMethod]
    [DataRow(5L)]
    [DataRow(-4L)]
    public void GatherAxisOutsideTheRank_IsRefused(long axis)
    {
        var model = Model([Value("X", OnnxType.Float, 2, 3, 4)], [Value("Y", OnnxType.Float, 2, 3, 4)],
            [Op("Gather", "g", ["X", "I"], ["Y"], Attr("axis", axis))], Int64s("I", [0L, 1], 2));
        StringAssert.Contains(Refused(model).Message, $"ONNX node 'g' (Gather) in hostile.onnx: axis {axis} is out of range for 'X' of rank 3");
    }

    [TestMethod]
    public void ConcatAxisOutsideTheRank_IsRefused()
    {
        var model = Model([Value("X", OnnxType.Float, 2, 3, 4), Value("Z", OnnxType.Float, 2, 3, 4)], [Value("Y", OnnxType.Float, 4, 3, 4)],
            [Op("Concat", "c", ["X", "Z"], ["Y"], Attr("axis", 5L))]);
        StringAssert.Contains(Refused(model).Message, "ONNX node 'c' (Concat) in hostile.onnx: axis 5 is out of range for 'X' of rank 3");
    }

    [TestMethod]
    public void ConstantOfShapeFoldingInto3GB_IsRefusedWithinTheBudget()
    {
        // ConstantOfShape((2, 20000, 20000)) + X: folding would create 3.2 GB from a model of a few bytes
        var model = Model([Value("X", OnnxType.Float, 2, 20000, 20000)], [Value("Y", OnnxType.Float, 2, 20000, 20000)],
            [Op("ConstantOfShape", "zeros", ["S"], ["Z"]), Op("Add", "add", ["X", "Z"], ["Y"])],
            Int64s("S", [2L, 20000, 20000], 3));
        var e = Refused(model);
        StringAssert.Contains(e.Message, "folding node 'zeros' (ConstantOfShape)");
        StringAssert.Contains(e.Message, "(2, 20000, 20000)");
        StringAssert.Contains(e.Message, "budget for folding");
    }

    [TestMethod]
    public void SmallConstantOfShape_StillFolds()
    {
        var model = Model([Value("X", OnnxType.Float, 2, 3)], [Value("Y", OnnxType.Float, 2, 3)],
            [Op("ConstantOfShape", "zeros", ["S"], ["Z"]), Op("Add", "add", ["X", "Z"], ["Y"])],
            Int64s("S", [2L, 3], 2));
        var graph = Import(model);
        Assert.IsFalse(graph.Nodes.Any(n => n.Kind == OpKind.ConstantOfShape));
    }

    [TestMethod]
    public void AttributeOfTheWrongType_IsRefused()
    {
        var perm = new AttributeProto { Name = "perm", Type = AttributeProto.Types.AttributeType.Int, I = 1 };
        var model = Model([Value("X", OnnxType.Float, 2, 3)], [Value("Y", OnnxType.Float, 3, 2)],
            [Op("Transpose", "t", ["X"], ["Y"], perm)]);
        StringAssert.Contains(Refused(model).Message, "attribute 'perm' should be a list of ints");
    }

    [TestMethod]
    public void ControlCharactersInANodeName_AreNotEchoed()
    {
        var model = Model([Value("X", OnnxType.Float, 2, 3)], [Value("Y", OnnxType.Float, 2, 3)],
            [Op("Transpose", "t\u001b[2J\r\n", ["X"], ["Y"], Attr("perm", [0L, 0]))]);
        var e = Refused(model);
        StringAssert.Contains(e.Message, "ONNX node 't?[2J??' (Transpose)");
    }

    // ── helpers ──────────────────────────────────────────────────────────────────────────────────

    internal static ModelProto Model(ValueInfoProto[] inputs, ValueInfoProto[] outputs, NodeProto[] nodes, params TensorProto[] initializers)
    {
        var graph = new GraphProto { Name = "hostile" };
        graph.Input.AddRange(inputs);
        graph.Output.AddRange(outputs);
        graph.Node.AddRange(nodes);
        graph.Initializer.AddRange(initializers);
        var model = new ModelProto { IrVersion = 7, Graph = graph, ProducerName = "edge-tests" };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        return model;
    }

    internal static ValueInfoProto Value(string name, OnnxType type, params long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } } };
    }

    internal static NodeProto Op(string op, string name, string[] inputs, string[] outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = name };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        return node;
    }

    internal static TensorProto Floats(string name, float[] data, params long[] dims)
    {
        var t = new TensorProto { Name = name, DataType = (int)OnnxType.Float };
        t.Dims.AddRange(dims);
        t.FloatData.AddRange(data);
        return t;
    }

    internal static TensorProto Int64s(string name, long[] data, params long[] dims)
    {
        var t = new TensorProto { Name = name, DataType = (int)OnnxType.Int64 };
        t.Dims.AddRange(dims);
        t.Int64Data.AddRange(data);
        return t;
    }

    internal static AttributeProto Attr(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    internal static AttributeProto Attr(string name, long[] value)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(value);
        return a;
    }
}
