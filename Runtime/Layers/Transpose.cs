using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Layers;

/// <summary>
/// Attribute perm (default: reversed axes): result axis i is input axis perm[i]. Produces a contiguous copy, or a
/// view of X when the permutation only moves axes of size 1 (the axes of size above 1 keep their order, so the
/// elements are already in the result's order: a batch-1 or single-step Transpose around a recurrent layer).
/// </summary>
internal sealed class Transpose : IOperator
{
    private readonly Node _node;
    private readonly long[]? _perm;

    public Transpose(Node node, OperatorContext context)
    {
        _ = context;
        _node = node;
        _perm = node.GetInts("perm");
    }

    public void Run(ReadOnlySpan<Tensor?> inputs, Span<Tensor?> outputs, NodeBuffers buffers)
    {
        var x = OpUtil.Required(_node, inputs, 0, "X");
        if (buffers.LastView(0, x) is { } same)
        {
            outputs[0] = same;
            return;
        }
        int rank = x.Rank;
        OpUtil.CheckRank(_node, rank);
        Span<int> perm = stackalloc int[rank];
        if (_perm is null)
        {
            for (int i = 0; i < rank; i++) perm[i] = rank - 1 - i;
        }
        else
        {
            if (_perm.Length != rank) throw OpUtil.Error(_node, $"perm [{string.Join(", ", _perm)}] has {_perm.Length} entries for X {x.ShapeString} of rank {rank}");
            OpUtil.Axes(_node, _perm, rank, perm);
        }
        // One strided copy: result axis i walks X's axis perm[i] with X's dense stride for it.
        Span<int> own = stackalloc int[rank];
        Tensor.ContiguousStrides(x.Shape, own);
        Span<int> shape = stackalloc int[rank];
        Span<int> strides = stackalloc int[rank];
        for (int i = 0; i < rank; i++)
        {
            shape[i] = x.Shape[perm[i]];
            strides[i] = own[perm[i]];
        }
        if (KeepsOrder(x.Shape, perm))
        {
            outputs[0] = buffers.View(0, x, shape);
            return;
        }
        outputs[0] = Broadcast.Materialize(x, 0, strides, shape, buffers, 0);
    }

    /// <summary>Whether the axes of size above 1 appear in the same order after the permutation.</summary>
    private static bool KeepsOrder(ReadOnlySpan<int> shape, ReadOnlySpan<int> perm)
    {
        int last = -1;
        foreach (int axis in perm)
        {
            if (shape[axis] == 1) continue;
            if (axis < last) return false;
            last = axis;
        }
        return true;
    }
}
