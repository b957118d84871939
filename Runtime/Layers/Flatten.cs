using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Layers;

/// <summary>Attribute axis (1, in [-rank, rank]): Y (prod(dims[:axis]), prod(dims[axis:])); axis 0 gives (1, n).</summary>
internal sealed class Flatten : IOperator
{
    private readonly Node _node;
    private readonly long _axis;

    public Flatten(Node node, OperatorContext context)
    {
        _ = context;
        _node = node;
        _axis = node.GetInt("axis", 1);
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
        int axis = _axis == rank ? rank : OpUtil.Axis(_node, _axis, rank);
        Span<int> shape = stackalloc int[] { OpUtil.Product(x.Shape, 0, axis), OpUtil.Product(x.Shape, axis, rank) };
        outputs[0] = buffers.View(0, x, shape);
    }
}
