using Edge.Runtime;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Quantizer.Import.PyTorch;

/// <summary>Spec kinds that move, select and join values (select, squeeze, transpose, reshape, concat, ...) and the glue nodes with shape inference that every layer uses.</summary>
internal sealed partial class SpecGraphBuilder
{
    // ── activations and glue layers ─────────────────────────────────────────────────────────────

    private IrValue Activation(SpecObject l, IrValue x, string function, string field)
    {
        if (x.Type != DataType.Float32) throw l.Error($"{field}: '{function}' needs a float32 input, got {x.Type.Name()}");
        (OpKind kind, Action<Node>? set) = function switch
        {
            "relu" => (OpKind.Relu, null),
            "tanh" => (OpKind.Tanh, null),
            "sigmoid" => (OpKind.Sigmoid, null),
            "softsign" => (OpKind.Softsign, null),
            "softplus" => (OpKind.Softplus, null),
            "exp" => (OpKind.Exp, null),
            "identity" or "linear" => (OpKind.Identity, null),
            "elu" => (OpKind.Elu, (Action<Node>?)(n => n.Set("alpha", l.Float("alpha", 1f)))),
            "leaky_relu" => (OpKind.LeakyRelu, n => n.Set("alpha", l.Float("negative_slope", 0.01f))),
            // torch.nn.Hardsigmoid: relu6(x + 3) / 6
            "hard_sigmoid" => (OpKind.HardSigmoid, n => n.Set("alpha", 1f / 6f).Set("beta", 0.5f)),
            "softmax" => (OpKind.Softmax, n => n.Set("axis", (long)l.Int("dim", -1))),
            "log_softmax" => (OpKind.LogSoftmax, n => n.Set("axis", (long)l.Int("dim", -1))),
            _ => throw l.Error($"{field}: '{function}' is not one of relu, tanh, sigmoid, softmax, log_softmax, leaky_relu, elu, softplus, softsign, hard_sigmoid, exp, identity"),
        };
        var y = _ir.NewValue(field is "function" or "kind" ? l.Name : $"{l.Name}/{function}", x.Shape, x.Type);
        var node = _ir.Emit(kind, $"{l.Name}/{function}", [x.Name], [y.Name]);
        set?.Invoke(node);
        return y;
    }

    private int LastStepAxis(SpecObject l) => l.OptInt("axis") is { } a ? (int)a : l.Bool("batch_first", false) ? 1 : 0;

    private IrValue SelectLayer(SpecObject l)
    {
        var x = Input(l);
        return Gather(l, x, l.Int("axis", 0), l.Int("index", -1), l.Name);
    }

    private IrValue SqueezeLayer(SpecObject l)
    {
        var x = Input(l);
        var axes = l.Ints("axes") ?? l.Ints("dim") ?? throw l.Error("axes: required");
        return Squeeze(l, x, axes, l.Name);
    }

    private IrValue UnsqueezeLayer(SpecObject l)
    {
        var x = Input(l);
        return Unsqueeze(l, x, l.OptInt("dim") ?? l.OptInt("axis") ?? throw l.Error("dim: required"), l.Name);
    }

    private IrValue TransposeLayer(SpecObject l)
    {
        var x = Input(l);
        long[] perm;
        if (l.Ints("perm") is { } p) perm = p;
        else if (l.Ints("dims") is { Length: 2 } d)
        {
            // torch.transpose(x, a, b): swap two axes
            perm = Enumerable.Range(0, x.Rank).Select(i => (long)i).ToArray();
            int a = Axis(l, (int)d[0], x.Rank, "dims"), b = Axis(l, (int)d[1], x.Rank, "dims");
            (perm[a], perm[b]) = (perm[b], perm[a]);
        }
        else throw l.Error("perm: required (a permutation), or dims: [a, b] to swap two axes");
        return Transpose(l, x, perm.Select(v => (int)v).ToArray(), l.Name);
    }

    private IrValue ReshapeLayer(SpecObject l)
    {
        var x = Input(l);
        return Reshape(l, x, l.Ints("shape") ?? throw l.Error("shape: required (0 copies a dimension, -1 is inferred)"), l.Name);
    }

    private IrValue FlattenLayer(SpecObject l)
    {
        var x = Input(l);
        int start = Axis(l, l.Int("start_dim", 1), x.Rank, "start_dim");
        var target = Enumerable.Range(0, start).Select(_ => 0L).Append(-1L).ToArray();
        return Reshape(l, x, target, l.Name);
    }

