using Edge.Quantizer.Evaluation;
using Edge.Runtime.Tensors;
using static Edge.Runtime.Tests.Quantization.QuantizationTestData;

namespace Edge.Runtime.Tests.Quantization;

/// <summary>The report's measures against values worked out by hand, and PyTorch's own loss.</summary>
[TestClass]
public sealed class MetricsTests
{
    [TestMethod]
    public void Rmse_MaxAbs_Cosine_HandValues()
    {
        float[] a = [1, 2, 3, 4], b = [1, 2, 3, 6];
        // differences 0, 0, 0, -2: RMSE sqrt(4 / 4) = 1; a.b = 1 + 4 + 9 + 24 = 38, |a|^2 = 30, |b|^2 = 50
        Assert.AreEqual(1.0, Metrics.Rmse(a, b), 1e-12);
        Assert.AreEqual(2.0, Metrics.MaxAbsError(a, b), 1e-12);
        Assert.AreEqual(38 / Math.Sqrt(1500), Metrics.Cosine(a, b), 1e-12);
        Assert.AreEqual(1.0, Metrics.Cosine([0f, 0f], [0f, 0f]));
        Assert.AreEqual(-1.0, Metrics.Cosine([1f, -2f], [-3f, 6f]), 1e-12);
    }

    [TestMethod]
    public void Pearson_HandValue()
    {
        // x - 3 = -2 -1 0 1 2, y - 4 = -2 0 1 0 1: Sxy = 6, Sxx = 10, Syy = 6
        Assert.AreEqual(6 / Math.Sqrt(60), Metrics.Pearson([1, 2, 3, 4, 5], [2, 4, 5, 4, 5]), 1e-12);
        Assert.IsTrue(double.IsNaN(Metrics.Pearson([1, 2, 3], [7, 7, 7])), "a constant side has no correlation");
    }

    [TestMethod]
    public void Spearman_TiesShareTheirMeanRank()
    {
        // ranks of y = 2 4 5 4 5: 1, 2.5, 4.5, 2.5, 4.5 (scipy.stats.spearmanr: 0.7378647873726218)
        CollectionAssert.AreEqual(new[] { 1, 2.5, 4.5, 2.5, 4.5 }, Metrics.Ranks([2, 4, 5, 4, 5]));
        // ranks - 3: x -2 -1 0 1 2, y -2 -0.5 1.5 -0.5 1.5: Sxy = 7, Sxx = 10, Syy = 9
        Assert.AreEqual(7 / Math.Sqrt(90), Metrics.Spearman([1, 2, 3, 4, 5], [2, 4, 5, 4, 5]), 1e-12);
        Assert.AreEqual(0.7378647873726218, Metrics.Spearman([1, 2, 3, 4, 5], [2, 4, 5, 4, 5]), 1e-12);
        Assert.AreEqual(-1.0, Metrics.Spearman([1, 2, 3, 4], [40, 30, 20, 10]), 1e-12);
    }

    [TestMethod]
    public void CrossEntropy_HandValue()
    {
        // position 0: logits (0, ln 3), target 1: -log(3 / 4); position 1: (ln 3, 0), target 1: -log(1 / 4)
        float[] logits = [0, (float)Math.Log(3), (float)Math.Log(3), 0];
        double expected = (-Math.Log(0.75) - Math.Log(0.25)) / 2;
        Assert.AreEqual(expected, Metrics.CrossEntropy(logits, 2, [1L, 1L]), 1e-6);
        var e = Assert.ThrowsExactly<EdgeException>(() => Metrics.CrossEntropy(logits, 2, [1L, 2L]));
        StringAssert.Contains(e.Message, "target 2 at position 1");
    }

    [TestMethod]
    public void CrossEntropy_OverNCD_EqualsPyTorchsLossOnTheCharLstmFixture()
    {
        // loss.npy = nn.CrossEntropyLoss()(logits.transpose(1, 2), targets), computed by PyTorch when the fixture was made
        var logits = Npy.Read(Fixture("char_lstm", "logits.npy"));
        var targets = Npy.Read(Fixture("char_lstm", "targets.npy"));
        float loss = Npy.Read(Fixture("char_lstm", "loss.npy")).ReadOnlySpan<float>()[0];
        Assert.AreEqual(3, logits.Rank);
        double ce = Metrics.CrossEntropy(logits.ReadOnlySpan<float>(), logits.Dim(2), targets.ToInt64Array());
        Assert.AreEqual(loss, ce, 1e-5, "cross-entropy over (N, C, D)");
    }

    [TestMethod]
    public void ArgMaxAndAgreement()
    {
        float[] logits = [0.1f, 0.9f, 0.0f, 0.5f, 0.2f, 0.3f];
        CollectionAssert.AreEqual(new long[] { 1, 0 }, Metrics.ArgMax(logits, 3));
        Assert.AreEqual(0.5, Metrics.Agreement([1, 0], [1, 2]));
    }
}
