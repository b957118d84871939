using Edge.Runtime.Kernels;

namespace Edge.Runtime.Tests.Kernels;

/// <summary>
/// Every path this process supports against the scalar kernel (bit for bit for int32 accumulators, dequantized
/// outputs and quantized activations) and the scalar kernel against the slow references in
/// <see cref="KernelReference"/>. <see cref="KernelChildProcessTests"/> runs this class again with ISAs switched off.
/// </summary>
[TestClass]
public sealed class KernelParityTests
{
    private const int PoisonInt = unchecked((int)0xDEADBEEF);
    private const float PoisonFloat = -7.777e33f;

    public static IEnumerable<object[]> Paths => IsaSelector.Supported.Select(i => new object[] { i });

    /// <summary>K: every value 1..70 (every remainder of every unroll), then a spread past 300.</summary>
    private static IEnumerable<int> KSweep =>
        Enumerable.Range(1, 70).Concat([71, 79, 95, 96, 97, 127, 128, 129, 191, 200, 208, 255, 256, 257, 300, 301, 333]);

    private static readonly int[] RowChoices = [1, 3, 7, 8, 9, 13, 16, 17, 31, 32, 33, 47, 64];

    /// <summary>Writes the supported paths for the parent of a child-process run (see KernelChildProcessTests).</summary>
    [TestMethod]
    public void ReportSupportedPaths()
    {
        var file = Environment.GetEnvironmentVariable("EDGE_KERNEL_REPORT");
        Assert.Contains(Isa.Scalar, IsaSelector.Supported);
        if (!string.IsNullOrEmpty(file)) File.WriteAllText(file, IsaSelector.SupportedList);
    }

    [TestMethod]
    [DynamicData(nameof(Paths))]
    public void Int8_EqualsScalarAndReference_OverShapeSweep(Isa isa)
    {
        var kernel = Gemv.Create(isa);
        var scalar = Gemv.Create(Isa.Scalar);
        var rng = new Random(1234);
        int shapes = 0;
        foreach (int k in KSweep)
        {
            for (int pick = 0; pick < 2; pick++)
            {
                int m = RowChoices[(k + pick * 4) % RowChoices.Length];
                int batch = 1 + (k + pick * 3) % 8;
                CheckInt8(kernel, scalar, rng, m, k, batch);
                shapes++;
            }
        }
        // Every batch 1..8 on shapes that straddle the tile and the 16-k padding.
        for (int batch = 1; batch <= 8; batch++)
        {
            CheckInt8(kernel, scalar, rng, 19, 37, batch);
            CheckInt8(kernel, scalar, rng, 8, 16, batch);
        }
        // Larger: more than one dequantization chunk of rows, the LSTM(200) recurrent shape, a 1024 square.
        CheckInt8(kernel, scalar, rng, 803, 208, 3);
        CheckInt8(kernel, scalar, rng, 1024, 1024, 1);
        Assert.IsGreaterThan(150, shapes);
    }

