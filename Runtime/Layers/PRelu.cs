using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Layers;

/// <summary>
/// ONNX PRelu: inputs X, slope (float32). Y = X where X &gt;= 0, slope * X where X &lt; 0 (NaN stays NaN).
/// slope broadcasts to X's shape (numpy rules, one direction only: Y has X's shape). One slope is a (1,)
/// slope; torch's nn.PReLU(C) on (N, C, ...) is slope (C, 1, ...); Keras's alpha (input shape without the batch
/// axis, 1 on shared_axes) broadcasts as it is.
/// </summary>
internal sealed class PRelu : IOperator
{
    private readonly Node _node;

    public PRelu(Node node, OperatorContext context)
    {
        _node = node;
        if (context.Constant(node.Input(1)) is { } slope) OpUtil.RequireFloat(node, slope, "slope");
    }

    public void Run(ReadOnlySpan<Tensor?> inputs, Span<Tensor?> outputs, NodeBuffers buffers)
    {
        var x = OpUtil.Required(_node, inputs, 0, "X");
        var slope = OpUtil.Required(_node, inputs, 1, "slope");
        OpUtil.RequireFloat(_node, x, "X");
        OpUtil.RequireFloat(_node, slope, "slope");
        int rank = x.Rank;
        OpUtil.CheckRank(_node, rank);
        Span<int> shape = stackalloc int[OpUtil.MaxRank];
        shape = shape[..rank];
        if (slope.Rank > rank || !Broadcast.TryShape(x.Shape, slope.Shape, shape) || !shape.SequenceEqual(x.Shape))
            throw OpUtil.Error(_node, $"slope {slope.ShapeString} does not broadcast to X {x.ShapeString}");
        var y = buffers.Output(0, DataType.Float32, x.Shape);
        var src = x.Contiguous().ReadOnlySpan<float>();
        var a = slope.Contiguous().ReadOnlySpan<float>();
        var dst = y.Span<float>();
        if (a.Length == 1)
        {
            float s = a[0];
            for (int i = 0; i < src.Length; i++) dst[i] = src[i] < 0 ? s * src[i] : src[i];
            outputs[0] = y;
            return;
        }
        if (src.Length == 0) { outputs[0] = y; return; }
        // Walk X in order, moving through slope with its broadcast strides (0 on broadcast axes).
        Span<int> strides = stackalloc int[rank];
        Broadcast.Strides(slope.Shape, x.Shape, strides);
        Span<int> idx = stackalloc int[rank];
        idx.Clear();
        int inner = x.Shape[rank - 1], innerStride = strides[rank - 1];
        int pos = 0;
        for (int o = 0; o < src.Length; o += inner)
        {
            for (int k = 0, p = pos; k < inner; k++, p += innerStride)
            {
                float v = src[o + k];
                dst[o + k] = v < 0 ? a[p] * v : v;
            }
            for (int ax = rank - 2; ax >= 0; ax--)
            {
                pos += strides[ax];
                if (++idx[ax] < x.Shape[ax]) break;
                pos -= strides[ax] * x.Shape[ax];
                idx[ax] = 0;
            }
        }
        outputs[0] = y;
    }
}
