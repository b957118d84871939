using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Tests.Int8;

/// <summary>
/// Slow, obvious int8 layers written from the documented rule (docs/architecture.md, Quantization), with no
/// code shared with the runtime: per-row int8 weights (the stored values and scales), activations
/// quantized symmetric per vector with q = clamp(round-half-even(x · 127 / absmax), -127, 127) and
/// scale absmax / 127 (absmax static when given, else max |x|), int32 dot products in plain loops,
/// fp32 out = (float)acc · rowScale · xScale + bias, gate math in scalar fp32.
/// </summary>
internal static class Int8Reference
{
    /// <summary>Quantizes x (absMax 0: dynamic); returns the scale.</summary>
    public static float Quantize(ReadOnlySpan<float> x, sbyte[] q, float absMax = 0)
    {
        if (absMax == 0)
            foreach (var v in x) absMax = Math.Max(absMax, Math.Abs(v));
        if (absMax == 0)
        {
            Array.Clear(q, 0, x.Length);
            return 0;
        }
        float inv = 127f / absMax;
        for (int i = 0; i < x.Length; i++) q[i] = (sbyte)Math.Clamp(MathF.Round(x[i] * inv, MidpointRounding.ToEven), -127f, 127f);
        return absMax / 127f;
    }

    /// <summary>out[r] = (float)Σ_k W[row0 + r, k] · q[k] · scale[row0 + r] · xScale for r &lt; rows (W seen as (rows, cols)).</summary>
    public static float[] Product(QuantizedWeight w, int row0, int rows, sbyte[] q, float xScale)
    {
        int cols = w.Values.Length / w.Scales.Length;
        var v = w.Values.ReadOnlySpan<sbyte>();
        var result = new float[rows];
        for (int r = 0; r < rows; r++)
        {
            int acc = 0;
            for (int k = 0; k < cols; k++) acc += v[(row0 + r) * cols + k] * q[k];
            result[r] = (float)acc * w.Scales[row0 + r] * xScale;
        }
        return result;
    }

    /// <summary>Product of a float vector quantized by the rule.</summary>
    public static float[] Product(QuantizedWeight w, int row0, int rows, ReadOnlySpan<float> x, float absMax = 0)
    {
        var q = new sbyte[x.Length];
        float s = Quantize(x, q, absMax);
        return Product(w, row0, rows, q, s);
    }

    public static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    /// <summary>Dense: Y (rows, out) for X (rows, in), each row quantized on its own.</summary>
    public static float[] Dense(float[] x, int rows, QuantizedWeight w, float[] bias, float absMax)
    {
        int outF = w.Values.Dim(0), inF = w.Values.Dim(1);
        var y = new float[rows * outF];
        for (int r = 0; r < rows; r++)
        {
            var p = Product(w, 0, outF, x.AsSpan(r * inF, inF), absMax);
            for (int o = 0; o < outF; o++) y[r * outF + o] = p[o] + bias[o];
        }
        return y;
    }

    /// <summary>
    /// Forward LSTM, layout 0, default activations, gates i, f, g, o: X (seq, batch, I) → Y (seq, batch, H).
    /// h is quantized with the static scale 1/127 when <paramref name="hStatic"/> (tanh/sigmoid cells), else dynamically;
    /// <paramref name="relu"/> replaces the cell and output activations g and h by relu.
    /// </summary>
    public static float[] Lstm(float[] x, int seq, int batch, QuantizedWeight w, QuantizedWeight r, float[] b, int hidden, float xAbsMax, bool hStatic, bool relu)
    {
        int inputSize = w.Values.Dim(2), gh = 4 * hidden;
        var y = new float[seq * batch * hidden];
        for (int bi = 0; bi < batch; bi++)
        {
            var h = new float[hidden];
            var c = new float[hidden];
            for (int t = 0; t < seq; t++)
            {
                var xp = Product(w, 0, gh, x.AsSpan((t * batch + bi) * inputSize, inputSize), xAbsMax);
                var hp = Product(r, 0, gh, h, hStatic ? 1f : 0f);
                for (int j = 0; j < hidden; j++)
                {
                    float Pre(int gate) => xp[gate * hidden + j] + b[gate * hidden + j] + b[gh + gate * hidden + j] + hp[gate * hidden + j];
                    float i = Sigmoid(Pre(0)), f = Sigmoid(Pre(1)), o = Sigmoid(Pre(3));
                    float g = relu ? Math.Max(0f, Pre(2)) : MathF.Tanh(Pre(2));
                    c[j] = f * c[j] + i * g;
                    h[j] = o * (relu ? Math.Max(0f, c[j]) : MathF.Tanh(c[j]));
                }
                h.CopyTo(y, (t * batch + bi) * hidden);
            }
        }
        return y;
    }

