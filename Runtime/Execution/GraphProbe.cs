using System.Globalization;
using Edge.Runtime.Format;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Execution;

/// <summary>
/// Runs a graph once on zero inputs with the runtime's own operators, to learn what its nodes produce:
/// the importer's shape folding probes with it (GraphOptimizer), and a `.edge` file's declared output
/// shapes are checked against it at load (<see cref="CheckDeclaredShapes"/>). The operators are the
/// shape inference: there is no second description of each op's shapes to drift from what runs.
/// </summary>
internal static class GraphProbe
{
    /// <summary>What a dynamic (-1) input dimension becomes in the load check.</summary>
    public const int DynamicDimension = 2;

    /// <summary>Bytes every load check may allocate, whatever the weights (<see cref="Budget"/>).</summary>
    public const long FloorBytes = 64L << 20;

    /// <summary>Zero tensors for the graph's inputs, dynamic dimensions set to <paramref name="dynamicDim"/>.</summary>
    public static Dictionary<string, Tensor> ZeroInputs(Graph graph, int dynamicDim)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var values = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var input in graph.Inputs)
            values[input.Name] = Tensor.Zeros(input.DataType, input.Shape.Select(d => d < 0 ? dynamicDim : d).ToArray());
        return values;
    }

    /// <summary>What the load check may allocate: 64 MiB + 4 x the bytes of the graph's weights.</summary>
    public static long Budget(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        long weights = graph.Constants.Values.Sum(t => (long)t.Length * t.DataType.SizeOf())
            + graph.QuantizedConstants.Values.Sum(q => (long)q.Values.Length * 4); // as fp32 if dequantized
        return FloorBytes + 4 * weights;
    }

    /// <summary>
    /// True when an integer graph input is read other than as the indices of an Embedding or Gather: it may be
    /// a shape, axes, starts or repeats (ONNX's Reshape, Slice, Tile, Unsqueeze take them as inputs), so what
    /// the nodes produce from zeros says nothing about what they produce from the real values. Indices
    /// decide values, not shapes.
    /// </summary>
    public static bool ShapesMayDependOnInputValues(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var integers = graph.Inputs.Where(i => i.DataType != DataType.Float32).Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        if (integers.Count == 0) return false;
        foreach (var n in graph.Nodes)
            for (int k = 0; k < n.Inputs.Count; k++)
                if (integers.Contains(n.Inputs[k]) && !(n.Kind == OpKind.Embedding && k == 0) && !(n.Kind == OpKind.Gather && k == 1))
                    return true;
        return false;
    }

    /// <summary>
    /// Runs the graph on zeros of its declared input shapes (dynamic dimensions = <see cref="DynamicDimension"/>)
    /// and checks that every graph output has its declared element type, rank and fixed dimensions (a
    /// declared -1 matches any size). Throws <see cref="EdgeException"/> naming the node and the value on a
    /// mismatch, and when a graph whose inputs are all fixed cannot run at its declared shapes. Inconclusive
    /// (no exception) when the run would pass <see cref="Budget"/>, or fails while some input dimension is
    /// dynamic (a Conv1D over a dynamic time axis needs more steps than the probe has): such a graph is
    /// checked when it runs, as before; and skipped when <see cref="ShapesMayDependOnInputValues"/>.
    /// </summary>
    public static void CheckDeclaredShapes(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        if (ShapesMayDependOnInputValues(graph)) return;
        bool dynamic = graph.Inputs.Any(i => i.Shape.Any(d => d < 0));
        Dictionary<string, Tensor> produced;
        long budget = Budget(graph);
        try
        {
            using (AllocationBudget.Limit(budget, "the load check's budget"))
            {
                var session = new Session(graph, new SessionOptions { Isa = Kernels.Isa.Scalar });
                produced = session.Run(ZeroInputs(graph, DynamicDimension));
            }
        }
        catch (EdgeFormatException e) when (e.Message.Contains("the load check's budget", StringComparison.Ordinal))
        {
            return; // a large model: its shapes are checked when it runs
        }
        catch (EdgeException e)
        {
            if (dynamic) return;
            throw new EdgeException($"the graph cannot run on inputs of its declared shapes ({string.Join(", ", graph.Inputs)}): {e.Message}", e);
        }
#pragma warning disable CA1031 // an operator's own failure on zeros is not this check's to report; running the graph reports it
        catch (Exception)
        {
            return;
        }
#pragma warning restore CA1031

        foreach (var o in graph.Outputs)
        {
            var t = produced[o.Name];
            bool ok = t.DataType == o.DataType && t.Rank == o.Shape.Length;
            for (int i = 0; ok && i < o.Shape.Length; i++) ok = o.Shape[i] < 0 || o.Shape[i] == t.Shape[i];
            if (ok) continue;
            var producer = graph.Nodes.LastOrDefault(n => n.Outputs.Contains(o.Name));
            string who = producer is not null ? $"node '{MessageText.Printable(producer.Name)}' ({producer.Kind})"
                : graph.Constants.ContainsKey(o.Name) || graph.QuantizedConstants.ContainsKey(o.Name) ? "a constant" : "a graph input";
            string probe = dynamic ? string.Create(CultureInfo.InvariantCulture, $" (dynamic input dimensions set to {DynamicDimension})") : "";
            throw new EdgeException(
                $"{who} produces graph output '{MessageText.Printable(o.Name)}' as {t.DataType.Name()}{t.ShapeString}{probe}, but the graph declares {o.DataType.Name()}{o.ShapeString}");
        }
    }
}
