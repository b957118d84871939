using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Layers;

/// <summary>Inputs X, shape (int64): Y = X broadcast to broadcast(X.shape, shape) (ONNX Expand; a 1 in shape keeps X's dimension).</summary>
internal sealed class Expand : IOperator
{
    private readonly Node _node;

    public Expand(Node node, OperatorContext context)
    {
        _ = context;
        _node = node;
    }

    public void Run(ReadOnlySpan<Tensor?> inputs, Span<Tensor?> outputs, NodeBuffers buffers)
    {
        var x = OpUtil.Required(_node, inputs, 0, "X");
        var dims = OpUtil.IntsFromInputOrAttribute(_node, inputs, 1, "shape", buffers, 0, out bool present);
        if (!present) throw OpUtil.Error(_node, "the shape (input 1) is missing");
        OpUtil.CheckRank(_node, dims.Length);
        Span<int> target = stackalloc int[dims.Length];
        for (int i = 0; i < dims.Length; i++) target[i] = OpUtil.Dim(_node, dims[i], "shape", i);
        int rank = Math.Max(x.Rank, target.Length);
        OpUtil.CheckRank(_node, rank);
        Span<int> shape = stackalloc int[rank];
        if (!Broadcast.TryShape(x.Shape, target, shape))
            throw OpUtil.Error(_node, $"X {x.ShapeString} cannot be expanded to {Tensor.FormatShape(target)}");
        Tensor.ElementCount(shape);
        outputs[0] = Broadcast.To(x, shape, buffers, 0);
    }
}
