using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Edge.Runtime.Kernels;

/// <summary>
/// The gate math of the default LSTM cell (sigmoid, tanh, tanh) on gate pre-activations (the matrix products,
/// from <see cref="Gemv"/> fp32 or int8-dequantized, already summed with the biases), gate order i, f, g, o:
/// in fp32 as three stages (<see cref="LstmGates"/>, <see cref="LstmUpdateCell"/>, <see cref="LstmUpdateHidden"/>,
/// named as tflite-micro names them), and in int8 as one pass from the int32 accumulators (<see cref="LstmInt8"/>). Vectorized by
/// <see cref="TensorPrimitives"/>, which dispatches on the hardware by itself (the forced <see cref="Isa"/>
/// applies to the matrix products only). Nothing allocates; state is updated in place.
/// Cells with peepholes, clipping or other activations, and GRU cells, are staged in Runtime/Layers (LstmCell, GruCell).
/// </summary>
internal static class RecurrentCell
{
    /// <summary>
    /// LSTM: gates = [i | f | g | o] pre-activations (4H, overwritten). c' = σ(f)·c + σ(i)·tanh(g), h' = σ(o)·tanh(c'):
    /// <see cref="LstmGates"/>, <see cref="LstmUpdateCell"/>, <see cref="LstmUpdateHidden"/> in turn.
    /// </summary>
    public static void Lstm(Span<float> gates, Span<float> c, Span<float> h)
    {
        int n = h.Length;
        if (c.Length != n) throw new ArgumentException($"c holds {c.Length} values, h {n}", nameof(c));
        if (gates.Length != 4 * n) throw new ArgumentException($"gates hold {gates.Length} values, 4 x hidden {n} = {4 * n} expected", nameof(gates));
        LstmGates(gates);
        LstmUpdateCell(gates, c);
        LstmUpdateHidden(gates, c, h);
    }

    /// <summary>
    /// LSTM stage 1, the gates of the default cell: [i | f | g | o] pre-activations (4H) become σ(i), σ(f), tanh(g),
    /// σ(o) in place. σ runs over i and f in one call (fewer passes; the values per element are the same).
    /// </summary>
    public static void LstmGates(Span<float> gates)
    {
        int n = gates.Length / 4;
        var ifo = gates[..(2 * n)];
        var g = gates.Slice(2 * n, n);
        var o = gates.Slice(3 * n, n);
        TensorPrimitives.Sigmoid(ifo, ifo);
        TensorPrimitives.Sigmoid(o, o);
        TensorPrimitives.Tanh(g, g);
    }

    /// <summary>LSTM stage 2, the cell state: c' = f·c + i·g from activated gates [i | f | g | o] (c updated in place).</summary>
    public static void LstmUpdateCell(ReadOnlySpan<float> gates, Span<float> c)
    {
        int n = c.Length;
        TensorPrimitives.Multiply(gates.Slice(n, n), c, c);
        TensorPrimitives.MultiplyAdd(gates[..n], gates.Slice(2 * n, n), c, c);
    }

    /// <summary>
    /// LSTM stage 3, the output of the default cell: h' = o·tanh(c') from activated gates [i | f | g | o] and the new
    /// cell state. g is spent by then: tanh(c') is written over it instead of into a copy.
    /// </summary>
    public static void LstmUpdateHidden(Span<float> gates, ReadOnlySpan<float> c, Span<float> h)
    {
        int n = h.Length;
        var g = gates.Slice(2 * n, n);
        TensorPrimitives.Tanh(c, g);
        TensorPrimitives.Multiply(gates.Slice(3 * n, n), g, h);
    }

