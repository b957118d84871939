using Edge.Runtime;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Quantizer.Import.PyTorch;

/// <summary>
/// Spec kinds batch_norm (nn.BatchNorm1d with its running statistics, as in eval()) and layer_norm
/// (nn.LayerNorm), built from the IR's elementwise and ReduceSum nodes.
/// </summary>
internal sealed partial class SpecGraphBuilder
{
    /// <summary>A batch_norm's x * scale + shift, kept to fold into the linear or conv before it once every layer is built.</summary>
    private sealed record BatchNormNodes(Node Mul, Node Add, float[] Scale, float[] Shift);

    private readonly List<BatchNormNodes> _batchNorms = new();

    private IrValue BatchNormLayer(SpecObject l)
    {
        var x = Input(l);
        string prefix = Prefix(l);
        float eps = l.Float("eps", 1e-5f);
        bool affine = l.Bool("affine", true);
        _ = l.Float("momentum", 0.1f); // training only
        if (!l.Bool("track_running_stats", true))
            throw new UnsupportedModelException($"{_spec.Source}: {l.Path}.track_running_stats: false normalizes with each batch's own statistics even in eval(); Edge supports BatchNorm1d with running statistics");
        if (!(eps > 0) || float.IsInfinity(eps)) throw l.Error($"eps: {eps} must be a positive number");
        if (x.Type != DataType.Float32 || x.Rank is not (2 or 3))
            throw l.Error($"input: batch_norm (BatchNorm1d) needs a float32 (N, C) or (N, C, L) input, got {x.Type.Name()}{x.ShapeString}");
        int c = x.Shape[1];
        if (l.OptInt("num_features") is { } nf)
        {
            if (c >= 0 && nf != c) throw l.Error($"num_features: {nf}, but the input {x.ShapeString} has {c} channels (axis 1)");
            c = (int)nf;
        }
        var mean = Weight(l, Key(prefix, "running_mean"), [c]);
        c = mean?.Dim(0) ?? c;
        var variance = Weight(l, Key(prefix, "running_var"), [c]);
        var gamma = affine ? Weight(l, Key(prefix, "weight"), [c]) : null;
        var beta = affine ? Weight(l, Key(prefix, "bias"), [c]) : null;
        _usedKeys.Add(Key(prefix, "num_batches_tracked")); // a training counter
        int[] paramShape = x.Rank == 2 ? [c] : [c, 1];
        var y = _ir.NewValue(l.Name, [x.Shape[0], c, .. x.Shape[2..]], DataType.Float32);
        if (mean is null || variance is null || (affine && (gamma is null || beta is null))) return y;

        // eval(): y = (x - mean) / sqrt(var + eps) * weight + bias = x * scale + shift
        var m = Floats(mean);
        var v = Floats(variance);
        var g = (gamma is null ? null : Floats(gamma));
        var b = (beta is null ? null : Floats(beta));
        var scale = new float[c];
        var shift = new float[c];
        for (int i = 0; i < c; i++)
        {
            if (v[i] < 0) Problem(l, $"'{Key(prefix, "running_var")}'[{i}] is {v[i]}; a variance is never negative");
            scale[i] = (float)((g?[i] ?? 1f) / Math.Sqrt((double)v[i] + eps));
            shift[i] = (b?[i] ?? 0f) - m[i] * scale[i];
        }
        string scaled = _ir.FreshValue($"{l.Name}/scaled");
        var mul = _ir.Emit(OpKind.Mul, $"{l.Name}/mul", [x.Name, _ir.Constant($"{l.Name}/scale", Tensor.FromArray(scale, paramShape))], [scaled]);
        var add = _ir.Emit(OpKind.Add, $"{l.Name}/add", [scaled, _ir.Constant($"{l.Name}/shift", Tensor.FromArray(shift, paramShape))], [y.Name]);
        _batchNorms.Add(new BatchNormNodes(mul, add, scale, shift));
        return y;
    }

    /// <summary>
    /// A batch_norm whose input is the output of a linear (Dense) or conv1d read by nothing else folds into
    /// that layer's weights: W'[o] = W[o] * scale[o], b'[o] = b[o] * scale[o] + shift[o]. The channel axis
    /// of the norm is the layer's output axis in both cases (Dense (N, C); Conv1D (N, C, L)).
    /// </summary>
    private void FoldBatchNorms(IEnumerable<string> outputs)
    {
        var keep = outputs.ToHashSet(StringComparer.Ordinal);
        foreach (var bn in _batchNorms)
        {
            string x = bn.Mul.Inputs[0];
            if (keep.Contains(x)) continue;
            var producer = _g.Nodes.FirstOrDefault(n => n.Outputs.Contains(x));
            if (producer is null || producer.Kind is not (OpKind.Dense or OpKind.Conv1D) || producer.Outputs.Count != 1) continue;
            if (_g.Nodes.Count(n => n.Inputs.Contains(x)) != 1) continue;
            if (_ir.ConstantOf(producer.Input(1)) is not { } w || w.Dim(0) != bn.Scale.Length) continue;
            var bias = producer.HasInput(2) ? _ir.ConstantOf(producer.Inputs[2]) : null;
            if (producer.HasInput(2) && bias is null) continue;

            var wData = Floats(w);
            int row = wData.Length / bn.Scale.Length;
            for (int o = 0; o < bn.Scale.Length; o++)
                for (int k = 0; k < row; k++) wData[o * row + k] *= bn.Scale[o];
            var biasData = bias is null ? null : Floats(bias);
            var bData = new float[bn.Scale.Length];
            for (int o = 0; o < bData.Length; o++) bData[o] = (biasData?[o] ?? 0f) * bn.Scale[o] + bn.Shift[o];

            string tag = producer.Name;
            producer.Inputs[1] = _ir.Constant($"{tag}/weight_bn", Tensor.FromArray(wData, w.ShapeArray()));
            string b = _ir.Constant($"{tag}/bias_bn", Tensor.FromArray(bData, bData.Length));
            if (producer.Inputs.Count > 2) producer.Inputs[2] = b; else producer.Inputs.Add(b);
            producer.Outputs[0] = bn.Add.Outputs[0];
            _g.Nodes.Remove(bn.Mul);
            _g.Nodes.Remove(bn.Add);
        }
    }

