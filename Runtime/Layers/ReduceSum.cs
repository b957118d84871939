using System.Numerics;
using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace Edge.Runtime.Layers;

/// <summary>
/// ONNX ReduceSum (opset 13) and ReduceProd (same rules; tf2onnx's shape arithmetic for a Dense over a
/// 3-D input multiplies dimensions with it): inputs X, axes? (int64; or attribute axes); attributes keepdims (1),
/// noop_with_empty_axes (0). No or empty axes reduce everything unless noop_with_empty_axes = 1
/// (then Y is a copy of X). float32, int64, int32. The input is walked in rows of its innermost
/// axis: a reduced innermost axis sums each row into one output; a kept one adds the row into an output row.
/// </summary>
internal sealed class ReduceSum : IOperator
{
    private readonly Node _node;
    private readonly bool _keepDims, _noopWithEmptyAxes, _prod;

    public ReduceSum(Node node, OperatorContext context)
    {
        _ = context;
        _node = node;
        _keepDims = node.GetInt("keepdims", 1) != 0;
        _noopWithEmptyAxes = node.GetInt("noop_with_empty_axes", 0) != 0;
        _prod = node.Kind == OpKind.ReduceProd;
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
        // Sums accumulate into the zeroed (kept-dims) buffer, products into one filled with ones; the
        // output is that buffer seen with the final shape.
        var y = buffers.ZeroedOutput(0, x.DataType, kept);
        var src = x;
        if (!src.IsContiguous)
        {
            src = buffers.Temporary(0, x.DataType, x.Shape);
            x.CopyTo(src);
        }
        switch (x.DataType)
        {
            case DataType.Float32: Reduce(src.ReadOnlySpan<float>(), x.Shape, reduce, y.Span<float>(), kept, _prod); break;
            case DataType.Int64: Reduce(src.ReadOnlySpan<long>(), x.Shape, reduce, y.Span<long>(), kept, _prod); break;
            case DataType.Int32: Reduce(src.ReadOnlySpan<int>(), x.Shape, reduce, y.Span<int>(), kept, _prod); break;
        }
        outputs[0] = buffers.View(0, y, final[..finalRank]);
    }

    private static void Reduce<T>(ReadOnlySpan<T> src, ReadOnlySpan<int> shape, ReadOnlySpan<bool> reduce, Span<T> dst, ReadOnlySpan<int> kept, bool prod)
        where T : unmanaged, INumber<T>
    {
        if (prod) dst.Fill(T.One);
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
            if (innerReduced) dst[pos] = prod ? dst[pos] * RowProduct(row) : dst[pos] + RowSum(row);
            else
            {
                var d = dst.Slice(pos, inner);
                if (prod) TensorPrimitives.Multiply(d, row, d);
                else TensorPrimitives.Add(d, row, d);
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

    private static T RowSum<T>(ReadOnlySpan<T> row) where T : unmanaged, INumber<T> => TensorPrimitives.Sum(row);

    private static T RowProduct<T>(ReadOnlySpan<T> row) where T : unmanaged, INumber<T>
    {
        T p = T.One;
        foreach (var v in row) p *= v;
        return p;
    }
}
