using System.Globalization;
using Edge.Runtime;
using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Quantizer.Import;

/// <summary>
/// Import-time passes shared by the importers (docs/architecture.md: shape and constant glue is folded away at
/// import; the batch dimension may stay dynamic). No pass renames a graph output.
/// <list type="number">
/// <item>Identity removal (consumers read the source directly).</item>
/// <item>Constant folding: a node whose inputs are all constants is run now with the runtime's own
///   operators and replaced by its results.</item>
/// <item>Shape folding: values computed only from shapes and constants are evaluated on two probe inputs
///   whose dynamic dimensions differ (2 and 3); a value equal in both does not depend on them and becomes
///   a constant. A Reshape whose target varies only through the input's own dimensions gets a constant
///   target using 0 (copy) and -1 (infer).</item>
/// <item>Simplification: MatMul/Gemm with a constant 2-D weight become Dense (W stored (out, in), alpha and
///   beta folded), a following constant bias Add merges into it, Gather(axis 0) on a constant float table
///   becomes Embedding.</item>
/// <item>Dead-node and unused-constant removal.</item>
/// </list>
/// </summary>
internal static class GraphOptimizer
{
    private const int ProbeA = 2;
    private const int ProbeB = 3;

    /// <summary>Bytes every model may fold into constants, whatever its weights (<see cref="FoldBudget"/>).</summary>
    public const long FoldFloorBytes = 64L << 20;

    /// <summary>
    /// What folding may allocate for one model, intermediate tensors included: 64 MiB + 4 x the bytes of
    /// the model's own constants (its weights) as imported. Folding glue (shapes, zero states, gate
    /// orders) needs a small fraction of that; a graph whose folding would pass it is refused.
    /// </summary>
    public static long FoldBudget(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        long weights = graph.Constants.Values.Sum(t => (long)t.Length * t.DataType.SizeOf());
        return FoldFloorBytes + 4 * weights;
    }

    public static void Optimize(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        RemoveIdentities(graph);
        long budget = FoldBudget(graph);
        using (AllocationBudget.Limit(budget, $"the budget for folding this model's constants (64 MiB + 4 x its {(budget - FoldFloorBytes) / 4} weight bytes)"))
        {
            FoldConstants(graph);
            FoldShapes(graph);
            FoldConstants(graph);
        }
        RemoveIdentities(graph);
        Simplify(graph);
        RemoveDeadNodes(graph);
    }

    // ── identities ───────────────────────────────────────────────────────────────────────────────

    public static void RemoveIdentities(Graph graph)
    {
        var graphOutputs = graph.Outputs.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        for (int i = 0; i < graph.Nodes.Count; i++)
        {
            var node = graph.Nodes[i];
            if (node.Kind != OpKind.Identity || !node.HasInput(0) || node.Outputs.Count != 1) continue;
            string src = node.Inputs[0], dst = node.Outputs[0];
            if (!graphOutputs.Contains(dst))
            {
                RenameUses(graph, dst, src);
            }
            else if (Producer(graph, src) is { } producer && !graphOutputs.Contains(src))
            {
                // The identity names a graph output: the producer writes that name instead.
                producer.Outputs[producer.Outputs.IndexOf(src)] = dst;
                RenameUses(graph, src, dst);
            }
            else if (graph.Constants.TryGetValue(src, out var value))
            {
                graph.Constants[dst] = value;
            }
            else continue; // a graph input (or output) passed through under another output name
            graph.Nodes.RemoveAt(i);
            i--;
        }
    }

    // ── constant folding ─────────────────────────────────────────────────────────────────────────

    public static void FoldConstants(Graph graph)
    {
        var context = new OperatorContext(graph.Constants);
        for (int i = 0; i < graph.Nodes.Count; i++)
        {
            var node = graph.Nodes[i];
            var present = node.Inputs.Where(n => n.Length > 0).ToList();
            if (present.Count == 0 || !present.All(graph.Constants.ContainsKey)) continue;
            var inputs = node.Inputs.Select(n => n.Length > 0 ? graph.Constants[n] : null).ToArray();
            var outputs = new Tensor?[node.Outputs.Count];
            Run(node, () => OperatorFactory.Create(node, context).Run(inputs, outputs));
            for (int o = 0; o < outputs.Length; o++)
            {
                if (node.Outputs[o].Length == 0) continue;
                graph.Constants[node.Outputs[o]] = outputs[o]
                    ?? throw new InvalidOperationException($"node '{node.Name}' ({node.Kind}) did not produce output '{node.Outputs[o]}'");
            }
            graph.Nodes.RemoveAt(i);
            i--;
        }
    }

