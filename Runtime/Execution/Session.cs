using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Execution;

/// <summary>
/// Runs a <see cref="Graph"/> on whole inputs (batch inference). Operators are prepared once here;
/// each run checks its inputs against the graph's declared names, types and shapes. Two ways to run:
/// <list type="bullet">
/// <item><see cref="Run(IReadOnlyDictionary{string, Tensor})"/>: new output tensors the caller owns;
///   intermediate values are released after their last reader. Safe to call from several threads.</item>
/// <item><see cref="CreateRunner"/>: a <see cref="SessionRunner"/> that keeps every buffer from one call
///   to the next, so a call with unchanged input shapes allocates nothing (streaming, batch-1 forecasts).</item>
/// </list>
/// </summary>
public sealed class Session
{
    private readonly Graph _graph;
    private readonly IOperator[] _ops;
    private readonly int[][] _lastUse; // per node: which values to drop after it (indices into _valueNames)
    private readonly string[] _valueNames;
    private readonly Dictionary<string, int> _valueIndex = new(StringComparer.Ordinal);
    private readonly int[][] _nodeInputs;
    private readonly int[][] _nodeOutputs;
    private readonly (int Index, Tensor Value)[] _constantValues;
    private readonly int[] _inputValues; // per graph input: its value index
    private readonly int[] _outputValues; // per graph output: its value index
    private readonly int _maxNodeInputs, _maxNodeOutputs;

    internal Session(Graph graph, SessionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        graph.Validate();
        _graph = graph;
        Gemv = (options ?? new SessionOptions()).CreateGemv();
        // Outputs no node reads and the graph does not return may be left unmade (OperatorContext.IsRead).
        var read = new HashSet<string>(graph.Nodes.SelectMany(n => n.Inputs).Where(x => x.Length > 0), StringComparer.Ordinal);
        read.UnionWith(graph.Outputs.Select(o => o.Name));
        var ctx = new OperatorContext(graph.Constants, graph.QuantizedConstants, Gemv, read);
        _ops = new IOperator[graph.Nodes.Count];
        for (int i = 0; i < _ops.Length; i++)
        {
            var node = graph.Nodes[i];
            try { _ops[i] = OperatorFactory.Create(node, ctx); }
            catch (EdgeException e) when (!e.Message.Contains($"'{node.Name}'", StringComparison.Ordinal))
            {
                throw new EdgeException($"node '{node.Name}' ({node.Kind}): {e.Message}", e);
            }
        }

        var names = new List<string>();
        int Index(string n)
        {
            if (!_valueIndex.TryGetValue(n, out int idx)) { idx = names.Count; names.Add(n); _valueIndex[n] = idx; }
            return idx;
        }
        foreach (var i in graph.Inputs) Index(i.Name);
        foreach (var c in graph.Constants.Keys) Index(c);
        foreach (var c in graph.QuantizedConstants.Keys) Index(c);
        // Constants as operators see them at run time: plain ones, and the fp32 view of the int8 weights
        // that an operator without an int8 path asked for. An int8 weight taken as int8 is fed as null.
        DequantizedWeights = ctx.Dequantized.Keys.ToArray();
        _constantValues = graph.Constants.Concat(ctx.Dequantized).Select(kv => (_valueIndex[kv.Key], kv.Value)).ToArray();
        _nodeInputs = graph.Nodes.Select(n => n.Inputs.Select(x => x.Length == 0 ? -1 : Index(x)).ToArray()).ToArray();
        _nodeOutputs = graph.Nodes.Select(n => n.Outputs.Select(x => !read.Contains(x) ? -1 : Index(x)).ToArray()).ToArray();
        _valueNames = names.ToArray();

        // Release a computed value after the last node that reads it, unless it is a graph output.
        var keep = new HashSet<int>(graph.Outputs.Select(o => _valueIndex[o.Name]));
        foreach (var (c, _) in _constantValues) keep.Add(c);
        var last = new Dictionary<int, int>();
        for (int n = 0; n < _nodeInputs.Length; n++)
            foreach (var v in _nodeInputs[n]) if (v >= 0) last[v] = n;
        var drops = new List<int>[_ops.Length];
        for (int n = 0; n < drops.Length; n++) drops[n] = new List<int>();
        foreach (var (v, n) in last) if (!keep.Contains(v)) drops[n].Add(v);
        _lastUse = drops.Select(d => d.ToArray()).ToArray();
        _inputValues = graph.Inputs.Select(i => _valueIndex[i.Name]).ToArray();
        _outputValues = graph.Outputs.Select(o => _valueIndex[o.Name]).ToArray();
        _maxNodeInputs = _nodeInputs.Length == 0 ? 0 : _nodeInputs.Max(x => x.Length);
        _maxNodeOutputs = _nodeOutputs.Length == 0 ? 0 : _nodeOutputs.Max(x => x.Length);
    }

    internal Graph Graph => _graph;

    /// <summary>The kernel set every operator of this session runs on (chosen once, from <see cref="SessionOptions.Isa"/> or <c>EDGE_ISA</c>).</summary>
    internal Kernels.Gemv Gemv { get; }

    /// <summary>int8 weights some operator took in fp32 (dequantized) because it had no int8 path for them; empty when every product runs int8.</summary>
    public IReadOnlyList<string> DequantizedWeights { get; }

    /// <summary>The instruction-set path of <see cref="Gemv"/>.</summary>
    public Kernels.Isa Isa => Gemv.Isa;

    internal IReadOnlyList<ValueInfo> Inputs => _graph.Inputs;

    internal IReadOnlyList<ValueInfo> Outputs => _graph.Outputs;

