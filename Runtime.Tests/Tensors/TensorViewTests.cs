using Edge.Runtime.Tensors;

namespace Edge.Runtime.Tests.Tensors;

/// <summary>Contiguity is fixed when a tensor (or view) is made; typed spans check the element type and the layout.</summary>
[TestClass]
public sealed class TensorViewTests
{
    [TestMethod]
    public void PermutedView_IsStrided_AndItsSpanIsRefused_UntilMadeContiguous()
    {
        var t = Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        Assert.IsTrue(t.IsContiguous);
        var p = t.Permute(1, 0); // (3, 2) over the same buffer
        Assert.IsFalse(p.IsContiguous);
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => p.Span<float>());
        StringAssert.Contains(e.Message, "strided view");
        var c = p.Contiguous();
        Assert.IsTrue(c.IsContiguous);
        CollectionAssert.AreEqual(new float[] { 1, 4, 2, 5, 3, 6 }, c.ReadOnlySpan<float>().ToArray());
    }

    [TestMethod]
    public void PermuteOfSizeOneAxes_StaysContiguous_AndViewsTheSameValues()
    {
        var t = Tensor.FromArray(new float[] { 1, 2, 3 }, 1, 3, 1);
        var p = t.Permute(2, 0, 1); // (1, 1, 3): only size-1 axes move
        Assert.IsTrue(p.IsContiguous);
        CollectionAssert.AreEqual(new float[] { 1, 2, 3 }, p.Span<float>().ToArray());
        p.Span<float>()[1] = 20;
        Assert.AreEqual(20f, t.ReadOnlySpan<float>()[1], "a view shares the buffer");
    }

    [TestMethod]
    public void SpanOfAnotherElementType_IsRefused_NamingBothTypes()
    {
        var t = Tensor.FromArray(new float[] { 1, 2 }, 2);
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => t.Span<int>());
        StringAssert.Contains(e.Message, "float32");
        StringAssert.Contains(e.Message, "int32");
        Assert.AreEqual(2, Tensor.FromArray(new sbyte[] { 1, -1 }, 2).Span<sbyte>().Length);
    }
}
