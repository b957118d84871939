using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Edge.Runtime.Kernels;

/// <summary>
/// Exactly specified exp, sigmoid and tanh for the int8 recurrent cells: the same IEEE single-precision
/// operations per element in scalar code (the specification) and in <see cref="Vector128"/>,
/// <see cref="Vector256"/> and <see cref="Vector512"/> lanes, so every kernel path and every machine gives the same bits (fused
/// multiply-adds are used explicitly everywhere, never left to the compiler).
/// <para>exp(x): x clamped to [-87, 87] (so 2^n stays a normal float); n = round-half-even(x · log2 e);
/// r = (x - n · ln2_hi) - n · ln2_lo with ln2 split so that n · ln2_hi is exact; e^r by a degree-6 minimax
/// polynomial in Horner form (|r| ≤ ln2 / 2, 3.1e-9 relative in exact arithmetic; coefficients from
/// tools/fit_exp.py); times 2^n (vscalefps with AVX-512, else built in the exponent bits: the same rounding of
/// p · 2^n). Within 1 ulp of e^x over the clamped range (0.87 ulp at most on a 1e-4 sweep of [-87, 87];
/// Runtime.Tests GateMathTests checks against double). Why these choices: docs/benchmarks.md, "Gate math".</para>
/// <para>The vector forms are written once, generic over the width (<see cref="ISimd{TVec}"/>), and compiled per
/// width; <see cref="Exp4{TWidth, TVec}"/> runs the same operations on four vectors at once, interleaved.</para>
/// <para>sigmoid(x) = 1 / (1 + exp(-x)); tanh(x) = 1 - 2 / (1 + exp(2x)): absolute errors below 1e-7 and
/// 2e-7, the quantity that matters for a gate (tanh of tiny x loses relative, not absolute, precision).</para>
/// </summary>
internal static class GateMath
{
    private const float Log2E = 1.44269504088896341f;
    private const float Ln2Hi = 0.693145751953125f;      // 0x3f317200: few mantissa bits, n · Ln2Hi exact for |n| ≤ 127
    private const float Ln2Lo = 1.42860682030941723e-6f; // ln 2 - Ln2Hi
    private const float Bound = 87f;
    // e^r ≈ 1 + r + r²·(C2 + C3·r + C4·r² + C5·r³ + C6·r⁴) on |r| ≤ ln2 / 2: a minimax fit (relative error 3.1e-9
    // in exact arithmetic; tools/fit_exp.py).
    private const float C2 = 0.49999994f, C3 = 0.166665211f, C4 = 0.041668389f, C5 = 0.00836871099f, C6 = 0.00138146046f;

    public static float Exp(float x)
    {
        x = MathF.Min(MathF.Max(x, -Bound), Bound);
        float n = MathF.Round(x * Log2E, MidpointRounding.ToEven);
        float r = MathF.FusedMultiplyAdd(n, -Ln2Hi, x);
        r = MathF.FusedMultiplyAdd(n, -Ln2Lo, r);
        float p = MathF.FusedMultiplyAdd(C6, r, C5);
        p = MathF.FusedMultiplyAdd(p, r, C4);
        p = MathF.FusedMultiplyAdd(p, r, C3);
        p = MathF.FusedMultiplyAdd(p, r, C2);
        p = MathF.FusedMultiplyAdd(p, r, 1f);
        p = MathF.FusedMultiplyAdd(p, r, 1f);
        return p * BitConverter.Int32BitsToSingle(((int)n + 127) << 23);
    }

    public static float Sigmoid(float x) => 1f / (1f + Exp(-x));

    /// <summary>
    /// Largest exp argument of the LSTM gates (<see cref="LstmGates(ref float, ref float, ref float, ref float)"/>): with
    /// e^44 ≈ 1.3e19 a product of two (1 + e^t) stays finite. σ(x) for x &lt; -44 becomes σ(-44) ≈ 7.8e-20 (absolute
    /// error below that) and tanh(x) for x &gt; 22 is 1 either way.
    /// </summary>
    public const float GateExpTop = 44f;

