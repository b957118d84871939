using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Kernels;
using Edge.Runtime.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace Edge.Runtime.Layers;

/// <summary>
/// 1-D convolution, channels first: X (N, C, L), W (M, C/group, K), B? (M) → Y (N, M, L_out).
/// Each output row starts as the bias and accumulates, per (input channel, tap), a scaled run of X:
/// with stride 1 that run is contiguous and one vectorized multiply-add; taps that fall into the
/// padding are skipped by clipping the run rather than materializing a padded copy of X.
/// int8 (W stored with one scale per output channel): W packed once per group as (M/group, C/group·K)
/// matrices whose rows are an output channel's (channel, tap) weights. Each batch item X[n] is quantized
/// as one tensor (static range from calibration, else dynamic); for every output position the
/// (C/group·K) window of the int8 X, zero where it meets the padding, is a vector, and a few
/// positions at a time go through one small-batch int8 product, dequantized with bias in fp32.
/// </summary>
internal sealed class Conv1D : IOperator
{
    private readonly Node _node;
    private readonly int _stride, _dilation, _group;
    private readonly string _autoPad;
    private readonly long[] _pads;
    private readonly Tensor? _w;
    private readonly PackedInt8Matrix[]? _wq; // per group
    private readonly int _cg, _kernel; // int8: W's channels per group and taps
    private readonly Gemv? _gemv;
    private readonly ActivationQuantization _xRange;

    /// <summary>Output positions whose windows are gathered and multiplied together (int8).</summary>
    private const int PositionsPerPass = 32;

    public Conv1D(Node node, OperatorContext context)
    {
        _node = node;
        _stride = Single(node.GetInts("strides"), "strides");
        _dilation = Single(node.GetInts("dilations"), "dilations");
        long group = node.GetInt("group", 1);
        if (group < 1 || group > int.MaxValue) throw OpUtil.Error(node, $"group {group} must be >= 1");
        _group = (int)group;
        _autoPad = node.GetString("auto_pad", "NOTSET");
        if (_autoPad is not ("NOTSET" or "VALID" or "SAME_UPPER" or "SAME_LOWER" or "CAUSAL"))
            throw OpUtil.Error(node, $"auto_pad '{_autoPad}' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER, CAUSAL");
        _pads = node.GetInts("pads") ?? [0, 0];
        if (_pads.Length != 2 || _pads[0] < 0 || _pads[1] < 0 || _pads[0] > int.MaxValue / 4 || _pads[1] > int.MaxValue / 4)
            throw OpUtil.Error(node, $"pads [{string.Join(", ", _pads)}] must be [begin, end] with non-negative values");
        if (context.Quantized(node.Input(1)) is { } q)
        {
            var v = q.Values;
            if (v.Rank != 3 || q.Axis != 0 || v.Dim(0) % _group != 0 || v.Dim(2) < 1)
                throw OpUtil.Error(node, $"int8 W must be (M, C/group, K) with one scale per output channel and M divisible by group {_group}, got {v.ShapeString} with row axis {q.Axis}");
            int mg = v.Dim(0) / _group;
            _wq = new PackedInt8Matrix[_group];
            for (int g = 0; g < _group; g++) _wq[g] = Int8Weights.PackRows(q, g * mg, mg);
            (_cg, _kernel) = (v.Dim(1), v.Dim(2));
            _gemv = context.Gemv;
            _xRange = ActivationQuantization.FromNode(node);
            if (context.Constant(node.Input(2)) is { } bq) CheckB(bq, v.Dim(0), v.ShapeString);
            return;
        }
        _w = context.Constant(node.Input(1));
        if (_w is not null) CheckW(_w);
        if (context.Constant(node.Input(2)) is { } b && _w is not null) CheckB(b, _w.Dim(0), _w.ShapeString);
    }

    private int Single(long[]? values, string name)
    {
        if (values is null) return 1;
        if (values.Length != 1 || values[0] < 1 || values[0] > int.MaxValue / 4)
            throw OpUtil.Error(_node, $"{name} [{string.Join(", ", values)}] must hold one positive value");
        return (int)values[0];
    }

    private void CheckW(Tensor w)
    {
        OpUtil.RequireFloat(_node, w, "W");
        if (w.Rank != 3) throw OpUtil.Error(_node, $"W must be (M, C/group, K), got {w.ShapeString}");
        if (w.Dim(0) % _group != 0) throw OpUtil.Error(_node, $"W {w.ShapeString}: {w.Dim(0)} output channels are not divisible by group {_group}");
        if (w.Dim(2) < 1) throw OpUtil.Error(_node, $"W {w.ShapeString} has an empty kernel");
    }