    // ── shape folding ────────────────────────────────────────────────────────────────────────────

    /// <summary>
    /// Folds values derived only from shapes and constants that do not depend on the dynamic dimensions.
    /// Probing runs the graph on zeros; if that fails (an operator rejects zeros, a missing kernel), the
    /// pass does nothing: folding is an optimization, never a reason to refuse a model.
    /// </summary>
    public static void FoldShapes(Graph graph)
    {
        var shapeOnly = new HashSet<string>(graph.Constants.Keys, StringComparer.Ordinal);
        var candidates = new List<Node>();
        foreach (var node in graph.Nodes)
        {
            bool derived = node.Kind == OpKind.Shape || node.Inputs.Where(n => n.Length > 0).All(shapeOnly.Contains);
            if (!derived) continue;
            candidates.Add(node);
            foreach (var o in node.Outputs) if (o.Length > 0) shapeOnly.Add(o);
        }
        // Expand to an all-ones shape (torch's x.repeat(1, 1, 1) / expand_as glue) changes nothing when x
        // has at least that rank; ranks do not depend on the dynamic dimensions, so a probe tells.
        var expands = graph.Nodes.Where(n => n.Kind == OpKind.Expand && Constant(graph, n.Input(1)) is { } shape
            && shape.ToInt64Array().All(d => d == 1)).ToList();
        if (candidates.Count == 0 && expands.Count == 0) return;
        var reshapes = graph.Nodes.Where(n => n.Kind == OpKind.Reshape && n.HasInput(1) && shapeOnly.Contains(n.Inputs[1])
            && !graph.Constants.ContainsKey(n.Inputs[1])).ToList();

        var targets = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in candidates) foreach (var o in c.Outputs) if (o.Length > 0) targets.Add(o);
        foreach (var r in reshapes) targets.Add(r.Inputs[0]);
        foreach (var e in expands) targets.Add(e.Inputs[0]);
        var needed = Ancestors(graph, targets);

        Dictionary<string, Tensor> a, b;
        try
        {
            var context = new OperatorContext(graph.Constants);
            var ops = needed.Select(n => OperatorFactory.Create(n, context)).ToArray();
            a = Probe(graph, needed, ops, ProbeA);
            b = Probe(graph, needed, ops, ProbeB);
        }
#pragma warning disable CA1031 // any failure of an optional optimization means: skip it
        catch (Exception)
#pragma warning restore CA1031
        {
            return;
        }

