using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Layers;

/// <summary>Inputs X, repeats (int64, one per axis): Y[i] = X[i mod dims] (ONNX Tile, numpy tile with equal ranks).</summary>
internal sealed class Tile : IOperator
{
    private readonly Node _node;

    public Tile(Node node, OperatorContext context)
    {
        _ = context;
        _node = node;
    }

    public void Run(ReadOnlySpan<Tensor?> inputs, Span<Tensor?> outputs, NodeBuffers buffers)
    {
        var x = OpUtil.Required(_node, inputs, 0, "X");
        var repeats = OpUtil.Ints(_node, OpUtil.Required(_node, inputs, 1, "repeats"), "repeats", buffers, 0);
        if (repeats.Length != x.Rank)
            throw OpUtil.Error(_node, $"repeats has {repeats.Length} entries but X {x.ShapeString} has rank {x.Rank}");
        int rank = x.Rank;
        OpUtil.CheckRank(_node, rank);
        Span<int> shape = stackalloc int[rank];
        x.Shape.CopyTo(shape);
        for (int a = 0; a < rank; a++)
            shape[a] = checked(shape[a] * OpUtil.Dim(_node, repeats[a], "repeats", a));
        Tensor.ElementCount(shape);
        var y = buffers.Output(0, x.DataType, shape);
        var src = x;
        if (!src.IsContiguous)
        {
            src = buffers.Temporary(0, x.DataType, x.Shape);
            x.CopyTo(src);
        }
        Copy(src.Bytes(), x.Shape, shape, x.DataType.SizeOf(), y.WritableBytes());
        outputs[0] = y;
    }

    /// <summary>
    /// Y[i] = X[i mod dims], walked in rows of the innermost axis: each output row is X's row (chosen by
    /// the outer indices modulo X's dims) laid down repeats[last] times.
    /// </summary>
    private static void Copy(ReadOnlySpan<byte> src, ReadOnlySpan<int> xShape, ReadOnlySpan<int> yShape, int esize, Span<byte> dst)
    {
        int rank = xShape.Length;
        if (dst.Length == 0) return;
        if (rank == 0) { src.CopyTo(dst); return; }
        Span<int> strides = stackalloc int[rank];
        Tensor.ContiguousStrides(xShape, strides);
        int xRow = xShape[rank - 1] * esize;
        int yRow = yShape[rank - 1] * esize;
        Span<int> idx = stackalloc int[rank];
        idx.Clear();
        for (int o = 0; o < dst.Length; o += yRow)
        {
            int from = 0;
            for (int ax = 0; ax < rank - 1; ax++) from += idx[ax] % xShape[ax] * strides[ax];
            var row = src.Slice(from * esize, xRow);
            var d = dst.Slice(o, yRow);
            for (int p = 0; p < yRow; p += xRow) row.CopyTo(d[p..]);
            for (int ax = rank - 2; ax >= 0; ax--)
            {
                if (++idx[ax] < yShape[ax]) break;
                idx[ax] = 0;
            }
        }
    }
}