    /// <summary>The names of the graph's inputs, in order: the keys <see cref="Run"/> expects.</summary>
    public IReadOnlyList<string> InputNames => _graph.Inputs.Select(i => i.Name).ToArray();

    /// <summary>The names of the graph's outputs, in order: the keys of <see cref="Run"/>'s result.</summary>
    public IReadOnlyList<string> OutputNames => _graph.Outputs.Select(o => o.Name).ToArray();

    /// <summary>Runs the graph. Every graph input must be given; the result maps each graph output name to its value.</summary>
    public Dictionary<string, Tensor> Run(IReadOnlyDictionary<string, Tensor> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var values = new Tensor?[_valueNames.Length];
        foreach (var name in inputs.Keys)
            if (!_graph.Inputs.Any(i => i.Name == name))
                throw new EdgeException($"'{name}' is not an input of the model; inputs are: {string.Join(", ", _graph.Inputs)}");
        foreach (var info in _graph.Inputs)
        {
            if (!inputs.TryGetValue(info.Name, out var t))
                throw new EdgeException($"input '{info.Name}' {info.DataType.Name()}{info.ShapeString} was not given");
            values[_valueIndex[info.Name]] = CheckInput(info, t);
        }
        foreach (var (index, t) in _constantValues) values[index] = t;
        Execute(values, null, new Tensor?[_maxNodeInputs], new Tensor?[_maxNodeOutputs]);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var o in _graph.Outputs) result[o.Name] = values[_valueIndex[o.Name]]!;
        return result;
    }

    /// <summary>A runner with its own buffers: see <see cref="SessionRunner"/> for how long its tensors stay valid.</summary>
    public SessionRunner CreateRunner() => new(this);

    internal int ValueCount => _valueNames.Length;
    internal int NodeCount => _ops.Length;
    internal ReadOnlySpan<int> InputValues => _inputValues;
    internal ReadOnlySpan<int> OutputValues => _outputValues;
    internal ReadOnlySpan<(int Index, Tensor Value)> ConstantValues => _constantValues;
    internal int MaxNodeInputs => _maxNodeInputs;
    internal int MaxNodeOutputs => _maxNodeOutputs;

    /// <summary>
    /// Runs every node in order over <paramref name="values"/> (graph inputs and constants already in
    /// place). With <paramref name="buffers"/> null, operators get <see cref="NodeBuffers.Fresh"/> memory
    /// and each value is dropped after its last reader; otherwise node n uses buffers[n] and values stay.
    /// <paramref name="inBuf"/> and <paramref name="outBuf"/> hold at least the widest node's inputs and outputs.
    /// Allocates nothing itself.
    /// </summary>
    internal void Execute(Tensor?[] values, NodeBuffers[]? buffers, Tensor?[] inBuf, Tensor?[] outBuf)
    {
        for (int n = 0; n < _ops.Length; n++)
        {
            var ins = _nodeInputs[n];
            var outs = _nodeOutputs[n];
            for (int i = 0; i < ins.Length; i++) inBuf[i] = ins[i] < 0 ? null : values[ins[i]];
            Array.Clear(outBuf);
            try
            {
                _ops[n].Run(inBuf.AsSpan(0, ins.Length), outBuf.AsSpan(0, outs.Length), buffers is null ? NodeBuffers.Fresh : buffers[n]);
            }
            catch (EdgeException e) when (!e.Message.StartsWith("node '", StringComparison.Ordinal))
            {
                var node = _graph.Nodes[n];
                throw new EdgeException($"node '{node.Name}' ({node.Kind}): {e.Message}", e);
            }
            for (int o = 0; o < outs.Length; o++)
            {
                if (outs[o] < 0) continue;
                values[outs[o]] = outBuf[o] ?? throw NoOutput(n, o);
            }
            if (buffers is null)
                foreach (var v in _lastUse[n]) values[v] = null;
        }
        Array.Clear(inBuf);
        Array.Clear(outBuf);
    }

    private InvalidOperationException NoOutput(int n, int o)
    {
        var node = _graph.Nodes[n];
        return new InvalidOperationException($"node '{node.Name}' ({node.Kind}) did not produce output '{node.Outputs[o]}'");
    }

    /// <summary>Whether <paramref name="shape"/> fits the declared shape of <paramref name="info"/> (dynamic dimensions take any size).</summary>
    internal static bool ShapeFits(ValueInfo info, ReadOnlySpan<int> shape)
    {
        if (shape.Length != info.Shape.Length) return false;
        for (int d = 0; d < shape.Length; d++)
            if (shape[d] < 0 || (info.Shape[d] >= 0 && info.Shape[d] != shape[d])) return false;
        return true;
    }

    private static Tensor CheckInput(ValueInfo info, Tensor t)
    {
        if (t.DataType != info.DataType)
        {
            // Index inputs saved by numpy default to int64; accept either integer width for an integer input.
            bool intToInt = t.DataType is DataType.Int32 or DataType.Int64 && info.DataType is DataType.Int32 or DataType.Int64;
            if (!intToInt)
                throw new EdgeException($"input '{info.Name}' must be {info.DataType.Name()}{info.ShapeString}, got {t.DataType.Name()}{t.ShapeString}");
            t = Layers.Cast.To(t, info.DataType);
        }
        bool ok = t.Rank == info.Shape.Length;
        for (int d = 0; ok && d < t.Rank; d++)
            ok = info.Shape[d] < 0 || info.Shape[d] == t.Shape[d];
        if (!ok)
            throw new EdgeException($"input '{info.Name}' must have shape {info.ShapeString}, got {t.ShapeString}");
        return t;
    }
}
