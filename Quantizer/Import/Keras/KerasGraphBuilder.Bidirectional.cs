using Edge.Runtime;
using Edge.Runtime.Format;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;
using Value = Edge.Quantizer.Import.IrValue;

namespace Edge.Quantizer.Import.Keras;

/// <summary>
/// Keras Bidirectional(LSTM | GRU) as two IR recurrent nodes, forward and reverse, over the same input.
/// Keras reverses the backward layer's returned sequence back to input order before merging, which is the
/// order the IR's reverse direction already returns. merge_mode concat (default; forward first), sum, mul,
/// ave ((f + b) / 2) or None (two outputs, forward then backward). With return_state the outputs are the
/// merged output(s), then the forward states (h[, c]), then the backward states.
/// Weights: `.h5` lists the forward layer's then the backward layer's; a `.keras` file keeps them in groups
/// forward_layer and backward_layer, which the reader returns in name order (backward first): the weight
/// paths tell which half is which.
/// </summary>
internal sealed partial class KerasGraphBuilder
{
    private List<Value> ConvertBidirectional(KerasLayer layer, int call, string prefix, Value x)
    {
        var c = layer.Config;
        var inner = KerasJson.Get(c, "layer") ?? throw Bad(layer, "has no inner 'layer'");
        string cls = KerasJson.Str(inner, "class_name") ?? "?";
        var ic = KerasJson.Get(inner, "config") ?? throw Bad(layer, "has an inner layer without config");
        if (cls is not ("LSTM" or "GRU"))
            throw new UnsupportedModelException(
                $"{File}: unsupported Keras layer 'Bidirectional({MessageText.Printable(cls)})' (name '{MessageText.Printable(layer.Name)}'); Edge supports Bidirectional(LSTM) and Bidirectional(GRU)");
        if (KerasJson.Bool(ic, "go_backwards", false))
            throw new UnsupportedModelException($"{File}: Bidirectional layer '{MessageText.Printable(layer.Name)}' wraps a layer with go_backwards=True, which Edge does not support");
        var bc = KerasJson.Get(c, "backward_layer") is { } back && KerasJson.Get(back, "config") is { } backConfig ? backConfig : ic;
        if (KerasJson.Get(c, "backward_layer") is { } b2 && KerasJson.Str(b2, "class_name") != cls)
            throw new UnsupportedModelException($"{File}: Bidirectional layer '{MessageText.Printable(layer.Name)}' has a backward layer of another class than its forward layer, which Edge does not support");
        string mode = !c.TryGetProperty("merge_mode", out var mm) ? "concat" : mm.ValueKind == System.Text.Json.JsonValueKind.Null ? "none" : KerasJson.Str(c, "merge_mode") ?? "?";
        if (mode is not ("concat" or "sum" or "mul" or "ave" or "none"))
            throw new UnsupportedModelException($"{File}: Bidirectional layer '{MessageText.Printable(layer.Name)}' has merge_mode '{MessageText.Printable(mode)}'; Edge supports concat, sum, mul, ave and None");

        bool useBias = KerasJson.Bool(ic, "use_bias", true);
        int per = useBias ? 3 : 2;
        var w = Weights(layer, 2 * per, useBias ? "forward kernel, recurrent_kernel, bias, then the backward ones" : "forward kernel, recurrent_kernel, then the backward ones");
        IReadOnlyList<KerasWeight> fw = w.Take(per).ToList(), bw = w.Skip(per).ToList();
        if (fw.All(x => x.Path.Contains("backward", StringComparison.Ordinal)) && bw.All(x => x.Path.Contains("forward", StringComparison.Ordinal)))
            (fw, bw) = (bw, fw);

        string Name(string dir, int t) => $"{prefix}/{dir}:{t}";
        var f = Recurrent(layer, cls, ic, fw, "forward/", prefix + "/forward", x, backwards: false, kerasOrder: false, t => Name("forward", t));
        var b = Recurrent(layer, cls, bc, bw, "backward/", prefix + "/backward", x, backwards: true, kerasOrder: false, t => Name("backward", t));

        var result = new List<Value>();
        string out0 = ValueName(layer, call, 0);
        var (yf, yb) = (f[0], b[0]);
        if (mode == "none")
        {
            result.Add(Rename(yf, out0));
            result.Add(Rename(yb, ValueName(layer, call, 1)));
        }
        else if (mode == "concat")
        {
            Emit(OpKind.Concat, prefix, [yf.Name, yb.Name], [out0]).Set("axis", -1L);
            result.Add(yf with { Name = out0, Shape = [.. yf.Shape[..^1], yf.Last * 2] });
        }
        else if (mode == "ave")
        {
            Emit(OpKind.Add, prefix + "/sum", [yf.Name, yb.Name], [prefix + "/sum"]);
            Emit(OpKind.Mul, prefix, [prefix + "/sum", Constant(layer, "half", () => Tensor.FromArray(new[] { 0.5f }, 1))], [out0]);
            result.Add(yf with { Name = out0 });
        }
        else
        {
            Emit(mode == "sum" ? OpKind.Add : OpKind.Mul, prefix, [yf.Name, yb.Name], [out0]);
            result.Add(yf with { Name = out0 });
        }
        int next = result.Count;
        foreach (var state in f.Skip(1).Concat(b.Skip(1)))
            result.Add(Rename(state, ValueName(layer, call, next++)));
        return result;
    }

    private Value Rename(Value v, string name)
    {
        Emit(OpKind.Identity, name + "/identity", [v.Name], [name]);
        return v with { Name = name };
    }
}
