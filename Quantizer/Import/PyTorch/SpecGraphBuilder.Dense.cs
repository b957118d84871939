using System.Text.Json;
using Edge.Runtime;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Quantizer.Import.PyTorch;

/// <summary>Spec kinds linear/dense, conv1d and local_linear: the layers with a weight matrix over features.</summary>
internal sealed partial class SpecGraphBuilder
{
    // ── matrix layers ───────────────────────────────────────────────────────────────────────────

    private IrValue LinearLayer(SpecObject l)
    {
        var x = Input(l);
        string prefix = Prefix(l);
        bool bias = l.Bool("bias", true);
        long? outField = l.OptInt("out_features");
        var y = Linear(l, prefix, x, bias, l.Name, "input", outField);
        return l.OptString("activation") is { } act ? Activation(l, y, act, "activation") : y;
    }

    private IrValue Linear(SpecObject l, string prefix, IrValue x, bool bias, string tag, string field, long? outFeatures = null)
    {
        if (x.Rank < 1 || x.Type != DataType.Float32) throw l.Error($"{field}: a linear layer needs a float32 input (..., in_features), got {x.Type.Name()}{x.ShapeString}");
        int inF = x.Shape[^1];
        var w = Weight(l, Key(prefix, "weight"), [outFeatures is { } o ? (int)o : -1, inF]);
        int outF = w?.Dim(0) ?? (int)(outFeatures ?? -1);
        var b = bias && outF >= 0 ? Weight(l, Key(prefix, "bias"), [outF]) : null;
        var y = _ir.NewValue(tag, [.. x.Shape[..^1], outF], DataType.Float32);
        if (w is not null && (!bias || b is not null))
            _ir.Emit(OpKind.Dense, $"{tag}/dense", [x.Name, _ir.Constant($"{tag}/weight", w), b is null ? "" : _ir.Constant($"{tag}/bias", b)], [y.Name]);
        return y;
    }

    private IrValue Conv1D(SpecObject l)
    {
        var x = Input(l);
        string prefix = Prefix(l);
        bool channelsLast = l.Bool("channels_last", false);
        bool bias = l.Bool("bias", true);
        int stride = l.Int("stride", 1, 1, 1 << 16);
        int dilation = l.Int("dilation", 1, 1, 1 << 16);
        int groups = l.Int("groups", 1, 1, 1 << 16);
        long? kernelField = l.OptInt("kernel_size");
        long? outField = l.OptInt("out_channels");
        if (x.Rank != 3 || x.Type != DataType.Float32)
            throw l.Error($"input: conv1d needs a float32 input {(channelsLast ? "(batch, length, channels)" : "(batch, channels, length)")}, got {x.Type.Name()}{x.ShapeString}");
        if (channelsLast) x = Transpose(l, x, [0, 2, 1], $"{l.Name}/to_channels_first");
        int channels = x.Shape[1];
        if (channels >= 0 && channels % groups != 0) throw l.Error($"groups: {groups} does not divide the {channels} input channels");
        var w = Weight(l, Key(prefix, "weight"), [outField is { } o ? (int)o : -1, channels >= 0 ? channels / groups : -1, kernelField is { } kf ? (int)kf : -1]);
        int outC = w?.Dim(0) ?? (int)(outField ?? -1);
        int kernel = w?.Dim(2) ?? (int)(kernelField ?? -1);
        var b = bias && outC >= 0 ? Weight(l, Key(prefix, "bias"), [outC]) : null;

        long[] pads;
        switch (l.Kind("padding"))
        {
            case JsonValueKind.String:
            {
                string p = l.RequiredString("padding");
                if (p == "valid") pads = [0, 0];
                else if (p == "same")
                {
                    if (stride != 1) throw l.Error("padding: 'same' needs stride 1 (as in PyTorch)");
                    long total = kernel < 0 ? 0 : (long)dilation * (kernel - 1);
                    pads = [total / 2, total - total / 2]; // PyTorch puts the odd one at the end
                }
                else throw l.Error($"padding: '{p}' is not 'same', 'valid', an integer or [begin, end]");
                break;
            }
            default:
            {
                var p = l.Ints("padding") ?? [0];
                if (p.Length is not (1 or 2) || p.Any(v => v < 0 || v > 1 << 20)) throw l.Error($"padding: [{string.Join(", ", p)}] must be an integer or [begin, end] >= 0");
                pads = p.Length == 1 ? [p[0], p[0]] : p;
                break;
            }
        }
        int length = x.Shape[2];
        int outLen = length < 0 || kernel < 0 ? -1 : (int)((length + pads[0] + pads[1] - (long)dilation * (kernel - 1) - 1) / stride + 1);
        var y = _ir.NewValue(channelsLast ? $"{l.Name}/conv" : l.Name, [x.Shape[0], outC, outLen], DataType.Float32);
        if (w is not null && (!bias || b is not null))
        {
            _ir.Emit(OpKind.Conv1D, $"{l.Name}/conv1d", [x.Name, _ir.Constant($"{l.Name}/weight", w), b is null ? "" : _ir.Constant($"{l.Name}/bias", b)], [y.Name])
                .Set("strides", new long[] { stride }).Set("dilations", new long[] { dilation }).Set("group", (long)groups).Set("pads", pads);
        }
        var result = channelsLast ? Transpose(l, y, [0, 2, 1], $"{l.Name}/to_channels_last") : y;
        return l.OptString("activation") is { } act ? Activation(l, result, act, "activation") : result;
    }

