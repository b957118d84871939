using Edge.Runtime;
using Edge.Runtime.Format;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;
using System.Text.Json;
using Value = Edge.Quantizer.Import.IrValue;

namespace Edge.Quantizer.Import.Keras;

/// <summary>
/// Normalization, merge, pooling and shape layers:
/// <list type="bullet">
/// <item>BatchNormalization (inference: moving statistics) on the last axis is x * scale + shift with
///   scale = gamma / sqrt(var + eps), shift = beta - mean * scale; right after a linear Dense or Conv1D that
///   nothing else reads (and that is called once) it folds into that layer's kernel and bias instead.</item>
/// <item>LayerNormalization over the last axis: (x - mean) / sqrt(var + eps) * gamma + beta, biased variance,
///   in the IR form the spec's layer_norm uses.</item>
/// <item>Add, Subtract, Multiply, Average, Maximum, Minimum: chains of IR Add/Sub/Mul/Max/Min (numpy broadcasting, as Keras's merges).</item>
/// <item>GlobalAveragePooling1D: ReduceSum over the steps divided by their count; GlobalMaxPooling1D: ReduceMax over them; Reshape and Permute leave the
///   batch axis alone.</item>
/// </list>
/// </summary>
internal sealed partial class KerasGraphBuilder
{
    private static readonly HashSet<string> Merges = new(StringComparer.Ordinal) { "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum" };

    /// <summary>The Keras axis of a normalization layer, which Edge supports only as the last one.</summary>
    private void RequireLastAxis(KerasLayer layer, Value x)
    {
        var axisJson = KerasJson.Get(layer.Config, "axis");
        int axis = axisJson is null ? -1 : KerasJson.Int(layer.Config, "axis")
            ?? throw new UnsupportedModelException(
                $"{File}: {layer.ClassName} layer '{MessageText.Printable(layer.Name)}' normalizes over axes {MessageText.Printable(axisJson.Value.GetRawText())}; Edge supports the last axis only");
        if (axis != -1 && axis != x.Rank - 1)
            throw new UnsupportedModelException(
                $"{File}: {layer.ClassName} layer '{MessageText.Printable(layer.Name)}' has axis {axis} on input {x.ShapeList}; Edge supports the last axis (-1) only");
    }

    private Value ConvertBatchNorm(KerasLayer layer, string prefix, Value x, string output)
    {
        var c = layer.Config;
        RequireLastAxis(layer, x);
        bool scale = KerasJson.Bool(c, "scale", true), center = KerasJson.Bool(c, "center", true);
        double eps = KerasJson.Double(c, "epsilon") ?? 1e-3;
        if (!(eps >= 0) || double.IsInfinity(eps)) throw Bad(layer, $"has epsilon {eps}; it must be a non-negative number");
        int n = 2 + (scale ? 1 : 0) + (center ? 1 : 0);
        var w = Weights(layer, n, string.Join(", ", new[] { scale ? "gamma" : null, center ? "beta" : null, "moving_mean", "moving_variance" }.Where(s => s is not null)));
        int channels = x.Last >= 0 ? x.Last : w[^1].Shape[0];
        int i = 0;
        var gamma = scale ? Expect(layer, w[i++], "gamma", channels).Data : null;
        var beta = center ? Expect(layer, w[i++], "beta", channels).Data : null;
        var mean = Expect(layer, w[i++], "moving_mean", channels).Data;
        var variance = Expect(layer, w[i], "moving_variance", channels).Data;
        var mul = new float[channels];
        var add = new float[channels];
        for (int ch = 0; ch < channels; ch++)
        {
            if (variance[ch] < 0) throw Bad(layer, $"has moving_variance[{ch}] = {variance[ch]}; a variance is never negative");
            mul[ch] = (float)((gamma?[ch] ?? 1.0) / Math.Sqrt(variance[ch] + eps));
            add[ch] = (float)((beta?[ch] ?? 0.0) - mean[ch] * (double)mul[ch]);
        }
        if (TryFoldAffine(x, mul, add, output)) return x with { Name = output };
        string scaled = prefix + "/scaled";
        Emit(OpKind.Mul, prefix + "/mul", [x.Name, Constant(layer, "scale", () => Tensor.FromArray(mul, channels))], [scaled]);
        Emit(OpKind.Add, prefix + "/add", [scaled, Constant(layer, "shift", () => Tensor.FromArray(add, channels))], [output]);
        return x with { Name = output, Shape = [.. x.Shape[..^1], channels] };
    }

