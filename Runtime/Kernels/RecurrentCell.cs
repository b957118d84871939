using System.Numerics.Tensors;
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
    /// <see cref="Isa.Scalar"/>, 16 lanes for AVX-512, 8 for AVX2, 4 on arm64, bit-identical results. c and h are updated in place.
    /// </summary>
    public static void LstmInt8(Isa isa, ReadOnlySpan<float> proj, ReadOnlySpan<int> acc, ReadOnlySpan<float> rowScales, float hScale,
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
        bool v512 = isa == Isa.Avx512Vnni && Vector512.IsHardwareAccelerated;
        bool v256 = isa is Isa.Avx2 or Isa.Avx512Vnni && Vector256.IsHardwareAccelerated;
        bool v128 = isa != Isa.Scalar && Vector128.IsHardwareAccelerated;
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

    /// <summary>Pass 1 in 16 lanes from unit <paramref name="j"/>: c' and σ(o) (into h); returns the first unit not done.</summary>
    private static int GatesPass512(ref float p, ref int a, ref float s, float hScale, ref float cr, ref float hr, int n, bool recurrent, int j)
    {
        var hs = Vector512.Create(hScale);
        for (; j <= n - 16; j += 16)
        {
            var pi = Vector512.LoadUnsafe(ref p, (nuint)j);
            var pf = Vector512.LoadUnsafe(ref p, (nuint)(n + j));
            var pg = Vector512.LoadUnsafe(ref p, (nuint)(2 * n + j));
            var po = Vector512.LoadUnsafe(ref p, (nuint)(3 * n + j));
            if (recurrent)
            {
                pi += Vector512.ConvertToSingle(Vector512.LoadUnsafe(ref a, (nuint)j)) * Vector512.LoadUnsafe(ref s, (nuint)j) * hs;
                pf += Vector512.ConvertToSingle(Vector512.LoadUnsafe(ref a, (nuint)(n + j))) * Vector512.LoadUnsafe(ref s, (nuint)(n + j)) * hs;
                pg += Vector512.ConvertToSingle(Vector512.LoadUnsafe(ref a, (nuint)(2 * n + j))) * Vector512.LoadUnsafe(ref s, (nuint)(2 * n + j)) * hs;
                po += Vector512.ConvertToSingle(Vector512.LoadUnsafe(ref a, (nuint)(3 * n + j))) * Vector512.LoadUnsafe(ref s, (nuint)(3 * n + j)) * hs;
            }
            GateMath.LstmGates4(ref pi, ref pf, ref pg, ref po);
            (pi * pg + pf * Vector512.LoadUnsafe(ref cr, (nuint)j)).StoreUnsafe(ref cr, (nuint)j);
            po.StoreUnsafe(ref hr, (nuint)j);
        }
        return j;
    }

    /// <summary>Pass 2 in 16 lanes from unit <paramref name="j"/>: h = σ(o) · tanh(c'); returns the first unit not done.</summary>
    private static int TanhPass512(ref float cr, ref float hr, int n, int j)
    {
        for (; j <= n - 4 * 16; j += 4 * 16)
        {
            nuint u = (nuint)j;
            var ta = Vector512.LoadUnsafe(ref cr, u);
            var tb = Vector512.LoadUnsafe(ref cr, u + 16);
            var tc = Vector512.LoadUnsafe(ref cr, u + 2 * 16);
            var td = Vector512.LoadUnsafe(ref cr, u + 3 * 16);
            GateMath.Tanh4(ref ta, ref tb, ref tc, ref td);
            (Vector512.LoadUnsafe(ref hr, u) * ta).StoreUnsafe(ref hr, u);
            (Vector512.LoadUnsafe(ref hr, u + 16) * tb).StoreUnsafe(ref hr, u + 16);
            (Vector512.LoadUnsafe(ref hr, u + 2 * 16) * tc).StoreUnsafe(ref hr, u + 2 * 16);
            (Vector512.LoadUnsafe(ref hr, u + 3 * 16) * td).StoreUnsafe(ref hr, u + 3 * 16);
        }
        for (; j <= n - 16; j += 16)
            (Vector512.LoadUnsafe(ref hr, (nuint)j) * GateMath.Tanh(Vector512.LoadUnsafe(ref cr, (nuint)j))).StoreUnsafe(ref hr, (nuint)j);
        return j;
    }

    /// <summary>Pass 1 in 8 lanes from unit <paramref name="j"/>: c' and σ(o) (into h); returns the first unit not done.</summary>
    private static int GatesPass256(ref float p, ref int a, ref float s, float hScale, ref float cr, ref float hr, int n, bool recurrent, int j)
    {
        var hs = Vector256.Create(hScale);
        for (; j <= n - 8; j += 8)
        {
            var pi = Vector256.LoadUnsafe(ref p, (nuint)j);
            var pf = Vector256.LoadUnsafe(ref p, (nuint)(n + j));
            var pg = Vector256.LoadUnsafe(ref p, (nuint)(2 * n + j));
            var po = Vector256.LoadUnsafe(ref p, (nuint)(3 * n + j));
            if (recurrent)
            {
                pi += Vector256.ConvertToSingle(Vector256.LoadUnsafe(ref a, (nuint)j)) * Vector256.LoadUnsafe(ref s, (nuint)j) * hs;
                pf += Vector256.ConvertToSingle(Vector256.LoadUnsafe(ref a, (nuint)(n + j))) * Vector256.LoadUnsafe(ref s, (nuint)(n + j)) * hs;
                pg += Vector256.ConvertToSingle(Vector256.LoadUnsafe(ref a, (nuint)(2 * n + j))) * Vector256.LoadUnsafe(ref s, (nuint)(2 * n + j)) * hs;
                po += Vector256.ConvertToSingle(Vector256.LoadUnsafe(ref a, (nuint)(3 * n + j))) * Vector256.LoadUnsafe(ref s, (nuint)(3 * n + j)) * hs;
            }
            GateMath.LstmGates4(ref pi, ref pf, ref pg, ref po);
            (pi * pg + pf * Vector256.LoadUnsafe(ref cr, (nuint)j)).StoreUnsafe(ref cr, (nuint)j);
            po.StoreUnsafe(ref hr, (nuint)j);
        }
        return j;
    }

    /// <summary>Pass 2 in 8 lanes from unit <paramref name="j"/>: h = σ(o) · tanh(c'); returns the first unit not done.</summary>
    private static int TanhPass256(ref float cr, ref float hr, int n, int j)
    {
        for (; j <= n - 4 * 8; j += 4 * 8)
        {
            nuint u = (nuint)j;
            var ta = Vector256.LoadUnsafe(ref cr, u);
            var tb = Vector256.LoadUnsafe(ref cr, u + 8);
            var tc = Vector256.LoadUnsafe(ref cr, u + 2 * 8);
            var td = Vector256.LoadUnsafe(ref cr, u + 3 * 8);
            GateMath.Tanh4(ref ta, ref tb, ref tc, ref td);
            (Vector256.LoadUnsafe(ref hr, u) * ta).StoreUnsafe(ref hr, u);
            (Vector256.LoadUnsafe(ref hr, u + 8) * tb).StoreUnsafe(ref hr, u + 8);
            (Vector256.LoadUnsafe(ref hr, u + 2 * 8) * tc).StoreUnsafe(ref hr, u + 2 * 8);
            (Vector256.LoadUnsafe(ref hr, u + 3 * 8) * td).StoreUnsafe(ref hr, u + 3 * 8);
        }
        for (; j <= n - 8; j += 8)
            (Vector256.LoadUnsafe(ref hr, (nuint)j) * GateMath.Tanh(Vector256.LoadUnsafe(ref cr, (nuint)j))).StoreUnsafe(ref hr, (nuint)j);
        return j;
    }

    /// <summary>Pass 1 in 4 lanes from unit <paramref name="j"/>: c' and σ(o) (into h); returns the first unit not done.</summary>
    private static int GatesPass128(ref float p, ref int a, ref float s, float hScale, ref float cr, ref float hr, int n, bool recurrent, int j)
    {
        var hs = Vector128.Create(hScale);
        for (; j <= n - 4; j += 4)
        {
            var pi = Vector128.LoadUnsafe(ref p, (nuint)j);
            var pf = Vector128.LoadUnsafe(ref p, (nuint)(n + j));
            var pg = Vector128.LoadUnsafe(ref p, (nuint)(2 * n + j));
            var po = Vector128.LoadUnsafe(ref p, (nuint)(3 * n + j));
            if (recurrent)
            {
                pi += Vector128.ConvertToSingle(Vector128.LoadUnsafe(ref a, (nuint)j)) * Vector128.LoadUnsafe(ref s, (nuint)j) * hs;
                pf += Vector128.ConvertToSingle(Vector128.LoadUnsafe(ref a, (nuint)(n + j))) * Vector128.LoadUnsafe(ref s, (nuint)(n + j)) * hs;
                pg += Vector128.ConvertToSingle(Vector128.LoadUnsafe(ref a, (nuint)(2 * n + j))) * Vector128.LoadUnsafe(ref s, (nuint)(2 * n + j)) * hs;
                po += Vector128.ConvertToSingle(Vector128.LoadUnsafe(ref a, (nuint)(3 * n + j))) * Vector128.LoadUnsafe(ref s, (nuint)(3 * n + j)) * hs;
            }
            GateMath.LstmGates4(ref pi, ref pf, ref pg, ref po);
            (pi * pg + pf * Vector128.LoadUnsafe(ref cr, (nuint)j)).StoreUnsafe(ref cr, (nuint)j);
            po.StoreUnsafe(ref hr, (nuint)j);
        }
        return j;
    }

    /// <summary>Pass 2 in 4 lanes from unit <paramref name="j"/>: h = σ(o) · tanh(c'); returns the first unit not done.</summary>
    private static int TanhPass128(ref float cr, ref float hr, int n, int j)
    {
        for (; j <= n - 4 * 4; j += 4 * 4)
        {
            nuint u = (nuint)j;
            var ta = Vector128.LoadUnsafe(ref cr, u);
            var tb = Vector128.LoadUnsafe(ref cr, u + 4);
            var tc = Vector128.LoadUnsafe(ref cr, u + 2 * 4);
            var td = Vector128.LoadUnsafe(ref cr, u + 3 * 4);
            GateMath.Tanh4(ref ta, ref tb, ref tc, ref td);
            (Vector128.LoadUnsafe(ref hr, u) * ta).StoreUnsafe(ref hr, u);
            (Vector128.LoadUnsafe(ref hr, u + 4) * tb).StoreUnsafe(ref hr, u + 4);
            (Vector128.LoadUnsafe(ref hr, u + 2 * 4) * tc).StoreUnsafe(ref hr, u + 2 * 4);
            (Vector128.LoadUnsafe(ref hr, u + 3 * 4) * td).StoreUnsafe(ref hr, u + 3 * 4);
        }
        for (; j <= n - 4; j += 4)
            (Vector128.LoadUnsafe(ref hr, (nuint)j) * GateMath.Tanh(Vector128.LoadUnsafe(ref cr, (nuint)j))).StoreUnsafe(ref hr, (nuint)j);
        return j;
    }
}
