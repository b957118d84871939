using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Quantizer.Import.PyTorch;

/// <summary>Spec kind prelu: nn.PReLU(num_parameters), weight (C,) with C = 1 or the channels of axis 1.</summary>
internal sealed partial class SpecGraphBuilder
{
    private IrValue PReluLayer(SpecObject l)
    {
        var x = Input(l);
        if (x.Type != DataType.Float32) throw l.Error($"input: prelu needs float32, got {x.Type.Name()}{x.ShapeString}");
        string prefix = Prefix(l);
        long? num = l.OptInt("num_parameters");
        if (num is < 1) throw l.Error($"num_parameters: {num} must be at least 1");
        var w = Weight(l, Key(prefix, "weight"), [num is { } n ? (int)n : -1]);
        var y = _ir.NewValue(l.Name, x.Shape, DataType.Float32);
        if (w is null) return y;
        int c = w.Dim(0);
        Tensor slope = w;
        if (c != 1)
        {
            // torch applies one slope per channel of axis 1 (the 2nd axis): slope (C, 1, ..., 1) broadcasts there.
            if (x.Rank < 2) throw l.Error($"num_parameters: {c} slopes need a channel axis 1, but the input is {x.ShapeString}");
            if (x.Shape[1] >= 0 && x.Shape[1] != c)
                throw l.Error($"num_parameters: {c} slopes, but the input {x.ShapeString} has {x.Shape[1]} channels on axis 1 (nn.PReLU applies to axis 1)");
            slope = w.Reshape([c, .. Enumerable.Repeat(1, x.Rank - 2)]);
        }
        _ir.Emit(OpKind.PRelu, $"{l.Name}/prelu", [x.Name, _ir.Constant($"{l.Name}/slope", slope)], [y.Name]);
        return y;
    }
}