    /// <summary>
    /// Folds y = x * scale + shift (per last-axis channel) into the Dense or channels-last Conv1D that produced x,
    /// when x is read by nothing else and the producing layer has one call (its constants are its own):
    /// W'[o] = W[o] * scale[o], b'[o] = b[o] * scale[o] + shift[o]. The producer's last node is renamed to output.
    /// </summary>
    private bool TryFoldAffine(Value x, float[] scale, float[] shift, string output)
    {
        if (_uses.GetValueOrDefault(x.Name) != 1 || _graph.Outputs.Any(o => o.Name == x.Name)) return false;
        var last = _graph.Nodes.LastOrDefault(n => n.Outputs.Contains(x.Name));
        if (last is null || last.Outputs.Count != 1) return false;
        Node producer = last;
        if (last.Kind == OpKind.Transpose)
        {
            // channels-last Conv1D: Conv1D -> Transpose(0, 2, 1); the conv's output feeds only the transpose.
            string convOut = last.Inputs[0];
            var conv = _graph.Nodes.LastOrDefault(n => n.Outputs.Contains(convOut));
            if (conv is null || conv.Kind != OpKind.Conv1D || _graph.Nodes.Count(n => n.Inputs.Contains(convOut)) != 1) return false;
            producer = conv;
        }
        else if (last.Kind != OpKind.Dense)
        {
            return false;
        }
        if (_graph.Nodes.Count(n => n.Inputs.Contains(producer.Inputs[1])) != 1) return false; // a shared layer's kernel
        if (_ir.ConstantOf(producer.Inputs[1]) is not { } w || w.Dim(0) != scale.Length) return false;
        var bias = producer.HasInput(2) ? _ir.ConstantOf(producer.Inputs[2]) : null;
        if (producer.HasInput(2) && bias is null) return false;

        var wData = w.Contiguous().ReadOnlySpan<float>().ToArray();
        int row = wData.Length / scale.Length;
        for (int o = 0; o < scale.Length; o++)
            for (int k = 0; k < row; k++) wData[o * row + k] *= scale[o];
        var b = bias?.Contiguous().ReadOnlySpan<float>().ToArray();
        var bData = new float[scale.Length];
        for (int o = 0; o < bData.Length; o++) bData[o] = (b?[o] ?? 0f) * scale[o] + shift[o];
        producer.Inputs[1] = _ir.Constant(output + "/kernel_bn", Tensor.FromArray(wData, w.ShapeArray()));
        string bName = _ir.Constant(output + "/bias_bn", Tensor.FromArray(bData, bData.Length));
        if (producer.Inputs.Count > 2) producer.Inputs[2] = bName; else producer.Inputs.Add(bName);
        last.Outputs[0] = output;
        _linearDense.Remove(x.Name);
        return true;
    }