    /// <summary>
    /// The four LSTM gates of one unit in place (the specification of every LstmGates4): i, f, o = σ, g = tanh, with two
    /// divisions instead of four. With a = 1 + e^(-x) (tanh: 1 + e^(2x)), exp arguments capped at <see cref="GateExpTop"/>:
    /// r = 1 / (a_i · a_f), σ(x_i) = a_f · r, σ(x_f) = a_i · r; likewise r' = 1 / (a_g · a_o), tanh(x_g) = 1 - 2 · (a_o · r'),
    /// σ(x_o) = a_g · r'. A division costs 10-34 cycles per vector on the Pi's cores against 3-5 for a multiply; the two
    /// extra roundings keep every gate within 4e-7 of the exact value (GateMathTests; int8 activations are 1/254 apart).
    /// </summary>
    public static void LstmGates(ref float i, ref float f, ref float g, ref float o)
    {
        float ai = 1f + Exp(MathF.Min(-i, GateExpTop));
        float af = 1f + Exp(MathF.Min(-f, GateExpTop));
        float ag = 1f + Exp(MathF.Min(g + g, GateExpTop));
        float ao = 1f + Exp(MathF.Min(-o, GateExpTop));
        float rif = 1f / (ai * af);
        float rgo = 1f / (ag * ao);
        i = af * rif;
        f = ai * rif;
        g = 1f - 2f * (ao * rgo);
        o = ag * rgo;
    }

    public static float Tanh(float x) => 1f - 2f / (1f + Exp(x + x));

    // The vector forms: one width-generic body each (ISimd), compiled per width; the per-width overloads below are
    // the entry points the recurrent cells call.

    /// <summary><see cref="Exp(float)"/> per lane, the same operations, hence the same bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TVec Exp<TWidth, TVec>(TVec x) where TWidth : ISimd<TVec> where TVec : struct
    {
        x = TWidth.MinNative(TWidth.MaxNative(x, TWidth.Create(-Bound)), TWidth.Create(Bound));
        var n = TWidth.Round(TWidth.Multiply(x, TWidth.Create(Log2E)));
        var r = TWidth.FusedMultiplyAdd(n, TWidth.Create(-Ln2Hi), x);
        r = TWidth.FusedMultiplyAdd(n, TWidth.Create(-Ln2Lo), r);
        var p = TWidth.FusedMultiplyAdd(TWidth.Create(C6), r, TWidth.Create(C5));
        p = TWidth.FusedMultiplyAdd(p, r, TWidth.Create(C4));
        p = TWidth.FusedMultiplyAdd(p, r, TWidth.Create(C3));
        p = TWidth.FusedMultiplyAdd(p, r, TWidth.Create(C2));
        p = TWidth.FusedMultiplyAdd(p, r, TWidth.One);
        p = TWidth.FusedMultiplyAdd(p, r, TWidth.One);
        return TWidth.ScaleByPowerOfTwo(p, n);
    }

