using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;
using static Edge.Runtime.Tests.Layers.OpsHarness;

namespace Edge.Runtime.Tests.Layers;

/// <summary>
/// Shape and index glue with small hand-checkable values; the expectations are numpy's documented
/// results (written next to each as the numpy expression) and the ONNX operator rules.
/// </summary>
[TestClass]
public sealed class GlueOpTests
{
    // ── Slice ──────────────────────────────────────────────────────────────────────────────────

    [TestMethod]
    public void Slice_NegativeStepFromEnd_ReversesLikeNumpy()
    {
        // np.arange(12).reshape(3, 4)[:, ::-2] -> [[3, 1], [7, 5], [11, 9]]
        var y = Run(OpKind.Slice, null, Iota(3, 4), L(-1), L(long.MinValue), L(1), L(-2));
        AssertValues(new float[] { 3, 1, 7, 5, 11, 9 }, [3, 2], y);
    }

    [TestMethod]
    public void Slice_EndsBeyondDimClampAndNegativeStarts()
    {
        // x[-2:1000, 1:3] on arange(12).reshape(3, 4) -> [[5, 6], [9, 10]]
        var y = Run(OpKind.Slice, null, Iota(3, 4), L(-2, 1), L(1000, 3));
        AssertValues(new float[] { 5, 6, 9, 10 }, [2, 2], y);
    }

    [TestMethod]
    public void Slice_EmptyRangeGivesZeroLength()
    {
        // np.arange(5)[3:1] -> []
        var y = Run(OpKind.Slice, null, Iota(5), L(3), L(1));
        AssertValues(Array.Empty<float>(), [0], y);
    }

    [TestMethod]
    public void Slice_Int64Data_FromAttributes()
    {
        // opset < 10 form: starts/ends/axes as attributes. np.array([10, 20, 30, 40])[1:3] -> [20, 30]
        var y = Run(OpKind.Slice, n => n.Set("starts", new long[] { 1 }).Set("ends", new long[] { 3 }).Set("axes", new long[] { 0 }),
            L(10, 20, 30, 40));
        AssertValues(new long[] { 20, 30 }, [2], y);
    }

    [TestMethod]
    public void Slice_ZeroStep_IsAnEdgeException()
    {
        var e = Assert.ThrowsExactly<EdgeException>(() => Run(OpKind.Slice, null, Iota(4), L(0), L(4), L(0), L(0)));
        StringAssert.Contains(e.Message, "step");
        StringAssert.Contains(e.Message, "test_Slice");
    }

    // ── Gather ─────────────────────────────────────────────────────────────────────────────────

    [TestMethod]
    public void Gather_Axis1_NegativeIndices_LikeNumpyTake()
    {
        // np.take(np.arange(12).reshape(3, 4), [[-1, 0]], axis=1) -> shape (3, 1, 2): [[[3, 0]], [[7, 4]], [[11, 8]]]
        var y = Run(OpKind.Gather, n => n.Set("axis", 1L), Iota(3, 4), L(new long[] { -1, 0 }, 1, 2));
        AssertValues(new float[] { 3, 0, 7, 4, 11, 8 }, [3, 1, 2], y);
    }

    [TestMethod]
    public void Gather_ScalarIndexOnShapeVector_GivesScalar()
    {
        // The exporters' Shape -> Gather(0-d index) pattern: np.take([2, 5, 7], 1) -> 5 (0-d)
        var y = Run(OpKind.Gather, null, L(2, 5, 7), Tensor.FromArray(new long[] { 1 }));
        AssertValues(new long[] { 5 }, [], y);
    }

    [TestMethod]
    public void Gather_OutOfRange_NamesIndexAndSize()
    {
        var e = Assert.ThrowsExactly<EdgeException>(() => Run(OpKind.Gather, null, Iota(3, 2), L(3)));
        StringAssert.Contains(e.Message, "index 3");
        StringAssert.Contains(e.Message, "size 3");
    }

    // ── Reshape / Squeeze / Unsqueeze / Flatten / Transpose ───────────────────────────────────

    [TestMethod]
    public void Reshape_ZeroCopiesDimensionAndMinusOneInfers()
    {
        var y = Run(OpKind.Reshape, null, Iota(2, 3, 4), L(0, -1));
        AssertValues(Enumerable.Range(0, 24).Select(i => (float)i).ToArray(), [2, 12], y);
    }

    [TestMethod]
    public void Reshape_AllowZero_KeepsRealZero()
    {
        var y = Run(OpKind.Reshape, n => n.Set("allowzero", 1L), Tensor.Zeros<float>(0, 3), L(3, 0));
        CollectionAssert.AreEqual(new[] { 3, 0 }, y.ShapeArray());
    }

