using Edge.Runtime.Ir;
using Edge.Runtime.Layers;
using Edge.Runtime.Tensors;
using static Edge.Runtime.Tests.Layers.OpsHarness;
using static Edge.Runtime.Tests.Assertions;

namespace Edge.Runtime.Tests.Layers;

/// <summary>
/// Layers against goldens computed by PyTorch 1.13 / numpy (tools/make_layer_fixtures.py). Each case
/// runs twice: weights as graph constants (the prepared path) and weights fed at run time.
/// </summary>
[TestClass]
public sealed class LayerGoldenTests
{
    private static void Check(string testCase, OpKind kind, Action<Node>? configure, int firstConstant = 1)
    {
        var inputs = FixtureInputs(testCase);
        var expected = Fixture(testCase, "out");
        AssertClose(expected, RunAll(kind, configure, inputs, firstConstant: firstConstant)[0], Close, $"{testCase} (constant weights)");
        AssertClose(expected, RunAll(kind, configure, inputs)[0], Close, $"{testCase} (runtime weights)");
    }

    [TestMethod]
    public void Conv1D_SameUpper_EvenKernel4_MatchesTorchPaddingSame() =>
        Check("conv1d_same_k4", OpKind.Conv1D, n => n.Set("auto_pad", "SAME_UPPER"));

    [TestMethod]
    public void Conv1D_SameUpper_Kernel3Dilation2_MatchesTorchPaddingSame() =>
        Check("conv1d_same_k3_d2", OpKind.Conv1D, n => n.Set("auto_pad", "SAME_UPPER").Set("dilations", new long[] { 2 }));

    [TestMethod]
    public void Conv1D_ExplicitPadsEquivalentToSame_EvenKernel4_OneLeftTwoRight() =>
        Check("conv1d_same_k4", OpKind.Conv1D, n => n.Set("pads", new long[] { 1, 2 }));

    [TestMethod]
    public void Conv1D_ValidStride2_MatchesTorch() =>
        Check("conv1d_valid_s2", OpKind.Conv1D, n => n.Set("strides", new long[] { 2 }).Set("auto_pad", "VALID"));

    [TestMethod]
    public void Conv1D_Groups2Pads1NoBias_MatchesTorch() =>
        Check("conv1d_groups2_pad1", OpKind.Conv1D, n => n.Set("group", 2L).Set("pads", new long[] { 1, 1 }));

    [TestMethod]
    public void Conv1D_Causal_Kernel3Dilation2_MatchesLeftPaddedTorch() =>
        Check("conv1d_causal_k3_d2", OpKind.Conv1D, n => n.Set("auto_pad", "CAUSAL").Set("dilations", new long[] { 2 }));

    [TestMethod]
    public void LocallyConnected1D_SeedLocalLinear_Padding2Stride3_MatchesTorch() =>
        Check("locallinear_p2_s3", OpKind.LocallyConnected1D, n => n.Set("kernel_size", 5L).Set("stride", 3L).Set("pads", new long[] { 2, 2 }));

    [TestMethod]
    public void LocallyConnected1D_KerasThreeChannels_MatchesNumpyReference() =>
        Check("lc1d_keras_c3", OpKind.LocallyConnected1D, n => n.Set("kernel_size", 3L).Set("stride", 2L));

    [TestMethod]
    public void Bilinear_Batch16_D32_MatchesTorch() => Check("bilinear_b16_d32", OpKind.Bilinear, null, firstConstant: 2);

    [TestMethod]
    public void Bilinear_OneContextManyCandidates_MatchesTorch() => Check("bilinear_rank_nc1", OpKind.Bilinear, null, firstConstant: 2);

    [TestMethod]
    public void Bilinear_Rank_PublicEntryPoint_MatchesTorch()
    {
        var inputs = FixtureInputs("bilinear_rank_nc1");
        var expected = Fixture("bilinear_rank_nc1", "out");
        var scores = new float[inputs[1]!.Dim(0)];
        Bilinear.Rank(inputs[0]!.ReadOnlySpan<float>(), inputs[1]!, inputs[2]!, scores, inputs[3]!.ReadOnlySpan<float>()[0]);
        AssertClose(expected, Tensor.FromArray(scores, scores.Length, 1), Close, "Bilinear.Rank");
    }

    [TestMethod]
    public void Bilinear_Score_PublicEntryPoint_MatchesTorch()
    {
        var inputs = FixtureInputs("bilinear_b16_d32");
        var scores = new float[16];
        Bilinear.Score(inputs[0]!, inputs[1]!, inputs[2]!, scores);
        AssertClose(Fixture("bilinear_b16_d32", "out"), Tensor.FromArray(scores, 16, 1), Close, "Bilinear.Score");
    }

    [TestMethod]
    public void Dense_ThreeDimensionalInput_MatchesTorchLinear() => Check("dense_3x4x7_to_5", OpKind.Dense, null);

    [TestMethod]
    public void Embedding_MatchesTorch() => Check("embedding_v10_d6", OpKind.Embedding, null);

    [TestMethod]
    public void Softmax_Axis1_MatchesTorch() => Check("softmax_axis1", OpKind.Softmax, n => n.Set("axis", 1L));

    [TestMethod]
    public void LogSoftmax_LastAxis_MatchesTorch() => Check("logsoftmax_last", OpKind.LogSoftmax, null);

    [TestMethod]
    public void Softmax_Legacy2D_FlattensFromAxis() => Check("softmax_legacy2d_axis1", OpKind.Softmax, n => n.Set("legacy_2d", 1L));

    [TestMethod]
    public void Gemm_TransposesAlphaBetaVectorC_MatchesTorch() =>
        Check("gemm_transA_transB_alpha_beta_cvec", OpKind.Gemm,
            n => n.Set("transA", 1L).Set("transB", 1L).Set("alpha", 0.5f).Set("beta", 2f));

    [TestMethod]
    public void Gemm_ColumnC_MatchesTorch() => Check("gemm_plain_ccol", OpKind.Gemm, null);

    [TestMethod]
    [DataRow("matmul_batch_broadcast")]
    [DataRow("matmul_1d_by_3d")]
    [DataRow("matmul_3d_by_1d")]
    public void MatMul_MatchesTorchMatmul(string testCase) => Check(testCase, OpKind.MatMul, null);
}
