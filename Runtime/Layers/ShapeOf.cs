using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Layers;

/// <summary>OpKind.Shape: Y (int64, 1-D) = X's shape[start:end] (ONNX opset 15: negative values count from the end, then clamp to [0, rank]).</summary>
internal sealed class ShapeOf : IOperator
{
    private readonly Node _node;
    private readonly long _start;
    private readonly long? _end;

    public ShapeOf(Node node, OperatorContext context)
    {
        _ = context;
        _node = node;
        _start = node.GetInt("start", 0);
        _end = node.Attributes.ContainsKey("end") ? node.GetInt("end", 0) : null;
    }

    public void Run(ReadOnlySpan<Tensor?> inputs, Span<Tensor?> outputs, NodeBuffers buffers)
    {
        var x = OpUtil.Required(_node, inputs, 0, "X");
        int rank = x.Rank;
        long start = Clamp(_start, rank), end = Clamp(_end ?? rank, rank);
        int n = (int)Math.Max(0, end - start);
        Span<int> shape = stackalloc int[] { n };
        var y = buffers.Output(0, DataType.Int64, shape);
        var dst = y.Span<long>();
        for (int i = 0; i < n; i++) dst[i] = x.Shape[(int)start + i];
        outputs[0] = y;
    }

    private static long Clamp(long v, int rank) => Math.Clamp(v < 0 ? v + rank : v, 0, rank);
}