    /// <summary>Forward GRU, layout 0, default activations, gates r, z, n, either reset variant: X (seq, batch, I) → Y (seq, batch, H).</summary>
    public static float[] Gru(float[] x, int seq, int batch, QuantizedWeight w, QuantizedWeight r, float[] b, int hidden, bool linearBeforeReset, float xAbsMax)
    {
        int inputSize = w.Values.Dim(2), gh = 3 * hidden;
        var y = new float[seq * batch * hidden];
        for (int bi = 0; bi < batch; bi++)
        {
            var h = new float[hidden];
            for (int t = 0; t < seq; t++)
            {
                var xp = Product(w, 0, gh, x.AsSpan((t * batch + bi) * inputSize, inputSize), xAbsMax);
                var hp = Product(r, 0, linearBeforeReset ? gh : 2 * hidden, h, 1f); // sigmoid/tanh GRU: |h| <= 1, static 1/127
                var rg = new float[hidden];
                var z = new float[hidden];
                for (int j = 0; j < hidden; j++)
                {
                    rg[j] = Sigmoid(xp[j] + b[j] + b[gh + j] + hp[j]);
                    z[j] = Sigmoid(xp[hidden + j] + b[hidden + j] + b[gh + hidden + j] + hp[hidden + j]);
                }
                float[] nPre = new float[hidden];
                if (linearBeforeReset)
                {
                    for (int j = 0; j < hidden; j++)
                        nPre[j] = xp[2 * hidden + j] + b[2 * hidden + j] + rg[j] * (hp[2 * hidden + j] + b[gh + 2 * hidden + j]);
                }
                else
                {
                    var rh = new float[hidden];
                    for (int j = 0; j < hidden; j++) rh[j] = rg[j] * h[j];
                    var rp = Product(r, 2 * hidden, hidden, rh, 1f);
                    for (int j = 0; j < hidden; j++) nPre[j] = xp[2 * hidden + j] + b[2 * hidden + j] + rp[j] + b[gh + 2 * hidden + j];
                }
                for (int j = 0; j < hidden; j++)
                {
                    float n = MathF.Tanh(nPre[j]);
                    h[j] = (1 - z[j]) * n + z[j] * h[j];
                }
                h.CopyTo(y, (t * batch + bi) * hidden);
            }
        }
        return y;
    }

    /// <summary>
    /// Vanilla RNN, forward, layout 0, zero state: h = f(W x + b_W + R h + b_R) with x quantized per row and h per
    /// step (tanh: |h| &lt;= 1, the static scale 1/127; relu: h's own range).
    /// </summary>
    public static float[] Rnn(float[] x, int seq, int batch, QuantizedWeight w, QuantizedWeight r, float[] b, int hidden, float xAbsMax, bool relu)
    {
        int inputSize = w.Values.Dim(2);
        var y = new float[seq * batch * hidden];
        for (int bi = 0; bi < batch; bi++)
        {
            var h = new float[hidden];
            for (int t = 0; t < seq; t++)
            {
                var xp = Product(w, 0, hidden, x.AsSpan((t * batch + bi) * inputSize, inputSize), xAbsMax);
                var hp = Product(r, 0, hidden, h, relu ? 0f : 1f);
                for (int j = 0; j < hidden; j++)
                {
                    float pre = xp[j] + b[j] + b[hidden + j] + hp[j];
                    h[j] = relu ? Math.Max(pre, 0f) : MathF.Tanh(pre);
                }
                h.CopyTo(y, (t * batch + bi) * hidden);
            }
        }
        return y;
    }