    private void CheckB(Tensor b, int m, string wShape)
    {
        OpUtil.RequireFloat(_node, b, "B");
        if (b.Rank != 1 || b.Dim(0) != m) throw OpUtil.Error(_node, $"B must be ({m},) to match W {wShape}, got {b.ShapeString}");
    }

    public void Run(ReadOnlySpan<Tensor?> inputs, Span<Tensor?> outputs, NodeBuffers buffers)
    {
        if (_wq is not null)
        {
            RunInt8(_wq, inputs, outputs, buffers);
            return;
        }
        var x = OpUtil.Required(_node, inputs, 0, "X");
        var w = _w ?? OpUtil.Required(_node, inputs, 1, "W");
        if (_w is null) CheckW(w);
        var b = OpUtil.Optional(inputs, 2);
        if (b is not null && (b.Rank != 1 || b.Dim(0) != w.Dim(0) || b.DataType != DataType.Float32)) CheckB(b, w.Dim(0), w.ShapeString);
        OpUtil.RequireFloat(_node, x, "X");
        if (x.Rank != 3) throw OpUtil.Error(_node, $"X must be (N, C, L), got {x.ShapeString}");
        int n = x.Dim(0), c = x.Dim(1), len = x.Dim(2);
        int m = w.Dim(0), cg = w.Dim(1), k = w.Dim(2);
        if (cg * _group != c)
            throw OpUtil.Error(_node, $"X {x.ShapeString} has {c} channels but W {w.ShapeString} with group {_group} expects {cg * _group}");
        long span = (long)_dilation * (k - 1) + 1;
        (long begin, long end) = Padding(len, span);
        long padded = len + begin + end;
        if (padded < span)
            throw OpUtil.Error(_node, $"input length {len} (padded {padded}) is shorter than the dilated kernel {span}");
        int lOut = (int)((padded - span) / _stride + 1);

        Span<int> shape = stackalloc int[] { n, m, lOut };
        // Rows start as the bias, or as zeros; taps then accumulate into them.
        var y = b is null ? buffers.ZeroedOutput(0, DataType.Float32, shape) : buffers.Output(0, DataType.Float32, shape);
        var dst = y.Span<float>();
        var xs = x.Contiguous().ReadOnlySpan<float>();
        var ws = w.Contiguous().ReadOnlySpan<float>();
        var bs = b is null ? default : b.Contiguous().ReadOnlySpan<float>();
        int mg = m / _group;
        int pad = (int)begin;
        for (int bi = 0; bi < n; bi++)
        {
            for (int oc = 0; oc < m; oc++)
            {
                var yrow = dst.Slice((bi * m + oc) * lOut, lOut);
                if (b is not null) yrow.Fill(bs[oc]);
                int firstChannel = oc / mg * cg;
                for (int ic = 0; ic < cg; ic++)
                {
                    var xrow = xs.Slice((bi * c + firstChannel + ic) * len, len);
                    var wrow = ws.Slice((oc * cg + ic) * k, k);
                    for (int tap = 0; tap < k; tap++)
                    {
                        // Output t reads x[t*stride + tap*dilation - pad]; keep t where that is inside [0, len).
                        int shift = tap * _dilation - pad;
                        int t0 = shift >= 0 ? 0 : (-shift + _stride - 1) / _stride;
                        int t1 = len - shift <= 0 ? 0 : Math.Min(lOut, (len - 1 - shift) / _stride + 1);
                        if (t1 <= t0) continue;
                        float wv = wrow[tap];
                        if (_stride == 1)
                        {
                            var yr = yrow.Slice(t0, t1 - t0);
                            TensorPrimitives.MultiplyAdd(xrow.Slice(t0 + shift, t1 - t0), wv, yr, yr);
                        }
                        else
                        {
                            for (int t = t0, p = t0 * _stride + shift; t < t1; t++, p += _stride) yrow[t] += wv * xrow[p];
                        }
                    }
                }
            }
        }
        outputs[0] = y;
    }