    [TestMethod]
    public void Reshape_WrongElementCount_NamesBothShapes()
    {
        var e = Assert.ThrowsExactly<EdgeException>(() => Run(OpKind.Reshape, null, Iota(2, 3), L(4, 2)));
        StringAssert.Contains(e.Message, "(2, 3)");
        StringAssert.Contains(e.Message, "(4, 2)");
    }

    [TestMethod]
    public void Squeeze_NoAxes_RemovesEveryOne()
    {
        var y = Run(OpKind.Squeeze, null, Iota(1, 3, 1, 2));
        CollectionAssert.AreEqual(new[] { 3, 2 }, y.ShapeArray());
    }

    [TestMethod]
    public void Squeeze_NegativeAxisInput_AndAttributeForm()
    {
        CollectionAssert.AreEqual(new[] { 1, 3, 2 }, Run(OpKind.Squeeze, null, Iota(1, 3, 1, 2), L(-2)).ShapeArray());
        CollectionAssert.AreEqual(new[] { 3, 1, 2 }, Run(OpKind.Squeeze, n => n.Set("axes", new long[] { 0 }), Iota(1, 3, 1, 2)).ShapeArray());
    }

    [TestMethod]
    public void Squeeze_AxisNotOne_IsAnEdgeException()
    {
        var e = Assert.ThrowsExactly<EdgeException>(() => Run(OpKind.Squeeze, null, Iota(1, 3), L(1)));
        StringAssert.Contains(e.Message, "size is 3");
    }

    [TestMethod]
    public void Unsqueeze_AxesArePositionsInOutput()
    {
        // np.expand_dims(np.zeros((3, 4)), (0, -1)) -> (1, 3, 4, 1); axes [1, 3] on (3, 4) -> (3, 1, 4, 1)
        CollectionAssert.AreEqual(new[] { 1, 3, 4, 1 }, Run(OpKind.Unsqueeze, null, Iota(3, 4), L(0, -1)).ShapeArray());
        CollectionAssert.AreEqual(new[] { 3, 1, 4, 1 }, Run(OpKind.Unsqueeze, n => n.Set("axes", new long[] { 1, 3 }), Iota(3, 4)).ShapeArray());
    }

    [TestMethod]
    public void Flatten_Axis0_And_AxisMinus1()
    {
        CollectionAssert.AreEqual(new[] { 1, 24 }, Run(OpKind.Flatten, n => n.Set("axis", 0L), Iota(2, 3, 4)).ShapeArray());
        CollectionAssert.AreEqual(new[] { 6, 4 }, Run(OpKind.Flatten, n => n.Set("axis", -1L), Iota(2, 3, 4)).ShapeArray());
        CollectionAssert.AreEqual(new[] { 2, 12 }, Run(OpKind.Flatten, null, Iota(2, 3, 4)).ShapeArray());
    }

    [TestMethod]
    public void Transpose_PermAndDefaultReverse()
    {
        // np.arange(6).reshape(2, 3).T -> [[0, 3], [1, 4], [2, 5]]
        AssertValues(new float[] { 0, 3, 1, 4, 2, 5 }, [3, 2], Run(OpKind.Transpose, null, Iota(2, 3)));
        // np.arange(24).reshape(2, 3, 4).transpose(1, 2, 0)[2, 1] -> [9, 21]
        var y = Run(OpKind.Transpose, n => n.Set("perm", new long[] { 1, 2, 0 }), Iota(2, 3, 4));
        CollectionAssert.AreEqual(new[] { 3, 4, 2 }, y.ShapeArray());
        Assert.AreEqual(9f, y.Get<float>(2, 1, 0));
        Assert.AreEqual(21f, y.Get<float>(2, 1, 1));
    }

    [TestMethod]
    public void Transpose_MovingOnlySizeOneAxes_IsAViewWithTheSameValues()
    {
        // np.arange(8).reshape(1, 1, 8).transpose(1, 0, 2): same order; (1, 4, 2).transpose(0, 2, 1) moves size-4 and
        // size-2 axes: a real copy [0, 2, 4, 6, 1, 3, 5, 7].
        var x = Iota(1, 1, 8);
        var y = Run(OpKind.Transpose, n => n.Set("perm", new long[] { 1, 0, 2 }), x);
        AssertValues(Enumerable.Range(0, 8).Select(i => (float)i).ToArray(), [1, 1, 8], y);
        var z = Run(OpKind.Transpose, n => n.Set("perm", new long[] { 2, 1, 0 }), Iota(4, 1, 1));
        AssertValues(new float[] { 0, 1, 2, 3 }, [1, 1, 4], z);
        var c = Run(OpKind.Transpose, n => n.Set("perm", new long[] { 0, 2, 1 }), Iota(1, 4, 2));
        AssertValues(new float[] { 0, 2, 4, 6, 1, 3, 5, 7 }, [1, 2, 4], c);
    }

