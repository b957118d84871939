using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Layers;

/// <summary>
/// Shared checks for operators: every failure is an <see cref="EdgeException"/> whose message starts
/// with "node 'name' (Kind):" so that importers folding constants (which call operators directly,
/// outside a <see cref="Execution.Session"/>) report the node at fault too.
/// </summary>
internal static class OpUtil
{
    public static EdgeException Error(Node node, string message) => new($"node '{node.Name}' ({node.Kind}): {message}");

    /// <summary>The input at <paramref name="index"/>, or an error naming it when it is absent.</summary>
    public static Tensor Required(Node node, ReadOnlySpan<Tensor?> inputs, int index, string what)
    {
        if (index >= inputs.Length || inputs[index] is not { } t)
            throw Error(node, $"input {index} ({what}) is missing");
        return t;
    }

    public static Tensor? Optional(ReadOnlySpan<Tensor?> inputs, int index) => index < inputs.Length ? inputs[index] : null;

    public static void RequireFloat(Node node, Tensor t, string what)
    {
        if (t.DataType != DataType.Float32)
            throw Error(node, $"{what} must be float32, got {t.DataType.Name()}{t.ShapeString}");
    }

    public static void RequireType(Node node, Tensor t, string what, params ReadOnlySpan<DataType> allowed)
    {
        if (allowed.IndexOf(t.DataType) >= 0) return;
        var names = new string[allowed.Length];
        for (int i = 0; i < names.Length; i++) names[i] = allowed[i].Name();
        throw Error(node, $"{what} is {t.DataType.Name()}{t.ShapeString}; {node.Kind} supports {string.Join(", ", names)}");
    }

    /// <summary>Reads an integer tensor (shape, axes, pads, indices) as longs, with a node-naming error for a float tensor.</summary>
    public static long[] Ints(Node node, Tensor t, string what)
    {
        if (t.DataType is not (DataType.Int64 or DataType.Int32 or DataType.Int8))
            throw Error(node, $"{what} must be an integer tensor (int64), got {t.DataType.Name()}{t.ShapeString}");
        if (t.Rank > 1)
            throw Error(node, $"{what} must be 1-D, got shape {t.ShapeString}");
        return t.ToInt64Array();
    }

    /// <summary>
    /// <see cref="Ints(Node, Tensor, string)"/> without a copy for a contiguous int64 tensor; other
    /// integer types are widened into scratch <paramref name="slot"/> of <paramref name="buffers"/>.
    /// </summary>
    public static ReadOnlySpan<long> Ints(Node node, Tensor t, string what, NodeBuffers buffers, int slot)
    {
        if (t.DataType is not (DataType.Int64 or DataType.Int32 or DataType.Int8))
            throw Error(node, $"{what} must be an integer tensor (int64), got {t.DataType.Name()}{t.ShapeString}");
        if (t.Rank > 1)
            throw Error(node, $"{what} must be 1-D, got shape {t.ShapeString}");
        return Indices(t, buffers, slot);
    }

    /// <summary>The values of an integer tensor of any rank as longs (no copy for contiguous int64; others go through scratch).</summary>
    public static ReadOnlySpan<long> Indices(Tensor t, NodeBuffers buffers, int slot)
    {
        if (t.DataType == DataType.Int64 && t.IsContiguous) return t.ReadOnlySpan<long>();
        // Temporary slots from 16 on, clear of those the operators number themselves.
        var c = t.IsContiguous ? t : buffers.Temporary(16 + slot, t.DataType, t.Shape);
        if (!ReferenceEquals(c, t)) t.CopyTo(c);
        if (c.DataType == DataType.Int64) return c.ReadOnlySpan<long>();
        var dst = buffers.Scratch<long>(slot, c.Length);
        switch (c.DataType)
        {
            case DataType.Int32: { var s = c.ReadOnlySpan<int>(); for (int i = 0; i < s.Length; i++) dst[i] = s[i]; break; }
            case DataType.Int8: { var s = c.ReadOnlySpan<sbyte>(); for (int i = 0; i < s.Length; i++) dst[i] = s[i]; break; }
            default: throw new EdgeException($"expected an integer tensor, got {t.DataType.Name()} {t.ShapeString}");
        }
        return dst;
    }

