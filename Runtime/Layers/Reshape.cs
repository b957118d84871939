using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Layers;

/// <summary>
/// ONNX Reshape: inputs X, shape (int64; or attribute shape). 0 copies the input's dimension at the
/// same position unless allowzero = 1 (then it is a real 0); one -1 is inferred. The result shares X's buffer.
/// </summary>
internal sealed class Reshape : IOperator
{
    private readonly Node _node;
    private readonly bool _constantShapeInput; // input 1 (axes or shape) absent or a graph constant: the view depends on X's shape only
    private readonly bool _allowZero;

    public Reshape(Node node, OperatorContext context)
    {
        _node = node;
        _constantShapeInput = !node.HasInput(1) || context.Constant(node.Input(1)) is not null;
        _allowZero = node.GetInt("allowzero", 0) != 0;
    }

    public void Run(ReadOnlySpan<Tensor?> inputs, Span<Tensor?> outputs, NodeBuffers buffers)
    {
        var x = OpUtil.Required(_node, inputs, 0, "X");
        if (_constantShapeInput && buffers.LastView(0, x) is { } same)
        {
            outputs[0] = same;
            return;
        }
        var target = OpUtil.IntsFromInputOrAttribute(_node, inputs, 1, "shape", buffers, 0, out bool present);
        if (!present) throw OpUtil.Error(_node, "the target shape (input 1 or attribute shape) is missing");
        OpUtil.CheckRank(_node, target.Length);
        Span<int> shape = stackalloc int[target.Length];
        Resolve(_node, x.Shape, target, _allowZero, shape);
        outputs[0] = buffers.View(0, x, shape);
    }

    public static int[] Resolve(Node node, ReadOnlySpan<int> from, long[] target, bool allowZero)
    {
        var shape = new int[target.Length];
        Resolve(node, from, target, allowZero, shape);
        return shape;
    }

    /// <summary>Resolves <paramref name="target"/> against <paramref name="from"/> into <paramref name="shape"/> (of target's length).</summary>
    public static void Resolve(Node node, ReadOnlySpan<int> from, ReadOnlySpan<long> target, bool allowZero, Span<int> shape)
    {
        int infer = -1;
        long known = 1;
        for (int i = 0; i < target.Length; i++)
        {
            long d = target[i];
            if (d == 0 && !allowZero)
            {
                if (i >= from.Length) throw OpUtil.Error(node, $"target shape [{string.Join(", ", target.ToArray())}] copies dimension {i} (0) but the input {Tensor.FormatShape(from)} has rank {from.Length}");
                d = from[i];
            }
            if (d == -1)
            {
                if (infer >= 0) throw OpUtil.Error(node, $"target shape [{string.Join(", ", target.ToArray())}] has more than one -1");
                infer = i;
                continue;
            }
            if (d < 0 || d > Array.MaxLength) throw OpUtil.Error(node, $"target shape [{string.Join(", ", target.ToArray())}] has an invalid dimension {d}");
            shape[i] = (int)d;
            known *= d;
            if (known > Array.MaxLength) known = Array.MaxLength + 1L;
        }
        long n = Tensor.ElementCount(from);
        if (infer >= 0)
        {
            if (known == 0 || n % known != 0)
                throw OpUtil.Error(node, $"cannot reshape {Tensor.FormatShape(from)} ({n} elements) into [{string.Join(", ", target.ToArray())}]");
            shape[infer] = (int)(n / known);
        }
        else if (known != n)
            throw OpUtil.Error(node, $"cannot reshape {Tensor.FormatShape(from)} ({n} elements) into {Tensor.FormatShape(shape)} ({known} elements)");
    }
}
