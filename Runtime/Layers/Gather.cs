using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Layers;

/// <summary>
/// numpy take / ONNX Gather: inputs data, indices (int); attribute axis (0).
/// Y = data.shape[:axis] + indices.shape + data.shape[axis+1:]; negative indices count from the end,
/// others out of [-dim, dim) are an error. Any element type (blocks are copied as bytes).
/// </summary>
internal sealed class Gather : IOperator
{
    private readonly Node _node;
    private readonly long _axis;

    public Gather(Node node, OperatorContext context)
    {
        _ = context;
        _node = node;
        _axis = node.GetInt("axis", 0);
    }

    public void Run(ReadOnlySpan<Tensor?> inputs, Span<Tensor?> outputs, NodeBuffers buffers)
    {
        var data = OpUtil.Required(_node, inputs, 0, "data");
        var indices = OpUtil.Required(_node, inputs, 1, "indices");
        if (indices.DataType is not (DataType.Int64 or DataType.Int32 or DataType.Int8))
            throw OpUtil.Error(_node, $"indices must be integers, got {indices.DataType.Name()}{indices.ShapeString}");
        if (data.Rank == 0) throw OpUtil.Error(_node, "data must have rank >= 1");
        int axis = OpUtil.Axis(_node, _axis, data.Rank);
        int dim = data.Shape[axis];
        var ids = OpUtil.Indices(indices, buffers, 0);
        int rank = data.Rank - 1 + indices.Rank;
        OpUtil.CheckRank(_node, rank);
        Span<int> shape = stackalloc int[rank];
        data.Shape[..axis].CopyTo(shape);
        indices.Shape.CopyTo(shape[axis..]);
        data.Shape[(axis + 1)..].CopyTo(shape[(axis + indices.Rank)..]);

        int outer = OpUtil.Product(data.Shape, 0, axis);
        int esize = data.DataType.SizeOf();
        int block = OpUtil.Product(data.Shape, axis + 1, data.Rank) * esize;
        foreach (long id in ids)
            if (id < -dim || id >= dim)
                throw OpUtil.Error(_node, $"index {id} is out of range for axis {axis} of size {dim} (data {data.ShapeString})");
        var y = buffers.Output(0, data.DataType, shape);
        var src = data.Contiguous().Bytes();
        var dst = y.WritableBytes();
        int d = 0;
        for (int o = 0; o < outer; o++)
        {
            int baseOffset = o * dim * block;
            foreach (long raw in ids)
            {
                long id = raw < 0 ? raw + dim : raw;
                src.Slice(baseOffset + (int)id * block, block).CopyTo(dst.Slice(d, block));
                d += block;
            }
        }
        outputs[0] = y;
    }
}
