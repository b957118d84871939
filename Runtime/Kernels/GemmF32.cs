using System.Numerics.Tensors;

namespace Edge.Runtime.Kernels;

/// <summary>
/// Plain fp32 matrix products on row-major buffers, the baseline every quantized path is measured
/// against. The inner loops are contiguous and vectorized by <see cref="TensorPrimitives"/>:
/// <list type="bullet">
/// <item><see cref="MultiplyTransposed"/> (B stored as (N, K), e.g. a Linear weight): one dot
///   product of two contiguous K-rows per output; best when N is small (batch-1 gemv).</item>
/// <item><see cref="Multiply"/> (B stored as (K, N)): C row += a[m, k] * B row k, an axpy over N;
///   reads B once per A row, never strided.</item>
/// </list>
/// Lengths are checked once at entry; both overwrite C.
/// </summary>
internal static class GemmF32
{
    /// <summary>C (M, N) = A (M, K) · Bᵀ where B is (N, K).</summary>
    public static void MultiplyTransposed(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k)
    {
        Check(a, b, c, m, n, k);
        for (int i = 0; i < m; i++)
        {
            var row = a.Slice(i * k, k);
            var dst = c.Slice(i * n, n);
            for (int j = 0; j < n; j++)
                dst[j] = TensorPrimitives.Dot(row, b.Slice(j * k, k));
        }
    }

    /// <summary>C (M, N) = A (M, K) · B where B is (K, N).</summary>
    public static void Multiply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k)
    {
        Check(a, b, c, m, n, k);
        if (n == 1)
        {
            // B is one contiguous column: a dot per row beats K axpys of length 1.
            for (int i = 0; i < m; i++) c[i] = TensorPrimitives.Dot(a.Slice(i * k, k), b.Slice(0, k));
            return;
        }
        c.Slice(0, m * n).Clear();
        for (int i = 0; i < m; i++)
        {
            var dst = c.Slice(i * n, n);
            var row = a.Slice(i * k, k);
            for (int p = 0; p < k; p++)
            {
                TensorPrimitives.MultiplyAdd(b.Slice(p * n, n), row[p], dst, dst);
            }
        }
    }

    private static void Check(ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> c, int m, int n, int k)
    {
        if (m < 0 || n < 0 || k < 0) throw new ArgumentOutOfRangeException(nameof(m), $"negative size {m} x {n} x {k}");
        if (a.Length < (long)m * k) throw new ArgumentException($"A holds {a.Length} floats, {m} x {k} needs {(long)m * k}", nameof(a));
        if (b.Length < (long)k * n) throw new ArgumentException($"B holds {b.Length} floats, {k} x {n} needs {(long)k * n}", nameof(b));
        if (c.Length < (long)m * n) throw new ArgumentException($"C holds {c.Length} floats, {m} x {n} needs {(long)m * n}", nameof(c));
    }
}
