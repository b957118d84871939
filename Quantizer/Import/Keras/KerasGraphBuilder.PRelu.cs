using Edge.Runtime.Format;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;
using Value = Edge.Quantizer.Import.IrValue;

namespace Edge.Quantizer.Import.Keras;

/// <summary>
/// Keras PReLU: y = x for x &gt;= 0, alpha * x below (Keras: relu(x) - alpha * relu(-x)). alpha has the input's
/// shape without the batch axis, with 1 on every axis in shared_axes; it broadcasts against x as it is stored,
/// so it becomes the IR PRelu's slope unchanged.
/// </summary>
internal sealed partial class KerasGraphBuilder
{
    private Value ConvertPRelu(KerasLayer layer, string prefix, Value x, string output)
    {
        if (x.Type != DataType.Float32) throw Bad(layer, $"expects float32 input, got {x.Type.Name()}");
        if (x.Rank < 2) throw Bad(layer, $"expects (batch, ...) input, got {x.ShapeList}");
        var alpha = Weights(layer, 1, "alpha")[0];
        var shared = new HashSet<int>();
        if (KerasJson.Get(layer.Config, "shared_axes") is { ValueKind: System.Text.Json.JsonValueKind.Array } axes)
            foreach (var a in axes.EnumerateArray())
            {
                if (!a.TryGetInt32(out int axis) || axis == 0 || axis >= x.Rank || axis < -(x.Rank - 1))
                    throw Bad(layer, $"has shared_axes entry {MessageText.Printable(a.GetRawText())}, which is not an axis 1..{x.Rank - 1} of its input {x.ShapeList}");
                shared.Add(axis < 0 ? axis + x.Rank : axis);
            }
        // The stored alpha must be what Keras builds for this input: 1 on shared axes, the input's size elsewhere.
        bool ok = alpha.Shape.Length == x.Rank - 1;
        for (int i = 1; ok && i < x.Rank; i++)
        {
            int d = alpha.Shape[i - 1];
            ok = shared.Contains(i) ? d == 1 : d == x.Shape[i] || (x.Shape[i] < 0 && d >= 1);
        }
        if (!ok)
        {
            var expected = Enumerable.Range(1, x.Rank - 1).Select(i => shared.Contains(i) ? "1" : x.Shape[i] < 0 ? "?" : x.Shape[i].ToString(System.Globalization.CultureInfo.InvariantCulture));
            throw BadWeight(layer, alpha, "alpha", $"({string.Join(", ", expected)}{(x.Rank == 2 ? "," : "")}) for input {x.ShapeList} with shared_axes [{string.Join(", ", shared.Order())}]");
        }
        string slope = Constant(layer, "alpha", () => Tensor.FromArray((float[])alpha.Data.Clone(), alpha.Shape));
        Emit(OpKind.PRelu, prefix, [x.Name, slope], [output]);
        return new Value(output, x.Shape, DataType.Float32);
    }
}
