using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Layers;

/// <summary>
/// Add, Sub, Mul, Div, Max, Min with numpy broadcasting on float32, int64 and int32 (both operands of one type).
/// Integer Div truncates toward zero (C#, C and ONNX agree); division by zero is an error.
/// The broadcast is walked in rows of the innermost axis, each row handled by one vectorized
/// <see cref="TensorPrimitives"/> call (span-span, span-scalar or scalar-span).
/// </summary>
internal sealed class Binary : IOperator
{
    private readonly Node _node;

    public Binary(Node node, OperatorContext context)
    {
        _ = context;
        _node = node;
    }

    public void Run(ReadOnlySpan<Tensor?> inputs, Span<Tensor?> outputs, NodeBuffers buffers)
    {
        var a = OpUtil.Required(_node, inputs, 0, "A");
        var b = OpUtil.Required(_node, inputs, 1, "B");
        if (a.DataType != b.DataType)
            throw OpUtil.Error(_node, $"operands differ in type: A is {a.DataType.Name()}{a.ShapeString}, B is {b.DataType.Name()}{b.ShapeString}");
        int rank = Math.Max(a.Rank, b.Rank);
        OpUtil.CheckRank(_node, rank);
        Span<int> shape = stackalloc int[OpUtil.MaxRank];
        shape = shape[..rank];
        if (!Broadcast.TryShape(a.Shape, b.Shape, shape))
            throw OpUtil.Error(_node, $"shapes {a.ShapeString} and {b.ShapeString} do not broadcast");
        var y = buffers.Output(0, a.DataType, shape);
        switch (a.DataType)
        {
            case DataType.Float32: Dispatch<float>(a, b, y); break;
            case DataType.Int64: Dispatch<long>(a, b, y); break;
            case DataType.Int32: Dispatch<int>(a, b, y); break;
            default: throw OpUtil.Error(_node, $"data type {a.DataType.Name()} is not supported");
        }
        outputs[0] = y;
    }

    private void Dispatch<T>(Tensor a, Tensor b, Tensor y) where T : unmanaged, System.Numerics.INumber<T>
    {
        switch (_node.Kind)
        {
            case OpKind.Add: Apply<T, AddOp<T>>(a, b, y); break;
            case OpKind.Sub: Apply<T, SubOp<T>>(a, b, y); break;
            case OpKind.Mul: Apply<T, MulOp<T>>(a, b, y); break;
            case OpKind.Max: Apply<T, MaxOp<T>>(a, b, y); break;
            case OpKind.Min: Apply<T, MinOp<T>>(a, b, y); break;
            case OpKind.Div:
                if (typeof(T) != typeof(float) && ContainsZero(b.Contiguous().ReadOnlySpan<T>()))
                    throw OpUtil.Error(_node, $"integer division by zero (B {b.ShapeString} contains 0)");
                Apply<T, DivOp<T>>(a, b, y);
                break;
            default: throw OpUtil.Error(_node, "not a binary op");
        }
    }

    private static bool ContainsZero<T>(ReadOnlySpan<T> s) where T : unmanaged, System.Numerics.INumber<T>
    {
        foreach (var v in s) if (T.IsZero(v)) return true;
        return false;
    }

    private static void Apply<T, TOp>(Tensor a, Tensor b, Tensor y)
        where T : unmanaged, System.Numerics.INumber<T>
        where TOp : IBinaryRowOp<T>
    {
        var av = a.Contiguous().ReadOnlySpan<T>();
        var bv = b.Contiguous().ReadOnlySpan<T>();
        var dst = y.Span<T>();
        if (dst.Length == 0) return;
        if (a.Shape.SequenceEqual(b.Shape)) { TOp.Rows(av, bv, dst); return; }
        if (b.Length == 1 && a.Length == dst.Length) { TOp.RowScalar(av, bv[0], dst); return; }
        if (a.Length == 1 && b.Length == dst.Length) { TOp.ScalarRow(av[0], bv, dst); return; }

        var shape = y.Shape;
        int rank = shape.Length;
        Span<int> sa = stackalloc int[rank];
        Span<int> sb = stackalloc int[rank];
        Broadcast.Strides(a.Shape, shape, sa);
        Broadcast.Strides(b.Shape, shape, sb);
        // Fold trailing axes into one row while both operands stay contiguous (or both broadcast) across them.
        int inner = shape[rank - 1];
        int first = rank - 1;
        while (first > 0)
        {
            int ax = first - 1;
            bool aOk = (sa[ax] == sa[first] * shape[first]) && sa[first] != 0 || sa[ax] == 0 && sa[first] == 0;
            bool bOk = (sb[ax] == sb[first] * shape[first]) && sb[first] != 0 || sb[ax] == 0 && sb[first] == 0;
            if (!aOk || !bOk) break;
            inner *= shape[ax];
            first = ax;
        }
        int ia = sa[rank - 1], ib = sb[rank - 1];
        Span<int> idx = stackalloc int[Math.Max(first, 1)];
        idx.Clear();
        int pa = 0, pb = 0;
        for (int o = 0; o < dst.Length; o += inner)
        {
            var d = dst.Slice(o, inner);
            if (ia != 0 && ib != 0) TOp.Rows(av.Slice(pa, inner), bv.Slice(pb, inner), d);
            else if (ia != 0) TOp.RowScalar(av.Slice(pa, inner), bv[pb], d);
            else if (ib != 0) TOp.ScalarRow(av[pa], bv.Slice(pb, inner), d);
            else d.Fill(TOp.Scalar(av[pa], bv[pb]));
            for (int ax = first - 1; ax >= 0; ax--)
            {
                pa += sa[ax];
                pb += sb[ax];
                if (++idx[ax] < shape[ax]) break;
                pa -= sa[ax] * shape[ax];
                pb -= sb[ax] * shape[ax];
                idx[ax] = 0;
            }
        }
    }

