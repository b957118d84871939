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

    public static void RequireType(Node node, Tensor t, string what, params DataType[] allowed)
    {
        if (Array.IndexOf(allowed, t.DataType) < 0)
            throw Error(node, $"{what} is {t.DataType.Name()}{t.ShapeString}; {node.Kind} supports {string.Join(", ", allowed.Select(a => a.Name()))}");
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
        for (int i = 0; i < axes.Length; i++)
        {
            result[i] = Axis(node, axes[i], rank);
            for (int j = 0; j < i; j++)
                if (result[j] == result[i]) throw Error(node, $"axes [{string.Join(", ", axes)}] repeat axis {result[i]}");
        }
        return result;
    }

    /// <summary>A dimension from a long, checked to fit the runtime's int shapes.</summary>
    public static int Dim(Node node, long value, string what)
    {
        if (value < 0 || value > Array.MaxLength)
            throw Error(node, $"{what} {value} is not a valid dimension");
        return (int)value;
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
