using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Layers;

/// <summary>Inputs X, axes (int64; or attribute axes): positions of the new size-1 axes in the output (rank + len(axes)).</summary>
internal sealed class Unsqueeze : IOperator
{
    private readonly Node _node;
    private readonly bool _constantShapeInput; // input 1 (axes or shape) absent or a graph constant: the view depends on X's shape only

    public Unsqueeze(Node node, OperatorContext context)
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
        var axes = OpUtil.IntsFromInputOrAttribute(_node, inputs, 1, "axes", buffers, 0, out bool present);
        if (!present) throw OpUtil.Error(_node, "axes (input 1 or attribute axes) are missing");
        int rank = x.Rank + axes.Length;
        OpUtil.CheckRank(_node, rank);
        Span<bool> insert = stackalloc bool[rank];
        OpUtil.MarkAxes(_node, axes, insert);
        Span<int> shape = stackalloc int[rank];
        for (int i = 0, j = 0; i < rank; i++) shape[i] = insert[i] ? 1 : x.Shape[j++];
        outputs[0] = buffers.View(0, x, shape);
    }
}
