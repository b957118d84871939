using Edge.Runtime.Tensors;

namespace Edge.Runtime.Tests;

/// <summary>The shared comparison fails where it must: a helper that always passes would hide every regression.</summary>
[TestClass]
public sealed class AssertionsTests
{
    private static readonly Tolerance Sum = new(1e-4, 1e-4);

    [TestMethod]
    public void WithinAtolPlusRtol_Passes_JustBeyond_FailsNamingTheIndex()
    {
        var expected = Tensor.FromArray(new float[] { 0f, 10f, -3f, 1f, 2f, 3f }, 2, 3);
        // 10 allows 1e-4 + 1e-3 = 1.1e-3.
        Assertions.AssertClose(expected, Tensor.FromArray(new float[] { 1e-4f * 0.9f, 10.001f, -3f, 1f, 2f, 3f }, 2, 3), Sum, "within");
        string? problem = Assertions.Compare(expected, Tensor.FromArray(new float[] { 0f, 10.0012f, -3f, 1f, 2f, 3.5f }, 2, 3), Sum, "beyond");
        Assert.IsNotNull(problem);
        StringAssert.Contains(problem, "2 of 6 elements");
        StringAssert.Contains(problem, "first at [0, 1]");
        StringAssert.Contains(problem, "worst at [1, 2]");
    }

    [TestMethod]
    public void ShapeOrTypeMismatch_Fails()
    {
        var a = Tensor.FromArray(new float[] { 1, 2, 3, 4 }, 2, 2);
        StringAssert.Contains(Assertions.Compare(a, Tensor.FromArray(new float[] { 1, 2, 3, 4 }, 4), Sum, "x"), "shape");
        StringAssert.Contains(Assertions.Compare(Tensor.FromArray(new long[] { 1, 2 }, 2), Tensor.FromArray(new float[] { 1, 2 }, 2), Sum, "x"), "element type");
    }

    [TestMethod]
    public void NaN_MatchesOnlyNaN_InfinityOnlyItself()
    {
        var nan = Tensor.FromArray(new[] { float.NaN, float.PositiveInfinity }, 2);
        Assertions.AssertClose(nan, Tensor.FromArray(new[] { float.NaN, float.PositiveInfinity }, 2), Tolerance.Exact, "same");
        Assert.IsNotNull(Assertions.Compare(nan, Tensor.FromArray(new[] { 0f, float.PositiveInfinity }, 2), Sum, "NaN expected"));
        Assert.IsNotNull(Assertions.Compare(Tensor.FromArray(new[] { 0f }, 1), Tensor.FromArray(new[] { float.NaN }, 1), Sum, "NaN actual"));
        Assert.IsNotNull(Assertions.Compare(nan, Tensor.FromArray(new[] { float.NaN, float.NegativeInfinity }, 2), Sum, "-inf"));
    }

    [TestMethod]
    public void Scaled_IsAbsoluteBelowOne_RelativeAbove()
    {
        var t = Tolerance.Scaled(1e-3);
        Assert.AreEqual(1e-3, t.For(0.5));
        Assert.AreEqual(1e-3 * 200, t.For(-200), 1e-12);
        Assertions.AssertClose(new[] { 200f, 0.5f }, new[] { 200.19f, 0.5009f }, t, "within");
        Assert.ThrowsExactly<AssertFailedException>(() => Assertions.AssertClose(new[] { 200f, 0.5f }, new[] { 200.21f, 0.5f }, t, "beyond"));
        // The sum form is looser than the larger-of form by exactly the smaller term.
        Assert.AreEqual(1e-3 + 0.2, new Tolerance(1e-3, 1e-3).For(200), 1e-12);
    }

    [TestMethod]
    public void FlatGolden_AgainstTensor_ChecksCountAndValues()
    {
        var actual = Tensor.FromArray(new float[] { 1, 2, 3, 4 }, 2, 2);
        Assertions.AssertClose(new float[] { 1, 2, 3, 4 }, actual, Sum, "same");
        var e = Assert.ThrowsExactly<AssertFailedException>(() => Assertions.AssertClose(new float[] { 1, 2, 3, 5 }, actual, Sum, "last"));
        StringAssert.Contains(e.Message, "[1, 1]");
        Assert.ThrowsExactly<AssertFailedException>(() => Assertions.AssertClose(new float[] { 1, 2, 3 }, actual, Sum, "count"));
    }
}