    /// <summary>
    /// Conv1D, X (N, C, L), W (M, C/group, K): each X[n] quantized as one tensor; for each output position the
    /// (C/group · K) window (zeros in the padding) dotted with each output channel's row.
    /// </summary>
    public static float[] Conv1D(float[] x, int n, int c, int len, QuantizedWeight w, float[] bias, int stride, int dilation, int group, int padBegin, int lOut, float absMax)
    {
        int m = w.Values.Dim(0), cg = w.Values.Dim(1), k = w.Values.Dim(2), mg = m / group;
        var y = new float[n * m * lOut];
        var xq = new sbyte[c * len];
        var win = new sbyte[cg * k];
        for (int bi = 0; bi < n; bi++)
        {
            float s = Quantize(x.AsSpan(bi * c * len, c * len), xq, absMax);
            for (int oc = 0; oc < m; oc++)
            {
                int g = oc / mg;
                for (int t = 0; t < lOut; t++)
                {
                    for (int ic = 0; ic < cg; ic++)
                        for (int tap = 0; tap < k; tap++)
                        {
                            int p = t * stride + tap * dilation - padBegin;
                            win[ic * k + tap] = p >= 0 && p < len ? xq[(g * cg + ic) * len + p] : (sbyte)0;
                        }
                    y[(bi * m + oc) * lOut + t] = Product(w, oc, 1, win, s)[0] + bias[oc];
                }
            }
        }
        return y;
    }

    /// <summary>Bilinear: scores[i] = C[i or 0] · (M R[i]) + b, each R[i] quantized dynamically.</summary>
    public static float[] Bilinear(float[] contexts, int nc, float[] candidates, int n, QuantizedWeight m, float bias)
    {
        int d1 = m.Values.Dim(0), d2 = m.Values.Dim(1);
        var scores = new float[n];
        for (int i = 0; i < n; i++)
        {
            var t = Product(m, 0, d1, candidates.AsSpan(i * d2, d2));
            float s = 0;
            for (int j = 0; j < d1; j++) s += contexts[(nc == 1 ? 0 : i) * d1 + j] * t[j];
            scores[i] = s + bias;
        }
        return scores;
    }

    /// <summary>
    /// LocallyConnected1D, X (rows, L, C), W stored (folds, F, K·C): each X row (L·C) quantized as one tensor; the
    /// window of fold p (positions p·stride - padBegin .. + K, zeros outside X) dotted with each (p, f) row.
    /// </summary>
    public static float[] LocallyConnected1D(float[] x, int rows, int len, int c, QuantizedWeight w, float[] bias, int kernel, int stride, int padBegin, float absMax)
    {
        int folds = w.Values.Dim(0), f = w.Values.Dim(1), kc = kernel * c;
        var y = new float[rows * folds * f];
        var xq = new sbyte[len * c];
        var win = new sbyte[kc];
        for (int r = 0; r < rows; r++)
        {
            float s = Quantize(x.AsSpan(r * len * c, len * c), xq, absMax);
            for (int p = 0; p < folds; p++)
            {
                for (int k = 0; k < kernel; k++)
                    for (int ch = 0; ch < c; ch++)
                    {
                        int pos = p * stride - padBegin + k;
                        win[k * c + ch] = pos >= 0 && pos < len ? xq[pos * c + ch] : (sbyte)0;
                    }
                var o = Product(w, p * f, f, win, s);
                for (int j = 0; j < f; j++) y[(r * folds + p) * f + j] = o[j] + bias[p * f + j];
            }
        }
        return y;
    }
}
