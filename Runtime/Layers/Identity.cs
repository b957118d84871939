using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Layers;

/// <summary>Copies its input (a copy, so that no later consumer can alias a graph input or constant).</summary>
internal sealed class Identity : IOperator
{
    private readonly Node _node;

    public Identity(Node node, OperatorContext context)
    {
        _ = context;
        _node = node;
    }

    public void Run(ReadOnlySpan<Tensor?> inputs, Span<Tensor?> outputs, NodeBuffers buffers)
    {
        var x = OpUtil.Required(_node, inputs, 0, "X");
        var y = buffers.Output(0, x.DataType, x.Shape);
        x.CopyTo(y);
        outputs[0] = y;
    }
}
