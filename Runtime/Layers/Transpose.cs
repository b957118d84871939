using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Layers;

/// <summary>Attribute perm (default: reversed axes): result axis i is input axis perm[i]. Produces a contiguous copy.</summary>
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

    public void Run(ReadOnlySpan<Tensor?> inputs, Span<Tensor?> outputs)
    {
        var x = OpUtil.Required(_node, inputs, 0, "X");
        int rank = x.Rank;
        var perm = new int[rank];
        if (_perm is null)
        {
            for (int i = 0; i < rank; i++) perm[i] = rank - 1 - i;
        }
        else
        {
            if (_perm.Length != rank) throw OpUtil.Error(_node, $"perm [{string.Join(", ", _perm)}] has {_perm.Length} entries for X {x.ShapeString} of rank {rank}");
            var axes = OpUtil.Axes(_node, _perm, rank);
            axes.CopyTo(perm, 0);
        }
        outputs[0] = x.Permute(perm).Clone();
    }
}