    [TestMethod]
    [DynamicData(nameof(Paths))]
    public void Int8_ExtremeValues_DoNotSaturate(Isa isa)
    {
        // All ±127: every vpmaddubsw pair would be 2·127·127 = 32258 with the sign trick, 64770 (saturated) with
        // a +128 offset, and wrong with raw signed activations. The exact sum is known in closed form.
        var kernel = Gemv.Create(isa);
        foreach (int k in new[] { 1, 2, 3, 4, 15, 16, 17, 64, 300, 1024, 4099 })
        {
            const int m = 35; // four full row blocks (the 4-block small-batch kernels) and a partial one
            foreach (var (wv, xv) in new[] { ((sbyte)127, (sbyte)127), ((sbyte)-127, (sbyte)-127), ((sbyte)127, (sbyte)-127), ((sbyte)-127, (sbyte)127) })
            {
                var w = Enumerable.Repeat(wv, m * k).ToArray();
                var x = Enumerable.Repeat(xv, k).ToArray();
                var packed = PackedInt8Matrix.Pack(w, Enumerable.Repeat(1f, m).ToArray(), m, k);
                var y = new int[m];
                kernel.MultiplyInt8(packed, x, k, 1, y, m);
                int expected = k * wv * xv;
                for (int r = 0; r < m; r++)
                    Assert.AreEqual(expected, y[r], $"{isa} {m}x1x{k} w={wv} x={xv} row {r}");
            }
            // Alternating signs: products all +16129, or cancelling pairs.
            var wa = new sbyte[m * k];
            var xa = new sbyte[k];
            for (int i = 0; i < wa.Length; i++) wa[i] = (sbyte)((i % k) % 2 == 0 ? 127 : -127);
            for (int i = 0; i < k; i++) xa[i] = (sbyte)(i % 2 == 0 ? -127 : 127);
            var ya = new int[m];
            kernel.MultiplyInt8(PackedInt8Matrix.Pack(wa, new float[m], m, k), xa, k, 1, ya, m);
            for (int r = 0; r < m; r++) Assert.AreEqual(-k * 16129, ya[r], $"{isa} {m}x1x{k} alternating row {r}");
        }
    }

    private static void CheckInt8(Gemv kernel, Gemv scalar, Random rng, int m, int k, int batch)
    {
        string shape = $"{kernel.Isa} {m}x{batch}x{k}";
        var w = KernelReference.RandomInt8(rng, m * k);
        var packed = PackedInt8Matrix.Pack(w, new float[m], m, k);
        int xOffset = 3, xStride = k + 5;      // odd offset and stride into the input span
        int yOffset = 1, yStride = m + 3;
        var xBuf = KernelReference.RandomInt8(rng, xOffset + (batch - 1) * xStride + k + 2);
        var x = xBuf.AsSpan(xOffset);
        var expected = KernelReference.MultiplyInt8(w, m, k, x, xStride, batch);

        var ys = NewPoisoned(yOffset + (batch - 1) * yStride + m + 4, PoisonInt);
        var yk = NewPoisoned(ys.Length, PoisonInt);
        scalar.MultiplyInt8(packed, x, xStride, batch, ys.AsSpan(yOffset), yStride);
        kernel.MultiplyInt8(packed, x, xStride, batch, yk.AsSpan(yOffset), yStride);
        for (int i = 0; i < ys.Length; i++)
        {
            int rel = i - yOffset;
            int b = rel >= 0 ? rel / yStride : -1, r = rel >= 0 ? rel % yStride : -1;
            bool written = b >= 0 && b < batch && r < m;
            if (written)
            {
                Assert.AreEqual(expected[b * m + r], (long)ys[i], $"scalar vs reference, {shape}, batch {b} row {r}");
                Assert.AreEqual(ys[i], yk[i], $"{shape}, batch {b} row {r}: int32 accumulator differs from scalar");
            }
            else
            {
                Assert.AreEqual(PoisonInt, ys[i], $"scalar {m}x{batch}x{k} wrote outside its output at index {i}");
                Assert.AreEqual(PoisonInt, yk[i], $"{shape} wrote outside its output at index {i}");
            }
        }
    }

    private static int[] NewPoisoned(int n, int value) => Enumerable.Repeat(value, n).ToArray();

