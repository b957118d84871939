namespace Edge.Runtime.Tests.Kernels;

/// <summary>
/// Slow, obvious references for the kernels: no packing, no padding, no tricks. The scalar kernel (the
/// specification) is checked against these; every SIMD path against the scalar kernel.
/// </summary>
internal static class KernelReference
{
    /// <summary>y[b][r] = Σ_k w[r][k] · x[b][k] with w row-major (rows x cols), in 64-bit so nothing can wrap.</summary>
    public static long[] MultiplyInt8(sbyte[] w, int rows, int cols, ReadOnlySpan<sbyte> x, int xStride, int batch)
    {
        var y = new long[batch * rows];
        for (int b = 0; b < batch; b++)
            for (int r = 0; r < rows; r++)
            {
                long s = 0;
                for (int k = 0; k < cols; k++) s += (long)w[r * cols + k] * x[b * xStride + k];
                y[b * rows + r] = s;
            }
        return y;
    }

    /// <summary>fp32 product in double: the exact value, and Σ|w·x| + |bias| + |y0| for the error bound.</summary>
    public static (double Value, double Magnitude) DotFp32(ReadOnlySpan<float> w, ReadOnlySpan<float> x, float bias, float y0)
    {
        double s = 0, m = 0;
        for (int k = 0; k < w.Length; k++)
        {
            s += (double)w[k] * x[k];
            m += Math.Abs((double)w[k] * x[k]);
        }
        return (s + bias + y0, m + Math.Abs(bias) + Math.Abs(y0));
    }

    /// <summary>
    /// The forward error bound of a K-term fp32 dot product summed in any order, plus a bias and an existing
    /// value: |computed - exact| ≤ γ_(K+2) · magnitude with γ_n = n·u / (1 - n·u), u = 2^-24 (Higham, Accuracy and
    /// Stability of Numerical Algorithms, 3.1). Fused multiply-adds only tighten it.
    /// </summary>
    public static double Fp32Bound(int k, double magnitude)
    {
        double nu = (k + 2) * Math.Pow(2, -24);
        return nu / (1 - nu) * magnitude + 1e-30;
    }

    public static sbyte[] RandomInt8(Random rng, int n)
    {
        var a = new sbyte[n];
        for (int i = 0; i < n; i++) a[i] = (sbyte)rng.Next(-127, 128);
        return a;
    }

    public static float[] RandomFloats(Random rng, int n, float scale = 1f)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
        return a;
    }

    public static double Sigmoid(double v) => 1 / (1 + Math.Exp(-v));
}
