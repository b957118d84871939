using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Kernels;
using Edge.Runtime.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace Edge.Runtime.Layers;

/// <summary>
/// Locally connected 1-D layer, channels last: X (..., L, C), W (folds, K*C, F), B? (folds, F).
/// Y[..., p, f] = B[p, f] + Σ_{k,c} Xpad[..., p*stride + k, c] · W[p, k*C + c, f].
/// Because X is channels-last, the K*C window of fold p is one contiguous run of X (clipped where it
/// overlaps the zero padding), and W[p] is (K*C, F) row-major: each window element scales one
/// contiguous F-row of W into the output row.
/// <para>Attribute <c>weight_layout</c>: "folds_in_out" (the default, W as above) or "folds_out_in"
/// (W (folds, F, K*C): each output feature's K*C weights contiguous, one fp32 dot product with the window;
/// the quantizer stores int8 weights this way so that every (fold, output) row has its own scale).</para>
/// <para>int8 (W stored folds_out_in, one scale per (fold, output)): one packed (F, K*C) matrix per fold.
/// Each row of X (all L·C values) is quantized once (static range from calibration, else dynamic); the
/// window of fold p of every row is then a K*C int8 vector (copied and zero-filled where it meets the
/// padding), and all rows of a fold go through one small-batch int8 product with bias in fp32.</para>
/// </summary>
internal sealed class LocallyConnected1D : IOperator
{
    /// <summary>The attribute naming W's layout, and its two values.</summary>
    public const string LayoutAttribute = "weight_layout", FoldsInOut = "folds_in_out", FoldsOutIn = "folds_out_in";

    private readonly Node _node;
    private readonly int _kernel, _stride, _padBegin, _padEnd;
    private readonly bool _outIn; // W is (folds, F, K*C)
    private readonly PackedInt8Matrix[]? _wq; // per fold, (F, K*C)
    private readonly Gemv? _gemv;
    private readonly ActivationQuantization _xRange;

    public LocallyConnected1D(Node node, OperatorContext context)
    {
        _node = node;
        long kernel = node.GetInt("kernel_size", 0);
        long stride = node.GetInt("stride", 1);
        if (kernel < 1 || kernel > int.MaxValue / 4) throw OpUtil.Error(node, $"kernel_size {kernel} must be >= 1");
        if (stride < 1 || stride > int.MaxValue / 4) throw OpUtil.Error(node, $"stride {stride} must be >= 1");
        var pads = node.GetInts("pads") ?? [0, 0];
        if (pads.Length != 2 || pads[0] < 0 || pads[1] < 0 || pads[0] > int.MaxValue / 4 || pads[1] > int.MaxValue / 4)
            throw OpUtil.Error(node, $"pads [{string.Join(", ", pads)}] must be [begin, end] with non-negative values");
        (_kernel, _stride, _padBegin, _padEnd) = ((int)kernel, (int)stride, (int)pads[0], (int)pads[1]);
        string layout = node.GetString(LayoutAttribute, FoldsInOut);
        if (layout is not (FoldsInOut or FoldsOutIn))
            throw OpUtil.Error(node, $"{LayoutAttribute} '{layout}' is not {FoldsInOut} or {FoldsOutIn}");
        _outIn = layout == FoldsOutIn;
        string expected = _outIn ? "(folds, F, kernel_size*C)" : "(folds, kernel_size*C, F)";
        if (context.Quantized(node.Input(1)) is { } q)
        {
            var v = q.Values;
            if (!_outIn || v.Rank != 3 || q.Axis != 1 || v.Dim(2) % _kernel != 0 || v.Dim(0) < 1 || v.Dim(1) < 1)
                throw OpUtil.Error(node, $"int8 W must be stored {FoldsOutIn} {expected} with one scale per (fold, output), got {v.ShapeString} with row axis {q.Axis} and {LayoutAttribute} {layout}");
            int folds = v.Dim(0), f = v.Dim(1);
            _wq = new PackedInt8Matrix[folds];
            for (int p = 0; p < folds; p++) _wq[p] = Int8Weights.PackRows(q, p * f, f);
            _gemv = context.Gemv;
            _xRange = ActivationQuantization.FromNode(node);
            return;
        }
        if (context.Constant(node.Input(1)) is { } w)
        {
            OpUtil.RequireFloat(node, w, "W");
            if (w.Rank != 3 || w.Dim(_outIn ? 2 : 1) % _kernel != 0)
                throw OpUtil.Error(node, $"W must be {expected} with kernel_size {_kernel}, got {w.ShapeString}");
        }
    }