    [TestMethod]
    [DynamicData(nameof(Paths))]
    public void Int8Dequantize_EqualsScalarBitForBit_AndReference(Isa isa)
    {
        var kernel = Gemv.Create(isa);
        var scalar = Gemv.Create(Isa.Scalar);
        var rng = new Random(99);
        // K <= 16 takes the fp32-exact small-K path (Gemv.SmallK.cs) on the vector paths: every row count
        // tail after 16, 8 and 4 lanes, batches above 8.
        foreach (var (m, k, batch) in new[] { (1, 1, 1), (7, 5, 2), (9, 33, 8), (17, 64, 3), (200, 8, 1), (300, 200, 5), (800, 208, 1), (31, 301, 9),
                     (803, 6, 50), (35, 16, 9), (61, 13, 3), (29, 17, 2), (16, 16, 1), (4, 2, 12), (803, 6, 1), (100, 13, 1), (64, 16, 1) })
        {
            foreach (bool accumulate in new[] { false, true })
                foreach (bool withBias in new[] { false, true })
                {
                    string shape = $"{isa} {m}x{batch}x{k} accumulate={accumulate} bias={withBias}";
                    var wf = KernelReference.RandomFloats(rng, m * k);
                    var packed = PackedInt8Matrix.Quantize(wf, m, k);
                    int xStride = k + 1;
                    var xq = KernelReference.RandomInt8(rng, (batch - 1) * xStride + k);
                    var xScales = KernelReference.RandomFloats(rng, batch, 0.05f).Select(Math.Abs).ToArray();
                    var bias = withBias ? KernelReference.RandomFloats(rng, m) : [];
                    int yStride = m + 2;
                    var y0 = KernelReference.RandomFloats(rng, (batch - 1) * yStride + m + 3);
                    for (int b = 0; b < batch; b++) for (int i = m; i < yStride && b * yStride + i < y0.Length; i++) y0[b * yStride + i] = PoisonFloat;
                    y0[^1] = y0[^2] = y0[^3] = PoisonFloat;
                    var ys = (float[])y0.Clone();
                    var yk = (float[])y0.Clone();
                    scalar.MultiplyInt8Dequantize(packed, xq, xStride, xScales, batch, bias, ys, yStride, accumulate);
                    kernel.MultiplyInt8Dequantize(packed, xq, xStride, xScales, batch, bias, yk, yStride, accumulate);

                    var qw = new sbyte[m * k];
                    for (int r = 0; r < m; r++) for (int c = 0; c < k; c++) qw[r * k + c] = packed[r, c];
                    var acc = KernelReference.MultiplyInt8(qw, m, k, xq, xStride, batch);
                    for (int i = 0; i < ys.Length; i++)
                    {
                        int b = i / yStride, r = i % yStride;
                        if (b >= batch || r >= m)
                        {
                            Assert.AreEqual(PoisonFloat, ys[i], $"scalar {shape} wrote outside its output at {i}");
                            Assert.AreEqual(PoisonFloat, yk[i], $"{shape} wrote outside its output at {i}");
                            continue;
                        }
                        Assert.AreEqual(BitConverter.SingleToInt32Bits(ys[i]), BitConverter.SingleToInt32Bits(yk[i]), $"{shape}, batch {b} row {r}: {yk[i]} vs scalar {ys[i]}");
                        double exact = acc[b * m + r] * (double)packed.RowScales[r] * xScales[b] + (withBias ? bias[r] : 0) + (accumulate ? y0[i] : 0);
                        double tol = 6 * Math.Pow(2, -24) * (Math.Abs(acc[b * m + r] * (double)packed.RowScales[r] * xScales[b]) + (withBias ? Math.Abs(bias[r]) : 0) + (accumulate ? Math.Abs(y0[i]) : 0)) + 1e-30;
                        Assert.IsLessThanOrEqualTo(tol, Math.Abs(ys[i] - exact), $"scalar {shape}, batch {b} row {r}: {ys[i]} vs exact {exact}");
                    }
                }
        }
    }

