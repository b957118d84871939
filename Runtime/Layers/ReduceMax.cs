using System.Numerics;
using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace Edge.Runtime.Layers;

/// <summary>
/// ONNX ReduceMax (opset 18; earlier opsets' attribute axes too): inputs X, axes? (int64; or attribute axes);
/// attributes keepdims (1), noop_with_empty_axes (0). No or empty axes reduce everything unless
/// noop_with_empty_axes = 1 (then Y is a copy of X). float32, int64, int32. A NaN in a reduced group gives NaN
/// (torch.max / amax). A group with no elements (a reduced axis of size 0) gives the type's lowest value
/// (-inf for float32), as ONNX defines. Walked like <see cref="ReduceSum"/>, in rows of the innermost axis.
/// </summary>
internal sealed class ReduceMax : IOperator
{
    private readonly Node _node;
    private readonly bool _keepDims, _noopWithEmptyAxes;

    public ReduceMax(Node node, OperatorContext context)
    {
        _ = context;
        _node = node;
        _keepDims = node.GetInt("keepdims", 1) != 0;
        _noopWithEmptyAxes = node.GetInt("noop_with_empty_axes", 0) != 0;
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
        var y = buffers.Output(0, x.DataType, kept);
        var src = x;
        if (!src.IsContiguous)
        {
            src = buffers.Temporary(0, x.DataType, x.Shape);
            x.CopyTo(src);
        }
        switch (x.DataType)
        {
            case DataType.Float32: Max(src.ReadOnlySpan<float>(), x.Shape, reduce, y.Span<float>(), kept, float.NegativeInfinity); break;
            case DataType.Int64: Max(src.ReadOnlySpan<long>(), x.Shape, reduce, y.Span<long>(), kept, long.MinValue); break;
            case DataType.Int32: Max(src.ReadOnlySpan<int>(), x.Shape, reduce, y.Span<int>(), kept, int.MinValue); break;
        }
        outputs[0] = buffers.View(0, y, final[..finalRank]);
    }

    private static void Max<T>(ReadOnlySpan<T> src, ReadOnlySpan<int> shape, ReadOnlySpan<bool> reduce, Span<T> dst, ReadOnlySpan<int> kept, T lowest)
        where T : unmanaged, INumber<T>
    {
        dst.Fill(lowest);
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
            // TensorPrimitives.Max propagates NaN (IEEE 754 maximum), as torch.max does.
            if (innerReduced) dst[pos] = T.Max(dst[pos], TensorPrimitives.Max(row));
            else
            {
                var d = dst.Slice(pos, inner);
                TensorPrimitives.Max(d, row, d);
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
}