    private IrValue ConcatLayer(SpecObject l)
    {
        var refs = l.Strings("inputs") ?? throw l.Error("inputs: required");
        var parts = refs.Select((r, i) => Resolve(r, $"{l.Path}.inputs[{i}]")).ToList();
        return Concat(l, parts, l.Int("dim", l.Int("axis", -1)), l.Name);
    }

    /// <summary>x[..., start:end:step, ...] along one axis (torch slicing; end null or past the end = to the end).</summary>
    private IrValue SliceLayer(SpecObject l)
    {
        var x = Input(l);
        int a = Axis(l, (int)(l.OptInt("dim") ?? l.OptInt("axis") ?? throw l.Error("dim: required (the axis to slice)")), x.Rank, "dim");
        long start = l.OptInt("start") ?? 0;
        long end = l.OptInt("end") ?? long.MaxValue;
        long step = l.OptInt("step") ?? 1;
        if (step < 1) throw l.Error($"step: {step} must be positive (torch does not slice backwards)");
        int size = x.Shape[a];
        int outSize = -1;
        if (size >= 0)
        {
            long s0 = Math.Clamp(start < 0 ? start + size : start, 0, size), e0 = Math.Clamp(end < 0 ? end + size : end, 0, size);
            outSize = e0 <= s0 ? 0 : (int)((e0 - s0 + step - 1) / step);
            if (outSize == 0) throw l.Error($"start/end: [{start}:{(end == long.MaxValue ? "" : end)}] selects nothing of axis {a} of {x.ShapeString}");
        }
        else if (start >= 0 && end >= 0 && end != long.MaxValue) outSize = end <= start ? 0 : (int)((end - start + step - 1) / step);
        if (outSize == 0) throw l.Error($"start/end: [{start}:{end}] selects nothing");
        var shape = (int[])x.Shape.Clone();
        shape[a] = outSize;
        var y = _ir.NewValue(l.Name, shape, x.Type);
        _ir.Emit(OpKind.Slice, $"{l.Name}/slice", [x.Name, _ir.Int64s(l.Name + "/starts", start), _ir.Int64s(l.Name + "/ends", end),
            _ir.Int64s(l.Name + "/axes", a), _ir.Int64s(l.Name + "/steps", step)], [y.Name]);
        return y;
    }

    // ── glue with shape inference ───────────────────────────────────────────────────────────────

    private IrValue Squeeze(SpecObject l, IrValue x, long[] axes, string tag)
    {
        var norm = axes.Select(a => Axis(l, (int)a, x.Rank, "axes")).ToHashSet();
        foreach (int a in norm)
            if (x.Shape[a] > 1) throw l.Error($"cannot squeeze axis {a} of {x.ShapeString}: its size is {x.Shape[a]}");
        var y = _ir.NewValue(tag, x.Shape.Where((_, i) => !norm.Contains(i)).ToArray(), x.Type);
        _ir.Emit(OpKind.Squeeze, $"{tag}/squeeze", [x.Name, _ir.Int64s(tag + "/axes", norm.Order().Select(a => (long)a).ToArray())], [y.Name]);
        return y;
    }

    private IrValue Unsqueeze(SpecObject l, IrValue x, long axis, string tag)
    {
        int a = Axis(l, (int)axis, x.Rank + 1, "dim");
        var shape = x.Shape.ToList();
        shape.Insert(a, 1);
        var y = _ir.NewValue(tag, shape.ToArray(), x.Type);
        _ir.Emit(OpKind.Unsqueeze, $"{tag}/unsqueeze", [x.Name, _ir.Int64s(tag + "/axes", [a])], [y.Name]);
        return y;
    }

    private IrValue Transpose(SpecObject l, IrValue x, int[] perm, string tag)
    {
        if (perm.Length != x.Rank || perm.Select(p => Axis(l, p, x.Rank, "perm")).Distinct().Count() != x.Rank)
            throw l.Error($"perm: [{string.Join(", ", perm)}] is not a permutation of the {x.Rank} axes of {x.ShapeString}");
        var norm = perm.Select(p => Axis(l, p, x.Rank, "perm")).ToArray();
        var y = _ir.NewValue(tag, norm.Select(p => x.Shape[p]).ToArray(), x.Type);
        _ir.Emit(OpKind.Transpose, $"{tag}/transpose", [x.Name], [y.Name]).Set("perm", norm.Select(p => (long)p).ToArray());
        return y;
    }

