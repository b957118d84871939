using System.Globalization;
using Edge.Runtime;
using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Quantizer.Import.Onnx;

/// <summary>
/// `torch.onnx.export` without `dynamic_axes` fixes every axis at the example's size, the batch included
/// (`x (4, 24, 6)`), and a stream runs batch 1. For a recurrent graph whose inputs all share one fixed
/// batch size B on one axis, the import makes that axis dynamic when the graph allows it:
/// <list type="bullet">
/// <item>Reshape shapes that bake B as their first entry are rewritten to 0 (ONNX's "copy that input
///   axis"), so that `x.reshape(B, -1)` follows the batch;</item>
/// <item>then the graph is run on made-up inputs at batch B as exported, and relaxed at batch 1 and B + 1:
///   every output must have exactly one axis that follows the batch, and each row must equal the
///   exported graph's row (the batch rows do not mix) to 1e-4. Only then are the inputs' and outputs'
///   batch axes made dynamic.</item>
/// </list>
/// Otherwise the graph is left exactly as it was (it still runs at batch B), and <see cref="Result.Refusal"/>
/// says why and what to re-export.
/// </summary>
internal static class OnnxBatchRelaxation
{
    /// <summary>What happened: <see cref="Relaxed"/> with the batch axis and the size it was fixed at, or why not (null when nothing was fixed).</summary>
    internal sealed record Result(bool Relaxed, int Axis, int FixedBatch, string? Refusal);

    private const double Tolerance = 1e-4;

    public static Result Relax(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        // Only graphs with every input axis fixed (an export without dynamic_axes): a graph with a dynamic
        // axis says which axes its author meant to vary.
        if (graph.Inputs.Count == 0 || !graph.Nodes.Any(n => n.Kind is OpKind.Lstm or OpKind.Gru or OpKind.Rnn)
            || graph.Inputs.Any(i => i.Shape.Any(d => d < 0)))
            return new Result(false, -1, 0, null);
        // Batch-first (N, T, F) first, then sequence-first (T, N, F) as nn.LSTM/nn.GRU take by default.
        var reasons = new List<string>();
        foreach (int axis in new[] { 0, 1 })
        {
            int batch = FixedBatch(graph, axis);
            if (batch < 0) continue;
            // The made-up runs are bounded like the load check: a hostile graph (a Tile or Expand sized by
            // its input) must not allocate gigabytes here before that check refuses it.
            string? why;
            using (AllocationBudget.Limit(GraphProbe.Budget(graph), "the batch check's budget"))
                why = TryAxis(graph, axis, batch);
            if (why is null) return new Result(true, axis, batch, null);
            reasons.Add(why);
        }
        if (reasons.Count == 0) return new Result(false, -1, 0, null);
        var first = graph.Inputs[0];
        string dynamicAxes = string.Join(", ", graph.Inputs.Select(i => $"'{i.Name}': {{0: 'batch'}}")
            .Concat(graph.Outputs.Select(o => $"'{o.Name}': {{0: 'batch'}}")));
        return new Result(false, -1, first.Shape.Length > 0 ? first.Shape[0] : 0,
            $"input '{first.Name}' {first.ShapeString} was exported with a fixed batch, and the graph does not run row by row at another batch " +
            $"({reasons[0]}); re-export with torch.onnx.export(..., dynamic_axes={{{dynamicAxes}}}) (the axis that holds the batch)");
    }

    /// <summary>The size every input has on <paramref name="axis"/> when it is fixed and the same for all, else -1.</summary>
    private static int FixedBatch(Graph graph, int axis)
    {
        int batch = -1;
        foreach (var i in graph.Inputs)
        {
            if (i.Shape.Length < 2 || axis >= i.Shape.Length || i.Shape[axis] <= 0) return -1;
            if (batch >= 0 && i.Shape[axis] != batch) return -1;
            batch = i.Shape[axis];
        }
        return batch;
    }

