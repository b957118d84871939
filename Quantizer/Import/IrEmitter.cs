using System.Globalization;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Quantizer.Import;

/// <summary>A value an importer has produced (or a graph input): its IR name, shape (-1: dynamic) and type.</summary>
internal sealed record IrValue(string Name, int[] Shape, DataType Type)
{
    public int Rank => Shape.Length;

    public int Last => Shape[^1];

    /// <summary>numpy/PyTorch tuple notation: (3,) for rank 1, ? for a dynamic dimension.</summary>
    public string ShapeString => ShapeText(Shape, tupleComma: true);

    /// <summary>Plain notation without the rank-1 comma: (3), as Keras messages print shapes.</summary>
    public string ShapeList => ShapeText(Shape, tupleComma: false);

    public static string ShapeText(IReadOnlyList<int> shape, bool tupleComma) =>
        "(" + string.Join(", ", shape.Select(d => d < 0 ? "?" : d.ToString(CultureInfo.InvariantCulture))) + (tupleComma && shape.Count == 1 ? ",)" : ")");
}

/// <summary>How an importer makes a taken name unique; each keeps the names its graphs (and blobs) have always had.</summary>
internal enum IrNaming
{
    /// <summary>Names are used as given: the importer derives them from unique layer names (Keras).</summary>
    Verbatim,

    /// <summary>Values hint, hint_1, hint_2, ...; nodes hint, hint_, hint__, ...; separate namespaces (ONNX).</summary>
    Onnx,

    /// <summary>hint, hint#2, hint#3, ...; values and nodes share one namespace (the PyTorch spec).</summary>
    Spec,
}

/// <summary>
/// The IR-building half every importer shares: fresh value and node names, constants, node emission and
/// the shapes known before folding. A front end (ONNX converter, Keras graph builder, spec builder)
/// translates its format's layers through this; <see cref="ImportPipeline"/> then finishes the graph.
/// </summary>
internal sealed class IrEmitter
{
    private readonly IrNaming _naming;
    private readonly HashSet<string> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _nodes;
    private readonly Func<string, bool>? _alsoTaken;
    private readonly Dictionary<string, int[]> _knownShapes = new(StringComparer.Ordinal);

    /// <param name="graph">the graph nodes and constants go into</param>
    /// <param name="naming">how taken names are made unique</param>
    /// <param name="alsoTaken">names the importer reserves outside the graph (the spec's layer names)</param>
    public IrEmitter(Graph graph, IrNaming naming, Func<string, bool>? alsoTaken = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        Graph = graph;
        _naming = naming;
        _alsoTaken = alsoTaken;
        _nodes = naming == IrNaming.Spec ? _values : new HashSet<string>(StringComparer.Ordinal);
    }

    public Graph Graph { get; }

    // ── names ────────────────────────────────────────────────────────────────────────────────────

    /// <summary>Marks a value name as taken (an input, an initializer, a name the source file uses).</summary>
    public void Reserve(string name) => _values.Add(name);

    public bool IsTaken(string name) => _values.Contains(name);

    /// <summary>A value name based on <paramref name="hint"/> that no other value has, now taken.</summary>
    public string FreshValue(string hint)
    {
        if (_naming == IrNaming.Verbatim) return hint;
        string name = hint;
        for (int i = 1; Taken(_values, name); i++)
            name = _naming == IrNaming.Onnx
                ? string.Create(CultureInfo.InvariantCulture, $"{hint}_{i}")
                : string.Create(CultureInfo.InvariantCulture, $"{hint}#{i + 1}");
        _values.Add(name);
        return name;
    }

    private string FreshNode(string hint)
    {
        if (_naming == IrNaming.Verbatim) return hint;
        if (_naming == IrNaming.Spec) return FreshValue(hint);
        string name = hint;
        while (!_nodes.Add(name)) name += "_";
        return name;
    }

    private bool Taken(HashSet<string> set, string name) => set.Contains(name) || (_alsoTaken?.Invoke(name) ?? false);

    /// <summary>A new value of the given shape and type under a fresh name.</summary>
    public IrValue NewValue(string hint, int[] shape, DataType type) => new(FreshValue(hint), shape, type);

    // ── constants ────────────────────────────────────────────────────────────────────────────────

    /// <summary>A constant under a fresh name.</summary>
    public string Constant(string hint, Tensor value)
    {
        string name = FreshValue(hint);
        Graph.Constants[name] = value;
        return name;
    }

    /// <summary>An int64 vector constant (axes, shapes, starts) under a fresh name.</summary>
    public string Int64s(string hint, params long[] values) => Constant(hint, Tensor.FromArray(values, values.Length));

    /// <summary>A constant under exactly <paramref name="name"/>, made once however often it is asked for (a shared layer's weights).</summary>
    public string SharedConstant(string name, Func<Tensor> make)
    {
        ArgumentNullException.ThrowIfNull(make);
        if (Graph.Constants.ContainsKey(name)) return name;
        if (_naming != IrNaming.Verbatim) _values.Add(name);
        Graph.Constants[name] = make();
        return name;
    }

    public Tensor? ConstantOf(string name) => name.Length > 0 && Graph.Constants.TryGetValue(name, out var t) ? t : null;

    // ── nodes ────────────────────────────────────────────────────────────────────────────────────

    /// <summary>Appends a node named <paramref name="name"/> (made unique as the naming says).</summary>
    public Node Emit(OpKind kind, string name, IEnumerable<string> inputs, IEnumerable<string> outputs)
    {
        var node = new Node(kind, FreshNode(name), inputs, outputs);
        Graph.Nodes.Add(node);
        return node;
    }

    // ── shapes known before folding ──────────────────────────────────────────────────────────────

    /// <summary>Records a value's shape as the source declares it (graph inputs, value_info).</summary>
    public void KnowShape(string name, int[] shape) => _knownShapes[name] = shape;

    /// <summary>The shape of a constant or of a value whose shape was recorded; null when only folding will tell.</summary>
    public int[]? KnownShape(string name) =>
        ConstantOf(name) is { } t ? t.ShapeArray() : _knownShapes.TryGetValue(name, out var s) ? s : null;

    public int? KnownRank(string name) => KnownShape(name)?.Length;
}
