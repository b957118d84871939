using Edge.Runtime.Tensors;

namespace Edge.Runtime.Ir;

/// <summary>
/// The Edge IR: a DAG of <see cref="Node"/>s over named values. Constants (weights and folded glue)
/// live in <see cref="Constants"/>; graph inputs are fed at run time. Nodes are kept in a
/// topological order (<see cref="Validate"/> checks it).
/// </summary>
internal sealed class Graph
{
    public string Name { get; set; } = "model";
    public List<ValueInfo> Inputs { get; } = new();
    public List<ValueInfo> Outputs { get; } = new();
    public List<Node> Nodes { get; } = new();
    public Dictionary<string, Tensor> Constants { get; } = new(StringComparer.Ordinal);

    /// <summary>int8 weights with per-row scales; their names share one namespace with <see cref="Constants"/>.</summary>
    public Dictionary<string, QuantizedWeight> QuantizedConstants { get; } = new(StringComparer.Ordinal);

    public long ParameterCount => Constants.Values.Sum(t => (long)t.Length) + QuantizedConstants.Values.Sum(q => (long)q.Values.Length);

    /// <summary>
    /// Checks that names are unique, every node input is defined before use, every output is
    /// produced, and attributes are well-typed enough to be run. Throws <see cref="EdgeException"/>
    /// naming the node.
    /// </summary>
    public void Validate()
    {
        var defined = new HashSet<string>(StringComparer.Ordinal);
        foreach (var i in Inputs)
        {
            if (i.Name.Length == 0) throw new EdgeException("graph input with an empty name");
            if (!defined.Add(i.Name)) throw new EdgeException($"graph input '{i.Name}' is defined twice");
        }
        foreach (var c in Constants.Keys)
        {
            if (!defined.Add(c)) throw new EdgeException($"constant '{c}' has the same name as a graph input");
        }
        foreach (var c in QuantizedConstants.Keys)
        {
            if (!defined.Add(c)) throw new EdgeException($"quantized constant '{c}' has the same name as a graph input or constant");
        }
        var nodeNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var n in Nodes)
        {
            if (!nodeNames.Add(n.Name)) throw new EdgeException($"node name '{n.Name}' is used twice");
            foreach (var input in n.Inputs)
                if (input.Length > 0 && !defined.Contains(input))
                    throw new EdgeException($"node '{n.Name}' ({n.Kind}) reads '{input}', which no earlier node, input or constant defines");
            foreach (var output in n.Outputs)
                if (output.Length > 0 && !defined.Add(output))
                    throw new EdgeException($"node '{n.Name}' ({n.Kind}) writes '{output}', which is already defined");
        }
        if (Outputs.Count == 0) throw new EdgeException("the graph has no outputs");
        foreach (var o in Outputs)
            if (!defined.Contains(o.Name)) throw new EdgeException($"graph output '{o.Name}' is never produced");
    }
}
