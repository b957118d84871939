using System.Runtime.Intrinsics;
using Edge.Runtime.Kernels;

namespace Edge.Runtime.Tests.Kernels;

[TestClass]
public sealed class GateMathTests
{
    /// <summary>Inputs: a dense sweep of the range gates see, the clamp edges, tiny values, and beyond the clamp.</summary>
    private static float[] Inputs()
    {
        var list = new List<float>();
        for (int i = -200_000; i <= 200_000; i++) list.Add(i * 1e-4f);           // [-20, 20] in 1e-4 steps
        for (int i = -1000; i <= 1000; i++) list.Add(i * 0.1f);                    // [-100, 100]
        list.AddRange([0f, -0f, 1e-30f, -1e-30f, 1e-7f, -1e-7f, 86.99f, 87f, 87.01f, -87f, -87.01f, 88.7f, -103f, 1e30f, -1e30f]);
        return list.ToArray();
    }

    [TestMethod]
    public void Exp_IsWithinOneUlpOfDouble_OverTheClampedRange()
    {
        foreach (float x in Inputs())
        {
            double clamped = Math.Clamp(x, -87.0, 87.0);
            double exact = Math.Exp(clamped);
            float got = GateMath.Exp(x);
            double ulp = Math.Abs(MathF.BitIncrement((float)exact) - (float)exact);
            Assert.IsLessThanOrEqualTo(ulp, Math.Abs(got - exact), $"exp({x}) = {got}, double {exact}");
        }
    }

    [TestMethod]
    public void SigmoidAndTanh_AreWithinAbsoluteBound()
    {
        foreach (float x in Inputs())
        {
            double s = 1 / (1 + Math.Exp(-(double)x));
            double t = Math.Tanh(x);
            Assert.IsLessThanOrEqualTo(1e-7, Math.Abs(GateMath.Sigmoid(x) - s), $"sigmoid({x})");
            Assert.IsLessThanOrEqualTo(2e-7, Math.Abs(GateMath.Tanh(x) - t), $"tanh({x})");
            Assert.IsTrue(GateMath.Sigmoid(x) is >= 0f and <= 1f, $"sigmoid({x}) = {GateMath.Sigmoid(x)} outside [0, 1]");
            Assert.IsTrue(GateMath.Tanh(x) is >= -1f and <= 1f, $"tanh({x}) = {GateMath.Tanh(x)} outside [-1, 1]");
        }
    }

    [TestMethod]
    public void VectorLanes_EqualTheScalarSpecification_BitForBit()
    {
        var xs = Inputs();
        // Lane l of exp, sigmoid and tanh of the vector starting at xs[i], at the given width.
        void Check(int i, int lanes, Func<int, float> exp, Func<int, float> sigmoid, Func<int, float> tanh)
        {
            for (int l = 0; l < lanes; l++)
            {
                float x = xs[i + l];
                Assert.AreEqual(BitConverter.SingleToInt32Bits(GateMath.Exp(x)), BitConverter.SingleToInt32Bits(exp(l)), $"exp({x}) {lanes} lanes");
                Assert.AreEqual(BitConverter.SingleToInt32Bits(GateMath.Sigmoid(x)), BitConverter.SingleToInt32Bits(sigmoid(l)), $"sigmoid({x}) {lanes} lanes");
                Assert.AreEqual(BitConverter.SingleToInt32Bits(GateMath.Tanh(x)), BitConverter.SingleToInt32Bits(tanh(l)), $"tanh({x}) {lanes} lanes");
            }
        }
        for (int i = 0; i + 16 <= xs.Length; i += 16)
        {
            var v = Vector512.Create(xs.AsSpan(i, 16));
            var (e, s, t) = (GateMath.Exp(v), GateMath.Sigmoid(v), GateMath.Tanh(v));
            Check(i, 16, l => e[l], l => s[l], l => t[l]);
        }
        for (int i = 0; i + 8 <= xs.Length; i += 8)
        {
            var v = Vector256.Create(xs.AsSpan(i, 8));
            var (e, s, t) = (GateMath.Exp(v), GateMath.Sigmoid(v), GateMath.Tanh(v));
            Check(i, 8, l => e[l], l => s[l], l => t[l]);
        }
        for (int i = 0; i + 4 <= xs.Length; i += 4)
        {
            var v = Vector128.Create(xs.AsSpan(i, 4));
            var (e, s, t) = (GateMath.Exp(v), GateMath.Sigmoid(v), GateMath.Tanh(v));
            Check(i, 4, l => e[l], l => s[l], l => t[l]);
        }
    }

