using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Layers;

/// <summary>Y (indices.shape..., D) = rows of table (V, D); every index must lie in [0, V).</summary>
internal sealed class Embedding : IOperator
{
    private readonly Node _node;

    public Embedding(Node node, OperatorContext context)
    {
        _node = node;
        if (context.Constant(node.Input(1)) is { } table)
            CheckTable(table);
    }

    private void CheckTable(Tensor table)
    {
        OpUtil.RequireFloat(_node, table, "table");
        if (table.Rank != 2) throw OpUtil.Error(_node, $"table must be (V, D), got {table.ShapeString}");
    }

    public void Run(ReadOnlySpan<Tensor?> inputs, Span<Tensor?> outputs, NodeBuffers buffers)
    {
        var indices = OpUtil.Required(_node, inputs, 0, "indices");
        var table = OpUtil.Required(_node, inputs, 1, "table");
        CheckTable(table);
        if (indices.DataType is not (DataType.Int64 or DataType.Int32 or DataType.Int8))
            throw OpUtil.Error(_node, $"indices must be integers, got {indices.DataType.Name()}{indices.ShapeString}");
        int vocab = table.Dim(0), d = table.Dim(1);
        var ids = OpUtil.Indices(indices, buffers, 0);
        OpUtil.CheckRank(_node, indices.Rank + 1);
        Span<int> shape = stackalloc int[indices.Rank + 1];
        indices.Shape.CopyTo(shape);
        shape[^1] = d;
        var y = buffers.Output(0, DataType.Float32, shape);
        var dst = y.Span<float>();
        var rows = table.Contiguous().ReadOnlySpan<float>();
        for (int i = 0; i < ids.Length; i++)
        {
            long id = ids[i];
            if ((ulong)id >= (ulong)vocab)
                throw OpUtil.Error(_node, $"index {id} (at flat position {i}) is out of range for a vocabulary of size {vocab}");
            rows.Slice((int)id * d, d).CopyTo(dst.Slice(i * d, d));
        }
        outputs[0] = y;
    }
}