    /// <returns>null when the graph was relaxed on <paramref name="axis"/>; else why not (the graph is unchanged).</returns>
    private static string? TryAxis(Graph graph, int axis, int batch)
    {
        var feedsB = MadeUpInputs(graph, axis, batch + 1);
        Dictionary<string, Tensor> exported;
        try
        {
            exported = new Session(graph).Run(feedsB.ToDictionary(kv => kv.Key, kv => Take(kv.Value, axis, batch), StringComparer.Ordinal));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Whatever stops the made-up run stops the relaxation, never the import.
            return $"it does not run at its own batch {batch}: {e.Message}";
        }

        var originalInputs = graph.Inputs.ToList();
        var originalOutputs = graph.Outputs.ToList();
        var rewritten = RewriteReshapes(graph, axis, batch);
        for (int k = 0; k < graph.Inputs.Count; k++)
        {
            var s = graph.Inputs[k].Shape.ToArray();
            s[axis] = ValueInfo.Dynamic;
            graph.Inputs[k] = graph.Inputs[k] with { Shape = s };
        }
        string? why;
        try
        {
            why = Check(graph, axis, batch, feedsB, exported);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A shape the graph cannot take at another batch (a baked-in batch size): the import goes on unrelaxed.
            why = e.Message;
        }
        if (why is null) return null;

        // Undo: the graph stays exactly as imported.
        for (int k = 0; k < originalInputs.Count; k++) graph.Inputs[k] = originalInputs[k];
        for (int k = 0; k < originalOutputs.Count; k++) graph.Outputs[k] = originalOutputs[k];
        foreach (var (node, oldShape, newShape) in rewritten)
        {
            node.Inputs[1] = oldShape;
            graph.Constants.Remove(newShape);
        }
        return why;
    }

    /// <summary>Runs the relaxed graph at batch 1 and B + 1 and compares row by row; sets the outputs' batch axes. Null when it holds.</summary>
    private static string? Check(Graph graph, int axis, int batch, Dictionary<string, Tensor> feedsB1, Dictionary<string, Tensor> exported)
    {
        var session = new Session(graph);
        var one = session.Run(feedsB1.ToDictionary(kv => kv.Key, kv => Take(kv.Value, axis, 1), StringComparer.Ordinal));
        var more = session.Run(feedsB1);
        for (int k = 0; k < graph.Outputs.Count; k++)
        {
            var o = graph.Outputs[k];
            var (e, a1, a2) = (exported[o.Name], one[o.Name], more[o.Name]);
            int outAxis = -1;
            for (int d = 0; d < e.Rank && e.Rank == a1.Rank && e.Rank == a2.Rank; d++)
            {
                if (e.Shape[d] == a1.Shape[d] && e.Shape[d] == a2.Shape[d]) continue;
                if (outAxis >= 0 || e.Shape[d] != batch || a1.Shape[d] != 1 || a2.Shape[d] != batch + 1) { outAxis = -2; break; }
                outAxis = d;
            }
            if (outAxis < 0)
                return $"output '{o.Name}' is {Shape(e)} at batch {batch}, {Shape(a1)} at batch 1 and {Shape(a2)} at batch {batch + 1}: no single axis follows the batch";
            if (Mismatch(e, Take(a2, outAxis, batch)) is { } m1)
                return $"output '{o.Name}' at batch {batch + 1} differs from the exported graph at {m1}";
            if (Mismatch(Take(e, outAxis, 1), a1) is { } m2)
                return $"output '{o.Name}' at batch 1 differs from row 0 of the exported graph at {m2}";
            if (e.DataType != a1.DataType) return $"output '{o.Name}' changes type with the batch";
            var s = o.Shape.ToArray();
            if (s.Length == e.Rank)
            {
                s[outAxis] = ValueInfo.Dynamic;
                graph.Outputs[k] = o with { Shape = s };
            }
        }
        return null;
    }

