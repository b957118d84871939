using Edge.Runtime;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Quantizer.Import.PyTorch;

/// <summary>
/// Spec kinds add, sub, mul, div (numpy broadcasting: residuals such as fc(lstm(x)) + x[:, :, :1], gating),
/// softmax, sum/mean/max over axes, matmul/bmm.
/// </summary>
internal sealed partial class SpecGraphBuilder
{
    private IrValue ElementwiseLayer(SpecObject l, OpKind kind)
    {
        string op = kind.ToString().ToLowerInvariant();
        IrValue a, b;
        if (l.Strings("inputs") is { } refs)
        {
            if (refs.Length != 2) throw l.Error($"inputs: {op} takes two inputs [a, b], got {refs.Length}");
            if (l.Has("value")) throw l.Error($"value: {op} takes either inputs [a, b] or input and value, not both");
            a = Resolve(refs[0], $"{l.Path}.inputs[0]");
            b = Resolve(refs[1], $"{l.Path}.inputs[1]");
        }
        else if (l.Has("value"))
        {
            // x op constant, e.g. {"kind": "mul", "value": 0.5}
            a = Input(l);
            if (a.Type != DataType.Float32) throw l.Error($"value: a constant operand needs a float32 input, got {a.Type.Name()}{a.ShapeString}");
            b = new IrValue(_ir.Constant($"{l.Name}/value", Tensor.FromArray(new[] { l.Float("value", 0f) }, 1)), [1], DataType.Float32);
        }
        else throw l.Error($"inputs: required, [a, b] (or input and a constant value) for {op}");
        if (a.Type != b.Type) throw l.Error($"inputs: {op} needs operands of one type, got {a.Type.Name()}{a.ShapeString} and {b.Type.Name()}{b.ShapeString}");
        var y = _ir.NewValue(l.Name, BroadcastShape(l, a, b, "inputs"), a.Type);
        _ir.Emit(kind, $"{l.Name}/{op}", [a.Name, b.Name], [y.Name]);
        return y;
    }

