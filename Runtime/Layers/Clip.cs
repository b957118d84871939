using System.Numerics;
using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Layers;

/// <summary>
/// ONNX Clip (opset 11+, torch.clamp): inputs X, min? and max? (scalars of X's type; an absent bound
/// does not clip). Y = min(max(X, min), max), so min &gt; max gives max everywhere, as ONNX Runtime
/// does. NaN in X stays NaN. The importer turns opset &lt; 11 attributes into the two inputs.
/// </summary>
internal sealed class Clip : IOperator
{
    private readonly Node _node;

    public Clip(Node node, OperatorContext context)
    {
        _ = context;
        _node = node;
    }

    public void Run(ReadOnlySpan<Tensor?> inputs, Span<Tensor?> outputs, NodeBuffers buffers)
    {
        var x = OpUtil.Required(_node, inputs, 0, "X");
        OpUtil.RequireType(_node, x, "X", DataType.Float32, DataType.Int64, DataType.Int32, DataType.Int8);
        var lo = Bound(OpUtil.Optional(inputs, 1), x, "min");
        var hi = Bound(OpUtil.Optional(inputs, 2), x, "max");
        var y = buffers.Output(0, x.DataType, x.Shape);
        var src = x.Contiguous();
        switch (x.DataType)
        {
            case DataType.Float32: Apply(src.ReadOnlySpan<float>(), y.Span<float>(), lo, hi); break;
            case DataType.Int64: Apply(src.ReadOnlySpan<long>(), y.Span<long>(), lo, hi); break;
            case DataType.Int32: Apply(src.ReadOnlySpan<int>(), y.Span<int>(), lo, hi); break;
            default: Apply(src.ReadOnlySpan<sbyte>(), y.Span<sbyte>(), lo, hi); break;
        }
        outputs[0] = y;
    }

    /// <summary>A bound must be a one-element tensor of X's type (ONNX: a scalar, or a 1-element tensor in older exporters).</summary>
    private Tensor? Bound(Tensor? t, Tensor x, string what)
    {
        if (t is null) return null;
        if (t.DataType != x.DataType)
            throw OpUtil.Error(_node, $"{what} is {t.DataType.Name()}{t.ShapeString} but X is {x.DataType.Name()}; Clip needs the same type");
        if (t.Length != 1)
            throw OpUtil.Error(_node, $"{what} must be a scalar, got shape {t.ShapeString}");
        return t.Contiguous();
    }

    private static void Apply<T>(ReadOnlySpan<T> x, Span<T> y, Tensor? lo, Tensor? hi)
        where T : unmanaged, INumber<T>
    {
        bool hasLo = lo is not null, hasHi = hi is not null;
        T l = hasLo ? lo!.ReadOnlySpan<T>()[0] : T.Zero;
        T h = hasHi ? hi!.ReadOnlySpan<T>()[0] : T.Zero;
        for (int i = 0; i < x.Length; i++)
        {
            T v = x[i];
            // Comparisons are false for NaN, so a NaN element passes through unchanged.
            if (hasLo && v < l) v = l;
            if (hasHi && v > h) v = h;
            y[i] = v;
        }
    }
}
