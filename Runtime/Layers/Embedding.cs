using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Layers;

/// <summary>
/// Y (indices.shape..., D) = rows of table (V, D); every index must lie in [0, V).
/// int8 (table stored per-row quantized, docs/format.md scheme 1, row axis 0): each gathered row is
/// dequantized on the fly, q * scale[row], the same product <see cref="Quantization.WeightQuantizer.Dequantize"/>
/// computes, so the int8 path equals running the dequantized table in fp32 without ever holding it.
/// </summary>
internal sealed class Embedding : IOperator
{
    private readonly Node _node;
    private readonly Tensor? _qValues;
    private readonly float[]? _qScales;

    public Embedding(Node node, OperatorContext context)
    {
        _node = node;
        if (context.Quantized(node.Input(1)) is { } q)
        {
            if (q.Values.Rank != 2 || q.Axis != 0)
                throw OpUtil.Error(node, $"int8 table must be (V, D) with one scale per row, got {q.Values.ShapeString} with row axis {q.Axis}");
            _qValues = q.Values.Contiguous();
            _qScales = q.Scales;
            return;
        }
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
        Tensor? table = null;
        if (_qValues is null)
        {
            table = OpUtil.Required(_node, inputs, 1, "table");
            CheckTable(table);
        }
        if (indices.DataType is not (DataType.Int64 or DataType.Int32 or DataType.Int8))
            throw OpUtil.Error(_node, $"indices must be integers, got {indices.DataType.Name()}{indices.ShapeString}");
        var rowsOf = _qValues ?? table!;
        int vocab = rowsOf.Dim(0), d = rowsOf.Dim(1);
        var ids = OpUtil.Indices(indices, buffers, 0);
        OpUtil.CheckRank(_node, indices.Rank + 1);
        Span<int> shape = stackalloc int[indices.Rank + 1];
        indices.Shape.CopyTo(shape);
        shape[^1] = d;
        var y = buffers.Output(0, DataType.Float32, shape);
        var dst = y.Span<float>();
        for (int i = 0; i < ids.Length; i++)
        {
            long id = ids[i];
            if ((ulong)id >= (ulong)vocab)
                throw OpUtil.Error(_node, $"index {id} (at flat position {i}) is out of range for a vocabulary of size {vocab}");
        }
        if (_qValues is not null)
        {
            var q = _qValues.ReadOnlySpan<sbyte>();
            for (int i = 0; i < ids.Length; i++)
            {
                int row = (int)ids[i];
                float scale = _qScales![row];
                var src = q.Slice(row * d, d);
                var to = dst.Slice(i * d, d);
                for (int k = 0; k < d; k++) to[k] = src[k] * scale;
            }
        }
        else
        {
            var rows = table!.Contiguous().ReadOnlySpan<float>();
            for (int i = 0; i < ids.Length; i++)
                rows.Slice((int)ids[i] * d, d).CopyTo(dst.Slice(i * d, d));
        }
        outputs[0] = y;
    }
}
