using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;
using static Edge.Runtime.Tests.Layers.OpsHarness;
using static Edge.Runtime.Tests.Assertions;

namespace Edge.Runtime.Tests.Layers;

/// <summary>Bad models and bad inputs give an <see cref="EdgeException"/> naming the node and the shapes, never an index error.</summary>
[TestClass]
public sealed class LayerErrorTests
{
    [TestMethod]
    public void Dense_FeatureMismatch_NamesNodeAndShapes()
    {
        var e = Assert.ThrowsExactly<EdgeException>(() => Run(OpKind.Dense, null, Iota(2, 6), Iota(5, 7)));
        StringAssert.Contains(e.Message, "test_Dense");
        StringAssert.Contains(e.Message, "(2, 6)");
        StringAssert.Contains(e.Message, "(5, 7)");
    }

    [TestMethod]
    public void Dense_ConstantBiasOfWrongLength_RefusedWhenPrepared()
    {
        var e = Assert.ThrowsExactly<EdgeException>(() => RunAll(OpKind.Dense, null, [Iota(2, 7), Iota(5, 7), Iota(4)], firstConstant: 1));
        StringAssert.Contains(e.Message, "(5,)");
    }

    [TestMethod]
    public void MatMul_InnerMismatch_NamesSizes()
    {
        var e = Assert.ThrowsExactly<EdgeException>(() => Run(OpKind.MatMul, null, Iota(2, 3), Iota(4, 2)));
        StringAssert.Contains(e.Message, "inner sizes 3 and 4");
    }

    [TestMethod]
    public void Gemm_CNotBroadcastable_IsRefused()
    {
        var e = Assert.ThrowsExactly<EdgeException>(() => Run(OpKind.Gemm, null, Iota(2, 3), Iota(3, 4), Iota(3)));
        StringAssert.Contains(e.Message, "cannot be broadcast to (2, 4)");
    }

    [TestMethod]
    public void Conv1D_ChannelMismatch_And_TooShortInput()
    {
        var e = Assert.ThrowsExactly<EdgeException>(() => Run(OpKind.Conv1D, null, Iota(1, 3, 8), Iota(2, 4, 3)));
        StringAssert.Contains(e.Message, "3 channels");
        var s = Assert.ThrowsExactly<EdgeException>(() => Run(OpKind.Conv1D, null, Iota(1, 1, 2), Iota(1, 1, 3)));
        StringAssert.Contains(e.Message, "test_Conv1D");
        StringAssert.Contains(s.Message, "shorter than the dilated kernel 3");
    }

    [TestMethod]
    public void Conv1D_UnknownAutoPad_RefusedWhenPrepared()
    {
        var e = Assert.ThrowsExactly<EdgeException>(() => Run(OpKind.Conv1D, n => n.Set("auto_pad", "FULL"), Iota(1, 1, 4), Iota(1, 1, 2)));
        StringAssert.Contains(e.Message, "FULL");
    }

    [TestMethod]
    public void LocallyConnected1D_WrongFoldCount_SaysWhatWIsNeeded()
    {
        // L 10, K 3, stride 2 -> 4 folds, so W (5, 3, 2) is wrong.
        var e = Assert.ThrowsExactly<EdgeException>(() =>
            Run(OpKind.LocallyConnected1D, n => n.Set("kernel_size", 3L).Set("stride", 2L), Iota(1, 10, 1), Iota(5, 3, 2)));
        StringAssert.Contains(e.Message, "needs W (4, 3, F)");
    }

    [TestMethod]
    public void Bilinear_DimensionMismatch_IsAnEdgeException()
    {
        var e = Assert.ThrowsExactly<EdgeException>(() => Run(OpKind.Bilinear, null, Iota(4, 3), Iota(4, 5), Iota(3, 6)));
        StringAssert.Contains(e.Message, "test_Bilinear");
        Assert.ThrowsExactly<EdgeException>(() => Run(OpKind.Bilinear, null, Iota(3, 3), Iota(4, 6), Iota(3, 6)));
    }

    [TestMethod]
    public void Embedding_IndexOutOfRange_NamesIndexAndVocabulary()
    {
        var e = Assert.ThrowsExactly<EdgeException>(() => Run(OpKind.Embedding, null, L(1, 10), Iota(10, 4)));
        StringAssert.Contains(e.Message, "index 10");
        StringAssert.Contains(e.Message, "vocabulary of size 10");
        var n = Assert.ThrowsExactly<EdgeException>(() => Run(OpKind.Embedding, null, L(-1), Iota(10, 4)));
        StringAssert.Contains(n.Message, "index -1");
    }

    [TestMethod]
    public void Softmax_AxisOutOfRange_IsAnEdgeException()
    {
        var e = Assert.ThrowsExactly<EdgeException>(() => Run(OpKind.Softmax, n => n.Set("axis", 3L), Iota(2, 3)));
        StringAssert.Contains(e.Message, "axis 3");
    }

    [TestMethod]
    public void MissingRequiredInput_NamesIt()
    {
        var e = Assert.ThrowsExactly<EdgeException>(() => RunAll(OpKind.Reshape, null, [Iota(2, 2)]));
        StringAssert.Contains(e.Message, "shape");
    }

    [TestMethod]
    public void Session_RunsDenseThenSoftmax_AndWrapsRuntimeErrors()
    {
        var g = new Graph();
        g.Inputs.Add(new ValueInfo("x", DataType.Float32, [ValueInfo.Dynamic, 3]));
        g.Constants["w"] = F([1, 0, 0, 0, 1, 0], 2, 3);
        g.Constants["b"] = F([0, 1], 2);
        g.Nodes.Add(new Node(OpKind.Dense, "fc", ["x", "w", "b"], ["h"]));
        g.Nodes.Add(new Node(OpKind.Softmax, "sm", ["h"], ["y"]));
        g.Outputs.Add(new ValueInfo("y", DataType.Float32, [ValueInfo.Dynamic, 2]));
        var session = new Session(g);
        var y = session.Run(new Dictionary<string, Tensor> { ["x"] = F([2, 1, 5], 1, 3) })["y"];
        // softmax([2, 2]) = [0.5, 0.5]
        AssertClose(F([0.5f, 0.5f], 1, 2), y, Close, "dense+softmax");
    }
}
