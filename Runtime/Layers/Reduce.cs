using System.Numerics;
using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace Edge.Runtime.Layers;

/// <summary>
/// ONNX ReduceSum (opset 13), ReduceProd (same rules; tf2onnx's shape arithmetic for a Dense over a 3-D input
/// multiplies dimensions with it) and ReduceMax (opset 18; torch x.max(dim).values / amax): inputs X, axes?
/// (int64; or attribute axes); attributes keepdims (1), noop_with_empty_axes (0). No or empty axes reduce
/// everything unless noop_with_empty_axes = 1 (then Y is a copy of X). float32, int64, int32. The input is walked
/// in rows of its innermost axis: a reduced innermost axis folds each row into one output; a kept one folds the
/// row into an output row. A group with no elements gives the operation's identity: 0, 1, or the type's lowest
/// value (-inf for float32) for max, as ONNX defines; a NaN in a max group gives NaN (IEEE 754 maximum, as torch).
/// </summary>
internal sealed class Reduce : IOperator
{
    private readonly Node _node;
    private enum Fold { Sum, Product, Max }

    private readonly bool _keepDims, _noopWithEmptyAxes;
    private readonly Fold _fold;

    public Reduce(Node node, OperatorContext context)
    {
        _ = context;
        _node = node;
        _keepDims = node.GetInt("keepdims", 1) != 0;
        _noopWithEmptyAxes = node.GetInt("noop_with_empty_axes", 0) != 0;
        _fold = node.Kind switch { OpKind.ReduceProd => Fold.Product, OpKind.ReduceMax => Fold.Max, _ => Fold.Sum };
    }

    public void Run(ReadOnlySpan<Tensor?> inputs, Span<Tensor?> outputs, NodeBuffers buffers)
    {
        var x = OpUtil.Required(_node, inputs, 0, "X");
        OpUtil.RequireType(_node, x, "X", DataType.Float32, DataType.Int64, DataType.Int32);
        var axesRaw = OpUtil.IntsFromInputOrAttribute(_node, inputs, 1, "axes", buffers, 0, out _);
        int rank = x.Rank;
        OpUtil.CheckRank(_node, rank);
        Span<bool> reduce = stackalloc bool[rank];
        if (axesRaw.Length == 0)
        {
            if (_noopWithEmptyAxes)
            {
                var copy = buffers.Output(0, x.DataType, x.Shape);
                x.CopyTo(copy);
                outputs[0] = copy;
                return;
            }
            reduce.Fill(true);
        }
        else OpUtil.MarkAxes(_node, axesRaw, reduce);
        Span<int> kept = stackalloc int[rank];
        Span<int> final = stackalloc int[rank];
        int finalRank = 0;
        for (int i = 0; i < rank; i++)
        {
            kept[i] = reduce[i] ? 1 : x.Shape[i];
            if (!reduce[i] || _keepDims) final[finalRank++] = kept[i];
        }
        // Each fold accumulates into the (kept-dims) buffer filled with its identity; the output is that buffer
        // seen with the final shape.
        var y = buffers.Output(0, x.DataType, kept);
        var src = x;
        if (!src.IsContiguous)
        {
            src = buffers.Temporary(0, x.DataType, x.Shape);
            x.CopyTo(src);
        }
        switch (x.DataType)
        {
            case DataType.Float32: Run(src.ReadOnlySpan<float>(), x.Shape, reduce, y.Span<float>(), kept, _fold, float.NegativeInfinity); break;
            case DataType.Int64: Run(src.ReadOnlySpan<long>(), x.Shape, reduce, y.Span<long>(), kept, _fold, long.MinValue); break;
            case DataType.Int32: Run(src.ReadOnlySpan<int>(), x.Shape, reduce, y.Span<int>(), kept, _fold, int.MinValue); break;
        }
        outputs[0] = buffers.View(0, y, final[..finalRank]);
    }

    private static void Run<T>(ReadOnlySpan<T> src, ReadOnlySpan<int> shape, ReadOnlySpan<bool> reduce, Span<T> dst, ReadOnlySpan<int> kept, Fold fold, T lowest)
        where T : unmanaged, INumber<T>
    {
        dst.Fill(fold switch { Fold.Product => T.One, Fold.Max => lowest, _ => T.Zero });
        int rank = shape.Length;
        if (src.Length == 0) return;
        if (rank == 0) { dst[0] = src[0]; return; }
        // Output strides seen from the input's index space: 0 on reduced axes.
        Span<int> outStrides = stackalloc int[rank];
        Tensor.ContiguousStrides(kept, outStrides);
        for (int i = 0; i < rank; i++) if (reduce[i]) outStrides[i] = 0;
        int inner = shape[rank - 1];
        bool innerReduced = reduce[rank - 1];
        Span<int> idx = stackalloc int[rank];
        idx.Clear();
        int pos = 0;
        for (int o = 0; o < src.Length; o += inner)
        {
            var row = src.Slice(o, inner);
            if (innerReduced)
            {
                dst[pos] = fold switch
                {
                    Fold.Product => dst[pos] * RowProduct(row),
                    // TensorPrimitives.Max propagates NaN (IEEE 754 maximum), as torch.max does.
                    Fold.Max => T.Max(dst[pos], TensorPrimitives.Max(row)),
                    _ => dst[pos] + TensorPrimitives.Sum(row),
                };
            }
            else
            {
                var d = dst.Slice(pos, inner);
                switch (fold)
                {
                    case Fold.Product: TensorPrimitives.Multiply(d, row, d); break;
                    case Fold.Max: TensorPrimitives.Max(d, row, d); break;
                    default: TensorPrimitives.Add(d, row, d); break;
                }
            }
            for (int ax = rank - 2; ax >= 0; ax--)
            {
                pos += outStrides[ax];
                if (++idx[ax] < shape[ax]) break;
                pos -= outStrides[ax] * shape[ax];
                idx[ax] = 0;
            }
        }
    }

    private static T RowProduct<T>(ReadOnlySpan<T> row) where T : unmanaged, INumber<T>
    {
        T p = T.One;
        foreach (var v in row) p *= v;
        return p;
    }
}
