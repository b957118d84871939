using Edge.Runtime;
using Edge.Runtime.Format;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;
using Value = Edge.Quantizer.Import.IrValue;

namespace Edge.Quantizer.Import.Keras;

/// <summary>
/// Keras SimpleRNN as an IR Rnn node (ONNX RNN I/O contract, layout 1 = batch-major like Keras):
/// h' = activation(x kernel + h recurrent_kernel + bias).
/// <list type="bullet">
/// <item>Weights: kernel (I, H) and recurrent_kernel (H, H) become W (1, H, I) and R (1, H, H); the one bias (H,) is
///   the input bias, the recurrent bias zero.</item>
/// <item>activation: whatever a recurrent cell runs (tanh, relu, linear, sigmoid, hard_sigmoid, elu, softsign,
///   softplus); anything else is refused naming the layer and the activation.</item>
/// <item>go_backwards is direction "reverse" and a returned sequence is reversed along time, as for LSTM/GRU;
///   stateful=True is refused (state carried between calls is not what a zero-state Rnn node computes).</item>
/// </list>
/// </summary>
internal sealed partial class KerasGraphBuilder
{
    private List<Value> ConvertSimpleRnn(KerasLayer layer, int call, string prefix, Value x)
    {
        var c = layer.Config;
        if (x.Rank != 3) throw Bad(layer, $"expects (batch, steps, features) input, got {x.ShapeList}");
        if (KerasJson.Bool(c, "time_major", false))
            throw new UnsupportedModelException($"{File}: layer {layer} has time_major=True, which Edge does not support");
        if (KerasJson.Bool(c, "stateful", false))
            throw new UnsupportedModelException(
                $"{File}: layer {layer} has stateful=True (its state is carried between calls); Edge runs it from a zero state only: re-save the model with stateful=False");
        int units = KerasJson.Int(c, "units") ?? throw Bad(layer, "has no 'units'");
        if (units <= 0) throw Bad(layer, $"has units={units}; expected a positive number");
        bool useBias = KerasJson.Bool(c, "use_bias", true);
        bool returnSequences = KerasJson.Bool(c, "return_sequences", false);
        bool returnState = KerasJson.Bool(c, "return_state", false);
        bool backwards = KerasJson.Bool(c, "go_backwards", false);
        var (names, alphas, betas) = RecurrentActivations(layer, [KerasJson.Activation(c, "activation", "tanh")]);

        var w = Weights(layer, useBias ? 3 : 2, useBias ? "kernel, recurrent_kernel, bias" : "kernel, recurrent_kernel");
        int inputSize = x.Last >= 0 ? x.Last : w[0].Shape[0];
        var kernel = Expect(layer, w[0], "kernel", inputSize, units);
        var recurrent = Expect(layer, w[1], "recurrent_kernel", units, units);
        string wName = Constant(layer, "W", () => GateRows(kernel, [0], units));
        string rName = Constant(layer, "R", () => GateRows(recurrent, [0], units));
        var inputs = new List<string> { x.Name, wName, rName };
        if (useBias)
        {
            var bias = Expect(layer, w[2], "bias", units);
            inputs.Add(Constant(layer, "B", () =>
            {
                var b = new float[2 * units];
                Array.Copy(bias.Data, b, units);
                return Tensor.FromArray(b, 1, 2 * units);
            }));
        }

        string y = returnSequences ? prefix + "/Y" : "";
        string yh = prefix + "/Y_h";
        var outputs = returnSequences ? new List<string> { y, yh } : new List<string> { "", yh };
        var node = Emit(OpKind.Rnn, prefix, inputs, outputs)
            .Set("hidden_size", (long)units)
            .Set("direction", backwards ? "reverse" : "forward")
            .Set("layout", 1L)
            .Set("activations", names);
        if (alphas.Count > 0) node.Set("activation_alpha", alphas.ToArray());
        if (betas.Count > 0) node.Set("activation_beta", betas.ToArray());

        int batch = x.Shape[0], steps = x.Shape[1];
        var result = new List<Value>();
        string out0 = ValueName(layer, call, 0);
        if (returnSequences)
        {
            // Y (batch, steps, 1, H) -> (batch, steps, H), in Keras's processing order when it runs backwards.
            string squeezed = backwards ? prefix + "/Y_input_order" : out0;
            Emit(OpKind.Squeeze, prefix + "/squeeze_Y", [y], [squeezed]).Set("axes", new long[] { 2 });
            if (backwards)
            {
                Emit(OpKind.Slice, prefix + "/reverse_Y",
                    [squeezed, Int64Constant(layer, "reverse_starts", -1), Int64Constant(layer, "reverse_ends", long.MinValue),
                     Int64Constant(layer, "reverse_axes", 1), Int64Constant(layer, "reverse_steps", -1)], [out0]);
            }
            result.Add(new Value(out0, [batch, steps, units], DataType.Float32));
        }
        else
        {
            Emit(OpKind.Squeeze, prefix + "/squeeze_Y_h", [yh], [out0]).Set("axes", new long[] { 1 });
            result.Add(new Value(out0, [batch, units], DataType.Float32));
        }
        if (returnState)
        {
            // Keras returns [output, h], h (batch, H).
            string h = ValueName(layer, call, 1);
            Emit(OpKind.Squeeze, prefix + "/squeeze_h", [yh], [h]).Set("axes", new long[] { 1 });
            result.Add(new Value(h, [batch, units], DataType.Float32));
        }
        return result;
    }
}