    /// <summary>numpy broadcasting of two shapes; a dynamic dimension against a known one (not 1) takes the known one.</summary>
    private static int[] BroadcastShape(SpecObject l, IrValue a, IrValue b, string field)
    {
        int rank = Math.Max(a.Rank, b.Rank);
        var shape = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i < rank - a.Rank ? 1 : a.Shape[i - (rank - a.Rank)];
            int db = i < rank - b.Rank ? 1 : b.Shape[i - (rank - b.Rank)];
            if (da == 1) shape[i] = db;
            else if (db == 1) shape[i] = da;
            else if (da < 0) shape[i] = db;
            else if (db < 0 || da == db) shape[i] = da;
            else throw l.Error($"{field}: shapes {a.ShapeString} and {b.ShapeString} do not broadcast (axis {i}: {da} vs {db})");
        }
        return shape;
    }

    private IrValue SoftmaxLayer(SpecObject l)
    {
        var x = Input(l);
        Axis(l, l.Int("dim", -1), x.Rank, "dim");
        return Activation(l, x, "softmax", "kind");
    }

    /// <summary>x.sum(dim), x.mean(dim), x.amax(dim) / x.max(dim).values; keepdim as in torch.</summary>
    private IrValue ReduceLayer(SpecObject l, string kind)
    {
        var x = Input(l);
        if (x.Type != DataType.Float32) throw l.Error($"input: {kind} needs float32, got {x.Type.Name()}{x.ShapeString}");
        var dims = l.Ints("dim") ?? throw l.Error($"dim: required (an axis or a list of axes of {x.ShapeString})");
        if (dims.Length == 0) throw l.Error($"dim: [] names no axis; list the axes of {x.ShapeString} to reduce");
        var axes = dims.Select(d => Axis(l, (int)d, x.Rank, "dim")).Distinct().Order().ToArray();
        bool keep = l.Bool("keepdim", false);
        var shape = keep ? x.Shape.Select((d, i) => axes.Contains(i) ? 1 : d).ToArray() : x.Shape.Where((_, i) => !axes.Contains(i)).ToArray();
        if (kind == "max")
        {
            // torch.max(x, dim) returns (values, indices): the spec's max is the values (x.max(dim).values, amax).
            var max = _ir.NewValue(l.Name, shape, x.Type);
            _ir.Emit(OpKind.ReduceMax, $"{l.Name}/reduce_max", [x.Name, _ir.Int64s($"{l.Name}/axes", axes.Select(a => (long)a).ToArray())], [max.Name])
                .Set("keepdims", keep ? 1L : 0L);
            return max;
        }
        var sum = _ir.NewValue(kind == "sum" ? l.Name : $"{l.Name}/sum", shape, x.Type);
        _ir.Emit(OpKind.ReduceSum, $"{l.Name}/reduce_sum", [x.Name, _ir.Int64s($"{l.Name}/axes", axes.Select(a => (long)a).ToArray())], [sum.Name])
            .Set("keepdims", keep ? 1L : 0L);
        if (kind == "sum") return sum;
        return DivideByCount(l, x, sum, axes, l.Name);
    }

    /// <summary><paramref name="sum"/> / (the number of elements of <paramref name="x"/> over <paramref name="axes"/>): a constant when those axes are known, else read from the shape at run time.</summary>
    private IrValue DivideByCount(SpecObject l, IrValue x, IrValue sum, int[] axes, string tag)
    {
        string count;
        if (axes.All(a => x.Shape[a] >= 0))
        {
            long n = axes.Aggregate(1L, (p, a) => p * x.Shape[a]);
            count = _ir.Constant($"{tag}/count", Tensor.FromArray(new[] { (float)n }, 1));
        }
        else
        {
            var dims = new List<string>();
            foreach (int a in axes)
            {
                string d = _ir.FreshValue($"{tag}/dim{a}");
                _ir.Emit(OpKind.Shape, $"{tag}/shape{a}", [x.Name], [d]).Set("start", (long)a).Set("end", (long)a + 1);
                dims.Add(d);
            }
            string n = dims[0];
            for (int i = 1; i < dims.Count; i++)
            {
                string p = _ir.FreshValue($"{tag}/count_int");
                _ir.Emit(OpKind.Mul, $"{tag}/count_mul", [n, dims[i]], [p]);
                n = p;
            }
            count = _ir.FreshValue($"{tag}/count");
            _ir.Emit(OpKind.Cast, $"{tag}/count_cast", [n], [count]).Set("to", (long)DataType.Float32);
        }
        var y = _ir.NewValue(tag, sum.Shape, sum.Type);
        _ir.Emit(OpKind.Div, $"{tag}/div", [sum.Name, count], [y.Name]);
        return y;
    }

    /// <summary>torch.matmul (numpy semantics, batch axes broadcast) and torch.bmm ((B, N, M) @ (B, M, P)).</summary>
    private IrValue MatMulLayer(SpecObject l, string kind)
    {
        var refs = l.Strings("inputs") ?? throw l.Error($"inputs: required, [a, b] for {kind}");
        if (refs.Length != 2) throw l.Error($"inputs: {kind} takes two inputs [a, b], got {refs.Length}");
        var a = Resolve(refs[0], $"{l.Path}.inputs[0]");
        var b = Resolve(refs[1], $"{l.Path}.inputs[1]");
        if (a.Type != DataType.Float32 || b.Type != DataType.Float32) throw l.Error($"inputs: {kind} needs float32 operands, got {a.Type.Name()}{a.ShapeString} and {b.Type.Name()}{b.ShapeString}");
        if (kind == "bmm" && (a.Rank != 3 || b.Rank != 3)) throw l.Error($"inputs: bmm needs (B, N, M) and (B, M, P), got {a.ShapeString} and {b.ShapeString}");
        if (a.Rank < 1 || b.Rank < 1) throw l.Error($"inputs: {kind} needs operands of rank >= 1, got {a.ShapeString} and {b.ShapeString}");
        int k1 = a.Shape[^1], k2 = b.Rank == 1 ? b.Shape[0] : b.Shape[^2];
        if (k1 >= 0 && k2 >= 0 && k1 != k2) throw l.Error($"inputs: cannot multiply {a.ShapeString} by {b.ShapeString} ({k1} vs {k2})");
        int[] shape;
        if (a.Rank == 1 && b.Rank == 1) shape = [];
        else if (a.Rank == 1) shape = [.. b.Shape[..^2], b.Shape[^1]];
        else if (b.Rank == 1) shape = a.Shape[..^1];
        else
        {
            var batch = BroadcastShape(l, new IrValue(a.Name, a.Shape[..^2], a.Type), new IrValue(b.Name, b.Shape[..^2], b.Type), "inputs");
            shape = [.. batch, a.Shape[^2], b.Shape[^1]];
        }
        var y = _ir.NewValue(l.Name, shape, DataType.Float32);
        _ir.Emit(OpKind.MatMul, $"{l.Name}/{kind}", [a.Name, b.Name], [y.Name]);
        return y;
    }
}
