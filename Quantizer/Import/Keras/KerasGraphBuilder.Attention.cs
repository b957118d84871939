using Edge.Runtime;
using Edge.Runtime.Format;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;
using System.Text.Json;
using Value = Edge.Quantizer.Import.IrValue;

namespace Edge.Quantizer.Import.Keras;

/// <summary>
/// Keras Attention (Luong; score_mode dot or concat) and AdditiveAttention (Bahdanau) on [query, value(, key)],
/// query (N, Tq, D), value and key (N, Tv, D):
/// <list type="bullet">
/// <item>dot: scores = q k^T (MatMul with k transposed), times the scalar weight 'scale' when use_scale.</item>
/// <item>concat: scores = concat_score_weight * sum_d tanh(scale * (q_i + k_j)) (scale only with use_scale).</item>
/// <item>additive: scores = sum_d scale_d * tanh(q_i + k_j) (scale, a (D,) weight, only with use_scale).</item>
/// <item>causal (tf.keras 2's config key 'causal', or Keras 3's call argument use_causal_mask): position i may not
///   attend to j &gt; i; Keras subtracts 1e9 from those scores before the softmax, and so does this (a constant
///   (1, Tq, Tv) added; Tq and Tv must be known at import).</item>
/// </list>
/// weights = softmax(scores) over Tv; output = weights v (N, Tq, D). return_attention_scores (a Keras 3 call
/// argument) adds weights as the second output. Dropout is training-only.
/// </summary>
internal sealed partial class KerasGraphBuilder
{
    private List<Value> ConvertAttention(KerasLayer layer, int call, string prefix, List<Value> inputs)
    {
        var c = layer.Config;
        bool additive = layer.ClassName == "AdditiveAttention";
        if (inputs.Count is not (2 or 3)) throw Bad(layer, $"takes [query, value] or [query, value, key], got {inputs.Count} input(s)");
        var (q, v) = (inputs[0], inputs[1]);
        var k = inputs.Count == 3 ? inputs[2] : v;
        if (inputs.Any(t => t.Rank != 3))
            throw Bad(layer, $"expects (batch, steps, features) inputs, got {string.Join(", ", inputs.Select(t => t.ShapeList))}");
        string mode = additive ? "additive" : KerasJson.Str(c, "score_mode") ?? "dot";
        if (mode is not ("dot" or "concat" or "additive"))
            throw new UnsupportedModelException($"{File}: Attention layer '{MessageText.Printable(layer.Name)}' has score_mode '{MessageText.Printable(mode)}'; Edge supports dot and concat");
        var kwargs = call < layer.CallKwargs.Count ? layer.CallKwargs[call] : null;
        bool causal = KerasJson.Bool(c, "causal", false) || kwargs is { } kw && KerasJson.Bool(kw, "use_causal_mask", false);
        bool returnScores = kwargs is { } kw2 && KerasJson.Bool(kw2, "return_attention_scores", false);
        bool useScale = KerasJson.Bool(c, "use_scale", additive);
        int d = q.Last >= 0 ? q.Last : k.Last;
        int count = (useScale ? 1 : 0) + (mode == "concat" ? 1 : 0);
        IReadOnlyList<KerasWeight> w = count == 0 ? [] : Weights(layer, count, mode == "concat" && useScale ? "scale, concat_score_weight" : useScale ? "scale" : "concat_score_weight");
        KerasWeight? scale = null, concatWeight = null;
        if (useScale) scale = additive ? Expect(layer, w[0], "scale", d) : ExpectScalar(layer, w[0], "scale");
        if (mode == "concat") concatWeight = ExpectScalar(layer, w[^1], "concat_score_weight");

        int batch = q.Shape[0], tq = q.Shape[1], tv = k.Shape[1];
        string scores = prefix + "/scores";
        if (mode == "dot")
        {
            Emit(OpKind.Transpose, prefix + "/key_t", [k.Name], [prefix + "/key_t"]).Set("perm", new long[] { 0, 2, 1 });
            string raw = useScale ? prefix + "/dot" : scores;
            Emit(OpKind.MatMul, prefix + "/dot", [q.Name, prefix + "/key_t"], [raw]);
            if (useScale) Emit(OpKind.Mul, prefix + "/scale", [raw, Constant(layer, "scale", () => Tensor.FromArray((float[])scale!.Data.Clone(), 1))], [scores]);
        }
        else
        {
            // (N, Tq, 1, D) + (N, 1, Tv, D) -> (N, Tq, Tv, D)
            Emit(OpKind.Unsqueeze, prefix + "/query_4d", [q.Name], [prefix + "/query_4d"]).Set("axes", new long[] { 2 });
            Emit(OpKind.Unsqueeze, prefix + "/key_4d", [k.Name], [prefix + "/key_4d"]).Set("axes", new long[] { 1 });
            string pairs = prefix + "/pairs";
            Emit(OpKind.Add, pairs, [prefix + "/query_4d", prefix + "/key_4d"], [pairs]);
            if (mode == "concat" && useScale)
            {
                Emit(OpKind.Mul, prefix + "/scale", [pairs, Constant(layer, "scale", () => Tensor.FromArray((float[])scale!.Data.Clone(), 1))], [prefix + "/scaled_pairs"]);
                pairs = prefix + "/scaled_pairs";
            }
            Emit(OpKind.Tanh, prefix + "/tanh", [pairs], [prefix + "/tanh"]);
            string summed = prefix + "/tanh";
            if (mode == "additive" && useScale)
            {
                Emit(OpKind.Mul, prefix + "/scale", [summed, Constant(layer, "scale", () => Tensor.FromArray((float[])scale!.Data.Clone(), d))], [prefix + "/scaled_tanh"]);
                summed = prefix + "/scaled_tanh";
            }
            string sum = mode == "concat" ? prefix + "/sum" : scores;
            Emit(OpKind.ReduceSum, prefix + "/reduce", [summed], [sum]).Set("axes", new long[] { -1 }).Set("keepdims", 0L);
            if (mode == "concat")
                Emit(OpKind.Mul, prefix + "/concat_weight", [sum, Constant(layer, "concat_score_weight", () => Tensor.FromArray((float[])concatWeight!.Data.Clone(), 1))], [scores]);
        }
        if (causal)
        {
            if (tq < 0 || tv < 0)
                throw new UnsupportedModelException(
                    $"{File}: layer {layer} has a causal mask over steps of unknown length ({q.ShapeList}, {k.ShapeList}); give the model's input a fixed number of steps");
            var mask = new float[tq * tv];
            for (int i = 0; i < tq; i++)
                for (int j = i + 1; j < tv; j++) mask[i * tv + j] = -1e9f;
            string masked = prefix + "/masked_scores";
            Emit(OpKind.Add, prefix + "/causal", [scores, Constant(layer, $"causal_{tq}x{tv}", () => Tensor.FromArray(mask, 1, tq, tv))], [masked]);
            scores = masked;
        }
        string weights = returnScores ? ValueName(layer, call, 1) : prefix + "/weights";
        Emit(OpKind.Softmax, prefix + "/softmax", [scores], [weights]).Set("axis", -1L);
        string output = ValueName(layer, call, 0);
        Emit(OpKind.MatMul, prefix, [weights, v.Name], [output]);
        var result = new List<Value> { new(output, [batch, tq, v.Last], DataType.Float32) };
        if (returnScores) result.Add(new Value(weights, [batch, tq, tv], DataType.Float32));
        return result;
    }

    private KerasWeight ExpectScalar(KerasLayer layer, KerasWeight w, string what)
    {
        if (w.Data.Length != 1 || w.Shape.Length > 1) throw BadWeight(layer, w, what, "() (a scalar)");
        return w;
    }
}