    private IrValue LayerNormLayer(SpecObject l)
    {
        var x = Input(l);
        string prefix = Prefix(l);
        float eps = l.Float("eps", 1e-5f);
        bool affine = l.Bool("elementwise_affine", true);
        if (!(eps > 0) || float.IsInfinity(eps)) throw l.Error($"eps: {eps} must be a positive number");
        if (x.Type != DataType.Float32 || x.Rank < 1) throw l.Error($"input: layer_norm needs a float32 input, got {x.Type.Name()}{x.ShapeString}");
        var normalized = l.Ints("normalized_shape");
        if (normalized is null)
        {
            if (x.Shape[^1] < 0 && !affine) throw l.Error($"normalized_shape: required, the last axis of {x.ShapeString} is dynamic");
            normalized = x.Shape[^1] >= 0 ? [x.Shape[^1]] : null;
        }
        if (normalized is not null)
        {
            if (normalized.Length == 0 || normalized.Length > x.Rank || normalized.Any(d => d < 1 || d > 1 << 24))
                throw l.Error($"normalized_shape: [{string.Join(", ", normalized)}] must be 1 to {x.Rank} positive sizes (the trailing axes of {x.ShapeString})");
            for (int i = 0; i < normalized.Length; i++)
            {
                int d = x.Shape[x.Rank - normalized.Length + i];
                if (d >= 0 && d != normalized[i]) throw l.Error($"normalized_shape: [{string.Join(", ", normalized)}] does not match the trailing axes of the input {x.ShapeString}");
            }
        }
        int[] wShape = normalized?.Select(d => (int)d).ToArray() ?? [-1];
        var gamma = affine ? Weight(l, Key(prefix, "weight"), wShape) : null;
        if (gamma is not null) wShape = gamma.ShapeArray();
        var beta = affine && wShape.All(d => d >= 0) ? Weight(l, Key(prefix, "bias"), wShape) : null;
        var y = _ir.NewValue(l.Name, x.Shape, DataType.Float32);
        if (affine && (gamma is null || beta is null)) return y;

        int k = wShape.Length;
        var axes = Enumerable.Range(x.Rank - k, k).ToArray();
        string axesName = _ir.Int64s($"{l.Name}/axes", axes.Select(a => (long)a).ToArray());
        string count = _ir.Constant($"{l.Name}/count", Tensor.FromArray(new[] { (float)wShape.Aggregate(1L, (p, d) => p * d) }, 1));

        // mean = sum(x) / n; d = x - mean; var = sum(d * d) / n (biased, as torch); y = d / sqrt(var + eps) * weight + bias
        string sum = _ir.FreshValue($"{l.Name}/sum");
        _ir.Emit(OpKind.ReduceSum, $"{l.Name}/reduce_sum", [x.Name, axesName], [sum]).Set("keepdims", 1L);
        string mean = _ir.FreshValue($"{l.Name}/mean");
        _ir.Emit(OpKind.Div, $"{l.Name}/mean", [sum, count], [mean]);
        string centered = _ir.FreshValue($"{l.Name}/centered");
        _ir.Emit(OpKind.Sub, $"{l.Name}/center", [x.Name, mean], [centered]);
        string squared = _ir.FreshValue($"{l.Name}/squared");
        _ir.Emit(OpKind.Mul, $"{l.Name}/square", [centered, centered], [squared]);
        string sq = _ir.FreshValue($"{l.Name}/sum_squares");
        _ir.Emit(OpKind.ReduceSum, $"{l.Name}/reduce_squares", [squared, axesName], [sq]).Set("keepdims", 1L);
        string variance = _ir.FreshValue($"{l.Name}/variance");
        _ir.Emit(OpKind.Div, $"{l.Name}/variance", [sq, count], [variance]);
        string shifted = _ir.FreshValue($"{l.Name}/variance_eps");
        _ir.Emit(OpKind.Add, $"{l.Name}/add_eps", [variance, _ir.Constant($"{l.Name}/eps", Tensor.FromArray(new[] { eps }, 1))], [shifted]);
        string std = _ir.FreshValue($"{l.Name}/std");
        _ir.Emit(OpKind.Sqrt, $"{l.Name}/sqrt", [shifted], [std]);
        string normalizedValue = affine ? _ir.FreshValue($"{l.Name}/normalized") : y.Name;
        _ir.Emit(OpKind.Div, $"{l.Name}/normalize", [centered, std], [normalizedValue]);
        if (!affine) return y;
        string scaled = _ir.FreshValue($"{l.Name}/scaled");
        _ir.Emit(OpKind.Mul, $"{l.Name}/weight", [normalizedValue, _ir.Constant($"{l.Name}/weight", gamma!)], [scaled]);
        _ir.Emit(OpKind.Add, $"{l.Name}/bias", [scaled, _ir.Constant($"{l.Name}/bias", beta!)], [y.Name]);
        return y;
    }

    private static float[] Floats(Tensor t) => t.Contiguous().ReadOnlySpan<float>().ToArray();
}