    /// <summary>
    /// The int8 LSTM cell in one pass (the default cell: sigmoid, tanh, tanh, no peepholes or clipping): for
    /// each gate row, pre = proj + (float)acc · rowScale · hScale (proj = W x + biases, acc = R h in int32 from
    /// <see cref="Gemv.MultiplyInt8"/>; with an empty <paramref name="acc"/> pre = proj, a zero initial state);
    /// then i, f, o = σ, g = tanh (<see cref="GateMath"/>), c' = i·g + f·c, h' = o·tanh(c'). Gate order
    /// [i | f | g | o] (4H). The same operations in the same order per element on every path: scalar for
    /// <paramref name="vectorBits"/> 0 (<see cref="Isa.Scalar"/>), 16 lanes for 512 (AVX-512), 8 for 256 (AVX2), 4 for 128
    /// (arm64), bit-identical results; <see cref="Gemv.LstmCellInt8"/> passes its path's width
    /// (<see cref="Gemv.FloatVectorBits"/>). c and h are updated in place.
    /// </summary>
    public static void LstmInt8(int vectorBits, ReadOnlySpan<float> proj, ReadOnlySpan<int> acc, ReadOnlySpan<float> rowScales, float hScale,
        Span<float> c, Span<float> h)
    {
        int n = h.Length;
        if (c.Length != n) throw new ArgumentException($"c holds {c.Length} values, h {n}", nameof(c));
        if (proj.Length < 4 * n) throw new ArgumentException($"proj holds {proj.Length} values, 4 x hidden {n} = {4 * n} expected", nameof(proj));
        bool recurrent = !acc.IsEmpty;
        if (recurrent && (acc.Length < 4 * n || rowScales.Length < 4 * n))
            throw new ArgumentException($"acc holds {acc.Length} values and rowScales {rowScales.Length}, 4 x hidden {n} = {4 * n} expected");
        ref float p = ref MemoryMarshal.GetReference(proj);
        ref int a = ref MemoryMarshal.GetReference(acc);
        ref float s = ref MemoryMarshal.GetReference(rowScales);
        ref float cr = ref MemoryMarshal.GetReference(c);
        ref float hr = ref MemoryMarshal.GetReference(h);
        // Two passes: c' and σ(o) (into h) first, then h = σ(o)·tanh(c'). Each element's work is a chain of
        // about 60 dependent cycles (exp, then a division); splitting the cell keeps the chains per iteration
        // short and independent, so they overlap instead of queueing. Within an iteration the four exps run
        // side by side, operation by operation (GateMath.LstmGates4, GateMath.Tanh4); docs/benchmarks.md has the gain.
        // Widest vectors first, then narrower ones for the rest (the same operations at every width).
        // IsHardwareAccelerated first: a constant when the code is compiled, so a width the machine lacks (512 and 256
        // bits on arm64) leaves no code behind, as before the widths came from the kernel table.
        bool v512 = Vector512.IsHardwareAccelerated && vectorBits >= 512;
        bool v256 = Vector256.IsHardwareAccelerated && vectorBits >= 256;
        bool v128 = Vector128.IsHardwareAccelerated && vectorBits >= 128;
        int j = 0;
        // Each width's loops are methods of their own: small enough that the compiler inlines the gate math
        // (LstmGates4, Tanh4) and keeps the four gate vectors and the constants in registers.
        if (v512) j = GatesPass512(ref p, ref a, ref s, hScale, ref cr, ref hr, n, recurrent, j);
        if (v256) j = GatesPass256(ref p, ref a, ref s, hScale, ref cr, ref hr, n, recurrent, j);
        if (v128) j = GatesPass128(ref p, ref a, ref s, hScale, ref cr, ref hr, n, recurrent, j);
        for (; j < n; j++)
        {
            float pi = proj[j], pf = proj[n + j], pg = proj[2 * n + j], po = proj[3 * n + j];
            if (recurrent)
            {
                pi += (float)acc[j] * rowScales[j] * hScale;
                pf += (float)acc[n + j] * rowScales[n + j] * hScale;
                pg += (float)acc[2 * n + j] * rowScales[2 * n + j] * hScale;
                po += (float)acc[3 * n + j] * rowScales[3 * n + j] * hScale;
            }
            GateMath.LstmGates(ref pi, ref pf, ref pg, ref po);
            c[j] = pi * pg + pf * c[j];
            h[j] = po;
        }
        j = 0;
        if (v512) j = TanhPass512(ref cr, ref hr, n, j);
        if (v256) j = TanhPass256(ref cr, ref hr, n, j);
        if (v128) j = TanhPass128(ref cr, ref hr, n, j);
        for (; j < n; j++) h[j] *= GateMath.Tanh(c[j]);
    }

    // The per-width entry points of the two passes: one line each, the loops written once below (generic over the
    // width, compiled per width). Named per width because tools/arm_perf_model.py reads the 128-bit ones by symbol.
    private static int GatesPass512(ref float p, ref int a, ref float s, float hScale, ref float cr, ref float hr, int n, bool recurrent, int j) =>
        GatesPass<Simd512, Vector512<float>>(ref p, ref a, ref s, hScale, ref cr, ref hr, n, recurrent, j);
    private static int GatesPass256(ref float p, ref int a, ref float s, float hScale, ref float cr, ref float hr, int n, bool recurrent, int j) =>
        GatesPass<Simd256, Vector256<float>>(ref p, ref a, ref s, hScale, ref cr, ref hr, n, recurrent, j);
    private static int GatesPass128(ref float p, ref int a, ref float s, float hScale, ref float cr, ref float hr, int n, bool recurrent, int j) =>
        GatesPass<Simd128, Vector128<float>>(ref p, ref a, ref s, hScale, ref cr, ref hr, n, recurrent, j);
    private static int TanhPass512(ref float cr, ref float hr, int n, int j) => TanhPass<Simd512, Vector512<float>>(ref cr, ref hr, n, j);
    private static int TanhPass256(ref float cr, ref float hr, int n, int j) => TanhPass<Simd256, Vector256<float>>(ref cr, ref hr, n, j);
    private static int TanhPass128(ref float cr, ref float hr, int n, int j) => TanhPass<Simd128, Vector128<float>>(ref cr, ref hr, n, j);

