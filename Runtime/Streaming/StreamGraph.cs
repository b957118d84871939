using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Streaming;

/// <summary>Graph analysis for streaming: state pairs, the sample input, and the split before a cached recurrent layer.</summary>
internal static class StreamGraph
{
    /// <summary>
    /// State pairs of <paramref name="graph"/>: for every Lstm/Gru/Rnn, initial_h (initial_c) fed straight from a
    /// graph input whose final Y_h (Y_c) is a graph output (directly or through Identity); then the graph
    /// inputs left over (other than <paramref name="dataInput"/>) with the graph output of the same declared
    /// shape, in order.
    /// </summary>
    public static List<StatePair> DetectStatePairs(Graph graph, string? dataInput)
    {
        var inputs = graph.Inputs.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var outputs = graph.Outputs.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var identity = new Dictionary<string, string>(StringComparer.Ordinal); // value -> its Identity copy
        foreach (var n in graph.Nodes)
            if (n.Kind == OpKind.Identity && n.Inputs.Count == 1 && n.Outputs.Count == 1) identity[n.Inputs[0]] = n.Outputs[0];
        string? AsOutput(string value)
        {
            for (int hops = 0; hops < 8 && value.Length > 0; hops++)
            {
                if (outputs.Contains(value)) return value;
                if (!identity.TryGetValue(value, out value!)) return null;
            }
            return null;
        }

        var pairs = new List<StatePair>();
        var usedIn = new HashSet<string>(StringComparer.Ordinal);
        var usedOut = new HashSet<string>(StringComparer.Ordinal);
        foreach (var n in graph.Nodes)
        {
            if (n.Kind is not (OpKind.Lstm or OpKind.Gru or OpKind.Rnn)) continue;
            foreach (var (inSlot, outSlot) in n.Kind == OpKind.Lstm ? new[] { (5, 1), (6, 2) } : new[] { (5, 1) })
            {
                string i = n.Input(inSlot);
                if (i.Length == 0 || !inputs.Contains(i) || i == dataInput || usedIn.Contains(i)) continue;
                if (outSlot >= n.Outputs.Count || AsOutput(n.Outputs[outSlot]) is not { } o || usedOut.Contains(o)) continue;
                pairs.Add(new StatePair(i, o));
                usedIn.Add(i);
                usedOut.Add(o);
            }
        }

        // By shape: an input (other than the sample input) and an output of the same declared shape.
        if (dataInput is not null || graph.Inputs.Count > 1)
        {
            foreach (var i in graph.Inputs)
            {
                if (i.Name == dataInput || usedIn.Contains(i.Name) || (dataInput is null && i == graph.Inputs[0])) continue;
                var o = graph.Outputs.FirstOrDefault(o => !usedOut.Contains(o.Name) && o.DataType == i.DataType && o.Shape.SequenceEqual(i.Shape));
                if (o is null) continue;
                pairs.Add(new StatePair(i.Name, o.Name));
                usedIn.Add(i.Name);
                usedOut.Add(o.Name);
            }
        }
        return pairs;
    }

    /// <summary>A shallow copy of <paramref name="graph"/> (nodes and weights shared) with other input declarations.</summary>
    public static Graph WithInputs(Graph graph, Func<ValueInfo, ValueInfo> redeclare)
    {
        var g = new Graph { Name = graph.Name };
        g.Inputs.AddRange(graph.Inputs.Select(redeclare));
        g.Outputs.AddRange(graph.Outputs);
        g.Nodes.AddRange(graph.Nodes);
        foreach (var (k, v) in graph.Constants) g.Constants[k] = v;
        foreach (var (k, v) in graph.QuantizedConstants) g.QuantizedConstants[k] = v;
        return g;
    }