        var folded = new HashSet<Node>();
        foreach (var node in candidates)
        {
            bool same = node.Outputs.Where(o => o.Length > 0).All(o => a.TryGetValue(o, out var ta) && b.TryGetValue(o, out var tb) && SameValue(ta, tb));
            if (same) folded.Add(node);
        }
        foreach (var r in reshapes)
        {
            var producer = Producer(graph, r.Inputs[1]);
            if (producer is not null && folded.Contains(producer)) continue;
            if (!a.TryGetValue(r.Inputs[0], out var xa) || !b.TryGetValue(r.Inputs[0], out var xb)
                || !a.TryGetValue(r.Inputs[1], out var sa) || !b.TryGetValue(r.Inputs[1], out var sb)) continue;
            if (ReshapeTarget(xa, sa, xb, sb, r.GetInt("allowzero", 0) != 0) is { } target)
            {
                string name = FreshName(graph, r.Name + "/shape");
                graph.Constants[name] = Tensor.FromArray(target, target.Length);
                r.Inputs[1] = name;
            }
        }
        foreach (var e in expands)
        {
            int rank = Constant(graph, e.Inputs[1])!.Length;
            if (a.TryGetValue(e.Inputs[0], out var xa) && b.TryGetValue(e.Inputs[0], out var xb) && xa.Rank >= rank && xb.Rank >= rank)
            {
                e.Kind = OpKind.Identity;
                e.Inputs.RemoveAt(1);
            }
        }
        if (folded.Count == 0) return;
        foreach (var node in folded)
            foreach (var o in node.Outputs)
                if (o.Length > 0) graph.Constants[o] = a[o];
        graph.Nodes.RemoveAll(folded.Contains);
    }

    /// <summary>
    /// A constant Reshape target valid for both probes: equal entries stay; an entry that follows the
    /// input's own dimension at that position becomes 0 (copy); one other varying entry becomes -1.
    /// </summary>
    private static long[]? ReshapeTarget(Tensor xa, Tensor sa, Tensor xb, Tensor sb, bool allowZero)
    {
        long[] va = sa.ToInt64Array(), vb = sb.ToInt64Array();
        if (va.Length != vb.Length) return null;
        var target = new long[va.Length];
        int inferred = -1;
        for (int i = 0; i < va.Length; i++)
        {
            if (va[i] == vb[i]) target[i] = va[i];
            else if (!allowZero && i < xa.Rank && i < xb.Rank && va[i] == xa.Shape[i] && vb[i] == xb.Shape[i]) target[i] = 0;
            else if (inferred < 0) { inferred = i; target[i] = -1; }
            else return null;
        }
        if (target.Count(v => v == -1) > 1) return null;
        bool Same(Tensor x, long[] original) =>
            Resolve(x.Shape, target, allowZero) is { } r1 && Resolve(x.Shape, original, allowZero) is { } r2 && r1.SequenceEqual(r2);
        return Same(xa, va) && Same(xb, vb) ? target : null;
    }

    private static long[]? Resolve(ReadOnlySpan<int> input, long[] target, bool allowZero)
    {
        var r = (long[])target.Clone();
        long total = 1;
        foreach (var d in input) total *= d;
        long known = 1;
        int infer = -1;
        for (int i = 0; i < r.Length; i++)
        {
            if (r[i] == 0 && !allowZero)
            {
                if (i >= input.Length) return null;
                r[i] = input[i];
            }
            if (r[i] == -1) { if (infer >= 0) return null; infer = i; }
            else if (r[i] < 0) return null;
            else known *= r[i];
        }
        if (infer >= 0)
        {
            if (known == 0 || total % known != 0) return null;
            r[infer] = total / known;
        }
        return r;
    }

    private static Dictionary<string, Tensor> Probe(Graph graph, List<Node> nodes, IOperator[] ops, int dynamicDim)
    {
        var values = new Dictionary<string, Tensor>(graph.Constants, StringComparer.Ordinal);
        foreach (var (name, zeros) in GraphProbe.ZeroInputs(graph, dynamicDim)) values[name] = zeros;
        for (int i = 0; i < nodes.Count; i++)
        {
            var node = nodes[i];
            var inputs = node.Inputs.Select(n => n.Length > 0 ? values[n] : null).ToArray();
            var outputs = new Tensor?[node.Outputs.Count];
            ops[i].Run(inputs, outputs);
            for (int o = 0; o < outputs.Length; o++)
                if (node.Outputs[o].Length > 0 && outputs[o] is { } t) values[node.Outputs[o]] = t;
        }
        return values;
    }

    private static bool SameValue(Tensor a, Tensor b) =>
        a.DataType == b.DataType && a.Shape.SequenceEqual(b.Shape) && a.Contiguous().Bytes().SequenceEqual(b.Contiguous().Bytes());

    /// <summary>The nodes (in graph order) needed to compute <paramref name="targets"/>.</summary>
    private static List<Node> Ancestors(Graph graph, HashSet<string> targets)
    {
        var wanted = new HashSet<string>(targets, StringComparer.Ordinal);
        var keep = new bool[graph.Nodes.Count];
        for (int i = graph.Nodes.Count - 1; i >= 0; i--)
        {
            var node = graph.Nodes[i];
            if (!node.Outputs.Any(wanted.Contains)) continue;
            keep[i] = true;
            foreach (var input in node.Inputs) if (input.Length > 0) wanted.Add(input);
        }
        return graph.Nodes.Where((_, i) => keep[i]).ToList();
    }

    // ── simplification ───────────────────────────────────────────────────────────────────────────

    public static void Simplify(Graph graph)
    {
        foreach (var node in graph.Nodes)
        {
            switch (node.Kind)
            {
                case OpKind.Gemm: GemmToDense(graph, node); break;
                case OpKind.MatMul: MatMulToDense(graph, node); break;
                case OpKind.Gather: GatherToEmbedding(graph, node); break;
            }
        }
        MergeDenseBias(graph);
        MergePadIntoConv(graph);
        DropZeroInitialStates(graph);
    }

    /// <summary>
    /// Zero Pad of the length axis only, read only by a Conv1D without padding of its own: the conv pads
    /// instead (torch exports padding='same' as F.pad + a valid conv).
    /// </summary>
    private static void MergePadIntoConv(Graph graph)
    {
        var graphOutputs = graph.Outputs.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var pad in graph.Nodes.Where(n => n.Kind == OpKind.Pad).ToList())
        {
            string y = pad.Outputs[0];
            if (graphOutputs.Contains(y) || pad.GetString("mode", "constant") != "constant" || pad.HasInput(3)) continue;
            if (pad.HasInput(2) && (Constant(graph, pad.Inputs[2]) is not { } fill || fill.ToDoubleArray().Any(v => v != 0))) continue;
            if (Constant(graph, pad.Input(1)) is not { } padsTensor) continue;
            var pads = padsTensor.ToInt64Array();
            if (pads.Length != 6) continue; // (N, C, L)
            if (pads[0] != 0 || pads[1] != 0 || pads[3] != 0 || pads[4] != 0 || pads[2] < 0 || pads[5] < 0) continue;
            var readers = graph.Nodes.Where(n => n.Inputs.Contains(y)).ToList();
            if (readers.Count != 1 || readers[0] is not { Kind: OpKind.Conv1D } conv || conv.Inputs[0] != y || conv.Inputs.Skip(1).Contains(y)) continue;
            if (conv.GetString("auto_pad", "NOTSET") != "NOTSET" || conv.GetInts("pads") is { } own && own.Any(v => v != 0)) continue;
            conv.Set("pads", new[] { pads[2], pads[5] });
            conv.Inputs[0] = pad.Inputs[0];
            graph.Nodes.Remove(pad);
        }
    }

    /// <summary>
    /// An absent initial state is zeros. torch exports the zeros it did not get as
    /// ConstantOfShape(Concat(layers, Shape(x)[batch], H)), sliced per layer: with a dynamic batch that
    /// glue cannot fold, but the state input can go, and the glue with it.
    /// </summary>
    private static void DropZeroInitialStates(Graph graph)
    {
        foreach (var node in graph.Nodes.Where(n => n.Kind is OpKind.Lstm or OpKind.Gru or OpKind.Rnn))
        {
            int last = node.Kind == OpKind.Lstm ? 6 : 5;
            for (int i = 5; i <= last && i < node.Inputs.Count; i++)
                if (node.Inputs[i].Length > 0 && IsAllZeros(graph, node.Inputs[i], 0)) node.Inputs[i] = "";
        }
    }

    private static bool IsAllZeros(Graph graph, string value, int depth)
    {
        if (depth > 16) return false;
        if (graph.Constants.TryGetValue(value, out var t))
            return t.DataType == DataType.Float32 && t.Contiguous().ReadOnlySpan<float>().IndexOfAnyExcept(0f) < 0;
        if (Producer(graph, value) is not { } p) return false;
        return p.Kind switch
        {
            OpKind.ConstantOfShape => p.GetFloat("value", 0f) == 0f && p.GetInt("dtype", (long)DataType.Float32) == (long)DataType.Float32,
            // Rearranging or selecting zeros gives zeros.
            OpKind.Slice or OpKind.Squeeze or OpKind.Unsqueeze or OpKind.Reshape or OpKind.Transpose or OpKind.Gather
                or OpKind.Expand or OpKind.Identity or OpKind.Flatten => IsAllZeros(graph, p.Inputs[0], depth + 1),
            OpKind.Concat => p.Inputs.All(i => IsAllZeros(graph, i, depth + 1)),
            _ => false,
        };
    }

    private static void GemmToDense(Graph graph, Node node)
    {
        if (node.GetInt("transA", 0) != 0 || Constant(graph, node.Input(1)) is not { DataType: DataType.Float32, Rank: 2 } b) return;
        float alpha = node.GetFloat("alpha", 1f), beta = node.GetFloat("beta", 1f);
        var w = (node.GetInt("transB", 0) != 0 ? b : b.Permute(1, 0)).Clone();
        int outFeatures = w.Shape[0];
        if (alpha != 1f) foreach (ref var v in w.Span<float>()) v *= alpha;

        string bias = "";
        if (node.HasInput(2))
        {
            if (Constant(graph, node.Input(2)) is not { DataType: DataType.Float32 } c) return;
            bool broadcastable = c.Length == 1 || (c.Length == outFeatures && c.Shape[^1] == outFeatures && c.Rank <= 2);
            if (!broadcastable) return;
            var cs = c.Contiguous().ReadOnlySpan<float>();
            var biasData = new float[outFeatures];
            for (int j = 0; j < outFeatures; j++) biasData[j] = beta * cs[c.Length == 1 ? 0 : j];
            bias = FreshName(graph, node.Name + "/bias");
            graph.Constants[bias] = Tensor.FromArray(biasData, outFeatures);
        }
        ToDense(graph, node, w, bias);
    }

    private static void MatMulToDense(Graph graph, Node node)
    {
        if (Constant(graph, node.Input(1)) is not { DataType: DataType.Float32, Rank: 2 } b) return;
        ToDense(graph, node, b.Permute(1, 0).Clone(), "");
    }

    private static void ToDense(Graph graph, Node node, Tensor weight, string bias)
    {
        string w = FreshName(graph, node.Name + "/weight");
        graph.Constants[w] = weight;
        string x = node.Inputs[0];
        node.Kind = OpKind.Dense;
        node.Attributes.Clear();
        node.Inputs.Clear();
        node.Inputs.AddRange(new[] { x, w, bias });
    }

    /// <summary>Dense (no bias) followed by Add of a constant (out,) vector: the vector becomes the bias.</summary>
    private static void MergeDenseBias(Graph graph)
    {
        var graphOutputs = graph.Outputs.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var dense in graph.Nodes.Where(n => n.Kind == OpKind.Dense && !n.HasInput(2)).ToList())
        {
            string y = dense.Outputs[0];
            if (graphOutputs.Contains(y)) continue;
            var readers = graph.Nodes.Where(n => n.Inputs.Contains(y)).ToList();
            if (readers.Count != 1 || readers[0] is not { Kind: OpKind.Add } add || add.Inputs.Count != 2) continue;
            string other = add.Inputs[0] == y ? add.Inputs[1] : add.Inputs[0];
            if (other == y || Constant(graph, dense.Input(1)) is not { } w) continue;
            if (Constant(graph, other) is not { DataType: DataType.Float32, Rank: 1 } bias || bias.Length != w.Shape[0]) continue;
            dense.Inputs[2] = other;
            dense.Outputs[0] = add.Outputs[0];
            graph.Nodes.Remove(add);
        }
    }

    private static void GatherToEmbedding(Graph graph, Node node)
    {
        if (Constant(graph, node.Input(0)) is not { DataType: DataType.Float32, Rank: 2 } || graph.Constants.ContainsKey(node.Input(1))) return;
        long axis = node.GetInt("axis", 0);
        if (axis is not (0 or -2)) return;
        string table = node.Inputs[0], indices = node.Inputs[1];
        node.Kind = OpKind.Embedding;
        node.Attributes.Clear();
        node.Inputs.Clear();
        node.Inputs.AddRange(new[] { indices, table });
    }

    // ── dead nodes ───────────────────────────────────────────────────────────────────────────────

    /// <summary>Removes nodes and constants no graph output depends on; unused recurrent outputs are dropped.</summary>
    public static void RemoveDeadNodes(Graph graph)
    {
        var live = graph.Outputs.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        for (int i = graph.Nodes.Count - 1; i >= 0; i--)
        {
            var node = graph.Nodes[i];
            if (!node.Outputs.Any(live.Contains))
            {
                graph.Nodes.RemoveAt(i);
                continue;
            }
            // Y, Y_h, Y_c of a recurrent layer are optional: an unused Y saves storing every step.
            if (node.Kind is OpKind.Lstm or OpKind.Gru or OpKind.Rnn)
                for (int o = 0; o < node.Outputs.Count; o++)
                    if (!live.Contains(node.Outputs[o])) node.Outputs[o] = "";
            foreach (var input in node.Inputs) if (input.Length > 0) live.Add(input);
        }
        foreach (var name in graph.Constants.Keys.Where(k => !live.Contains(k)).ToList())
            graph.Constants.Remove(name);
    }

    // ── helpers ──────────────────────────────────────────────────────────────────────────────────

    private static Tensor? Constant(Graph graph, string name) =>
        name.Length > 0 && graph.Constants.TryGetValue(name, out var t) ? t : null;

    private static Node? Producer(Graph graph, string value) =>
        value.Length == 0 ? null : graph.Nodes.FirstOrDefault(n => n.Outputs.Contains(value));

    private static void RenameUses(Graph graph, string from, string to)
    {
        foreach (var node in graph.Nodes)
            for (int i = 0; i < node.Inputs.Count; i++)
                if (node.Inputs[i] == from) node.Inputs[i] = to;
    }

    /// <summary>A value name not used by any input, constant or node output of <paramref name="graph"/>.</summary>
    public static string FreshName(Graph graph, string hint)
    {
        var used = new HashSet<string>(graph.Constants.Keys, StringComparer.Ordinal);
        foreach (var i in graph.Inputs) used.Add(i.Name);
        foreach (var n in graph.Nodes) foreach (var o in n.Outputs) used.Add(o);
        string name = hint;
        for (int k = 1; used.Contains(name); k++) name = string.Create(CultureInfo.InvariantCulture, $"{hint}_{k}");
        return name;
    }

    private static void Run(Node node, Action prepareAndRun)
    {
        try
        {
            prepareAndRun();
        }
        catch (EdgeException e) when (!e.Message.Contains($"'{node.Name}'", StringComparison.Ordinal))
        {
            throw new EdgeException($"folding node '{node.Name}' ({node.Kind}): {e.Message}", e);
        }
    }
}