    private IrValue Reshape(SpecObject l, IrValue x, long[] target, string tag)
    {
        if (target.Count(t => t == -1) > 1 || target.Any(t => t < -1)) throw l.Error($"shape: [{string.Join(", ", target)}] may hold one -1 and no other negative value");
        var shape = new int[target.Length];
        long known = 1;
        bool allKnown = x.Shape.All(d => d >= 0);
        int infer = -1;
        for (int i = 0; i < target.Length; i++)
        {
            if (target[i] == 0)
            {
                if (i >= x.Rank) throw l.Error($"shape: [{string.Join(", ", target)}] copies dimension {i} of {x.ShapeString}, which has rank {x.Rank}");
                shape[i] = x.Shape[i];
            }
            else if (target[i] == -1) { infer = i; continue; }
            else shape[i] = (int)target[i];
            if (shape[i] < 0) allKnown = false; else known *= shape[i];
        }
        if (infer >= 0)
        {
            // The inferred dimension is known when every other dimension is, or when the copied dynamic
            // dimensions cancel (the usual (0, 0, -1) merge of the trailing axes).
            long total = 1;
            bool totalKnown = true;
            var copied = new HashSet<int>(Enumerable.Range(0, target.Length).Where(i => target[i] == 0));
            for (int i = 0; i < x.Rank; i++)
            {
                if (copied.Contains(i)) continue;
                if (x.Shape[i] < 0) totalKnown = false; else total *= x.Shape[i];
            }
            long rest = 1;
            bool restKnown = true;
            for (int i = 0; i < target.Length; i++)
                if (i != infer && target[i] != 0) { if (target[i] < 0) restKnown = false; else rest *= target[i]; }
            shape[infer] = totalKnown && restKnown && rest > 0 && total % rest == 0 ? (int)(total / rest) : allKnown && known > 0 ? (int)(x.Shape.Aggregate(1L, (p, d) => p * d) / known) : -1;
        }
        var y = _ir.NewValue(tag, shape, x.Type);
        _ir.Emit(OpKind.Reshape, $"{tag}/reshape", [x.Name, _ir.Int64s(tag + "/shape", target)], [y.Name]);
        return y;
    }

    private IrValue Gather(SpecObject l, IrValue x, int axis, int index, string tag)
    {
        int a = Axis(l, axis, x.Rank, "axis");
        if (x.Shape[a] >= 0 && (index >= x.Shape[a] || index < -x.Shape[a]))
            throw l.Error($"index: {index} is out of range for axis {a} of {x.ShapeString}");
        var y = _ir.NewValue(tag, x.Shape.Where((_, i) => i != a).ToArray(), x.Type);
        string idx = _ir.Constant(tag + "/index", Tensor.Scalar((long)index));
        _ir.Emit(OpKind.Gather, $"{tag}/gather", [x.Name, idx], [y.Name]).Set("axis", (long)a);
        return y;
    }

    private IrValue Slice(SpecObject l, IrValue x, int axis, int start, int end, string tag)
    {
        int a = Axis(l, axis, x.Rank, "axis");
        var shape = (int[])x.Shape.Clone();
        shape[a] = end - start;
        var y = _ir.NewValue(tag, shape, x.Type);
        _ir.Emit(OpKind.Slice, $"{tag}/slice", [x.Name, _ir.Int64s(tag + "/starts", [start]), _ir.Int64s(tag + "/ends", [end]), _ir.Int64s(tag + "/axes", [a])], [y.Name]);
        return y;
    }

    private IrValue Concat(SpecObject l, List<IrValue> parts, int axis, string tag)
    {
        if (parts.Count == 0) throw l.Error("inputs: nothing to concatenate");
        int rank = parts[0].Rank;
        int a = Axis(l, axis, rank, "dim");
        var shape = (int[])parts[0].Shape.Clone();
        foreach (var p in parts.Skip(1))
        {
            if (p.Rank != rank || p.Type != parts[0].Type) throw l.Error($"inputs: cannot concatenate {parts[0].ShapeString} and {p.ShapeString}");
            shape[a] = shape[a] < 0 || p.Shape[a] < 0 ? -1 : shape[a] + p.Shape[a];
        }
        var y = _ir.NewValue(tag, shape, parts[0].Type);
        _ir.Emit(OpKind.Concat, $"{tag}/concat", parts.Select(p => p.Name), [y.Name]).Set("axis", (long)a);
        return y;
    }

    private static int Axis(SpecObject l, int axis, int rank, string field)
    {
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) throw l.Error($"{field}: axis {axis} is out of range for rank {rank}");
        return a;
    }
}