    /// <summary>The four-vector form (the cell's interleaved exps) equals the scalar specification in every lane, at every width.</summary>
    [TestMethod]
    public void Exp4_EqualsTheScalarSpecification_BitForBit_AtEveryWidth()
    {
        var xs = Inputs();
        int checkedLanes = 0;
        for (int i = 0; i + 64 <= xs.Length; i += 64)
        {
            var a4 = Vector128.Create(xs.AsSpan(i, 4)); var b4 = Vector128.Create(xs.AsSpan(i + 4, 4));
            var c4 = Vector128.Create(xs.AsSpan(i + 8, 4)); var d4 = Vector128.Create(xs.AsSpan(i + 12, 4));
            GateMath.Exp4(ref a4, ref b4, ref c4, ref d4);
            var a8 = Vector256.Create(xs.AsSpan(i, 8)); var b8 = Vector256.Create(xs.AsSpan(i + 8, 8));
            var c8 = Vector256.Create(xs.AsSpan(i + 16, 8)); var d8 = Vector256.Create(xs.AsSpan(i + 24, 8));
            GateMath.Exp4(ref a8, ref b8, ref c8, ref d8);
            var a16 = Vector512.Create(xs.AsSpan(i, 16)); var b16 = Vector512.Create(xs.AsSpan(i + 16, 16));
            var c16 = Vector512.Create(xs.AsSpan(i + 32, 16)); var d16 = Vector512.Create(xs.AsSpan(i + 48, 16));
            GateMath.Exp4(ref a16, ref b16, ref c16, ref d16);
            for (int l = 0; l < 64; l++)
            {
                int want = BitConverter.SingleToInt32Bits(GateMath.Exp(xs[i + l]));
                if (l < 16)
                {
                    var v4 = (l / 4) switch { 0 => a4, 1 => b4, 2 => c4, _ => d4 };
                    Assert.AreEqual(want, BitConverter.SingleToInt32Bits(v4[l % 4]), $"exp({xs[i + l]}) Exp4, 4 lanes");
                }
                if (l < 32)
                {
                    var v8 = (l / 8) switch { 0 => a8, 1 => b8, 2 => c8, _ => d8 };
                    Assert.AreEqual(want, BitConverter.SingleToInt32Bits(v8[l % 8]), $"exp({xs[i + l]}) Exp4, 8 lanes");
                }
                var v16 = (l / 16) switch { 0 => a16, 1 => b16, 2 => c16, _ => d16 };
                Assert.AreEqual(want, BitConverter.SingleToInt32Bits(v16[l % 16]), $"exp({xs[i + l]}) Exp4, 16 lanes");
                checkedLanes++;
            }
        }
        Assert.IsGreaterThan(400_000, checkedLanes);
    }