    public void Run(ReadOnlySpan<Tensor?> inputs, Span<Tensor?> outputs, NodeBuffers buffers)
    {
        var x = OpUtil.Required(_node, inputs, 0, "X");
        var w = _wq is null ? OpUtil.Required(_node, inputs, 1, "W") : null;
        var b = OpUtil.Optional(inputs, 2);
        OpUtil.RequireFloat(_node, x, "X");
        if (w is not null) OpUtil.RequireFloat(_node, w, "W");
        if (x.Rank < 2) throw OpUtil.Error(_node, $"X must be (..., L, C), got {x.ShapeString}");
        int len = x.Dim(-2), c = x.Dim(-1);
        long folds = ((long)len + _padBegin + _padEnd - _kernel) / _stride + 1;
        if ((long)len + _padBegin + _padEnd < _kernel) folds = 0;
        int kc = _kernel * c;
        int wFolds = _wq?.Length ?? w!.Dim(0);
        int wKc = _wq is not null ? _wq[0].Cols : w!.Rank != 3 ? -1 : w.Dim(_outIn ? 2 : 1);
        if ((w is not null && w.Rank != 3) || wFolds != folds || wKc != kc)
        {
            string wShape = w?.ShapeString ?? $"({_wq!.Length}, {_wq[0].Rows}, {_wq[0].Cols})";
            throw OpUtil.Error(_node, $"X {x.ShapeString} with kernel_size {_kernel}, stride {_stride}, pads [{_padBegin}, {_padEnd}] needs W {(_outIn ? $"({folds}, F, {kc})" : $"({folds}, {kc}, F)")}, got {wShape}");
        }
        int f = _wq is not null ? _wq[0].Rows : w!.Dim(_outIn ? 1 : 2);
        if (b is not null)
        {
            OpUtil.RequireFloat(_node, b, "B");
            if (b.Length != folds * f || (b.Rank == 2 && (b.Dim(0) != folds || b.Dim(1) != f)))
                throw OpUtil.Error(_node, $"B must be ({folds}, {f}), got {b.ShapeString}");
        }
        int rows = OpUtil.Product(x.Shape, 0, x.Rank - 2);
        OpUtil.CheckRank(_node, x.Rank);
        Span<int> shape = stackalloc int[x.Rank];
        x.Shape.CopyTo(shape);
        shape[^2] = (int)folds;
        shape[^1] = f;
        // Rows start as the bias, or as zeros; the window then accumulates into them.
        var y = b is null ? buffers.ZeroedOutput(0, DataType.Float32, shape) : buffers.Output(0, DataType.Float32, shape);
        var dst = y.Span<float>();
        var xs = x.Contiguous().ReadOnlySpan<float>();
        var bs = b is null ? default : b.Contiguous().ReadOnlySpan<float>();
        if (_wq is not null)
        {
            if (rows > 0) RunInt8(_wq, xs, rows, len, c, bs, dst, buffers);
            outputs[0] = y;
            return;
        }
        var ws = w!.Contiguous().ReadOnlySpan<float>();
        if (_outIn)
        {
            RunOutIn(xs, ws, rows, len, c, (int)folds, f, bs, dst);
            outputs[0] = y;
            return;
        }
        for (int r = 0; r < rows; r++)
        {
            var xr = xs.Slice(r * len * c, len * c);
            for (int p = 0; p < folds; p++)
            {
                var yrow = dst.Slice((r * (int)folds + p) * f, f);
                if (b is not null) bs.Slice(p * f, f).CopyTo(yrow);
                var wp = ws.Slice(p * kc * f, kc * f);
                // Window positions start - padBegin .. + K, clipped to [0, len).
                int start = p * _stride - _padBegin;
                int k0 = Math.Max(0, -start), k1 = Math.Min(_kernel, len - start);
                for (int k = k0; k < k1; k++)
                {
                    int xoff = (start + k) * c;
                    for (int ch = 0; ch < c; ch++)
                        TensorPrimitives.MultiplyAdd(wp.Slice((k * c + ch) * f, f), xr[xoff + ch], yrow, yrow);
                }
            }
        }
        outputs[0] = y;
    }