    private interface IBinaryRowOp<T> where T : unmanaged, System.Numerics.INumber<T>
    {
        static abstract T Scalar(T x, T y);
        static abstract void Rows(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d);
        static abstract void RowScalar(ReadOnlySpan<T> x, T y, Span<T> d);
        static abstract void ScalarRow(T x, ReadOnlySpan<T> y, Span<T> d);
    }

    private readonly struct AddOp<T> : IBinaryRowOp<T> where T : unmanaged, System.Numerics.INumber<T>
    {
        public static T Scalar(T x, T y) => x + y;
        public static void Rows(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d) => TensorPrimitives.Add(x, y, d);
        public static void RowScalar(ReadOnlySpan<T> x, T y, Span<T> d) => TensorPrimitives.Add(x, y, d);
        public static void ScalarRow(T x, ReadOnlySpan<T> y, Span<T> d) => TensorPrimitives.Add(y, x, d);
    }

    private readonly struct MaxOp<T> : IBinaryRowOp<T> where T : unmanaged, System.Numerics.INumber<T>
    {
        public static T Scalar(T x, T y) => T.Max(x, y);
        public static void Rows(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d) => TensorPrimitives.Max(x, y, d);
        public static void RowScalar(ReadOnlySpan<T> x, T y, Span<T> d) => TensorPrimitives.Max(x, y, d);
        public static void ScalarRow(T x, ReadOnlySpan<T> y, Span<T> d) => TensorPrimitives.Max(y, x, d);
    }

    private readonly struct MinOp<T> : IBinaryRowOp<T> where T : unmanaged, System.Numerics.INumber<T>
    {
        public static T Scalar(T x, T y) => T.Min(x, y);
        public static void Rows(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d) => TensorPrimitives.Min(x, y, d);
        public static void RowScalar(ReadOnlySpan<T> x, T y, Span<T> d) => TensorPrimitives.Min(x, y, d);
        public static void ScalarRow(T x, ReadOnlySpan<T> y, Span<T> d) => TensorPrimitives.Min(y, x, d);
    }

    private readonly struct SubOp<T> : IBinaryRowOp<T> where T : unmanaged, System.Numerics.INumber<T>
    {
        public static T Scalar(T x, T y) => x - y;
        public static void Rows(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d) => TensorPrimitives.Subtract(x, y, d);
        public static void RowScalar(ReadOnlySpan<T> x, T y, Span<T> d) => TensorPrimitives.Subtract(x, y, d);
        public static void ScalarRow(T x, ReadOnlySpan<T> y, Span<T> d) => TensorPrimitives.Subtract(x, y, d);
    }

    private readonly struct MulOp<T> : IBinaryRowOp<T> where T : unmanaged, System.Numerics.INumber<T>
    {
        public static T Scalar(T x, T y) => x * y;
        public static void Rows(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d) => TensorPrimitives.Multiply(x, y, d);
        public static void RowScalar(ReadOnlySpan<T> x, T y, Span<T> d) => TensorPrimitives.Multiply(x, y, d);
        public static void ScalarRow(T x, ReadOnlySpan<T> y, Span<T> d) => TensorPrimitives.Multiply(y, x, d);
    }

    /// <summary>Integer operands reach here only after the zero check; MinValue / -1 wraps as in C.</summary>
    private readonly struct DivOp<T> : IBinaryRowOp<T> where T : unmanaged, System.Numerics.INumber<T>
    {
        public static T Scalar(T x, T y) => typeof(T) == typeof(float) || y != -T.One ? x / y : unchecked(-x);

        public static void Rows(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d)
        {
            if (typeof(T) == typeof(float)) { TensorPrimitives.Divide(x, y, d); return; }
            for (int i = 0; i < d.Length; i++) d[i] = Scalar(x[i], y[i]);
        }

        public static void RowScalar(ReadOnlySpan<T> x, T y, Span<T> d)
        {
            if (typeof(T) == typeof(float)) { TensorPrimitives.Divide(x, y, d); return; }
            for (int i = 0; i < d.Length; i++) d[i] = Scalar(x[i], y);
        }

        public static void ScalarRow(T x, ReadOnlySpan<T> y, Span<T> d)
        {
            if (typeof(T) == typeof(float)) { TensorPrimitives.Divide(x, y, d); return; }
            for (int i = 0; i < d.Length; i++) d[i] = Scalar(x, y[i]);
        }
    }
}