    [TestMethod]
    [DynamicData(nameof(Paths))]
    public void LstmStepWithInput_EqualsTheTwoProductsOnScalar_BitForBit(Isa isa)
    {
        // The lone-step overload (W x inside R's pass on AVX-512 VNNI) against the scalar path's input product
        // followed by its step: the projection, the accumulators, c and h, bit for bit. 4H rows cover whole groups,
        // tail blocks and partial blocks; K covers the small-K case, one k-octet, odd octets and K past 16.
        var kernel = Gemv.Create(isa);
        var scalar = Gemv.Create(Isa.Scalar);
        var rng = new Random(4242);
        foreach (int hidden in new[] { 1, 3, 13, 16, 50, 200 })
            foreach (int k in new[] { 1, 6, 8, 16, 17, 40 })
            {
                string shape = $"{isa} H={hidden} K={k}";
                int g = 4 * hidden;
                var r = PackedInt8Matrix.Quantize(KernelReference.RandomFloats(rng, g * hidden, 0.3f), g, hidden);
                var w = PackedInt8Matrix.Quantize(KernelReference.RandomFloats(rng, g * k, 0.5f), g, k);
                var bias = KernelReference.RandomFloats(rng, g, 0.2f);
                var hq = KernelReference.RandomInt8(rng, hidden);
                var xq = KernelReference.RandomInt8(rng, k);
                float hs = 1f / 127, xs = 0.013f;
                var c0 = KernelReference.RandomFloats(rng, hidden, 1.5f);
                var h0 = KernelReference.RandomFloats(rng, hidden);

                var (projS, accS, cS, hS) = (new float[g], new int[g], (float[])c0.Clone(), (float[])h0.Clone());
                scalar.MultiplyInt8Dequantize(w, xq, k, [xs], 1, bias, projS, g, accumulate: false);
                scalar.LstmStepInt8(r, hq, hs, projS, cS, hS, accS);

                // Poison past the end of the scratch: nothing may be written there.
                var projK = Enumerable.Repeat(PoisonFloat, g + 3).ToArray();
                var accK = NewPoisoned(g + 3, PoisonInt);
                var (cK, hK) = ((float[])c0.Clone(), (float[])h0.Clone());
                kernel.LstmStepInt8(r, hq, hs, w, xq, xs, bias, projK, cK, hK, accK);

                AssertStepsEqual(shape, g, hidden, (projS, accS, cS, hS), (projK, accK, cK, hK));
            }
    }

    [TestMethod]
    [DynamicData(nameof(Paths))]
    public void LstmStepUnit_EqualsQuantizingHOnScalar_BitForBit(Isa isa)
    {
        // The unit-range steps quantize h themselves (with VNNI straight into the +128 form). Against the scalar
        // path's QuantizeActivations(h, hq, 1) and its step: accumulators, projection, c and h bit for bit. h holds
        // exact rounding ties of 127 h, ±1, ±0, values past the range (clamped) and random values; hidden sizes cover
        // vector tails (not a multiple of 16) and rows past the stack scratch (AVX2 past 512 units, others past 1024).
        var kernel = Gemv.Create(isa);
        var scalar = Gemv.Create(Isa.Scalar);
        var rng = new Random(5151);
        foreach (int hidden in new[] { 1, 13, 16, 17, 50, 200, 600, 1100 })
            foreach (bool lone in new[] { false, true })
            {
                string shape = $"{isa} H={hidden} lone={lone}";
                int g = 4 * hidden, k = hidden % 2 == 0 ? 6 : 17;
                var r = PackedInt8Matrix.Quantize(KernelReference.RandomFloats(rng, g * hidden, 0.3f), g, hidden);
                var w = PackedInt8Matrix.Quantize(KernelReference.RandomFloats(rng, g * k, 0.5f), g, k);
                var bias = KernelReference.RandomFloats(rng, g, 0.2f);
                var xq = KernelReference.RandomInt8(rng, k);
                const float xs = 0.011f;
                var proj0 = KernelReference.RandomFloats(rng, g, 2f);
                var c0 = KernelReference.RandomFloats(rng, hidden, 1.5f);
                var h0 = KernelReference.RandomFloats(rng, hidden);
                float[] special = [1f, -1f, 0f, -0f, 1.5f, -3f, 0.5f / 127, -0.5f / 127];
                for (int j = 0; j < hidden; j++)
                {
                    if (j % 5 == 1) h0[j] = special[j / 5 % special.Length];
                    else if (j % 5 == 3)
                    {
                        // A value whose 127 h is exactly n + 0.5 in float (a tie rounded to even).
                        int n = rng.Next(-126, 126);
                        float tie = (n + 0.5f) / 127f;
                        h0[j] = tie * 127f == n + 0.5f ? tie : 0.25f;
                    }
                }
                int ties = 0;
                foreach (float v in h0) if (v * 127f - MathF.Floor(v * 127f) == 0.5f) ties++;
                if (hidden >= 50) Assert.IsTrue(ties > 0, $"{shape}: no exact tie in h");

                var hq = new sbyte[hidden];
                var (projS, accS, cS, hS) = ((float[])proj0.Clone(), new int[g], (float[])c0.Clone(), (float[])h0.Clone());
                if (lone) scalar.MultiplyInt8Dequantize(w, xq, k, [xs], 1, bias, projS, g, accumulate: false);
                scalar.LstmStepInt8(r, hq, scalar.QuantizeActivations(hS, hq, 1f), projS, cS, hS, accS);

                var projK = Enumerable.Repeat(PoisonFloat, g + 3).ToArray();
                proj0.CopyTo(projK, 0);
                var accK = NewPoisoned(g + 3, PoisonInt);
                var (cK, hK) = ((float[])c0.Clone(), (float[])h0.Clone());
                if (lone) kernel.LstmStepInt8Unit(r, w, xq, xs, bias, projK, cK, hK, accK);
                else kernel.LstmStepInt8Unit(r, projK, cK, hK, accK);

                AssertStepsEqual(shape, g, hidden, (projS, accS, cS, hS), (projK, accK, cK, hK));
            }
    }

