using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Layers;

/// <summary>Inputs X, axes? (int64; or attribute axes). Without axes every dimension of 1 is removed; a listed axis must be 1.</summary>
internal sealed class Squeeze : IOperator
{
    private readonly Node _node;
    private readonly bool _constantShapeInput; // input 1 (axes or shape) absent or a graph constant: the view depends on X's shape only

    public Squeeze(Node node, OperatorContext context)
    {
        _node = node;
        _constantShapeInput = !node.HasInput(1) || context.Constant(node.Input(1)) is not null;
    }

    public void Run(ReadOnlySpan<Tensor?> inputs, Span<Tensor?> outputs, NodeBuffers buffers)
    {
        var x = OpUtil.Required(_node, inputs, 0, "X");
        if (_constantShapeInput && buffers.LastView(0, x) is { } same)
        {
            outputs[0] = same;
            return;
        }
        var axes = OpUtil.IntsFromInputOrAttribute(_node, inputs, 1, "axes", buffers, 0, out _);
        OpUtil.CheckRank(_node, x.Rank);
        Span<bool> remove = stackalloc bool[x.Rank];
        if (axes.Length == 0)
        {
            for (int i = 0; i < x.Rank; i++) remove[i] = x.Shape[i] == 1;
        }
        else
        {
            OpUtil.MarkAxes(_node, axes, remove);
            for (int a = 0; a < x.Rank; a++)
                if (remove[a] && x.Shape[a] != 1) throw OpUtil.Error(_node, $"cannot squeeze axis {a} of X {x.ShapeString}: its size is {x.Shape[a]}, not 1");
        }
        Span<int> shape = stackalloc int[x.Rank];
        int rank = 0;
        for (int i = 0; i < x.Rank; i++) if (!remove[i]) shape[rank++] = x.Shape[i];
        outputs[0] = buffers.View(0, x, shape[..rank]);
    }
}
