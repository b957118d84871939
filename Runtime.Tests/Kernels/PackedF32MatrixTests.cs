using Edge.Runtime.Kernels;

namespace Edge.Runtime.Tests.Kernels;

/// <summary>
/// <see cref="PackedF32Matrix"/> (the fp32 recurrent product) against the slow reference in
/// <see cref="KernelReference"/>: within the fp32 error bound of a dot product summed in any order, over rows
/// 1..150 (every remainder of every panel and vector width), columns around the two-k unroll, segments and
/// their unions; rows outside the product are left alone. <see cref="RunsAgain_WithIsaSwitchedOff"/> repeats
/// the class in child processes with Vector512, Vector256 and all intrinsics switched off, so each kernel
/// (Vector512, Vector256, Vector128, scalar) runs on an AVX-512 machine.
/// </summary>
[TestClass]
public sealed class PackedF32MatrixTests
{
    private const float Poison = -7.777e33f;
    private const string ExpectedPathVariable = "EDGE_F32_EXPECT_PATH";

    private static readonly int[] ColChoices = [0, 1, 2, 3, 4, 5, 8, 15, 16, 17, 33, 64, 200];

    [TestMethod]
    public void KernelPath_IsTheOneTheParentAskedFor()
    {
        Console.WriteLine($"PackedF32Matrix kernel: {PackedF32Matrix.KernelPath}, panels of {PackedF32Matrix.PanelRows} rows");
        Assert.AreEqual(4 * PackedF32Matrix.VectorWidth, PackedF32Matrix.PanelRows);
        if (Environment.GetEnvironmentVariable(ExpectedPathVariable) is { Length: > 0 } expected)
            Assert.AreEqual(expected, PackedF32Matrix.KernelPath, "the switch did not select the kernel it should");
    }

    [TestMethod]
    public void MultiplyAdd_WithinErrorBound_OverShapeSweep()
    {
        var rng = new Random(2024);
        for (int rows = 1; rows <= 150; rows++) Check(rng, rows, ColChoices[rows % ColChoices.Length], []);
        foreach (int cols in ColChoices) Check(rng, 67, cols, []);
        // The recurrent shapes: LSTM(200) (800 x 200), GRU(200) whole and cut at r, z | n, an odd hidden size.
        Check(rng, 800, 200, []);
        Check(rng, 600, 200, []);
        Check(rng, 600, 200, [400]);
        Check(rng, 4 * 37, 37, [74]);
        Check(rng, 3 * 5, 5, [5, 10]);
    }

    [TestMethod]
    public void Pack_KeepsEveryWeight_AndPacksToTheStatedLength()
    {
        var rng = new Random(5);
        foreach (var (rows, cols, cuts) in new (int, int, int[])[] { (1, 1, []), (70, 3, []), (150, 9, [17, 100]), (600, 7, [400]) })
        {
            var w = KernelReference.RandomFloats(rng, rows * cols);
            var m = PackedF32Matrix.Pack(w, rows, cols, cuts);
            Assert.AreEqual(rows, m.Rows);
            Assert.AreEqual(cols, m.Cols);
            CollectionAssert.AreEqual(new[] { 0 }.Concat(cuts).Append(rows).ToArray(), m.SegmentStarts.ToArray());
            for (int r = 0; r < rows; r++)
                for (int k = 0; k < cols; k++)
                    Assert.AreEqual(w[r * cols + k], m[r, k], $"W[{r}, {k}] of {rows} x {cols}");
            long expected = 0;
            int start = 0;
            foreach (int end in cuts.Append(rows))
            {
                int n = end - start, p = PackedF32Matrix.PanelRows, v = PackedF32Matrix.VectorWidth;
                expected += (n / p * p + (n % p + v - 1) / v * v) * (long)cols;
                start = end;
            }
            Assert.AreEqual(expected, PackedF32Matrix.PackedLength(rows, cols, cuts), $"{rows} x {cols}");
        }
    }

    [TestMethod]
    public void MultiplyAdd_RefusesRangesOffTheSegments_AndWrongLengths()
    {
        var m = PackedF32Matrix.Pack(new float[30 * 4], 30, 4, [20]);
        var x = new float[4];
        m.MultiplyAdd(x, new float[20], 0);
        m.MultiplyAdd(x, new float[10], 20);
        m.MultiplyAdd(x, new float[30], 0);
        Assert.ThrowsExactly<ArgumentException>(() => m.MultiplyAdd(x, new float[10], 0));
        Assert.ThrowsExactly<ArgumentException>(() => m.MultiplyAdd(x, new float[10], 10));
        Assert.ThrowsExactly<ArgumentException>(() => m.MultiplyAdd(x, new float[11], 20));
        Assert.ThrowsExactly<ArgumentException>(() => m.MultiplyAdd(new float[5], new float[30], 0));
        Assert.ThrowsExactly<ArgumentException>(() => PackedF32Matrix.Pack(new float[30 * 4], 30, 4, [20, 20]));
        Assert.ThrowsExactly<ArgumentException>(() => PackedF32Matrix.Pack(new float[30 * 4], 30, 4, [30]));
        Assert.ThrowsExactly<ArgumentException>(() => PackedF32Matrix.Pack(new float[10], 30, 4));
    }