    /// <summary>
    /// A kernel's LSTM step (K) against the scalar path's (S): the 4H projection rows and accumulators and the H
    /// values of c and h bit for bit, and the three poisoned elements past the kernel's projection and accumulators
    /// untouched.
    /// </summary>
    private static void AssertStepsEqual(string shape, int g, int hidden,
        (float[] Proj, int[] Acc, float[] C, float[] H) s, (float[] Proj, int[] Acc, float[] C, float[] H) k)
    {
        for (int i = 0; i < g; i++)
        {
            Assert.AreEqual(BitConverter.SingleToInt32Bits(s.Proj[i]), BitConverter.SingleToInt32Bits(k.Proj[i]), $"{shape}: projection row {i}");
            Assert.AreEqual(s.Acc[i], k.Acc[i], $"{shape}: accumulator row {i}");
        }
        for (int i = g; i < g + 3; i++)
        {
            Assert.AreEqual(PoisonFloat, k.Proj[i], $"{shape}: wrote past the projection at {i}");
            Assert.AreEqual(PoisonInt, k.Acc[i], $"{shape}: wrote past the accumulators at {i}");
        }
        for (int j = 0; j < hidden; j++)
        {
            Assert.AreEqual(BitConverter.SingleToInt32Bits(s.C[j]), BitConverter.SingleToInt32Bits(k.C[j]), $"{shape}: c[{j}]");
            Assert.AreEqual(BitConverter.SingleToInt32Bits(s.H[j]), BitConverter.SingleToInt32Bits(k.H[j]), $"{shape}: h[{j}]");
        }
    }