    /// <summary>
    /// The graph from the first recurrent layer on, when the sample input reaches an Lstm/Gru/Rnn directly
    /// (batch-first layout) or through a Transpose (1, 0, 2) (sequence-first layout), and nothing else reads
    /// it: the layer is returned as a <see cref="CachedRecurrence"/> and the rest of the graph with the layer's
    /// outputs (Y, Y_h, Y_c as the rest reads them) as its inputs. Null with the reason otherwise.
    /// </summary>
    public static (CachedRecurrence Layer, Graph RestGraph, bool[] RestInputIsSlot)? SplitAtFirstRecurrent(Graph graph, ValueInfo input, int window, Kernels.Gemv? gemv, out string reason)
    {
        if (graph.Inputs.Count != 1) { reason = "the graph has more than one input"; return null; }
        if (input.Shape.Length != 3) { reason = $"the input {input} is not (batch, time, features)"; return null; }
        var readers = graph.Nodes.Where(n => n.Inputs.Contains(input.Name)).ToList();
        if (readers.Count != 1) { reason = $"{readers.Count} nodes read the input"; return null; }
        var first = readers[0];
        var prefix = new List<Node> { first };
        Node rnn = first;
        bool viaTranspose = false;
        if (first.Kind == OpKind.Transpose)
        {
            if (first.GetInts("perm") is not [1, 0, 2]) { reason = $"the input goes through Transpose '{first.Name}' with perm other than (1, 0, 2)"; return null; }
            string t = first.Outputs[0];
            var next = graph.Nodes.Where(n => n.Inputs.Contains(t)).ToList();
            if (next.Count != 1 || graph.Outputs.Any(o => o.Name == t)) { reason = "the transposed input has several readers"; return null; }
            rnn = next[0];
            prefix.Add(rnn);
            viaTranspose = true;
        }
        if (rnn.Kind is not (OpKind.Lstm or OpKind.Gru or OpKind.Rnn)) { reason = $"the input goes to {rnn.Kind} '{rnn.Name}', not an Lstm, Gru or Rnn"; return null; }
        if (rnn.Input(0) != (viaTranspose ? first.Outputs[0] : input.Name) || rnn.Inputs.Skip(1).Contains(rnn.Input(0)))
        {
            reason = $"'{rnn.Name}' reads the input other than as its sequence X";
            return null;
        }
        long layout = rnn.GetInt("layout", 0);
        if (layout != (viaTranspose ? 0 : 1))
        {
            reason = $"'{rnn.Name}' has layout {layout}, which does not read the (batch, time, features) input along time";
            return null;
        }
        if (CachedRecurrence.TryCreate(graph, rnn, gemv, out reason) is not { } layer) return null;
        if (layer.InputSize != input.Shape[2]) { reason = $"'{rnn.Name}' takes {layer.InputSize} features, the input {input.Shape[2]}"; return null; }

        // The rest: every node after the layer; the layer's outputs that something still reads become inputs.
        var rest = new Graph { Name = graph.Name };
        var restNodes = graph.Nodes.Where(n => !prefix.Contains(n)).ToList();
        var read = restNodes.SelectMany(n => n.Inputs).Concat(graph.Outputs.Select(o => o.Name)).ToHashSet(StringComparer.Ordinal);
        if (prefix.SelectMany(n => n.Outputs).Any(o => o.Length > 0 && o != rnn.Outputs.ElementAtOrDefault(0) && o != rnn.Outputs.ElementAtOrDefault(1)
                && o != rnn.Outputs.ElementAtOrDefault(2) && read.Contains(o)))
        {
            reason = "the transposed input is read after the recurrent layer";
            return null;
        }
        int h = layer.Hidden;
        var slotUsed = new bool[3];
        for (int slot = 0; slot < 3 && slot < rnn.Outputs.Count; slot++)
        {
            string name = rnn.Outputs[slot];
            if (name.Length == 0 || !read.Contains(name)) continue;
            int[] shape = slot == 0
                ? (layout == 1 ? [1, window, 1, h] : [window, 1, 1, h])
                : [1, 1, h];
            if (slot == 2 && !layer.IsLstm) continue;
            rest.Inputs.Add(new ValueInfo(name, DataType.Float32, shape));
            slotUsed[slot] = true;
        }
        rest.Outputs.AddRange(graph.Outputs);
        rest.Nodes.AddRange(restNodes);
        foreach (var (k, v) in graph.Constants) rest.Constants[k] = v;
        foreach (var (k, v) in graph.QuantizedConstants) rest.QuantizedConstants[k] = v;
        reason = "";
        return (layer, rest, slotUsed);
    }
}