    private Value ConvertLayerNorm(KerasLayer layer, string prefix, Value x, string output)
    {
        var c = layer.Config;
        RequireLastAxis(layer, x);
        if (KerasJson.Bool(c, "rms_scaling", false))
            throw new UnsupportedModelException($"{File}: LayerNormalization layer '{MessageText.Printable(layer.Name)}' has rms_scaling=True, which Edge does not support");
        bool scale = KerasJson.Bool(c, "scale", true), center = KerasJson.Bool(c, "center", true);
        double eps = KerasJson.Double(c, "epsilon") ?? 1e-3;
        if (!(eps >= 0) || double.IsInfinity(eps)) throw Bad(layer, $"has epsilon {eps}; it must be a non-negative number");
        int n = (scale ? 1 : 0) + (center ? 1 : 0);
        IReadOnlyList<KerasWeight> w = n == 0 ? [] : Weights(layer, n, scale && center ? "gamma, beta" : scale ? "gamma" : "beta");
        int d = x.Last >= 0 ? x.Last : n > 0 ? w[0].Shape[0] : -1;
        if (d < 0) throw Bad(layer, $"normalizes a last axis of unknown size ({x.ShapeList})");
        var gamma = scale ? Expect(layer, w[0], "gamma", d) : null;
        var beta = center ? Expect(layer, w[^1], "beta", d) : null;

        string count = Constant(layer, "count", () => Tensor.FromArray(new[] { (float)d }, 1));
        string sum = prefix + "/sum", mean = prefix + "/mean", centered = prefix + "/centered", squared = prefix + "/squared";
        string sq = prefix + "/sum_squares", variance = prefix + "/variance", shifted = prefix + "/variance_eps", std = prefix + "/std";
        Emit(OpKind.ReduceSum, prefix + "/reduce_sum", [x.Name], [sum]).Set("axes", new long[] { -1 }).Set("keepdims", 1L);
        Emit(OpKind.Div, prefix + "/mean", [sum, count], [mean]);
        Emit(OpKind.Sub, prefix + "/center", [x.Name, mean], [centered]);
        Emit(OpKind.Mul, prefix + "/square", [centered, centered], [squared]);
        Emit(OpKind.ReduceSum, prefix + "/reduce_squares", [squared], [sq]).Set("axes", new long[] { -1 }).Set("keepdims", 1L);
        Emit(OpKind.Div, prefix + "/variance", [sq, count], [variance]);
        Emit(OpKind.Add, prefix + "/add_eps", [variance, Constant(layer, "epsilon", () => Tensor.FromArray(new[] { (float)eps }, 1))], [shifted]);
        Emit(OpKind.Sqrt, prefix + "/sqrt", [shifted], [std]);
        string normalized = scale || center ? prefix + "/normalized" : output;
        Emit(OpKind.Div, prefix + "/normalize", [centered, std], [normalized]);
        string current = normalized;
        if (gamma is not null)
        {
            string next = center ? prefix + "/scaled" : output;
            Emit(OpKind.Mul, prefix + "/gamma", [current, Constant(layer, "gamma", () => Tensor.FromArray((float[])gamma.Data.Clone(), d))], [next]);
            current = next;
        }
        if (beta is not null)
            Emit(OpKind.Add, prefix + "/beta", [current, Constant(layer, "beta", () => Tensor.FromArray((float[])beta.Data.Clone(), d))], [output]);
        return x with { Name = output };
    }

    private Value ConvertMerge(KerasLayer layer, string prefix, List<Value> inputs, string output)
    {
        string cls = layer.ClassName;
        if (inputs.Count < 2 || (cls == "Subtract" && inputs.Count != 2))
            throw Bad(layer, $"merges {inputs.Count} input(s); {cls} takes {(cls == "Subtract" ? "exactly two" : "two or more")}");
        if (inputs.Any(v => v.Type != DataType.Float32)) throw Bad(layer, "merges non-float inputs");
        int rank = inputs.Max(v => v.Rank);
        var shape = new int[rank];
        for (int a = 0; a < rank; a++)
        {
            int dim = 1;
            foreach (var v in inputs)
            {
                int k = a - (rank - v.Rank);
                int d = k < 0 ? 1 : v.Shape[k];
                if (d == 1) continue;
                if (dim == 1 || dim == d) dim = d;
                else if (d < 0 || dim < 0) dim = -1;
                else throw Bad(layer, $"merges inputs whose shapes do not broadcast: {string.Join(", ", inputs.Select(v => v.ShapeList))}");
            }
            shape[a] = dim;
        }
        var kind = cls switch { "Subtract" => OpKind.Sub, "Multiply" => OpKind.Mul, "Maximum" => OpKind.Max, "Minimum" => OpKind.Min, _ => OpKind.Add };
        bool average = cls == "Average";
        string current = inputs[0].Name;
        for (int i = 1; i < inputs.Count; i++)
        {
            string next = i == inputs.Count - 1 && !average ? output : $"{prefix}/partial{i}";
            Emit(kind, i == inputs.Count - 1 && !average ? prefix : $"{prefix}/{i}", [current, inputs[i].Name], [next]);
            current = next;
        }
        if (average)
            Emit(OpKind.Div, prefix, [current, Constant(layer, "count", () => Tensor.FromArray(new[] { (float)inputs.Count }, 1))], [output]);
        return new Value(output, shape, DataType.Float32);
    }