    /// <summary>Reshape shapes (constants) whose entry on the batch axis is the fixed batch, on the batch-first axis 0, become 0 (copy).</summary>
    private static List<(Node Node, string OldShape, string NewShape)> RewriteReshapes(Graph graph, int axis, int batch)
    {
        var done = new List<(Node, string, string)>();
        if (axis != 0) return done;
        foreach (var n in graph.Nodes.Where(n => n.Kind == OpKind.Reshape && n.HasInput(1) && n.GetInt("allowzero", 0) == 0))
        {
            if (!graph.Constants.TryGetValue(n.Inputs[1], out var shape) || shape.DataType != DataType.Int64 || shape.Length == 0) continue;
            var dims = shape.ToInt64Array();
            if (dims[0] != batch) continue;
            dims[0] = 0;
            string name = n.Inputs[1] + ".batch_relaxed";
            for (int i = 2; graph.Constants.ContainsKey(name) || graph.QuantizedConstants.ContainsKey(name); i++)
                name = $"{n.Inputs[1]}.batch_relaxed{i.ToString(CultureInfo.InvariantCulture)}";
            graph.Constants[name] = Tensor.FromArray(dims, shape.ShapeArray());
            done.Add((n, n.Inputs[1], name));
            n.Inputs[1] = name;
        }
        return done;
    }

    /// <summary>Deterministic inputs at <paramref name="batch"/> on <paramref name="axis"/>: floats in [-1, 1), integers 0 (a valid token id or index).</summary>
    private static Dictionary<string, Tensor> MadeUpInputs(Graph graph, int axis, int batch)
    {
        var rng = new Random(1414);
        var feeds = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var i in graph.Inputs)
        {
            var shape = i.Shape.ToArray();
            shape[axis] = batch;
            var t = Tensor.Zeros(i.DataType, shape);
            if (i.DataType == DataType.Float32)
            {
                var span = t.Span<float>();
                for (int k = 0; k < span.Length; k++) span[k] = (float)(rng.NextDouble() * 2 - 1);
            }
            feeds[i.Name] = t;
        }
        return feeds;
    }

    /// <summary>The first <paramref name="count"/> entries of <paramref name="t"/> along <paramref name="axis"/>.</summary>
    private static Tensor Take(Tensor t, int axis, int count)
    {
        var shape = t.ShapeArray();
        int outer = 1, inner = t.DataType.SizeOf();
        for (int d = 0; d < axis; d++) outer *= shape[d];
        for (int d = axis + 1; d < shape.Length; d++) inner *= shape[d];
        int size = shape[axis];
        shape[axis] = count;
        var result = Tensor.Zeros(t.DataType, shape);
        var src = t.Bytes();
        var dst = result.WritableBytes();
        for (int o = 0; o < outer; o++)
            src.Slice(o * size * inner, count * inner).CopyTo(dst.Slice(o * count * inner, count * inner));
        return result;
    }

    /// <summary>Null when equal to <see cref="Tolerance"/> (absolute plus relative), else where they differ.</summary>
    private static string? Mismatch(Tensor expected, Tensor actual)
    {
        if (!expected.Shape.SequenceEqual(actual.Shape)) return $"shape {Shape(actual)} vs {Shape(expected)}";
        var a = expected.ToDoubleArray();
        var b = actual.ToDoubleArray();
        for (int k = 0; k < a.Length; k++)
        {
            bool bothNaN = double.IsNaN(a[k]) && double.IsNaN(b[k]);
            if (!bothNaN && !(Math.Abs(a[k] - b[k]) <= Tolerance + Tolerance * Math.Abs(a[k])))
                return string.Create(CultureInfo.InvariantCulture, $"element {k}: {b[k]:G6} vs {a[k]:G6}");
        }
        return null;
    }

    private static string Shape(Tensor t) => "(" + string.Join(", ", t.ShapeArray()) + (t.Rank == 1 ? ",)" : ")");
}
