using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Layers;

/// <summary>
/// Elementwise activations on float32. Those <see cref="TensorPrimitives"/> has are vectorized calls;
/// the piecewise ones are plain loops over the span (no allocation beyond the output).
/// </summary>
internal sealed class Unary : IOperator
{
    private readonly Node _node;
    private readonly float _alpha, _beta;

    public Unary(Node node, OperatorContext context)
    {
        _ = context;
        _node = node;
        (_alpha, _beta) = node.Kind switch
        {
            OpKind.HardSigmoid => (node.GetFloat("alpha", 0.2f), node.GetFloat("beta", 0.5f)),
            OpKind.LeakyRelu => (node.GetFloat("alpha", 0.01f), 0f),
            OpKind.Elu => (node.GetFloat("alpha", 1f), 0f),
            _ => (0f, 0f),
        };
    }

    public void Run(ReadOnlySpan<Tensor?> inputs, Span<Tensor?> outputs, NodeBuffers buffers)
    {
        var x = OpUtil.Required(_node, inputs, 0, "X");
        OpUtil.RequireFloat(_node, x, "X");
        var y = buffers.Output(0, DataType.Float32, x.Shape);
        Apply(_node.Kind, _alpha, _beta, x.Contiguous().ReadOnlySpan<float>(), y.Span<float>());
        outputs[0] = y;
    }

    /// <summary>Applies activation <paramref name="kind"/> to <paramref name="x"/> (which may be <paramref name="y"/>).</summary>
    public static void Apply(OpKind kind, float alpha, float beta, ReadOnlySpan<float> x, Span<float> y)
    {
        switch (kind)
        {
            case OpKind.Relu: TensorPrimitives.Max(x, 0f, y); break;
            case OpKind.Sigmoid: TensorPrimitives.Sigmoid(x, y); break;
            case OpKind.Tanh: TensorPrimitives.Tanh(x, y); break;
            case OpKind.Exp: TensorPrimitives.Exp(x, y); break;
            case OpKind.Neg: TensorPrimitives.Negate(x, y); break;
            case OpKind.Abs: TensorPrimitives.Abs(x, y); break;
            case OpKind.Sqrt: TensorPrimitives.Sqrt(x, y); break;
            case OpKind.HardSigmoid:
                for (int i = 0; i < x.Length; i++) y[i] = Math.Clamp(alpha * x[i] + beta, 0f, 1f);
                break;
            case OpKind.LeakyRelu:
                for (int i = 0; i < x.Length; i++) { float v = x[i]; y[i] = v < 0f ? alpha * v : v; }
                break;
            case OpKind.Elu:
                for (int i = 0; i < x.Length; i++) { float v = x[i]; y[i] = v < 0f ? alpha * (MathF.Exp(v) - 1f) : v; }
                break;
            case OpKind.Softsign:
                for (int i = 0; i < x.Length; i++) { float v = x[i]; y[i] = v / (1f + MathF.Abs(v)); }
                break;
            case OpKind.Softplus:
                // log(1 + e^x) = max(x, 0) + log(1 + t), t = e^-|x|: no overflow for large x; for small t
                // the series t - t²/2 keeps the relative precision that 1 + t would round away.
                for (int i = 0; i < x.Length; i++)
                {
                    float v = x[i];
                    float t = MathF.Exp(-MathF.Abs(v));
                    y[i] = MathF.Max(v, 0f) + (t < 1e-4f ? t - 0.5f * t * t : MathF.Log(1f + t));
                }
                break;
            default: throw new EdgeException($"{kind} is not a unary activation");
        }
    }
}
