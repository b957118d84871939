namespace Edge.Runtime.Ir;

/// <summary>
/// One operation of the graph. <see cref="Inputs"/> and <see cref="Outputs"/> name values: graph
/// inputs, other nodes' outputs or constants (<see cref="Graph.Constants"/>). An empty string marks
/// an optional input or output that is absent. The meaning of inputs and attributes per kind is
/// specified on <see cref="OpKind"/>.
/// </summary>
internal sealed class Node
{
    public Node(OpKind kind, string name, IEnumerable<string> inputs, IEnumerable<string> outputs)
    {
        Kind = kind;
        Name = name;
        Inputs = inputs.ToList();
        Outputs = outputs.ToList();
    }

    public OpKind Kind { get; set; }
    public string Name { get; set; }
    public List<string> Inputs { get; }
    public List<string> Outputs { get; }
    public Dictionary<string, Attribute> Attributes { get; } = new(StringComparer.Ordinal);

    /// <summary>The i-th input name, or "" when absent.</summary>
    public string Input(int i) => i < Inputs.Count ? Inputs[i] : "";

    public bool HasInput(int i) => Input(i).Length > 0;

    public Node Set(string name, long value) { Attributes[name] = Attribute.Of(value); return this; }
    public Node Set(string name, float value) { Attributes[name] = Attribute.Of(value); return this; }
    public Node Set(string name, string value) { Attributes[name] = Attribute.Of(value); return this; }
    public Node Set(string name, long[] value) { Attributes[name] = Attribute.Of(value); return this; }
    public Node Set(string name, float[] value) { Attributes[name] = Attribute.Of(value); return this; }
    public Node Set(string name, string[] value) { Attributes[name] = Attribute.Of(value); return this; }

    public long GetInt(string name, long fallback) =>
        Attributes.TryGetValue(name, out var a) ? (a.Kind == AttributeKind.Int ? a.Int : throw Bad(name, "an int")) : fallback;

    public float GetFloat(string name, float fallback) =>
        Attributes.TryGetValue(name, out var a) ? (a.Kind == AttributeKind.Float ? a.Float : a.Kind == AttributeKind.Int ? a.Int : throw Bad(name, "a float")) : fallback;

    public string GetString(string name, string fallback) =>
        Attributes.TryGetValue(name, out var a) ? (a.Kind == AttributeKind.String ? a.String! : throw Bad(name, "a string")) : fallback;

    public long[]? GetInts(string name) =>
        Attributes.TryGetValue(name, out var a) ? (a.Kind == AttributeKind.Ints ? a.Ints : throw Bad(name, "a list of ints")) : null;

    public float[]? GetFloats(string name) =>
        Attributes.TryGetValue(name, out var a) ? (a.Kind == AttributeKind.Floats ? a.Floats : throw Bad(name, "a list of floats")) : null;

    public string[]? GetStrings(string name) =>
        Attributes.TryGetValue(name, out var a) ? (a.Kind == AttributeKind.Strings ? a.Strings : throw Bad(name, "a list of strings")) : null;

    private EdgeException Bad(string attr, string expected) =>
        new($"node '{Name}' ({Kind}): attribute '{attr}' should be {expected}");

    public override string ToString() =>
        $"{Name} = {Kind}({string.Join(", ", Inputs.Select(i => i.Length == 0 ? "_" : i))}) -> {string.Join(", ", Outputs)}";
}