    [TestMethod]
    public void MultiplyAdd_AllocatesNothing()
    {
        var rng = new Random(9);
        var m = PackedF32Matrix.Pack(KernelReference.RandomFloats(rng, 600 * 200), 600, 200, [400]);
        var x = KernelReference.RandomFloats(rng, 200);
        var y = new float[600];
        // Some round of warm calls must allocate nothing (a tier-up of the JIT may allocate during one round).
        Sessions.SessionRunnerTests.AssertNoAllocation(() =>
        {
            m.MultiplyAdd(x, y.AsSpan(0, 400), 0);
            m.MultiplyAdd(x, y.AsSpan(400), 400);
        }, "PackedF32Matrix.MultiplyAdd");
    }

    public static IEnumerable<object[]> Switches =>
    [
        ["DOTNET_EnableAVX512F=0;DOTNET_EnableAVX512=0", "Vector256"],
        ["DOTNET_EnableAVX2=0", "Vector128"],
        ["DOTNET_EnableHWIntrinsic=0", "scalar"],
    ];

    [TestMethod]
    [DynamicData(nameof(Switches))]
    public void RunsAgain_WithIsaSwitchedOff(string environment, string expectedPath)
    {
        if (Environment.GetEnvironmentVariable(ExpectedPathVariable) is not null)
            Assert.Inconclusive("already a child process");
        if (!System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated && expectedPath == "Vector256")
            Assert.Inconclusive("Vector512 is not accelerated here: the parent already ran the narrower kernel");
        if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported && expectedPath == "Vector128")
            Assert.Inconclusive("not an AVX2 machine: the parent already ran the narrower kernel");
        var log = ChildTestRun.Run($"FullyQualifiedName~{typeof(PackedF32MatrixTests).FullName}&FullyQualifiedName!~RunsAgain", environment,
            new Dictionary<string, string> { [ExpectedPathVariable] = expectedPath }, TimeSpan.FromMinutes(3));
        StringAssert.Contains(log, "succeeded");
    }

    /// <summary>Every segment alone and the whole matrix, each into a poisoned-around y pre-filled with values.</summary>
    private static void Check(Random rng, int rows, int cols, int[] cuts)
    {
        var w = KernelReference.RandomFloats(rng, rows * cols);
        var x = KernelReference.RandomFloats(rng, cols);
        var m = PackedF32Matrix.Pack(w, rows, cols, cuts);
        var bounds = new[] { 0 }.Concat(cuts).Append(rows).ToArray();
        var ranges = Enumerable.Range(0, bounds.Length - 1).Select(i => (bounds[i], bounds[i + 1])).Append((0, rows)).Distinct();
        foreach (var (from, to) in ranges)
        {
            int n = to - from;
            var y0 = KernelReference.RandomFloats(rng, n);
            var buffer = Enumerable.Repeat(Poison, n + 8).ToArray();
            y0.CopyTo(buffer, 3);
            m.MultiplyAdd(x, buffer.AsSpan(3, n), from);
            for (int i = 0; i < 3; i++) Assert.AreEqual(Poison, buffer[i], $"{rows} x {cols} [{from}, {to}): wrote before y");
            for (int i = 3 + n; i < buffer.Length; i++) Assert.AreEqual(Poison, buffer[i], $"{rows} x {cols} [{from}, {to}): wrote past y");
            for (int j = 0; j < n; j++)
            {
                var (exact, magnitude) = KernelReference.DotFp32(w.AsSpan((from + j) * cols, cols), x, 0f, y0[j]);
                double error = Math.Abs(buffer[3 + j] - exact);
                Assert.IsLessThanOrEqualTo(KernelReference.Fp32Bound(cols, magnitude), error,
                    $"{PackedF32Matrix.KernelPath} {rows} x {cols} cut at [{string.Join(", ", cuts)}], rows [{from}, {to}): row {from + j} is {buffer[3 + j]}, exact {exact}");
            }
        }
    }
}