    /// <summary>
    /// <see cref="IntsFromInputOrAttribute(Node, ReadOnlySpan{Tensor?}, int, string)"/> without allocating;
    /// <paramref name="present"/> tells an absent list from an empty one.
    /// </summary>
    public static ReadOnlySpan<long> IntsFromInputOrAttribute(Node node, ReadOnlySpan<Tensor?> inputs, int index, string name,
        NodeBuffers buffers, int slot, out bool present)
    {
        var t = Optional(inputs, index);
        if (t is not null) { present = true; return Ints(node, t, name, buffers, slot); }
        var a = node.GetInts(name);
        present = a is not null;
        return a;
    }

    /// <summary>An axis in [-rank, rank) normalized to [0, rank).</summary>
    public static int Axis(Node node, long axis, int rank, string what = "axis")
    {
        long a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank)
            throw Error(node, $"{what} {axis} is out of range for rank {rank}");
        return (int)a;
    }

    /// <summary>Normalizes a list of axes; duplicates are an error.</summary>
    public static int[] Axes(Node node, long[] axes, int rank)
    {
        var result = new int[axes.Length];
        Axes(node, axes, rank, result);
        return result;
    }

    /// <summary>Normalizes a list of axes into <paramref name="result"/> (of the same length); duplicates are an error.</summary>
    public static void Axes(Node node, ReadOnlySpan<long> axes, int rank, Span<int> result)
    {
        for (int i = 0; i < axes.Length; i++)
        {
            result[i] = Axis(node, axes[i], rank);
            for (int j = 0; j < i; j++)
                if (result[j] == result[i]) throw Error(node, $"axes [{string.Join(", ", axes.ToArray())}] repeat axis {result[i]}");
        }
    }

    /// <summary>Marks the listed axes in <paramref name="marks"/> (of length rank); duplicates are an error.</summary>
    public static void MarkAxes(Node node, ReadOnlySpan<long> axes, Span<bool> marks)
    {
        marks.Clear();
        foreach (long raw in axes)
        {
            int a = Axis(node, raw, marks.Length);
            if (marks[a]) throw Error(node, $"axes [{string.Join(", ", axes.ToArray())}] repeat axis {a}");
            marks[a] = true;
        }
    }

    /// <summary>A dimension from a long, checked to fit the runtime's int shapes.</summary>
    public static int Dim(Node node, long value, string what)
    {
        if (value < 0 || value > Array.MaxLength)
            throw Error(node, $"{what} {value} is not a valid dimension");
        return (int)value;
    }

    /// <summary><see cref="Dim(Node, long, string)"/> for element <paramref name="index"/> of a list (the name is only formatted on error).</summary>
    public static int Dim(Node node, long value, string list, int index)
    {
        if (value < 0 || value > Array.MaxLength)
            throw Error(node, $"{list}[{index}] {value} is not a valid dimension");
        return (int)value;
    }

    /// <summary>Stack space for a shape or an axis list: ranks beyond this are refused rather than heap-allocated.</summary>
    public const int MaxRank = 16;

    /// <summary>Refuses a rank beyond <see cref="MaxRank"/> (shapes are built in stack buffers of that size).</summary>
    public static void CheckRank(Node node, int rank)
    {
        if (rank > MaxRank) throw Error(node, $"rank {rank} exceeds the supported maximum of {MaxRank}");
    }

    /// <summary>Product of dims [from, to).</summary>
    public static int Product(ReadOnlySpan<int> shape, int from, int to)
    {
        long p = 1;
        for (int i = from; i < to; i++) p *= shape[i];
        return checked((int)p);
    }

    /// <summary>A list of ints from a constant/runtime input when present, else from an attribute, else null.</summary>
    public static long[]? IntsFromInputOrAttribute(Node node, ReadOnlySpan<Tensor?> inputs, int index, string name)
    {
        var t = Optional(inputs, index);
        if (t is not null) return Ints(node, t, name);
        return node.GetInts(name);
    }
}
