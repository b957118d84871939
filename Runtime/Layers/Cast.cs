using System.Runtime.CompilerServices;
using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Layers;

/// <summary>
/// Attribute to (a <see cref="DataType"/> value). float → integer truncates toward zero (NaN → 0,
/// out-of-range saturates to the 64-bit range first); narrowing between integers wraps, as a C cast
/// and numpy's astype do.
/// </summary>
internal sealed class Cast : IOperator
{
    private readonly Node _node;
    private readonly DataType _to;

    public Cast(Node node, OperatorContext context)
    {
        _ = context;
        _node = node;
        long to = node.GetInt("to", -1);
        if (to is not ((long)DataType.Float32 or (long)DataType.Int64 or (long)DataType.Int32 or (long)DataType.Int8))
            throw OpUtil.Error(node, $"attribute to = {to} is not a supported data type (float32 = 1, int64 = 2, int32 = 3, int8 = 4)");
        _to = (DataType)to;
    }

    public void Run(ReadOnlySpan<Tensor?> inputs, Span<Tensor?> outputs, NodeBuffers buffers)
    {
        var x = OpUtil.Required(_node, inputs, 0, "X");
        var y = buffers.Output(0, _to, x.Shape);
        Into(x, y, buffers, 0);
        outputs[0] = y;
    }

    /// <summary>A new tensor holding <paramref name="t"/>'s values converted to <paramref name="dt"/> (a copy even when the type is unchanged).</summary>
    public static Tensor To(Tensor t, DataType dt)
    {
        ArgumentNullException.ThrowIfNull(t);
        var y = Tensor.Zeros(dt, t.Shape);
        Into(t, y, NodeBuffers.Fresh, 0);
        return y;
    }

    /// <summary>Writes <paramref name="t"/>'s values converted to <paramref name="y"/>'s type into <paramref name="y"/> (contiguous, same shape).</summary>
    internal static void Into(Tensor t, Tensor y, NodeBuffers buffers, int slot)
    {
        var src = t;
        if (!src.IsContiguous)
        {
            src = buffers.Temporary(slot, t.DataType, t.Shape);
            t.CopyTo(src);
        }
        if (src.DataType == y.DataType) { src.CopyTo(y); return; }
        switch (src.DataType)
        {
            case DataType.Float32: From(src.ReadOnlySpan<float>(), y); break;
            case DataType.Int64: From(src.ReadOnlySpan<long>(), y); break;
            case DataType.Int32: From(src.ReadOnlySpan<int>(), y); break;
            case DataType.Int8: From(src.ReadOnlySpan<sbyte>(), y); break;
            default: throw new EdgeException($"Cast: unsupported source type {src.DataType.Name()}");
        }
    }

    private static void From<TSrc>(ReadOnlySpan<TSrc> s, Tensor y) where TSrc : unmanaged
    {
        switch (y.DataType)
        {
            case DataType.Float32: { var d = y.Span<float>(); for (int i = 0; i < s.Length; i++) d[i] = AsFloat(s[i]); break; }
            case DataType.Int64: { var d = y.Span<long>(); for (int i = 0; i < s.Length; i++) d[i] = AsLong(s[i]); break; }
            case DataType.Int32: { var d = y.Span<int>(); for (int i = 0; i < s.Length; i++) d[i] = unchecked((int)AsLong(s[i])); break; }
            case DataType.Int8: { var d = y.Span<sbyte>(); for (int i = 0; i < s.Length; i++) d[i] = unchecked((sbyte)AsLong(s[i])); break; }
            default: throw new EdgeException($"Cast: unsupported target type {y.DataType.Name()}");
        }
    }

    // The typeof tests are JIT/AOT constants per instantiation (and Unsafe.As a no-op), so each loop compiles to one conversion.
    private static float AsFloat<T>(T v) where T : unmanaged =>
        typeof(T) == typeof(float) ? Unsafe.As<T, float>(ref v)
        : typeof(T) == typeof(long) ? (float)Unsafe.As<T, long>(ref v) // one rounding, as numpy's astype
        : typeof(T) == typeof(int) ? (float)Unsafe.As<T, int>(ref v)
        : Unsafe.As<T, sbyte>(ref v);

    private static long AsLong<T>(T v) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            float f = Unsafe.As<T, float>(ref v);
            if (float.IsNaN(f)) return 0;
            return f >= 9.223372E18f ? long.MaxValue : f <= -9.223372E18f ? long.MinValue : (long)f; // (long) truncates toward zero
        }
        return typeof(T) == typeof(long) ? Unsafe.As<T, long>(ref v)
            : typeof(T) == typeof(int) ? Unsafe.As<T, int>(ref v)
            : Unsafe.As<T, sbyte>(ref v);
    }
}
