using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;
using static Edge.Runtime.Tests.Layers.OpsHarness;

namespace Edge.Runtime.Tests.Layers;

/// <summary>
/// ReduceMax and PRelu at their edges (the fixtures of tools/make_fixtures.py and make_pt_fixtures.py check the
/// numerics against torch and ONNX Runtime): NaN, empty groups, integer types, axes forms, broadcast errors.
/// </summary>
[TestClass]
public sealed class ReduceMaxPReluTests
{
    [TestMethod]
    public void ReduceMax_OverEachAxis_KeepdimsAndNot()
    {
        // x (2, 3): [[1, 5, -2], [4, -1, 4]]
        var x = F([1, 5, -2, 4, -1, 4], 2, 3);
        AssertValues(new float[] { 4, 5, 4 }, [3], Run(OpKind.ReduceMax, n => n.Set("keepdims", 0L), x, L([0], 1)));
        AssertValues(new float[] { 5, 4 }, [2, 1], Run(OpKind.ReduceMax, null, x, L([-1], 1)));
        AssertValues(new float[] { 5 }, [1, 1], Run(OpKind.ReduceMax, n => n.Set("axes", new long[] { 0, 1 }), x));
        AssertValues(new float[] { 5 }, [], Run(OpKind.ReduceMax, n => n.Set("keepdims", 0L), x));
        AssertValues(new float[] { 1, 5, -2, 4, -1, 4 }, [2, 3], Run(OpKind.ReduceMax, n => n.Set("noop_with_empty_axes", 1L), x, L([], 0)));
        AssertValues(new long[] { 5, 4 }, [2], Run(OpKind.ReduceMax, n => n.Set("keepdims", 0L), Tensor.FromArray(new long[] { 1, 5, -2, 4, -1, 4 }, 2, 3), L([1], 1)));
    }

    [TestMethod]
    public void ReduceMax_NaNPropagates_AndAnEmptyGroupIsMinusInfinity()
    {
        // torch.amax / max(dim).values give NaN for a group holding NaN, whichever axis is reduced.
        var x = F([1, float.NaN, 3, 4], 2, 2);
        var rows = Run(OpKind.ReduceMax, n => n.Set("keepdims", 0L), x, L([1], 1)).Contiguous().ReadOnlySpan<float>().ToArray();
        Assert.IsTrue(float.IsNaN(rows[0]) && rows[1] == 4, string.Join(", ", rows));
        var cols = Run(OpKind.ReduceMax, n => n.Set("keepdims", 0L), x, L([0], 1)).Contiguous().ReadOnlySpan<float>().ToArray();
        Assert.IsTrue(cols[0] == 3 && float.IsNaN(cols[1]), string.Join(", ", cols));
        // ONNX: reducing an empty set gives the lowest value of the type.
        AssertValues(new float[] { float.NegativeInfinity, float.NegativeInfinity }, [2], Run(OpKind.ReduceMax, n => n.Set("keepdims", 0L), F([], 2, 0), L([1], 1)));
    }

    [TestMethod]
    public void PRelu_OneSlope_PerChannelSlope_AndAShapeThatDoesNotBroadcast()
    {
        var x = F([-2, 3, -4, 0, -1, 5], 2, 3);
        AssertValues(new float[] { -0.5f, 3, -1, 0, -0.25f, 5 }, [2, 3], Run(OpKind.PRelu, null, x, F([0.25f], 1)));
        AssertValues(new float[] { -0.2f, 3, 4, 0, -0.5f, 5 }, [2, 3], Run(OpKind.PRelu, null, x, F([0.1f, 0.5f, -1f], 3)));
        // (C, 1) on (N, C, L): one slope per channel of axis 1, as torch's nn.PReLU(C).
        var x3 = F([-1, -1, -1, -1, -1, -1, -1, -1], 2, 2, 2);
        AssertValues(new float[] { -0.1f, -0.1f, -0.2f, -0.2f, -0.1f, -0.1f, -0.2f, -0.2f }, [2, 2, 2], Run(OpKind.PRelu, null, x3, F([0.1f, 0.2f], 2, 1)));
        var e = Assert.ThrowsExactly<EdgeException>(() => Run(OpKind.PRelu, null, x, F([0.1f, 0.2f], 2)));
        StringAssert.Contains(e.Message, "slope (2,) does not broadcast to X (2, 3)");
        // slope may not grow X (unidirectional broadcasting).
        Assert.ThrowsExactly<EdgeException>(() => Run(OpKind.PRelu, null, F([1, -1], 1, 2), F([0.1f, 0.2f, 0.3f, 0.4f], 2, 2)));
    }
}