    /// <summary>fp32 with W (folds, F, K*C): y[p, f] = b[p, f] + W[p, f, :] · window(p), over the window's part inside X.</summary>
    private void RunOutIn(ReadOnlySpan<float> xs, ReadOnlySpan<float> ws, int rows, int len, int c, int folds, int f, ReadOnlySpan<float> bs, Span<float> dst)
    {
        int kc = _kernel * c;
        for (int r = 0; r < rows; r++)
        {
            var xr = xs.Slice(r * len * c, len * c);
            for (int p = 0; p < folds; p++)
            {
                var yrow = dst.Slice((r * folds + p) * f, f);
                int start = p * _stride - _padBegin;
                int k0 = Math.Max(0, -start), k1 = Math.Min(_kernel, len - start);
                int n = Math.Max(0, k1 - k0) * c;
                var window = n == 0 ? default : xr.Slice((start + k0) * c, n);
                for (int o = 0; o < f; o++)
                {
                    float v = n == 0 ? 0f : TensorPrimitives.Dot(ws.Slice((p * f + o) * kc + k0 * c, n), window);
                    yrow[o] = bs.IsEmpty ? v : bs[p * f + o] + v;
                }
            }
        }
    }

    private void RunInt8(PackedInt8Matrix[] wq, ReadOnlySpan<float> xs, int rows, int len, int c, ReadOnlySpan<float> bs, Span<float> dst, NodeBuffers buffers)
    {
        int folds = wq.Length, f = wq[0].Rows, kc = _kernel * c, lc = len * c;
        var gemv = _gemv!;
        var xq = buffers.Scratch<sbyte>(0, rows * lc);
        var scales = buffers.Scratch<float>(1, rows);
        _xRange.QuantizeRows(gemv, xs, rows, lc, xq, scales);
        var windows = buffers.Scratch<sbyte>(2, rows * kc);
        for (int p = 0; p < folds; p++)
        {
            var bias = bs.IsEmpty ? default : bs.Slice(p * f, f);
            var yp = dst[(p * f)..];
            int start = p * _stride - _padBegin;
            if (start >= 0 && start + _kernel <= len)
            {
                // Inside X: the windows of all rows are strided runs of the quantized X itself.
                gemv.MultiplyInt8Dequantize(wq[p], xq[(start * c)..], lc, scales, rows, bias, yp, folds * f, accumulate: false);
                continue;
            }
            int k0 = Math.Max(0, -start), k1 = Math.Min(_kernel, len - start);
            for (int r = 0; r < rows; r++)
            {
                var win = windows.Slice(r * kc, kc);
                win.Clear();
                if (k1 > k0) xq.Slice(r * lc + (start + k0) * c, (k1 - k0) * c).CopyTo(win[(k0 * c)..]);
            }
            gemv.MultiplyInt8Dequantize(wq[p], windows, kc, scales, rows, bias, yp, folds * f, accumulate: false);
        }
    }
}