    /// <summary>
    /// The four-vector gate forms equal their scalar specifications in every lane, at every width: LstmGates4 the scalar
    /// LstmGates (σ, σ, tanh, σ of one unit's four pre-activations), Tanh4 the scalar Tanh.
    /// </summary>
    [TestMethod]
    public void GateForms4_EqualTheScalarLstmGatesAndTanh_BitForBit_AtEveryWidth()
    {
        var xs = Inputs();
        static int Bits(float v) => BitConverter.SingleToInt32Bits(v);
        for (int i = 0; i + 64 <= xs.Length; i += 64)
        {
            float[] want = new float[64], wantT = new float[64];
            for (int l = 0; l < 64; l++) wantT[l] = GateMath.Tanh(xs[i + l]);
            for (int l = 0; l < 16; l++)
            {
                // lanes 0..15 of each block of 64 play i, 16..31 f, 32..47 g, 48..63 o (at 16 lanes; narrower widths use the first lanes of each quarter)
                float gi = xs[i + l], gf = xs[i + 16 + l], gg = xs[i + 32 + l], go = xs[i + 48 + l];
                GateMath.LstmGates(ref gi, ref gf, ref gg, ref go);
                (want[l], want[16 + l], want[32 + l], want[48 + l]) = (gi, gf, gg, go);
            }
            var s = xs.AsSpan(i, 64);
            var (a16, b16, c16, d16) = (Vector512.Create(s[..16]), Vector512.Create(s[16..32]), Vector512.Create(s[32..48]), Vector512.Create(s[48..]));
            var (a8, b8, c8, d8) = (Vector256.Create(s[..8]), Vector256.Create(s[16..24]), Vector256.Create(s[32..40]), Vector256.Create(s[48..56]));
            var (a4, b4, c4, d4) = (Vector128.Create(s[..4]), Vector128.Create(s[16..20]), Vector128.Create(s[32..36]), Vector128.Create(s[48..52]));
            var (t16a, t16b, t16c, t16d) = (a16, b16, c16, d16);
            var (t8a, t8b, t8c, t8d) = (a8, b8, c8, d8);
            var (t4a, t4b, t4c, t4d) = (a4, b4, c4, d4);
            GateMath.LstmGates4(ref a16, ref b16, ref c16, ref d16);
            GateMath.LstmGates4(ref a8, ref b8, ref c8, ref d8);
            GateMath.LstmGates4(ref a4, ref b4, ref c4, ref d4);
            GateMath.Tanh4(ref t16a, ref t16b, ref t16c, ref t16d);
            GateMath.Tanh4(ref t8a, ref t8b, ref t8c, ref t8d);
            GateMath.Tanh4(ref t4a, ref t4b, ref t4c, ref t4d);
            for (int q = 0; q < 4; q++)
            {
                var g16 = q switch { 0 => a16, 1 => b16, 2 => c16, _ => d16 };
                var g8 = q switch { 0 => a8, 1 => b8, 2 => c8, _ => d8 };
                var g4 = q switch { 0 => a4, 1 => b4, 2 => c4, _ => d4 };
                var h16 = q switch { 0 => t16a, 1 => t16b, 2 => t16c, _ => t16d };
                var h8 = q switch { 0 => t8a, 1 => t8b, 2 => t8c, _ => t8d };
                var h4 = q switch { 0 => t4a, 1 => t4b, 2 => t4c, _ => t4d };
                for (int l = 0; l < 16; l++)
                {
                    int at = 16 * q + l;
                    Assert.AreEqual(Bits(want[at]), Bits(g16[l]), $"gate {q} of x = {xs[i + at]}, 16 lanes");
                    Assert.AreEqual(Bits(wantT[at]), Bits(h16[l]), $"tanh({xs[i + at]}), 16 lanes");
                    if (l < 8)
                    {
                        Assert.AreEqual(Bits(want[at]), Bits(g8[l]), $"gate {q} of x = {xs[i + at]}, 8 lanes");
                        Assert.AreEqual(Bits(wantT[at]), Bits(h8[l]), $"tanh({xs[i + at]}), 8 lanes");
                    }
                    if (l < 4)
                    {
                        Assert.AreEqual(Bits(want[at]), Bits(g4[l]), $"gate {q} of x = {xs[i + at]}, 4 lanes");
                        Assert.AreEqual(Bits(wantT[at]), Bits(h4[l]), $"tanh({xs[i + at]}), 4 lanes");
                    }
                }
            }
        }
    }