    private void RunInt8(PackedInt8Matrix[] wq, ReadOnlySpan<Tensor?> inputs, Span<Tensor?> outputs, NodeBuffers buffers)
    {
        var x = OpUtil.Required(_node, inputs, 0, "X");
        var b = OpUtil.Optional(inputs, 2);
        int m = wq[0].Rows * _group, cg = _cg, k = _kernel, mg = wq[0].Rows;
        if (b is not null && (b.Rank != 1 || b.Dim(0) != m || b.DataType != DataType.Float32)) CheckB(b, m, $"({m}, {cg}, {k})");
        OpUtil.RequireFloat(_node, x, "X");
        if (x.Rank != 3) throw OpUtil.Error(_node, $"X must be (N, C, L), got {x.ShapeString}");
        int n = x.Dim(0), c = x.Dim(1), len = x.Dim(2);
        if (cg * _group != c)
            throw OpUtil.Error(_node, $"X {x.ShapeString} has {c} channels but W ({m}, {cg}, {k}) with group {_group} expects {cg * _group}");
        long span = (long)_dilation * (k - 1) + 1;
        (long begin, long end) = Padding(len, span);
        long padded = len + begin + end;
        if (padded < span)
            throw OpUtil.Error(_node, $"input length {len} (padded {padded}) is shorter than the dilated kernel {span}");
        int lOut = (int)((padded - span) / _stride + 1);
        Span<int> shape = stackalloc int[] { n, m, lOut };
        var y = buffers.Output(0, DataType.Float32, shape);
        var dst = y.Span<float>();
        var xs = x.Contiguous().ReadOnlySpan<float>();
        var bs = b is null ? default : b.Contiguous().ReadOnlySpan<float>();
        int window = cg * k;
        int chunk = Math.Min(lOut, PositionsPerPass);
        var xq = buffers.Scratch<sbyte>(0, c * len);
        var windows = buffers.Scratch<sbyte>(1, chunk * window);
        var scales = buffers.Scratch<float>(2, chunk);
        var acc = buffers.Scratch<float>(3, chunk * mg);
        int pad = (int)begin;
        var gemv = _gemv!;
        for (int bi = 0; bi < n; bi++)
        {
            // One scale for the whole X[n]: every window of it is dequantized alike.
            scales.Fill(_xRange.Quantize(gemv, xs.Slice(bi * c * len, c * len), xq));
            for (int g = 0; g < _group; g++)
            {
                var bias = bs.IsEmpty ? default : bs.Slice(g * mg, mg);
                for (int t0 = 0; t0 < lOut; t0 += chunk)
                {
                    int nt = Math.Min(chunk, lOut - t0);
                    for (int j = 0; j < nt; j++)
                    {
                        // Window of output t: w[ic * K + tap] multiplies x[ic, t*stride + tap*dilation - pad] (0 in the padding).
                        // The taps inside [0, len) are the same for every channel: [tapFirst, tapEnd).
                        var win = windows.Slice(j * window, window);
                        int p0 = (t0 + j) * _stride - pad;
                        int tapFirst = p0 >= 0 ? 0 : Math.Min(k, (-p0 + _dilation - 1) / _dilation);
                        int tapEnd = tapFirst;
                        while (tapEnd < k && p0 + tapEnd * _dilation < len) tapEnd++;
                        if (tapFirst > 0 || tapEnd < k) win.Clear();
                        if (tapFirst == tapEnd) continue;
                        // Channel ic's taps: win[ic * K + tap] = xg[ic * len + p0 + tap * dilation], every index in
                        // range (tap < K, 0 <= p < len, ic < cg), read by reference: one tap per channel is the
                        // common case (an input shorter than the kernel), where slicing would cost more than the copy.
                        ref sbyte xg = ref MemoryMarshal.GetReference(xq.Slice(g * cg * len, cg * len));
                        ref sbyte wj = ref MemoryMarshal.GetReference(win);
                        int pFirst = p0 + tapFirst * _dilation;
                        for (int ic = 0; ic < cg; ic++)
                        {
                            ref sbyte xrow = ref Unsafe.Add(ref xg, ic * len);
                            ref sbyte wrow = ref Unsafe.Add(ref wj, ic * k);
                            for (int tap = tapFirst, p = pFirst; tap < tapEnd; tap++, p += _dilation)
                                Unsafe.Add(ref wrow, tap) = Unsafe.Add(ref xrow, p);
                        }
                    }
                    gemv.MultiplyInt8Dequantize(wq[g], windows, window, scales, nt, bias, acc, mg, accumulate: false);
                    for (int oc = 0; oc < mg; oc++)
                    {
                        var yrow = dst.Slice((bi * m + g * mg + oc) * lOut + t0, nt);
                        for (int j = 0; j < nt; j++) yrow[j] = acc[j * mg + oc];
                    }
                }
            }
        }
        outputs[0] = y;
    }

    /// <summary>(begin, end) padding for an input of <paramref name="len"/> and a dilated kernel of <paramref name="span"/>.</summary>
    private (long Begin, long End) Padding(int len, long span)
    {
        switch (_autoPad)
        {
            case "VALID": return (0, 0);
            case "CAUSAL": return (span - 1, 0);
            case "SAME_UPPER":
            case "SAME_LOWER":
                long outLen = (len + _stride - 1) / _stride;
                long total = Math.Max(0, (outLen - 1) * _stride + span - len);
                long small = total / 2, large = total - small;
                return _autoPad == "SAME_UPPER" ? (small, large) : (large, small);
            default: return (_pads[0], _pads[1]);
        }
    }
}