    private IrValue LocalLinear(SpecObject l)
    {
        var x = Input(l);
        string prefix = Prefix(l);
        bool bias = l.Bool("bias", true);
        int padding = l.Int("padding", 0, 0, 1 << 20);
        int stride = l.Int("stride", 1, 1, 1 << 20);
        long? kernelField = l.OptInt("kernel_size");
        if (x.Rank < 1 || x.Type != DataType.Float32) throw l.Error($"input: local_linear needs a float32 input (..., in_features), got {x.Type.Name()}{x.ShapeString}");
        int inF = x.Shape[^1];
        int folds = -1;
        if (inF >= 0 && kernelField is { } k0)
        {
            folds = (int)((inF + 2L * padding - k0) / stride + 1);
            if (folds < 1) throw l.Error($"kernel_size: {k0} is larger than the padded input ({inF} + 2*{padding})");
        }
        var w = Weight(l, Key(prefix, "weight"), [folds, kernelField is { } kf ? (int)kf : -1, -1]);
        int kernel = w?.Dim(1) ?? (int)(kernelField ?? -1);
        if (w is not null && inF >= 0)
        {
            int expectedFolds = (inF + 2 * padding - kernel) / stride + 1;
            if (w.Dim(0) != expectedFolds)
                Problem(l, $"'{Key(prefix, "weight")}' has shape {w.ShapeString}: {w.Dim(0)} folds, but in_features {inF}, kernel_size {kernel}, padding {padding}, stride {stride} give {expectedFolds}");
            folds = expectedFolds;
        }
        int features = w?.Dim(2) ?? -1;
        var b = bias && w is not null ? Weight(l, Key(prefix, "bias"), [w.Dim(0), w.Dim(2)]) : null;
        var x3 = Unsqueeze(l, x, -1, $"{l.Name}/channels");
        var y = _ir.NewValue(l.Name, [.. x.Shape[..^1], folds, features], DataType.Float32);
        if (w is not null && (!bias || b is not null))
        {
            // The unfold LocalLinear is LocallyConnected1D over one channel: W (folds, K, F) = (folds, K*1, F).
            _ir.Emit(OpKind.LocallyConnected1D, $"{l.Name}/local", [x3.Name, _ir.Constant($"{l.Name}/weight", w), b is null ? "" : _ir.Constant($"{l.Name}/bias", b)], [y.Name])
                .Set("kernel_size", (long)kernel).Set("stride", (long)stride).Set("pads", new long[] { padding, padding });
        }
        return y;
    }
}