    /// <summary>
    /// The scalar LstmGates (two divisions per unit, exp arguments capped) against σ and tanh in double, over the gate
    /// inputs' whole range and far beyond (where an uncapped product of two 1 + e^t overflows and gives 0 · ∞ = NaN):
    /// every gate within 4e-7 (the scalar Sigmoid and Tanh: 1e-7, 2e-7), σ in [0, 1] and tanh in [-1, 1].
    /// </summary>
    [TestMethod]
    public void LstmGates_MatchesDoubleSigmoidAndTanh_OverTheWholeRange()
    {
        var rng = new Random(11);
        var values = new List<float> { 0f, -0f, 1e-30f, -1e-30f, 43.9f, 44f, 44.1f, -44.1f, 22.1f, -22.1f, 87f, -87f, 88.7f, -88.7f, 200f, -200f, 1e30f, -1e30f };
        for (int n = 0; n < 200_000; n++) values.Add((float)((rng.NextDouble() * 2 - 1) * (n % 3 == 0 ? 120 : 12)));
        static double Sig(double v) => 1 / (1 + Math.Exp(-v));
        double worst = 0;
        for (int n = 0; n + 4 <= values.Count; n++)
        {
            float xi = values[n], xf = values[n + 1], xg = values[n + 2], xo = values[n + 3];
            float i = xi, f = xf, g = xg, o = xo;
            GateMath.LstmGates(ref i, ref f, ref g, ref o);
            foreach (var (got, want, what) in new[] { (i, Sig(xi), "σ(i)"), (f, Sig(xf), "σ(f)"), (g, Math.Tanh(xg), "tanh(g)"), (o, Sig(xo), "σ(o)") })
            {
                double err = Math.Abs(got - want);
                Assert.IsLessThanOrEqualTo(4e-7, err, $"{what} of ({xi}, {xf}, {xg}, {xo}) = {got}, exact {want}");
                worst = Math.Max(worst, err);
            }
            Assert.IsTrue(i is >= 0 and <= 1 && f is >= 0 and <= 1 && o is >= 0 and <= 1 && g is >= -1 and <= 1, $"gates of ({xi}, {xf}, {xg}, {xo}) out of range");
        }
        Assert.IsGreaterThan(0.0, worst);
    }

    /// <summary>
    /// The int8 LSTM cell against a double-precision cell written here from the equations (ONNX LSTM, gate
    /// order i, f, g, o), for hidden sizes that leave tails after 8 and 4 lanes; every path bit-identical.
    /// </summary>
    [TestMethod]
    public void LstmInt8Cell_MatchesDoubleReference_AndIsIdenticalOnEveryPath()
    {
        var rng = new Random(7);
        foreach (int n in new[] { 1, 3, 4, 7, 8, 9, 13, 200 })
        {
            foreach (bool recurrent in new[] { true, false })
            {
                var proj = Enumerable.Range(0, 4 * n).Select(_ => (float)(rng.NextDouble() * 8 - 4)).ToArray();
                var acc = Enumerable.Range(0, 4 * n).Select(_ => rng.Next(-300_000, 300_000)).ToArray();
                var scales = Enumerable.Range(0, 4 * n).Select(_ => (float)(rng.NextDouble() * 0.02)).ToArray();
                var c0 = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 6 - 3)).ToArray();
                const float hScale = 1f / 127;

                var expectH = new double[n];
                var expectC = new double[n];
                for (int j = 0; j < n; j++)
                {
                    double Pre(int q) => proj[q * n + j] + (recurrent ? (double)acc[q * n + j] * scales[q * n + j] * hScale : 0);
                    static double Sig(double v) => 1 / (1 + Math.Exp(-v));
                    expectC[j] = Sig(Pre(0)) * Math.Tanh(Pre(2)) + Sig(Pre(1)) * c0[j];
                    expectH[j] = Sig(Pre(3)) * Math.Tanh(expectC[j]);
                }

                float[]? firstH = null, firstC = null;
                // Every path's lane width (the cell needs no instruction beyond Vector128/256/512, so the arm64
                // 4-lane code runs here too): 0 is the scalar specification.
                foreach (int bits in new[] { 0, 128, 256, 512 })
                {
                    var c = (float[])c0.Clone();
                    var h = new float[n];
                    RecurrentCell.LstmInt8(bits, proj, recurrent ? acc : default, recurrent ? scales : default, hScale, c, h);
                    for (int j = 0; j < n; j++)
                    {
                        Assert.AreEqual(expectC[j], c[j], 2e-6 * Math.Max(1, Math.Abs(expectC[j])), $"{bits} n={n} c[{j}]");
                        Assert.AreEqual(expectH[j], h[j], 2e-6, $"{bits} n={n} h[{j}]");
                    }
                    if (firstH is null) { firstH = h; firstC = c; continue; }
                    CollectionAssert.AreEqual(firstC, c, $"{bits}-bit n={n}: c differs from the scalar path");
                    CollectionAssert.AreEqual(firstH, h, $"{bits}-bit n={n}: h differs from the scalar path");
                }
            }
        }
    }
}