    /// <summary>
    /// <see cref="Exp{TWidth, TVec}(TVec)"/> of four vectors, each operation issued for all four before the next: four
    /// independent dependency chains side by side in the instruction stream (the JIT keeps source order), so the
    /// core starts them together instead of queueing one chain's dependent operations behind another's. The same
    /// operations per element, hence the same bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Exp4<TWidth, TVec>(ref TVec a, ref TVec b, ref TVec c, ref TVec d) where TWidth : ISimd<TVec> where TVec : struct
    {
        var lo = TWidth.Create(-Bound);
        var hi = TWidth.Create(Bound);
        var xa = TWidth.MinNative(TWidth.MaxNative(a, lo), hi);
        var xb = TWidth.MinNative(TWidth.MaxNative(b, lo), hi);
        var xc = TWidth.MinNative(TWidth.MaxNative(c, lo), hi);
        var xd = TWidth.MinNative(TWidth.MaxNative(d, lo), hi);
        var l2e = TWidth.Create(Log2E);
        var na = TWidth.Round(TWidth.Multiply(xa, l2e));
        var nb = TWidth.Round(TWidth.Multiply(xb, l2e));
        var nc = TWidth.Round(TWidth.Multiply(xc, l2e));
        var nd = TWidth.Round(TWidth.Multiply(xd, l2e));
        var h = TWidth.Create(-Ln2Hi);
        var ra = TWidth.FusedMultiplyAdd(na, h, xa);
        var rb = TWidth.FusedMultiplyAdd(nb, h, xb);
        var rc = TWidth.FusedMultiplyAdd(nc, h, xc);
        var rd = TWidth.FusedMultiplyAdd(nd, h, xd);
        var l = TWidth.Create(-Ln2Lo);
        ra = TWidth.FusedMultiplyAdd(na, l, ra);
        rb = TWidth.FusedMultiplyAdd(nb, l, rb);
        rc = TWidth.FusedMultiplyAdd(nc, l, rc);
        rd = TWidth.FusedMultiplyAdd(nd, l, rd);
        var c6 = TWidth.Create(C6);
        var c5 = TWidth.Create(C5);
        var pa = TWidth.FusedMultiplyAdd(c6, ra, c5);
        var pb = TWidth.FusedMultiplyAdd(c6, rb, c5);
        var pc = TWidth.FusedMultiplyAdd(c6, rc, c5);
        var pd = TWidth.FusedMultiplyAdd(c6, rd, c5);
        Horner4<TWidth, TVec>(ref pa, ref pb, ref pc, ref pd, ra, rb, rc, rd, TWidth.Create(C4));
        Horner4<TWidth, TVec>(ref pa, ref pb, ref pc, ref pd, ra, rb, rc, rd, TWidth.Create(C3));
        Horner4<TWidth, TVec>(ref pa, ref pb, ref pc, ref pd, ra, rb, rc, rd, TWidth.Create(C2));
        Horner4<TWidth, TVec>(ref pa, ref pb, ref pc, ref pd, ra, rb, rc, rd, TWidth.One);
        Horner4<TWidth, TVec>(ref pa, ref pb, ref pc, ref pd, ra, rb, rc, rd, TWidth.One);
        a = TWidth.ScaleByPowerOfTwo(pa, na);
        b = TWidth.ScaleByPowerOfTwo(pb, nb);
        c = TWidth.ScaleByPowerOfTwo(pc, nc);
        d = TWidth.ScaleByPowerOfTwo(pd, nd);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Horner4<TWidth, TVec>(ref TVec pa, ref TVec pb, ref TVec pc, ref TVec pd, TVec ra, TVec rb, TVec rc, TVec rd, TVec k)
        where TWidth : ISimd<TVec> where TVec : struct
    {
        pa = TWidth.FusedMultiplyAdd(pa, ra, k);
        pb = TWidth.FusedMultiplyAdd(pb, rb, k);
        pc = TWidth.FusedMultiplyAdd(pc, rc, k);
        pd = TWidth.FusedMultiplyAdd(pd, rd, k);
    }

    /// <summary>
    /// The LSTM gates in place, the operations of <see cref="LstmGates(ref float, ref float, ref float, ref float)"/> per
    /// lane (hence the same bits), the four exps interleaved (<see cref="Exp4{TWidth, TVec}"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void LstmGates4<TWidth, TVec>(ref TVec i, ref TVec f, ref TVec g, ref TVec o) where TWidth : ISimd<TVec> where TVec : struct
    {
        var top = TWidth.Create(GateExpTop);
        var ei = TWidth.MinNative(TWidth.Negate(i), top);
        var ef = TWidth.MinNative(TWidth.Negate(f), top);
        var eg = TWidth.MinNative(TWidth.Add(g, g), top);
        var eo = TWidth.MinNative(TWidth.Negate(o), top);
        Exp4<TWidth, TVec>(ref ei, ref ef, ref eg, ref eo);
        var one = TWidth.One;
        var ai = TWidth.Add(one, ei);
        var af = TWidth.Add(one, ef);
        var ag = TWidth.Add(one, eg);
        var ao = TWidth.Add(one, eo);
        var rif = TWidth.Divide(one, TWidth.Multiply(ai, af));
        var rgo = TWidth.Divide(one, TWidth.Multiply(ag, ao));
        i = TWidth.Multiply(af, rif);
        f = TWidth.Multiply(ai, rif);
        g = TWidth.Subtract(one, TWidth.Multiply(TWidth.Create(2f), TWidth.Multiply(ao, rgo)));
        o = TWidth.Multiply(ag, rgo);
    }

    /// <summary><see cref="Tanh(float)"/> of four vectors in place, their exps interleaved; the same bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Tanh4<TWidth, TVec>(ref TVec a, ref TVec b, ref TVec c, ref TVec d) where TWidth : ISimd<TVec> where TVec : struct
    {
        var ea = TWidth.Add(a, a);
        var eb = TWidth.Add(b, b);
        var ec = TWidth.Add(c, c);
        var ed = TWidth.Add(d, d);
        Exp4<TWidth, TVec>(ref ea, ref eb, ref ec, ref ed);
        var one = TWidth.One;
        var two = TWidth.Create(2f);
        a = TWidth.Subtract(one, TWidth.Divide(two, TWidth.Add(one, ea)));
        b = TWidth.Subtract(one, TWidth.Divide(two, TWidth.Add(one, eb)));
        c = TWidth.Subtract(one, TWidth.Divide(two, TWidth.Add(one, ec)));
        d = TWidth.Subtract(one, TWidth.Divide(two, TWidth.Add(one, ed)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TVec Sigmoid<TWidth, TVec>(TVec x) where TWidth : ISimd<TVec> where TVec : struct =>
        TWidth.Divide(TWidth.One, TWidth.Add(TWidth.One, Exp<TWidth, TVec>(TWidth.Negate(x))));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TVec Tanh<TWidth, TVec>(TVec x) where TWidth : ISimd<TVec> where TVec : struct =>
        TWidth.Subtract(TWidth.One, TWidth.Divide(TWidth.Create(2f), TWidth.Add(TWidth.One, Exp<TWidth, TVec>(TWidth.Add(x, x)))));

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Exp(Vector512<float> x) => Exp<Simd512, Vector512<float>>(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Sigmoid(Vector512<float> x) => Sigmoid<Simd512, Vector512<float>>(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Tanh(Vector512<float> x) => Tanh<Simd512, Vector512<float>>(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Exp4(ref Vector512<float> a, ref Vector512<float> b, ref Vector512<float> c, ref Vector512<float> d) => Exp4<Simd512, Vector512<float>>(ref a, ref b, ref c, ref d);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Tanh4(ref Vector512<float> a, ref Vector512<float> b, ref Vector512<float> c, ref Vector512<float> d) => Tanh4<Simd512, Vector512<float>>(ref a, ref b, ref c, ref d);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void LstmGates4(ref Vector512<float> i, ref Vector512<float> f, ref Vector512<float> g, ref Vector512<float> o) => LstmGates4<Simd512, Vector512<float>>(ref i, ref f, ref g, ref o);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Exp(Vector256<float> x) => Exp<Simd256, Vector256<float>>(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Sigmoid(Vector256<float> x) => Sigmoid<Simd256, Vector256<float>>(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Tanh(Vector256<float> x) => Tanh<Simd256, Vector256<float>>(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Exp4(ref Vector256<float> a, ref Vector256<float> b, ref Vector256<float> c, ref Vector256<float> d) => Exp4<Simd256, Vector256<float>>(ref a, ref b, ref c, ref d);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Tanh4(ref Vector256<float> a, ref Vector256<float> b, ref Vector256<float> c, ref Vector256<float> d) => Tanh4<Simd256, Vector256<float>>(ref a, ref b, ref c, ref d);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void LstmGates4(ref Vector256<float> i, ref Vector256<float> f, ref Vector256<float> g, ref Vector256<float> o) => LstmGates4<Simd256, Vector256<float>>(ref i, ref f, ref g, ref o);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Exp(Vector128<float> x) => Exp<Simd128, Vector128<float>>(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Sigmoid(Vector128<float> x) => Sigmoid<Simd128, Vector128<float>>(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Tanh(Vector128<float> x) => Tanh<Simd128, Vector128<float>>(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Exp4(ref Vector128<float> a, ref Vector128<float> b, ref Vector128<float> c, ref Vector128<float> d) => Exp4<Simd128, Vector128<float>>(ref a, ref b, ref c, ref d);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Tanh4(ref Vector128<float> a, ref Vector128<float> b, ref Vector128<float> c, ref Vector128<float> d) => Tanh4<Simd128, Vector128<float>>(ref a, ref b, ref c, ref d);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void LstmGates4(ref Vector128<float> i, ref Vector128<float> f, ref Vector128<float> g, ref Vector128<float> o) => LstmGates4<Simd128, Vector128<float>>(ref i, ref f, ref g, ref o);
}