    /// <summary>
    /// Pass 1 in <c>TWidth.Count</c> lanes from unit <paramref name="j"/>: c' and σ(o) (into h); returns the first unit not
    /// done. Inlined into its per-width entry point, so each width is one method small enough that the gate math
    /// (<see cref="GateMath.LstmGates4{TWidth, TVec}"/>) is inlined too and keeps the four gate vectors and the
    /// constants in registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int GatesPass<TWidth, TVec>(ref float p, ref int a, ref float s, float hScale, ref float cr, ref float hr, int n, bool recurrent, int j)
        where TWidth : ISimd<TVec> where TVec : struct
    {
        var hs = TWidth.Create(hScale);
        for (; j <= n - TWidth.Count; j += TWidth.Count)
        {
            // Offsets converted where they are used, as written out per width before: hoisted into locals, NativeAOT
            // splits each into sxtw + lsl on arm64 (4 instructions more per iteration, tools/arm-perf-model.sh).
            var pi = TWidth.Load(ref p, (nuint)j);
            var pf = TWidth.Load(ref p, (nuint)(n + j));
            var pg = TWidth.Load(ref p, (nuint)(2 * n + j));
            var po = TWidth.Load(ref p, (nuint)(3 * n + j));
            if (recurrent)
            {
                // (float)acc · rowScale · hScale, then + proj: the scalar loop's operations in its order.
                pi = TWidth.Add(pi, TWidth.Multiply(TWidth.Multiply(TWidth.LoadAsSingle(ref a, (nuint)j), TWidth.Load(ref s, (nuint)j)), hs));
                pf = TWidth.Add(pf, TWidth.Multiply(TWidth.Multiply(TWidth.LoadAsSingle(ref a, (nuint)(n + j)), TWidth.Load(ref s, (nuint)(n + j))), hs));
                pg = TWidth.Add(pg, TWidth.Multiply(TWidth.Multiply(TWidth.LoadAsSingle(ref a, (nuint)(2 * n + j)), TWidth.Load(ref s, (nuint)(2 * n + j))), hs));
                po = TWidth.Add(po, TWidth.Multiply(TWidth.Multiply(TWidth.LoadAsSingle(ref a, (nuint)(3 * n + j)), TWidth.Load(ref s, (nuint)(3 * n + j))), hs));
            }
            GateMath.LstmGates4<TWidth, TVec>(ref pi, ref pf, ref pg, ref po);
            TWidth.Store(TWidth.Add(TWidth.Multiply(pi, pg), TWidth.Multiply(pf, TWidth.Load(ref cr, (nuint)j))), ref cr, (nuint)j);
            TWidth.Store(po, ref hr, (nuint)j);
        }
        return j;
    }

    /// <summary>
    /// Pass 2 in <c>TWidth.Count</c> lanes from unit <paramref name="j"/>: h = σ(o) · tanh(c'), four vectors at a time
    /// (their exps interleaved, <see cref="GateMath.Tanh4{TWidth, TVec}"/>), then one; returns the first unit not done.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int TanhPass<TWidth, TVec>(ref float cr, ref float hr, int n, int j) where TWidth : ISimd<TVec> where TVec : struct
    {
        // Offsets as VectorNNN<float>.Count expressions (constants once compiled) at each use, the form of the
        // written-out loops: with int locals NativeAOT rescales the index for every load on arm64.
        for (; j <= n - 4 * TWidth.Count; j += 4 * TWidth.Count)
        {
            nuint u = (nuint)j;
            var ta = TWidth.Load(ref cr, u);
            var tb = TWidth.Load(ref cr, u + (nuint)TWidth.Count);
            var tc = TWidth.Load(ref cr, u + (nuint)(2 * TWidth.Count));
            var td = TWidth.Load(ref cr, u + (nuint)(3 * TWidth.Count));
            GateMath.Tanh4<TWidth, TVec>(ref ta, ref tb, ref tc, ref td);
            TWidth.Store(TWidth.Multiply(TWidth.Load(ref hr, u), ta), ref hr, u);
            TWidth.Store(TWidth.Multiply(TWidth.Load(ref hr, u + (nuint)TWidth.Count), tb), ref hr, u + (nuint)TWidth.Count);
            TWidth.Store(TWidth.Multiply(TWidth.Load(ref hr, u + (nuint)(2 * TWidth.Count)), tc), ref hr, u + (nuint)(2 * TWidth.Count));
            TWidth.Store(TWidth.Multiply(TWidth.Load(ref hr, u + (nuint)(3 * TWidth.Count)), td), ref hr, u + (nuint)(3 * TWidth.Count));
        }
        for (; j <= n - TWidth.Count; j += TWidth.Count)
            TWidth.Store(TWidth.Multiply(TWidth.Load(ref hr, (nuint)j), GateMath.Tanh<TWidth, TVec>(TWidth.Load(ref cr, (nuint)j))), ref hr, (nuint)j);
        return j;
    }
}
