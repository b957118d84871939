using Edge.Runtime.Format;
using Edge.Runtime;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;
using System.Text.Json;
using Value = Edge.Quantizer.Import.IrValue;

namespace Edge.Quantizer.Import.Keras;

/// <summary>
/// Keras LSTM and GRU layers as IR Lstm / Gru nodes (ONNX I/O contract, layout 1 = batch-major like Keras).
/// <list type="bullet">
/// <item>Weights: Keras kernel (I, G*H) and recurrent_kernel (H, G*H) hold gates as column blocks; the IR
///   wants W (1, G*H, I) and R (1, G*H, H) with gates as row blocks, in its own order. LSTM: Keras i,f,c,o is
///   the IR's i,f,g,o. GRU: Keras z,r,h becomes r,z,n.</item>
/// <item>Biases: LSTM (4H,) is the input bias, recurrent bias zero. GRU reset_after=True: (2, 3H), row 0
///   input and row 1 recurrent bias, and linear_before_reset=1; reset_after=False: (3H,) input bias only,
///   linear_before_reset=0, where Keras's candidate (r * h) U_h + x W_h + b_h is ONNX's with Rb_n = 0.</item>
/// <item>Activations: ONNX order per direction, LSTM [f = recurrent_activation, g = activation,
///   h = activation], GRU [f = recurrent_activation, g = activation].</item>
/// <item>go_backwards is direction "reverse"; Keras then returns the sequence in processing order (its first
///   step is the last input), ONNX in input order, so a returned sequence is reversed along time.</item>
/// </list>
/// </summary>
internal sealed partial class KerasGraphBuilder
{
    private List<Value> ConvertRecurrent(KerasLayer layer, int call, string prefix, Value x)
    {
        var c = layer.Config;
        bool useBias = KerasJson.Bool(c, "use_bias", true);
        var w = Weights(layer, useBias ? 3 : 2, useBias ? "kernel, recurrent_kernel, bias" : "kernel, recurrent_kernel");
        return Recurrent(layer, layer.ClassName, c, w, "", prefix, x, KerasJson.Bool(c, "go_backwards", false), kerasOrder: true,
            t => ValueName(layer, call, t));
    }

