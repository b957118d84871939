using System.Numerics.Tensors;

namespace Edge.Runtime.Kernels;

/// <summary>
/// The fp32 gate math of LSTM and GRU cells on gate pre-activations (the matrix products, from
/// <see cref="Gemv"/> fp32 or int8-dequantized, already summed with the biases), in the IR gate orders
/// (LSTM i, f, g, o; GRU r, z, n) with the default activations (sigmoid, tanh). Vectorized by
/// <see cref="TensorPrimitives"/>, which dispatches on the hardware by itself (the forced <see cref="Isa"/>
/// applies to the matrix products only). Nothing allocates; state is updated in place.
/// Layers with peepholes, clipping or other activations keep their own step code.
/// </summary>
public static class RecurrentCell
{
    /// <summary>
    /// LSTM: gates = [i | f | g | o] pre-activations (4H, overwritten). c' = σ(f)·c + σ(i)·tanh(g), h' = σ(o)·tanh(c').
    /// </summary>
    public static void Lstm(Span<float> gates, Span<float> c, Span<float> h)
    {
        int n = h.Length;
        if (c.Length != n) throw new ArgumentException($"c holds {c.Length} values, h {n}", nameof(c));
        if (gates.Length != 4 * n) throw new ArgumentException($"gates hold {gates.Length} values, 4 x hidden {n} = {4 * n} expected", nameof(gates));
        var ifo = gates;
        var i = gates[..n];
        var f = gates.Slice(n, n);
        var g = gates.Slice(2 * n, n);
        var o = gates.Slice(3 * n, n);
        TensorPrimitives.Sigmoid(ifo[..(2 * n)], ifo[..(2 * n)]);
        TensorPrimitives.Sigmoid(o, o);
        TensorPrimitives.Tanh(g, g);
        TensorPrimitives.Multiply(f, c, c);
        TensorPrimitives.MultiplyAdd(i, g, c, c);
        TensorPrimitives.Tanh(c, g); // g is spent: reuse it for tanh(c')
        TensorPrimitives.Multiply(o, g, h);
    }

    /// <summary>
    /// GRU with linear_before_reset = 1 (PyTorch, Keras reset_after=True): xProj = x·W^T + b_W (3H),
    /// hProj = h·R^T + b_R (3H, overwritten). r = σ(xr + hr), z = σ(xz + hz), n = tanh(xn + r·hn), h' = n + z·(h - n).
    /// </summary>
    public static void GruLinearBeforeReset(ReadOnlySpan<float> xProj, Span<float> hProj, Span<float> h)
    {
        int n = h.Length;
        if (xProj.Length != 3 * n || hProj.Length != 3 * n)
            throw new ArgumentException($"projections hold {xProj.Length} and {hProj.Length} values, 3 x hidden {n} = {3 * n} expected");
        var rz = hProj[..(2 * n)];
        TensorPrimitives.Add(xProj[..(2 * n)], rz, rz);
        TensorPrimitives.Sigmoid(rz, rz);
        var nGate = hProj.Slice(2 * n, n);
        TensorPrimitives.MultiplyAdd(rz[..n], nGate, xProj.Slice(2 * n, n), nGate);
        Finish(hProj.Slice(n, n), nGate, h);
    }

    /// <summary>
    /// GRU with linear_before_reset = 0 (ONNX default, Keras reset_after=False), first half: rzPre = [r | z]
    /// pre-activations (2H, both projections and biases summed; overwritten by σ). Writes rh = r·h, the input
    /// of the second recurrent product (R_n), whose result goes to <see cref="GruFinish"/>.
    /// </summary>
    public static void GruResetHidden(Span<float> rzPre, ReadOnlySpan<float> h, Span<float> rh)
    {
        int n = h.Length;
        if (rzPre.Length != 2 * n || rh.Length != n) throw new ArgumentException($"rz holds {rzPre.Length} values and rh {rh.Length}; hidden is {n}");
        TensorPrimitives.Sigmoid(rzPre, rzPre);
        TensorPrimitives.Multiply(rzPre[..n], h, rh);
    }

    /// <summary>GRU second half: n = tanh(nPre) (nPre overwritten), h' = n + z·(h - n), z already activated.</summary>
    public static void GruFinish(ReadOnlySpan<float> z, Span<float> nPre, Span<float> h)
    {
        if (z.Length != h.Length || nPre.Length != h.Length) throw new ArgumentException($"z {z.Length}, n {nPre.Length} and h {h.Length} differ in length");
        Finish(z, nPre, h);
    }

    private static void Finish(ReadOnlySpan<float> z, Span<float> nGate, Span<float> h)
    {
        TensorPrimitives.Tanh(nGate, nGate);
        TensorPrimitives.Subtract(h, nGate, h);
        TensorPrimitives.MultiplyAdd(z, h, nGate, h);
    }
}
