using System.Text.Json;
using Edge.Runtime;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Quantizer.Import.PyTorch;

/// <summary>Spec kinds embedding, bilinear and repeat_vector.</summary>
internal sealed partial class SpecGraphBuilder
{
    // ── lookup, scoring and repetition ──────────────────────────────────────────────────────────

    private IrValue EmbeddingLayer(SpecObject l)
    {
        var x = Input(l);
        string prefix = Prefix(l);
        long? num = l.OptInt("num_embeddings");
        long? dim = l.OptInt("embedding_dim");
        if (x.Type is not (DataType.Int64 or DataType.Int32)) throw l.Error($"input: embedding needs integer indices, got {x.Type.Name()}{x.ShapeString}");
        var w = Weight(l, Key(prefix, "weight"), [num is { } n ? (int)n : -1, dim is { } d ? (int)d : -1]);
        var y = _ir.NewValue(l.Name, [.. x.Shape, w?.Dim(1) ?? (int)(dim ?? -1)], DataType.Float32);
        if (w is not null) _ir.Emit(OpKind.Embedding, $"{l.Name}/embedding", [x.Name, ConstForKey(Key(prefix, "weight"), w)], [y.Name]);
        return y;
    }

    private IrValue BilinearLayer(SpecObject l)
    {
        var refs = l.Strings("inputs") ?? throw l.Error("inputs: required, [context, response]");
        if (refs.Length != 2) throw l.Error($"inputs: bilinear takes two inputs (c, r), got {refs.Length}");
        var c = Resolve(refs[0], $"{l.Path}.inputs[0]");
        var r = Resolve(refs[1], $"{l.Path}.inputs[1]");
        if (c.Rank != 2 || r.Rank != 2) throw l.Error($"inputs: bilinear needs (N, D1) and (N, D2), got {c.ShapeString} and {r.ShapeString}");
        Tensor? m, b = null;
        string mKey;
        if (l.OptString("weight") is { } key)
        {
            // A bare parameter M (D1, D2): score = c^T M r.
            mKey = key;
            m = Weight(l, key, [c.Shape[1], r.Shape[1]]);
            if (l.Kind("bias") == JsonValueKind.String) b = Weight(l, l.RequiredString("bias"), [1]);
            else if (l.Bool("bias", false)) throw l.Error("bias: with \"weight\", name the bias key (a string) or leave it out");
        }
        else
        {
            // nn.Bilinear(D1, D2, 1): weight (1, D1, D2), bias (1,).
            string prefix = Prefix(l);
            mKey = Key(prefix, "weight");
            var w3 = Weight(l, mKey, [1, c.Shape[1], r.Shape[1]]);
            m = w3?.Reshape(w3.Dim(1), w3.Dim(2));
            if (l.Bool("bias", true)) b = Weight(l, Key(prefix, "bias"), [1]);
        }
        var y = _ir.NewValue(l.Name, [r.Shape[0], 1], DataType.Float32);
        if (m is not null) _ir.Emit(OpKind.Bilinear, $"{l.Name}/bilinear", [c.Name, r.Name, ConstForKey(mKey, m), b is null ? "" : _ir.Constant($"{l.Name}/bias", b)], [y.Name]);
        return y;
    }

    private IrValue RepeatVectorLayer(SpecObject l)
    {
        var x = Input(l);
        if (x.Rank != 2) throw l.Error($"input: repeat_vector needs (batch, features), got {x.ShapeString}");
        if (l.OptString("n_from") is not { } reference)
        {
            if (l.Has("n_axis")) throw l.Error("n_axis: only with n_from");
            int n = l.Int("n", 1, 1, 1 << 20);
            var y = _ir.NewValue(l.Name, [x.Shape[0], n, x.Shape[1]], x.Type);
            _ir.Emit(OpKind.RepeatVector, $"{l.Name}/repeat", [x.Name], [y.Name]).Set("n", (long)n);
            return y;
        }
        // n is the length of another value's axis (repeat to the input's length):
        // x.unsqueeze(1).expand(-1, source.shape[axis], -1).
        if (l.Has("n")) throw l.Error("n: give either n or n_from, not both");
        var source = Resolve(reference, $"{l.Path}.n_from");
        int axis = Axis(l, l.Int("n_axis", 1), source.Rank, "n_axis");
        var x3 = Unsqueeze(l, x, 1, $"{l.Name}/unsqueeze");
        string length = _ir.FreshValue($"{l.Name}/n");
        _ir.Emit(OpKind.Shape, $"{l.Name}/shape", [source.Name], [length]).Set("start", (long)axis).Set("end", (long)axis + 1);
        string target = _ir.FreshValue($"{l.Name}/target");
        _ir.Emit(OpKind.Concat, $"{l.Name}/target", [_ir.Int64s($"{l.Name}/one", 1), length, _ir.Int64s($"{l.Name}/one", 1)], [target]).Set("axis", 0L);
        var repeated = _ir.NewValue(l.Name, [x.Shape[0], source.Shape[axis], x.Shape[1]], x.Type);
        _ir.Emit(OpKind.Expand, $"{l.Name}/expand", [x3.Name, target], [repeated.Name]);
        return repeated;
    }
}