    // ── Concat / Stack / Shape / Cast / ConstantOfShape ─────────────────────────────────────────

    [TestMethod]
    public void Concat_Int64ShapeVectors()
    {
        var y = Run(OpKind.Concat, n => n.Set("axis", 0L), L(2), L(-1, 4));
        AssertValues(new long[] { 2, -1, 4 }, [3], y);
    }

    [TestMethod]
    public void Concat_NegativeAxis_Floats()
    {
        // np.concatenate([a (2, 1), b (2, 2)], axis=-1)
        var y = Run(OpKind.Concat, n => n.Set("axis", -1L), F([1, 2], 2, 1), F([3, 4, 5, 6], 2, 2));
        AssertValues(new float[] { 1, 3, 4, 2, 5, 6 }, [2, 3], y);
    }

    [TestMethod]
    public void Stack_NewLastAxis()
    {
        // torch.stack([a, b], dim=-1) with a = [1, 2], b = [3, 4] -> [[1, 3], [2, 4]]
        var y = Run(OpKind.Stack, n => n.Set("axis", -1L), F([1, 2], 2), F([3, 4], 2));
        AssertValues(new float[] { 1, 3, 2, 4 }, [2, 2], y);
    }

    [TestMethod]
    public void Shape_StartEndClamped()
    {
        var x = Tensor.Zeros<float>(2, 3, 4, 5);
        AssertValues(new long[] { 2, 3, 4, 5 }, [4], Run(OpKind.Shape, null, x));
        AssertValues(new long[] { 3, 4 }, [2], Run(OpKind.Shape, n => n.Set("start", 1L).Set("end", -1L), x));
        AssertValues(new long[] { 2, 3, 4, 5 }, [4], Run(OpKind.Shape, n => n.Set("start", -10L).Set("end", 10L), x));
    }

    [TestMethod]
    public void Cast_FloatToIntegers_TruncatesTowardZero()
    {
        var x = F([2.7f, -2.7f, 0.5f, -0.5f, 127.9f], 5);
        AssertValues(new long[] { 2, -2, 0, 0, 127 }, [5], Run(OpKind.Cast, n => n.Set("to", (long)DataType.Int64), x));
        AssertValues(new int[] { 2, -2, 0, 0, 127 }, [5], Run(OpKind.Cast, n => n.Set("to", (long)DataType.Int32), x));
        AssertValues(new sbyte[] { 2, -2, 0, 0, 127 }, [5], Run(OpKind.Cast, n => n.Set("to", (long)DataType.Int8), x));
    }

    [TestMethod]
    public void Cast_IntToFloat_AndUnknownType()
    {
        AssertValues(new float[] { -3, 7 }, [2], Run(OpKind.Cast, n => n.Set("to", (long)DataType.Float32), L(-3, 7)));
        var e = Assert.ThrowsExactly<EdgeException>(() => Run(OpKind.Cast, n => n.Set("to", 9L), L(1)));
        StringAssert.Contains(e.Message, "to = 9");
    }

    [TestMethod]
    public void ConstantOfShape_EmptyShapeIsScalar_AndInt64Fill()
    {
        var s = Run(OpKind.ConstantOfShape, n => n.Set("value", 3f), Tensor.Zeros<long>(0));
        AssertValues(new float[] { 3 }, [], s);
        var y = Run(OpKind.ConstantOfShape, n => n.Set("value", 1f).Set("dtype", (long)DataType.Int64), L(2, 3));
        AssertValues(new long[] { 1, 1, 1, 1, 1, 1 }, [2, 3], y);
    }

    // ── Expand / ReduceSum / Pad ─────────────────────────────────────────────────────────────────

    [TestMethod]
    public void Expand_BroadcastsBothWays()
    {
        // np.broadcast_to over np.broadcast_shapes((3, 1), (2, 1, 4)) -> (2, 3, 4); value[i, j, k] = x[j]
        var y = Run(OpKind.Expand, null, F([1, 2, 3], 3, 1), L(2, 1, 4));
        CollectionAssert.AreEqual(new[] { 2, 3, 4 }, y.ShapeArray());
        Assert.AreEqual(2f, y.Get<float>(1, 1, 3));
        Assert.AreEqual(3f, y.Get<float>(0, 2, 0));
        // A shape smaller than the input keeps the input's dimensions (ONNX Expand is a broadcast, not a resize).
        CollectionAssert.AreEqual(new[] { 3, 4 }, Run(OpKind.Expand, null, Iota(3, 4), L(1, 1)).ShapeArray());
    }

