using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Layers;

/// <summary>torch.cat / ONNX Concat along attribute axis (required; may be negative); any element type.</summary>
internal sealed class Concat : IOperator
{
    private readonly Node _node;
    private readonly long _axis;

    public Concat(Node node, OperatorContext context)
    {
        _ = context;
        _node = node;
        if (!node.Attributes.ContainsKey("axis")) throw OpUtil.Error(node, "attribute axis is required");
        _axis = node.GetInt("axis", 0);
    }

    public void Run(ReadOnlySpan<Tensor?> inputs, Span<Tensor?> outputs, NodeBuffers buffers)
    {
        if (inputs.Length == 0) throw OpUtil.Error(_node, "needs at least one input");
        for (int i = 0; i < inputs.Length; i++)
            if (inputs[i] is null) throw OpUtil.Error(_node, $"input {i} (tensor {i}) is missing");
        int axis = OpUtil.Axis(_node, _axis, inputs[0]!.Rank);
        try
        {
            outputs[0] = TensorOps.Concat(inputs, axis, buffers, 0);
        }
        catch (EdgeException e)
        {
            throw OpUtil.Error(_node, e.Message);
        }
    }
}
