using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Layers;

/// <summary>Keras RepeatVector: X (N, D) → Y (N, n, D), each row repeated n times.</summary>
internal sealed class RepeatVector : IOperator
{
    private readonly Node _node;
    private readonly int _n;

    public RepeatVector(Node node, OperatorContext context)
    {
        _ = context;
        _node = node;
        long n = node.GetInt("n", -1);
        if (n < 0) throw OpUtil.Error(node, $"attribute n must be given and >= 0, got {n}");
        _n = OpUtil.Dim(node, n, "n");
    }

    public void Run(ReadOnlySpan<Tensor?> inputs, Span<Tensor?> outputs, NodeBuffers buffers)
    {
        var x = OpUtil.Required(_node, inputs, 0, "X");
        if (x.Rank != 2) throw OpUtil.Error(_node, $"X must be (N, D), got {x.ShapeString}");
        int batch = x.Dim(0), d = x.Dim(1);
        // A broadcast view (stride 0 on the new axis) materialized by one strided copy; any dtype.
        Span<int> strides = stackalloc int[] { d, 0, 1 };
        Span<int> shape = stackalloc int[] { batch, _n, d };
        outputs[0] = Broadcast.Materialize(x, 0, strides, shape, buffers, 0);
    }
}