    /// <summary>
    /// One recurrent layer from its config <paramref name="c"/> and weights; constants are named
    /// "layer/<paramref name="tag"/>W" etc. With <paramref name="backwards"/> and <paramref name="kerasOrder"/> a
    /// returned sequence is in Keras's processing order (reversed); Bidirectional wants input order.
    /// </summary>
    private List<Value> Recurrent(KerasLayer layer, string cls, JsonElement c, IReadOnlyList<KerasWeight> w, string tag, string prefix, Value x,
        bool backwards, bool kerasOrder, Func<int, string> outName)
    {
        bool lstm = cls == "LSTM";
        int gates = lstm ? 4 : 3;
        if (x.Rank != 3) throw Bad(layer, $"expects (batch, steps, features) input, got {x.ShapeList}");
        if (KerasJson.Bool(c, "time_major", false))
            throw new UnsupportedModelException($"{File}: layer {layer} has time_major=True, which Edge does not support");
        if (KerasJson.Bool(c, "stateful", false))
            throw new UnsupportedModelException(
                $"{File}: layer {layer} has stateful=True: Keras carries its state between predict() batches, which a converted model would drop; "
                + "rebuild it with stateful=False and no fixed batch, set_weights from this one and save it");
        int units = KerasJson.Int(c, "units") ?? throw Bad(layer, "has no 'units'");
        bool useBias = KerasJson.Bool(c, "use_bias", true);
        bool returnSequences = KerasJson.Bool(c, "return_sequences", false);
        bool returnState = KerasJson.Bool(c, "return_state", false);
        // Keras 1 and 2.0-2.1 had no reset_after (their GRU is reset_after=False); where the key is missing the
        // bias tells: (2, 3H) holds input and recurrent rows, (3H,) the input bias only.
        bool resetAfter = !lstm && KerasJson.Bool(c, "reset_after", useBias ? w[2].Shape.Length == 2 : _file.KerasMajor >= 3);
        int inputSize = x.Last >= 0 ? x.Last : w[0].Shape[0];
        var kernel = Expect(layer, w[0], "kernel", inputSize, gates * units);
        var recurrent = Expect(layer, w[1], "recurrent_kernel", units, gates * units);
        // IR gate g takes Keras gate order[g].
        int[] order = lstm ? [0, 1, 2, 3] : [1, 0, 2];

        string wName = Constant(layer, tag + "W", () => GateRows(kernel, order, units));
        string rName = Constant(layer, tag + "R", () => GateRows(recurrent, order, units));
        var inputs = new List<string> { x.Name, wName, rName };
        if (useBias)
        {
            var bias = w[2];
            float[] input, rec;
            if (lstm)
            {
                Expect(layer, bias, "bias", gates * units);
                (input, rec) = (bias.Data, new float[gates * units]);
            }
            else if (resetAfter)
            {
                Expect(layer, bias, "bias", 2, gates * units);
                (input, rec) = (bias.Data[..(gates * units)], bias.Data[(gates * units)..]);
            }
            else
            {
                Expect(layer, bias, "bias", gates * units);
                (input, rec) = (bias.Data, new float[gates * units]);
            }
            inputs.Add(Constant(layer, tag + "B", () =>
            {
                var b = new float[2 * gates * units];
                for (int g = 0; g < gates; g++)
                {
                    Array.Copy(input, order[g] * units, b, g * units, units);
                    Array.Copy(rec, order[g] * units, b, (gates + g) * units, units);
                }
                return Tensor.FromArray(b, 1, 2 * gates * units);
            }));
        }

        string y = returnSequences ? prefix + "/Y" : "";
        string yh = prefix + "/Y_h";
        string yc = lstm && returnState ? prefix + "/Y_c" : "";
        var outputs = lstm ? new List<string> { y, yh, yc } : new List<string> { y, yh };
        while (outputs[^1].Length == 0) outputs.RemoveAt(outputs.Count - 1);

        var (names, alphas, betas) = RecurrentActivations(layer, lstm
            ? [KerasJson.Activation(c, "recurrent_activation", "sigmoid"), KerasJson.Activation(c, "activation", "tanh"), KerasJson.Activation(c, "activation", "tanh")]
            : [KerasJson.Activation(c, "recurrent_activation", "sigmoid"), KerasJson.Activation(c, "activation", "tanh")]);
        var node = Emit(lstm ? OpKind.Lstm : OpKind.Gru, prefix, inputs, outputs)
            .Set("hidden_size", (long)units)
            .Set("direction", backwards ? "reverse" : "forward")
            .Set("layout", 1L)
            .Set("activations", names);
        if (alphas.Count > 0) node.Set("activation_alpha", alphas.ToArray());
        if (betas.Count > 0) node.Set("activation_beta", betas.ToArray());
        if (!lstm) node.Set("linear_before_reset", resetAfter ? 1L : 0L);

        int batch = x.Shape[0], steps = x.Shape[1];
        var result = new List<Value>();
        string out0 = outName(0);
        if (returnSequences)
        {
            // Y (batch, steps, 1, H) -> (batch, steps, H)
            string squeezed = backwards && kerasOrder ? prefix + "/Y_input_order" : out0;
            Emit(OpKind.Squeeze, prefix + "/squeeze_Y", [y], [squeezed]).Set("axes", new long[] { 2 });
            if (backwards && kerasOrder)
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
            // Keras returns [output, h] (GRU) or [output, h, c] (LSTM), states (batch, H).
            string h = outName(1);
            Emit(OpKind.Squeeze, prefix + "/squeeze_h", [yh], [h]).Set("axes", new long[] { 1 });
            result.Add(new Value(h, [batch, units], DataType.Float32));
            if (lstm)
            {
                string cs = outName(2);
                Emit(OpKind.Squeeze, prefix + "/squeeze_c", [yc], [cs]).Set("axes", new long[] { 1 });
                result.Add(new Value(cs, [batch, units], DataType.Float32));
            }
        }
        return result;
    }

    /// <summary>Keras (in, G*H) with gate column blocks -> IR (1, G*H, in) with gate row blocks in IR order.</summary>
    private static Tensor GateRows(KerasWeight w, int[] order, int units)
    {
        int rows = w.Shape[0], gates = order.Length;
        var t = new float[gates * units * rows];
        for (int g = 0; g < gates; g++)
            for (int j = 0; j < units; j++)
            {
                int src = order[g] * units + j, dst = g * units + j;
                for (int i = 0; i < rows; i++)
                    t[dst * rows + i] = w.Data[i * gates * units + src];
            }
        return Tensor.FromArray(t, 1, gates * units, rows);
    }

    private (string[] Names, List<float> Alphas, List<float> Betas) RecurrentActivations(KerasLayer layer, string[] keras)
    {
        var names = new string[keras.Length];
        var alphas = new List<float>();
        var betas = new List<float>();
        for (int i = 0; i < keras.Length; i++)
        {
            names[i] = keras[i] switch
            {
                "sigmoid" => "Sigmoid",
                "tanh" => "Tanh",
                "relu" => "Relu",
                "linear" => "Linear",
                "softsign" => "Softsign",
                "softplus" => "Softplus",
                "hard_sigmoid" => "HardSigmoid",
                "elu" => "Elu",
                _ => throw new UnsupportedModelException($"{File}: layer {layer} uses activation '{MessageText.Printable(keras[i])}' inside the cell, which Edge does not support"),
            };
            // ONNX consumes activation_alpha / activation_beta in order, one per function that takes them.
            if (names[i] == "HardSigmoid") { alphas.Add(HardSigmoid.Alpha); betas.Add(HardSigmoid.Beta); }
            if (names[i] == "Elu") alphas.Add(1f);
        }
        return (names, alphas, betas);
    }

    private string Int64Constant(KerasLayer layer, string what, long value) =>
        Constant(layer, what, () => Tensor.FromArray(new[] { value }, 1));
}