    private Value ConvertGlobalAveragePooling1D(KerasLayer layer, string prefix, Value x, string output)
    {
        if (x.Rank != 3) throw Bad(layer, $"expects (batch, steps, features) input, got {x.ShapeList}");
        bool channelsFirst = KerasJson.Str(layer.Config, "data_format") == "channels_first";
        bool keepDims = KerasJson.Bool(layer.Config, "keepdims", false);
        int axis = channelsFirst ? 2 : 1;
        string sum = prefix + "/sum";
        Emit(OpKind.ReduceSum, prefix + "/reduce_sum", [x.Name], [sum]).Set("axes", new long[] { axis }).Set("keepdims", keepDims ? 1L : 0L);
        string count;
        if (x.Shape[axis] >= 0)
        {
            count = Constant(layer, "count", () => Tensor.FromArray(new[] { (float)x.Shape[axis] }, 1));
        }
        else
        {
            // Steps unknown until run: divide by the input's own length.
            Emit(OpKind.Shape, prefix + "/shape", [x.Name], [prefix + "/steps"]).Set("start", (long)axis).Set("end", (long)axis + 1);
            count = prefix + "/count";
            Emit(OpKind.Cast, prefix + "/cast", [prefix + "/steps"], [count]).Set("to", (long)DataType.Float32);
        }
        Emit(OpKind.Div, prefix, [sum, count], [output]);
        int[] shape = keepDims ? [x.Shape[0], channelsFirst ? x.Shape[1] : 1, channelsFirst ? 1 : x.Shape[2]] : [x.Shape[0], channelsFirst ? x.Shape[1] : x.Shape[2]];
        return new Value(output, shape, DataType.Float32);
    }

    private Value ConvertGlobalMaxPooling1D(KerasLayer layer, string prefix, Value x, string output)
    {
        if (x.Rank != 3) throw Bad(layer, $"expects (batch, steps, features) input, got {x.ShapeList}");
        bool channelsFirst = KerasJson.Str(layer.Config, "data_format") == "channels_first";
        bool keepDims = KerasJson.Bool(layer.Config, "keepdims", false);
        int axis = channelsFirst ? 2 : 1;
        Emit(OpKind.ReduceMax, prefix, [x.Name], [output]).Set("axes", new long[] { axis }).Set("keepdims", keepDims ? 1L : 0L);
        int[] shape = keepDims ? [x.Shape[0], channelsFirst ? x.Shape[1] : 1, channelsFirst ? 1 : x.Shape[2]] : [x.Shape[0], channelsFirst ? x.Shape[1] : x.Shape[2]];
        return new Value(output, shape, DataType.Float32);
    }

    private Value ConvertReshape(KerasLayer layer, string prefix, Value x, string output)
    {
        var target = KerasJson.Shape(layer.Config, "target_shape") ?? throw Bad(layer, "has no 'target_shape'");
        if (target.Count(d => d < 0) > 1) throw Bad(layer, $"has target_shape with more than one unknown dimension");
        long known = x.Shape.Skip(1).Any(d => d < 0) ? -1 : x.Shape.Skip(1).Aggregate(1L, (p, d) => p * d);
        long product = target.Where(d => d >= 0).Aggregate(1L, (p, d) => p * d);
        var outShape = target.ToArray();
        if (known >= 0)
        {
            if (target.Any(d => d < 0))
            {
                if (product == 0 || known % product != 0) throw Bad(layer, $"cannot reshape {x.ShapeList} to (batch, {string.Join(", ", target)})");
                outShape[Array.IndexOf(target, -1)] = (int)(known / product);
            }
            else if (product != known)
            {
                throw Bad(layer, $"cannot reshape {x.ShapeList} ({known} values a row) to (batch, {string.Join(", ", target)})");
            }
        }
        // 0 keeps the batch axis as it is (allowzero = 0).
        string shapeName = Constant(layer, "shape", () => Tensor.FromArray(new long[] { 0 }.Concat(target.Select(d => (long)d)).ToArray(), target.Length + 1));
        Emit(OpKind.Reshape, prefix, [x.Name, shapeName], [output]);
        return new Value(output, [x.Shape[0], .. outShape], x.Type);
    }

    private Value ConvertPermute(KerasLayer layer, string prefix, Value x, string output)
    {
        var dims = KerasJson.Shape(layer.Config, "dims") ?? throw Bad(layer, "has no 'dims'");
        if (dims.Length != x.Rank - 1 || !dims.OrderBy(d => d).SequenceEqual(Enumerable.Range(1, x.Rank - 1)))
            throw Bad(layer, $"has dims ({string.Join(", ", dims)}), which is not a permutation of 1..{x.Rank - 1} for input {x.ShapeList}");
        Emit(OpKind.Transpose, prefix, [x.Name], [output]).Set("perm", new long[] { 0 }.Concat(dims.Select(d => (long)d)).ToArray());
        return new Value(output, [x.Shape[0], .. dims.Select(d => x.Shape[d])], x.Type);
    }
}
