using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Layers;

/// <summary>
/// Softmax / LogSoftmax over one axis (ONNX opset 13), or with legacy_2d = 1 over everything from
/// the axis on (opset &lt; 13, default axis 1). The tensor is viewed as (outer, n, inner): with
/// inner = 1 each row is contiguous; otherwise the n rows of length inner are reduced together
/// (max, sum) so every step is still a contiguous vector operation.
/// </summary>
internal sealed class Softmax : IOperator
{
    private readonly Node _node;
    private readonly bool _log;
    private readonly bool _legacy;
    private readonly long _axis;

    public Softmax(Node node, OperatorContext context)
    {
        _ = context;
        _node = node;
        _log = node.Kind == OpKind.LogSoftmax;
        _legacy = node.GetInt("legacy_2d", 0) != 0;
        _axis = node.GetInt("axis", _legacy ? 1 : -1);
    }

    public void Run(ReadOnlySpan<Tensor?> inputs, Span<Tensor?> outputs, NodeBuffers buffers)
    {
        var x = OpUtil.Required(_node, inputs, 0, "X");
        OpUtil.RequireFloat(_node, x, "X");
        int rank = x.Rank;
        int outer, n, inner;
        if (rank == 0)
        {
            outer = 1; n = 1; inner = 1;
        }
        else if (_legacy)
        {
            int axis = _axis == rank ? rank : OpUtil.Axis(_node, _axis, rank);
            outer = OpUtil.Product(x.Shape, 0, axis);
            n = OpUtil.Product(x.Shape, axis, rank);
            inner = 1;
        }
        else
        {
            int axis = OpUtil.Axis(_node, _axis, rank);
            outer = OpUtil.Product(x.Shape, 0, axis);
            n = x.Shape[axis];
            inner = OpUtil.Product(x.Shape, axis + 1, rank);
        }
        var y = buffers.Output(0, DataType.Float32, x.Shape);
        var src = x.Contiguous().ReadOnlySpan<float>();
        var dst = y.Span<float>();
        if (dst.Length > 0)
        {
            if (inner == 1) Rows(src, dst, outer, n, _log);
            else Columns(src, dst, outer, n, inner, _log, buffers.Scratch<float>(0, inner * 2));
        }
        outputs[0] = y;
    }

    private static void Rows(ReadOnlySpan<float> src, Span<float> dst, int outer, int n, bool log)
    {
        for (int o = 0; o < outer; o++)
        {
            var x = src.Slice(o * n, n);
            var y = dst.Slice(o * n, n);
            float max = TensorPrimitives.Max(x);
            TensorPrimitives.Subtract(x, max, y);
            TensorPrimitives.Exp(y, y);
            float sum = TensorPrimitives.Sum(y);
            if (log)
            {
                TensorPrimitives.Subtract(x, max, y);
                TensorPrimitives.Subtract(y, MathF.Log(sum), y);
            }
            else TensorPrimitives.Divide(y, sum, y);
        }
    }

    private static void Columns(ReadOnlySpan<float> src, Span<float> dst, int outer, int n, int inner, bool log, Span<float> acc)
    {
        var max = acc[..inner];
        var sum = acc.Slice(inner, inner);
        int block = n * inner;
        for (int o = 0; o < outer; o++)
        {
            var x = src.Slice(o * block, block);
            var y = dst.Slice(o * block, block);
            x.Slice(0, inner).CopyTo(max);
            for (int i = 1; i < n; i++) TensorPrimitives.Max(max, x.Slice(i * inner, inner), max);
            sum.Clear();
            for (int i = 0; i < n; i++)
            {
                var yr = y.Slice(i * inner, inner);
                TensorPrimitives.Subtract(x.Slice(i * inner, inner), max, yr);
                TensorPrimitives.Exp(yr, yr);
                TensorPrimitives.Add(sum, yr, sum);
            }
            if (log)
            {
                TensorPrimitives.Log(sum, sum);
                TensorPrimitives.Add(sum, max, sum); // log-sum-exp
                for (int i = 0; i < n; i++)
                    TensorPrimitives.Subtract(x.Slice(i * inner, inner), sum, y.Slice(i * inner, inner));
            }
            else
            {
                for (int i = 0; i < n; i++)
                {
                    var yr = y.Slice(i * inner, inner);
                    TensorPrimitives.Divide(yr, sum, yr);
                }
            }
        }
    }
}
