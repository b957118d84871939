using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Edge.Runtime.Kernels;

/// <summary>
/// Exactly specified exp, sigmoid and tanh for the int8 recurrent cells: the same IEEE single-precision
/// operations per element in scalar code (the specification) and in <see cref="Vector128"/>,
/// <see cref="Vector256"/> and <see cref="Vector512"/> lanes, so every kernel path and every machine gives the same bits (fused
/// multiply-adds are used explicitly everywhere, never left to the compiler).
/// <para>exp(x): x clamped to [-87, 87] (so 2^n stays a normal float); n = round-half-even(x · log2 e);
/// r = (x - n · ln2_hi) - n · ln2_lo with ln2 split so that n · ln2_hi is exact; e^r by a degree-6 minimax
/// polynomial in Horner form (|r| ≤ ln2 / 2, 3.1e-9 relative in exact arithmetic; coefficients from
/// tools/fit_exp.py; the degree-7 Taylor series it replaced cost one more multiply-add per exp, 4 % of the LSTM
/// cell); times 2^n (vscalefps with AVX-512, else built in the exponent bits: the same rounding of p · 2^n). Within 1 ulp of e^x over the clamped range (0.87 ulp at most on a
/// 1e-4 sweep of [-87, 87], where the Taylor form reached 0.92; Runtime.Tests GateMathTests checks against double).
/// <see cref="Exp4(ref Vector512{float}, ref Vector512{float}, ref Vector512{float}, ref Vector512{float})"/> and its narrower forms
/// run the same operations on four vectors at once, interleaved.</para>
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
    // in exact arithmetic; tools/fit_exp.py), one multiply-add fewer than the degree-7 Taylor series it replaced.
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x)
    {
        x = Vector512.MinNative(Vector512.MaxNative(x, Vector512.Create(-Bound)), Vector512.Create(Bound));
        var n = Vector512.Round(x * Vector512.Create(Log2E));
        var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Hi), x);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Lo), r);
        var p = Vector512.FusedMultiplyAdd(Vector512.Create(C6), r, Vector512.Create(C5));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(C4));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(C3));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(C2));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512<float>.One);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512<float>.One);
        // p · 2^n: vscalefps where there is one (AVX-512; 3 operations fewer), else 2^n built in the exponent bits.
        // The same bits: n is an integer in [-126, 126], so 2^n is a normal float and both round p · 2^n once.
        return Avx512F.IsSupported ? Avx512F.Scale(p, n) : p * Vector512.ShiftLeft(Vector512.ConvertToInt32Native(n) + Vector512.Create(127), 23).AsSingle();
    }

    /// <summary>
    /// <see cref="Exp(Vector512{float})"/> of four vectors, each operation issued for all four before the next: four
    /// independent dependency chains side by side in the instruction stream (the JIT keeps source order), so the
    /// core starts them together instead of queueing one chain's dependent operations behind another's. The same
    /// operations per element as <see cref="Exp(Vector512{float})"/>, hence the same bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Exp4(ref Vector512<float> a, ref Vector512<float> b, ref Vector512<float> c, ref Vector512<float> d)
    {
        var lo = Vector512.Create(-Bound);
        var hi = Vector512.Create(Bound);
        var xa = Vector512.MinNative(Vector512.MaxNative(a, lo), hi);
        var xb = Vector512.MinNative(Vector512.MaxNative(b, lo), hi);
        var xc = Vector512.MinNative(Vector512.MaxNative(c, lo), hi);
        var xd = Vector512.MinNative(Vector512.MaxNative(d, lo), hi);
        var l2e = Vector512.Create(Log2E);
        var na = Vector512.Round(xa * l2e);
        var nb = Vector512.Round(xb * l2e);
        var nc = Vector512.Round(xc * l2e);
        var nd = Vector512.Round(xd * l2e);
        var h = Vector512.Create(-Ln2Hi);
        var ra = Vector512.FusedMultiplyAdd(na, h, xa);
        var rb = Vector512.FusedMultiplyAdd(nb, h, xb);
        var rc = Vector512.FusedMultiplyAdd(nc, h, xc);
        var rd = Vector512.FusedMultiplyAdd(nd, h, xd);
        var l = Vector512.Create(-Ln2Lo);
        ra = Vector512.FusedMultiplyAdd(na, l, ra);
        rb = Vector512.FusedMultiplyAdd(nb, l, rb);
        rc = Vector512.FusedMultiplyAdd(nc, l, rc);
        rd = Vector512.FusedMultiplyAdd(nd, l, rd);
        var c6 = Vector512.Create(C6);
        var c5 = Vector512.Create(C5);
        var pa = Vector512.FusedMultiplyAdd(c6, ra, c5);
        var pb = Vector512.FusedMultiplyAdd(c6, rb, c5);
        var pc = Vector512.FusedMultiplyAdd(c6, rc, c5);
        var pd = Vector512.FusedMultiplyAdd(c6, rd, c5);
        Horner4(ref pa, ref pb, ref pc, ref pd, ra, rb, rc, rd, Vector512.Create(C4));
        Horner4(ref pa, ref pb, ref pc, ref pd, ra, rb, rc, rd, Vector512.Create(C3));
        Horner4(ref pa, ref pb, ref pc, ref pd, ra, rb, rc, rd, Vector512.Create(C2));
        Horner4(ref pa, ref pb, ref pc, ref pd, ra, rb, rc, rd, Vector512<float>.One);
        Horner4(ref pa, ref pb, ref pc, ref pd, ra, rb, rc, rd, Vector512<float>.One);
        if (Avx512F.IsSupported)
        {
            // As in Exp(Vector512): p · 2^n by vscalefps, the same bits as building 2^n (LSTM(200) cell 0.169-0.173 -> 0.164-0.165 µs, probe).
            a = Avx512F.Scale(pa, na);
            b = Avx512F.Scale(pb, nb);
            c = Avx512F.Scale(pc, nc);
            d = Avx512F.Scale(pd, nd);
            return;
        }
        var bias = Vector512.Create(127);
        a = pa * Vector512.ShiftLeft(Vector512.ConvertToInt32Native(na) + bias, 23).AsSingle();
        b = pb * Vector512.ShiftLeft(Vector512.ConvertToInt32Native(nb) + bias, 23).AsSingle();
        c = pc * Vector512.ShiftLeft(Vector512.ConvertToInt32Native(nc) + bias, 23).AsSingle();
        d = pd * Vector512.ShiftLeft(Vector512.ConvertToInt32Native(nd) + bias, 23).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Horner4(ref Vector512<float> pa, ref Vector512<float> pb, ref Vector512<float> pc, ref Vector512<float> pd,
        Vector512<float> ra, Vector512<float> rb, Vector512<float> rc, Vector512<float> rd, Vector512<float> k)
    {
        pa = Vector512.FusedMultiplyAdd(pa, ra, k);
        pb = Vector512.FusedMultiplyAdd(pb, rb, k);
        pc = Vector512.FusedMultiplyAdd(pc, rc, k);
        pd = Vector512.FusedMultiplyAdd(pd, rd, k);
    }

    /// <summary>
    /// The LSTM gates in place, the operations of <see cref="LstmGates(ref float, ref float, ref float, ref float)"/> per
    /// lane (hence the same bits), the four exps interleaved
    /// (<see cref="Exp4(ref Vector512{float}, ref Vector512{float}, ref Vector512{float}, ref Vector512{float})"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void LstmGates4(ref Vector512<float> i, ref Vector512<float> f, ref Vector512<float> g, ref Vector512<float> o)
    {
        var top = Vector512.Create(GateExpTop);
        var ei = Vector512.MinNative(-i, top);
        var ef = Vector512.MinNative(-f, top);
        var eg = Vector512.MinNative(g + g, top);
        var eo = Vector512.MinNative(-o, top);
        Exp4(ref ei, ref ef, ref eg, ref eo);
        var one = Vector512<float>.One;
        var ai = one + ei;
        var af = one + ef;
        var ag = one + eg;
        var ao = one + eo;
        var rif = one / (ai * af);
        var rgo = one / (ag * ao);
        i = af * rif;
        f = ai * rif;
        g = one - Vector512.Create(2f) * (ao * rgo);
        o = ag * rgo;
    }

    /// <summary><see cref="Tanh(Vector512{float})"/> of four vectors in place, their exps interleaved; the same bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Tanh4(ref Vector512<float> a, ref Vector512<float> b, ref Vector512<float> c, ref Vector512<float> d)
    {
        var ea = a + a;
        var eb = b + b;
        var ec = c + c;
        var ed = d + d;
        Exp4(ref ea, ref eb, ref ec, ref ed);
        var one = Vector512<float>.One;
        var two = Vector512.Create(2f);
        a = one - two / (one + ea);
        b = one - two / (one + eb);
        c = one - two / (one + ec);
        d = one - two / (one + ed);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Sigmoid(Vector512<float> x) => Vector512<float>.One / (Vector512<float>.One + Exp(-x));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Tanh(Vector512<float> x) =>
        Vector512<float>.One - Vector512.Create(2f) / (Vector512<float>.One + Exp(x + x));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x)
    {
        x = Vector256.MinNative(Vector256.MaxNative(x, Vector256.Create(-Bound)), Vector256.Create(Bound));
        var n = Vector256.Round(x * Vector256.Create(Log2E));
        var r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2Hi), x);
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2Lo), r);
        var p = Vector256.FusedMultiplyAdd(Vector256.Create(C6), r, Vector256.Create(C5));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(C4));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(C3));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(C2));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256<float>.One);
        p = Vector256.FusedMultiplyAdd(p, r, Vector256<float>.One);
        return p * Vector256.ShiftLeft(Vector256.ConvertToInt32Native(n) + Vector256.Create(127), 23).AsSingle();
    }

    /// <summary>
    /// <see cref="Exp(Vector256{float})"/> of four vectors, each operation issued for all four before the next: four
    /// independent dependency chains side by side in the instruction stream (the JIT keeps source order), so the
    /// core starts them together instead of queueing one chain's dependent operations behind another's. The same
    /// operations per element as <see cref="Exp(Vector256{float})"/>, hence the same bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Exp4(ref Vector256<float> a, ref Vector256<float> b, ref Vector256<float> c, ref Vector256<float> d)
    {
        var lo = Vector256.Create(-Bound);
        var hi = Vector256.Create(Bound);
        var xa = Vector256.MinNative(Vector256.MaxNative(a, lo), hi);
        var xb = Vector256.MinNative(Vector256.MaxNative(b, lo), hi);
        var xc = Vector256.MinNative(Vector256.MaxNative(c, lo), hi);
        var xd = Vector256.MinNative(Vector256.MaxNative(d, lo), hi);
        var l2e = Vector256.Create(Log2E);
        var na = Vector256.Round(xa * l2e);
        var nb = Vector256.Round(xb * l2e);
        var nc = Vector256.Round(xc * l2e);
        var nd = Vector256.Round(xd * l2e);
        var h = Vector256.Create(-Ln2Hi);
        var ra = Vector256.FusedMultiplyAdd(na, h, xa);
        var rb = Vector256.FusedMultiplyAdd(nb, h, xb);
        var rc = Vector256.FusedMultiplyAdd(nc, h, xc);
        var rd = Vector256.FusedMultiplyAdd(nd, h, xd);
        var l = Vector256.Create(-Ln2Lo);
        ra = Vector256.FusedMultiplyAdd(na, l, ra);
        rb = Vector256.FusedMultiplyAdd(nb, l, rb);
        rc = Vector256.FusedMultiplyAdd(nc, l, rc);
        rd = Vector256.FusedMultiplyAdd(nd, l, rd);
        var c6 = Vector256.Create(C6);
        var c5 = Vector256.Create(C5);
        var pa = Vector256.FusedMultiplyAdd(c6, ra, c5);
        var pb = Vector256.FusedMultiplyAdd(c6, rb, c5);
        var pc = Vector256.FusedMultiplyAdd(c6, rc, c5);
        var pd = Vector256.FusedMultiplyAdd(c6, rd, c5);
        Horner4(ref pa, ref pb, ref pc, ref pd, ra, rb, rc, rd, Vector256.Create(C4));
        Horner4(ref pa, ref pb, ref pc, ref pd, ra, rb, rc, rd, Vector256.Create(C3));
        Horner4(ref pa, ref pb, ref pc, ref pd, ra, rb, rc, rd, Vector256.Create(C2));
        Horner4(ref pa, ref pb, ref pc, ref pd, ra, rb, rc, rd, Vector256<float>.One);
        Horner4(ref pa, ref pb, ref pc, ref pd, ra, rb, rc, rd, Vector256<float>.One);
        var bias = Vector256.Create(127);
        a = pa * Vector256.ShiftLeft(Vector256.ConvertToInt32Native(na) + bias, 23).AsSingle();
        b = pb * Vector256.ShiftLeft(Vector256.ConvertToInt32Native(nb) + bias, 23).AsSingle();
        c = pc * Vector256.ShiftLeft(Vector256.ConvertToInt32Native(nc) + bias, 23).AsSingle();
        d = pd * Vector256.ShiftLeft(Vector256.ConvertToInt32Native(nd) + bias, 23).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Horner4(ref Vector256<float> pa, ref Vector256<float> pb, ref Vector256<float> pc, ref Vector256<float> pd,
        Vector256<float> ra, Vector256<float> rb, Vector256<float> rc, Vector256<float> rd, Vector256<float> k)
    {
        pa = Vector256.FusedMultiplyAdd(pa, ra, k);
        pb = Vector256.FusedMultiplyAdd(pb, rb, k);
        pc = Vector256.FusedMultiplyAdd(pc, rc, k);
        pd = Vector256.FusedMultiplyAdd(pd, rd, k);
    }

    /// <summary>The LSTM gates in place: <see cref="LstmGates(ref float, ref float, ref float, ref float)"/> per lane, the four exps interleaved; the same bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void LstmGates4(ref Vector256<float> i, ref Vector256<float> f, ref Vector256<float> g, ref Vector256<float> o)
    {
        var top = Vector256.Create(GateExpTop);
        var ei = Vector256.MinNative(-i, top);
        var ef = Vector256.MinNative(-f, top);
        var eg = Vector256.MinNative(g + g, top);
        var eo = Vector256.MinNative(-o, top);
        Exp4(ref ei, ref ef, ref eg, ref eo);
        var one = Vector256<float>.One;
        var ai = one + ei;
        var af = one + ef;
        var ag = one + eg;
        var ao = one + eo;
        var rif = one / (ai * af);
        var rgo = one / (ag * ao);
        i = af * rif;
        f = ai * rif;
        g = one - Vector256.Create(2f) * (ao * rgo);
        o = ag * rgo;
    }

    /// <summary><see cref="Tanh(Vector256{float})"/> of four vectors in place, their exps interleaved; the same bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Tanh4(ref Vector256<float> a, ref Vector256<float> b, ref Vector256<float> c, ref Vector256<float> d)
    {
        var ea = a + a;
        var eb = b + b;
        var ec = c + c;
        var ed = d + d;
        Exp4(ref ea, ref eb, ref ec, ref ed);
        var one = Vector256<float>.One;
        var two = Vector256.Create(2f);
        a = one - two / (one + ea);
        b = one - two / (one + eb);
        c = one - two / (one + ec);
        d = one - two / (one + ed);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Sigmoid(Vector256<float> x) => Vector256<float>.One / (Vector256<float>.One + Exp(-x));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Tanh(Vector256<float> x) =>
        Vector256<float>.One - Vector256.Create(2f) / (Vector256<float>.One + Exp(x + x));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Exp(Vector128<float> x)
    {
        x = Vector128.MinNative(Vector128.MaxNative(x, Vector128.Create(-Bound)), Vector128.Create(Bound));
        var n = Vector128.Round(x * Vector128.Create(Log2E));
        var r = Vector128.FusedMultiplyAdd(n, Vector128.Create(-Ln2Hi), x);
        r = Vector128.FusedMultiplyAdd(n, Vector128.Create(-Ln2Lo), r);
        var p = Vector128.FusedMultiplyAdd(Vector128.Create(C6), r, Vector128.Create(C5));
        p = Vector128.FusedMultiplyAdd(p, r, Vector128.Create(C4));
        p = Vector128.FusedMultiplyAdd(p, r, Vector128.Create(C3));
        p = Vector128.FusedMultiplyAdd(p, r, Vector128.Create(C2));
        p = Vector128.FusedMultiplyAdd(p, r, Vector128<float>.One);
        p = Vector128.FusedMultiplyAdd(p, r, Vector128<float>.One);
        return p * Vector128.ShiftLeft(Vector128.ConvertToInt32Native(n) + Vector128.Create(127), 23).AsSingle();
    }

    /// <summary>
    /// <see cref="Exp(Vector128{float})"/> of four vectors, each operation issued for all four before the next: four
    /// independent dependency chains side by side in the instruction stream (the JIT keeps source order), so the
    /// core starts them together instead of queueing one chain's dependent operations behind another's. The same
    /// operations per element as <see cref="Exp(Vector128{float})"/>, hence the same bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Exp4(ref Vector128<float> a, ref Vector128<float> b, ref Vector128<float> c, ref Vector128<float> d)
    {
        var lo = Vector128.Create(-Bound);
        var hi = Vector128.Create(Bound);
        var xa = Vector128.MinNative(Vector128.MaxNative(a, lo), hi);
        var xb = Vector128.MinNative(Vector128.MaxNative(b, lo), hi);
        var xc = Vector128.MinNative(Vector128.MaxNative(c, lo), hi);
        var xd = Vector128.MinNative(Vector128.MaxNative(d, lo), hi);
        var l2e = Vector128.Create(Log2E);
        var na = Vector128.Round(xa * l2e);
        var nb = Vector128.Round(xb * l2e);
        var nc = Vector128.Round(xc * l2e);
        var nd = Vector128.Round(xd * l2e);
        var h = Vector128.Create(-Ln2Hi);
        var ra = Vector128.FusedMultiplyAdd(na, h, xa);
        var rb = Vector128.FusedMultiplyAdd(nb, h, xb);
        var rc = Vector128.FusedMultiplyAdd(nc, h, xc);
        var rd = Vector128.FusedMultiplyAdd(nd, h, xd);
        var l = Vector128.Create(-Ln2Lo);
        ra = Vector128.FusedMultiplyAdd(na, l, ra);
        rb = Vector128.FusedMultiplyAdd(nb, l, rb);
        rc = Vector128.FusedMultiplyAdd(nc, l, rc);
        rd = Vector128.FusedMultiplyAdd(nd, l, rd);
        var c6 = Vector128.Create(C6);
        var c5 = Vector128.Create(C5);
        var pa = Vector128.FusedMultiplyAdd(c6, ra, c5);
        var pb = Vector128.FusedMultiplyAdd(c6, rb, c5);
        var pc = Vector128.FusedMultiplyAdd(c6, rc, c5);
        var pd = Vector128.FusedMultiplyAdd(c6, rd, c5);
        Horner4(ref pa, ref pb, ref pc, ref pd, ra, rb, rc, rd, Vector128.Create(C4));
        Horner4(ref pa, ref pb, ref pc, ref pd, ra, rb, rc, rd, Vector128.Create(C3));
        Horner4(ref pa, ref pb, ref pc, ref pd, ra, rb, rc, rd, Vector128.Create(C2));
        Horner4(ref pa, ref pb, ref pc, ref pd, ra, rb, rc, rd, Vector128<float>.One);
        Horner4(ref pa, ref pb, ref pc, ref pd, ra, rb, rc, rd, Vector128<float>.One);
        var bias = Vector128.Create(127);
        a = pa * Vector128.ShiftLeft(Vector128.ConvertToInt32Native(na) + bias, 23).AsSingle();
        b = pb * Vector128.ShiftLeft(Vector128.ConvertToInt32Native(nb) + bias, 23).AsSingle();
        c = pc * Vector128.ShiftLeft(Vector128.ConvertToInt32Native(nc) + bias, 23).AsSingle();
        d = pd * Vector128.ShiftLeft(Vector128.ConvertToInt32Native(nd) + bias, 23).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Horner4(ref Vector128<float> pa, ref Vector128<float> pb, ref Vector128<float> pc, ref Vector128<float> pd,
        Vector128<float> ra, Vector128<float> rb, Vector128<float> rc, Vector128<float> rd, Vector128<float> k)
    {
        pa = Vector128.FusedMultiplyAdd(pa, ra, k);
        pb = Vector128.FusedMultiplyAdd(pb, rb, k);
        pc = Vector128.FusedMultiplyAdd(pc, rc, k);
        pd = Vector128.FusedMultiplyAdd(pd, rd, k);
    }

    /// <summary>The LSTM gates in place: <see cref="LstmGates(ref float, ref float, ref float, ref float)"/> per lane, the four exps interleaved; the same bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void LstmGates4(ref Vector128<float> i, ref Vector128<float> f, ref Vector128<float> g, ref Vector128<float> o)
    {
        var top = Vector128.Create(GateExpTop);
        var ei = Vector128.MinNative(-i, top);
        var ef = Vector128.MinNative(-f, top);
        var eg = Vector128.MinNative(g + g, top);
        var eo = Vector128.MinNative(-o, top);
        Exp4(ref ei, ref ef, ref eg, ref eo);
        var one = Vector128<float>.One;
        var ai = one + ei;
        var af = one + ef;
        var ag = one + eg;
        var ao = one + eo;
        var rif = one / (ai * af);
        var rgo = one / (ag * ao);
        i = af * rif;
        f = ai * rif;
        g = one - Vector128.Create(2f) * (ao * rgo);
        o = ag * rgo;
    }

    /// <summary><see cref="Tanh(Vector128{float})"/> of four vectors in place, their exps interleaved; the same bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Tanh4(ref Vector128<float> a, ref Vector128<float> b, ref Vector128<float> c, ref Vector128<float> d)
    {
        var ea = a + a;
        var eb = b + b;
        var ec = c + c;
        var ed = d + d;
        Exp4(ref ea, ref eb, ref ec, ref ed);
        var one = Vector128<float>.One;
        var two = Vector128.Create(2f);
        a = one - two / (one + ea);
        b = one - two / (one + eb);
        c = one - two / (one + ec);
        d = one - two / (one + ed);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Sigmoid(Vector128<float> x) => Vector128<float>.One / (Vector128<float>.One + Exp(-x));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Tanh(Vector128<float> x) =>
        Vector128<float>.One - Vector128.Create(2f) / (Vector128<float>.One + Exp(x + x));
}