    [TestMethod]
    [DynamicData(nameof(Paths))]
    public void QuantizeActivations_EqualsScalarBitForBit_AndRoundsHalfToEven(Isa isa)
    {
        var kernel = Gemv.Create(isa);
        var rng = new Random(7);
        for (int n = 0; n <= 300; n++)
        {
            var x = KernelReference.RandomFloats(rng, n, n % 3 == 0 ? 100f : 0.01f);
            // Exact ties after scaling by 127 / max|x| = 1: round half to even, and clamping at ±127.
            if (n > 6) { x[0] = 127; x[1] = 2.5f; x[2] = -2.5f; x[3] = 3.5f; x[4] = -0.5f; x[5] = 126.5f; }
            var qs = Enumerable.Repeat((sbyte)99, n + 3).ToArray();
            var qk = Enumerable.Repeat((sbyte)99, n + 3).ToArray();
            float ss = PackedInt8Matrix.QuantizeRow(x, qs);
            float sk = kernel.QuantizeActivations(x, qk);
            Assert.AreEqual(ss, sk, $"{isa} n={n}: scale");
            for (int i = 0; i < qs.Length; i++) Assert.AreEqual(qs[i], qk[i], $"{isa} n={n} index {i}");
            if (n == 0) continue;
            double maxAbs = x.Max(v => Math.Abs((double)v));
            Assert.AreEqual((float)(maxAbs / 127), ss, $"n={n}: scale is max|x| / 127");
            for (int i = 0; i < n; i++)
            {
                Assert.IsLessThanOrEqualTo(127, Math.Abs((int)qs[i]), $"n={n} index {i}");
                Assert.IsLessThanOrEqualTo(ss * 0.5000001 + 1e-12, Math.Abs(x[i] - qs[i] * (double)ss), $"n={n} index {i}: {x[i]} -> {qs[i]} x {ss}");
            }
            if (n > 6) CollectionAssert.AreEqual(new sbyte[] { 127, 2, -2, 4, 0, 126 }, qs[..6], $"{isa}: ties round half to even");
        }
        var zeros = new float[40];
        var qz = Enumerable.Repeat((sbyte)5, 40).ToArray();
        Assert.AreEqual(0f, kernel.QuantizeActivations(zeros, qz));
        Assert.IsTrue(qz.All(v => v == 0));
        Assert.ThrowsExactly<EdgeException>(() => kernel.QuantizeActivations(new[] { 1f, float.NaN, 2f, 3f, 4f, 5f, 6f, 7f, 8f }, new sbyte[9]));
    }

    [TestMethod]
    [DynamicData(nameof(Paths))]
    public void Fp32_WithinDotProductErrorBound(Isa isa)
    {
        var kernel = Gemv.Create(isa);
        var rng = new Random(5);
        foreach (int k in KSweep)
        {
            int m = RowChoices[k % RowChoices.Length];
            int batch = 1 + k % 4;
            bool accumulate = k % 2 == 0;
            bool withBias = k % 3 != 0;
            int wStride = k + k % 3;
            var w = KernelReference.RandomFloats(rng, (m - 1) * wStride + k);
            int xStride = k + 1;
            var xBuf = KernelReference.RandomFloats(rng, 2 + (batch - 1) * xStride + k);
            var x = xBuf.AsSpan(2);
            var bias = withBias ? KernelReference.RandomFloats(rng, m) : [];
            int yStride = m + 1;
            var y = KernelReference.RandomFloats(rng, (batch - 1) * yStride + m + 2);
            for (int b = 0; b < batch; b++) if (b * yStride + m < y.Length) y[b * yStride + m] = PoisonFloat;
            y[^1] = PoisonFloat;
            var y0 = (float[])y.Clone();
            kernel.MultiplyFp32(w, m, k, wStride, x, xStride, batch, bias, y, yStride, accumulate);
            for (int i = 0; i < y.Length; i++)
            {
                int b = i / yStride, r = i % yStride;
                string at = $"{isa} {m}x{batch}x{k}, batch {b} row {r}";
                if (b >= batch || r >= m) { Assert.AreEqual(PoisonFloat, y[i], $"{at}: wrote outside its output"); continue; }
                var (exact, mag) = KernelReference.DotFp32(w.AsSpan(r * wStride, k), x.Slice(b * xStride, k), withBias ? bias[r] : 0, accumulate ? y0[i] : 0);
                Assert.IsLessThanOrEqualTo(KernelReference.Fp32Bound(k, mag), Math.Abs(y[i] - exact), $"{at}: {y[i]} vs exact {exact}");
            }
        }
    }
}