    [TestMethod]
    public void Expand_Incompatible_IsAnEdgeException() =>
        Assert.ThrowsExactly<EdgeException>(() => Run(OpKind.Expand, null, Iota(3), L(2, 4)));

    [TestMethod]
    public void ReduceSum_AxesInput_KeepDims()
    {
        // np.arange(24).reshape(2, 3, 4).sum(axis=(0, 2), keepdims=True) -> [[[60], [92], [124]]]
        var y = Run(OpKind.ReduceSum, null, Iota(2, 3, 4), L(0, -1));
        AssertValues(new float[] { 60, 92, 124 }, [1, 3, 1], y);
    }

    [TestMethod]
    public void ReduceSum_NoKeepDims_InnerAxisKept()
    {
        // np.arange(24).reshape(2, 3, 4).sum(axis=1) -> [[12, 15, 18, 21], [48, 51, 54, 57]]
        var y = Run(OpKind.ReduceSum, n => n.Set("keepdims", 0L).Set("axes", new long[] { 1 }), Iota(2, 3, 4));
        AssertValues(new float[] { 12, 15, 18, 21, 48, 51, 54, 57 }, [2, 4], y);
    }

    [TestMethod]
    public void ReduceSum_EmptyAxes_ReducesAllOrIsNoop()
    {
        AssertValues(new long[] { 21 }, [1, 1], Run(OpKind.ReduceSum, null, L([1, 2, 3, 4, 5, 6], 2, 3), Tensor.Zeros<long>(0)));
        AssertValues(new long[] { 21 }, [], Run(OpKind.ReduceSum, n => n.Set("keepdims", 0L), L([1, 2, 3, 4, 5, 6], 2, 3)));
        var noop = Run(OpKind.ReduceSum, n => n.Set("noop_with_empty_axes", 1L), L([1, 2, 3, 4, 5, 6], 2, 3), Tensor.Zeros<long>(0));
        AssertValues(new long[] { 1, 2, 3, 4, 5, 6 }, [2, 3], noop);
    }

    [TestMethod]
    public void Pad_Constant_WithNegativeCrop()
    {
        // np.pad(np.arange(6).reshape(2, 3), ((1, 0), (0, 1)), constant_values=9)[:, 1:] i.e. pads [1, -1, 0, 1]
        var y = Run(OpKind.Pad, null, Iota(2, 3), L(1, -1, 0, 1), Tensor.Scalar(9f));
        AssertValues(new float[] { 9, 9, 9, 1, 2, 9, 4, 5, 9 }, [3, 3], y);
    }

    [TestMethod]
    public void Pad_Reflect_LikeNumpy()
    {
        // np.pad(np.arange(4), (5, 2), mode='reflect') -> [1, 2, 3, 2, 1, 0, 1, 2, 3, 2, 1]
        // (a pad wider than dim - 1 mirrors again, without repeating the edge element)
        var y = Run(OpKind.Pad, n => n.Set("mode", "reflect"), Iota(4), L(5, 2));
        AssertValues(new float[] { 1, 2, 3, 2, 1, 0, 1, 2, 3, 2, 1 }, [11], y);
    }

    [TestMethod]
    public void Pad_Edge_WithAxesInput()
    {
        // np.pad(np.arange(6).reshape(2, 3), ((0, 0), (2, 1)), mode='edge') expressed with axes [-1]
        var y = Run(OpKind.Pad, n => n.Set("mode", "edge"), Iota(2, 3), L(2, 1), null, L(-1));
        AssertValues(new float[] { 0, 0, 0, 1, 2, 2, 3, 3, 3, 4, 5, 5 }, [2, 6], y);
    }

    [TestMethod]
    public void Pad_WrongPadsLength_NamesTheCount()
    {
        var e = Assert.ThrowsExactly<EdgeException>(() => Run(OpKind.Pad, null, Iota(2, 3), L(1, 1)));
        StringAssert.Contains(e.Message, "must have 4 entries");
    }

    [TestMethod]
    public void Identity_CopiesAndRepeatVector_Repeats()
    {
        var x = F([1, 2, 3, 4], 2, 2);
        var id = Run(OpKind.Identity, null, x);
        AssertValues(new float[] { 1, 2, 3, 4 }, [2, 2], id);
        Assert.AreNotSame(x, id);
        var y = Run(OpKind.RepeatVector, n => n.Set("n", 3L), x);
        AssertValues(new float[] { 1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4 }, [2, 3, 2], y);
    }
}
