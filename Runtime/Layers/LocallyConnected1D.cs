using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace Edge.Runtime.Layers;

/// <summary>
/// Locally connected 1-D layer, channels last: X (..., L, C), W (folds, K*C, F), B? (folds, F).
/// Y[..., p, f] = B[p, f] + Σ_{k,c} Xpad[..., p*stride + k, c] · W[p, k*C + c, f].
/// Because X is channels-last, the K*C window of fold p is one contiguous run of X (clipped where it
/// overlaps the zero padding), and W[p] is (K*C, F) row-major: each window element scales one
/// contiguous F-row of W into the output row.
/// </summary>
internal sealed class LocallyConnected1D : IOperator
{
    private readonly Node _node;
    private readonly int _kernel, _stride, _padBegin, _padEnd;

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
        if (context.Constant(node.Input(1)) is { } w)
        {
            OpUtil.RequireFloat(node, w, "W");
            if (w.Rank != 3 || w.Dim(1) % _kernel != 0)
                throw OpUtil.Error(node, $"W must be (folds, kernel_size*C, F) with kernel_size {_kernel}, got {w.ShapeString}");
        }
    }

    public void Run(ReadOnlySpan<Tensor?> inputs, Span<Tensor?> outputs, NodeBuffers buffers)
    {
        var x = OpUtil.Required(_node, inputs, 0, "X");
        var w = OpUtil.Required(_node, inputs, 1, "W");
        var b = OpUtil.Optional(inputs, 2);
        OpUtil.RequireFloat(_node, x, "X");
        OpUtil.RequireFloat(_node, w, "W");
        if (x.Rank < 2) throw OpUtil.Error(_node, $"X must be (..., L, C), got {x.ShapeString}");
        int len = x.Dim(-2), c = x.Dim(-1);
        long folds = ((long)len + _padBegin + _padEnd - _kernel) / _stride + 1;
        if ((long)len + _padBegin + _padEnd < _kernel) folds = 0;
        int kc = _kernel * c;
        if (w.Rank != 3 || w.Dim(0) != folds || w.Dim(1) != kc)
            throw OpUtil.Error(_node, $"X {x.ShapeString} with kernel_size {_kernel}, stride {_stride}, pads [{_padBegin}, {_padEnd}] needs W ({folds}, {kc}, F), got {w.ShapeString}");
        int f = w.Dim(2);
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
        var ws = w.Contiguous().ReadOnlySpan<float>();
        var bs = b is null ? default : b.Contiguous().ReadOnlySpan<float>();
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
}
