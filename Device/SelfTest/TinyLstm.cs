using Edge.Runtime.Kernels;

namespace Edge.Device.SelfTest;

/// <summary>
/// A 2-layer LSTM (input 8, hidden 24 and 16, 12 steps) with weights from a fixed integer generator, run on
/// the kernels (int8: dynamic activation quantization, int8 products dequantized into the gates; or fp32)
/// and in fp64 with plain loops. Gate order i, f, g, o; bias added once.
/// </summary>
internal sealed class TinyLstm
{
    private const int Input = 8, Steps = 12;
    private static readonly int[] Hidden = [24, 16];

    /// <summary>The fp64 reference's final h[0..7] of layer 2, as computed when this test was written.</summary>
    public static readonly double[] StoredReference =
    [
        -0.23869613828379116, 0.11347238118183882, 0.15226356257026397, -0.1468645706181529,
        0.11427979721283171, 0.2706563154807259, 0.19889889944740016, -0.19262241879408687,
    ];

    private readonly float[][] _w = new float[2][], _r = new float[2][], _b = new float[2][];
    private readonly PackedInt8Matrix[] _wq = new PackedInt8Matrix[2], _rq = new PackedInt8Matrix[2];
    private readonly float[] _x = new float[Steps * Input];

    public TinyLstm()
    {
        uint state = 12345;
        float Next(float scale)
        {
            state = state * 1664525 + 1013904223; // Numerical Recipes LCG: the same numbers on every platform
            return ((state >> 8) / (float)(1 << 24) * 2 - 1) * scale;
        }
        for (int l = 0; l < 2; l++)
        {
            int inSize = l == 0 ? Input : Hidden[0], h = Hidden[l];
            _w[l] = Enumerable.Range(0, 4 * h * inSize).Select(_ => Next(0.4f)).ToArray();
            _r[l] = Enumerable.Range(0, 4 * h * h).Select(_ => Next(0.3f)).ToArray();
            _b[l] = Enumerable.Range(0, 4 * h).Select(_ => Next(0.1f)).ToArray();
            _wq[l] = PackedInt8Matrix.Quantize(_w[l], 4 * h, inSize);
            _rq[l] = PackedInt8Matrix.Quantize(_r[l], 4 * h, h);
        }
        for (int t = 0; t < Steps; t++)
            for (int i = 0; i < Input; i++)
                _x[t * Input + i] = MathF.Sin(0.3f * t + i) * (1 + i % 3);
    }

    /// <summary>Final hidden state of layer 2 on the kernels.</summary>
    public float[] Run(Gemv kernel, bool int8)
    {
        var seq = _x;
        int inSize = Input;
        float[] h = [];
        for (int l = 0; l < 2; l++)
        {
            int n = Hidden[l];
            h = new float[n];
            var c = new float[n];
            var gates = new float[4 * n];
            var q = new sbyte[Math.Max(inSize, n)];
            var outSeq = new float[Steps * n];
            for (int t = 0; t < Steps; t++)
            {
                var xt = seq.AsSpan(t * inSize, inSize);
                if (int8)
                {
                    float xs = kernel.QuantizeActivations(xt, q);
                    kernel.MultiplyInt8Dequantize(_wq[l], q, inSize, [xs], 1, _b[l], gates, 4 * n, accumulate: false);
                    float hs = kernel.QuantizeActivations(h, q);
                    kernel.MultiplyInt8Dequantize(_rq[l], q, n, [hs], 1, default, gates, 4 * n, accumulate: true);
                }
                else
                {
                    kernel.MultiplyFp32(_w[l], 4 * n, inSize, inSize, xt, inSize, 1, _b[l], gates, 4 * n, accumulate: false);
                    kernel.MultiplyFp32(_r[l], 4 * n, n, n, h, n, 1, default, gates, 4 * n, accumulate: true);
                }
                RecurrentCell.Lstm(gates, c, h);
                h.CopyTo(outSeq, t * n);
            }
            seq = outSeq;
            inSize = n;
        }
        return h;
    }

    /// <summary>The same network in fp64 with plain loops.</summary>
    public double[] Reference()
    {
        var seq = _x.Select(v => (double)v).ToArray();
        int inSize = Input;
        double[] h = [];
        for (int l = 0; l < 2; l++)
        {
            int n = Hidden[l];
            h = new double[n];
            var c = new double[n];
            var outSeq = new double[Steps * n];
            for (int t = 0; t < Steps; t++)
            {
                var g = new double[4 * n];
                for (int r = 0; r < 4 * n; r++)
                {
                    double s = _b[l][r];
                    for (int k = 0; k < inSize; k++) s += _w[l][r * inSize + k] * seq[t * inSize + k];
                    for (int k = 0; k < n; k++) s += _r[l][r * n + k] * h[k];
                    g[r] = s;
                }
                for (int j = 0; j < n; j++)
                {
                    c[j] = Sigmoid(g[n + j]) * c[j] + Sigmoid(g[j]) * Math.Tanh(g[2 * n + j]);
                    h[j] = Sigmoid(g[3 * n + j]) * Math.Tanh(c[j]);
                }
                Array.Copy(h, 0, outSeq, t * n, n);
            }
            seq = outSeq;
            inSize = n;
        }
        return h;
    }

    private static double Sigmoid(double v) => 1 / (1 + Math.Exp(-v));
}
