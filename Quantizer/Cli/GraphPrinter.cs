using System.Globalization;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Quantizer;

/// <summary>Human-readable listing of an IR graph, for `edge-quantize inspect`.</summary>
internal static class GraphPrinter
{
    public static void Print(Graph graph, TextWriter w)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(w);
        var inv = CultureInfo.InvariantCulture;
        w.WriteLine($"graph '{graph.Name}'");
        w.WriteLine("inputs:");
        foreach (var i in graph.Inputs) w.WriteLine($"  {i}");
        w.WriteLine("outputs:");
        foreach (var o in graph.Outputs) w.WriteLine($"  {o}");
        w.WriteLine($"nodes ({graph.Nodes.Count}):");
        foreach (var n in graph.Nodes)
        {
            var attrs = n.Attributes.Count == 0 ? "" : "  {" + string.Join(", ", n.Attributes.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => $"{a.Key}={a.Value}")) + "}";
            w.WriteLine($"  {n}{attrs}");
        }
        long bytes = graph.Constants.Values.Sum(t => (long)t.Length * t.DataType.SizeOf());
        w.WriteLine($"fp32/int constants ({graph.Constants.Count}):");
        foreach (var (name, t) in graph.Constants.OrderBy(c => c.Key, StringComparer.Ordinal))
            w.WriteLine($"  {name}: {t.DataType.Name()}{t.ShapeString}");
        if (graph.QuantizedConstants.Count > 0)
        {
            w.WriteLine($"int8 weights ({graph.QuantizedConstants.Count}):");
            foreach (var (name, q) in graph.QuantizedConstants.OrderBy(c => c.Key, StringComparer.Ordinal))
            {
                w.WriteLine($"  {name}: int8{q.Values.ShapeString}, {q.Scales.Length} row scales (row axis {q.Axis})");
                bytes += q.Values.Length + 4L * q.Scales.Length;
            }
        }
        w.WriteLine($"parameters: {graph.ParameterCount.ToString("N0", inv)} ({bytes.ToString("N0", inv)} bytes of constants)");
        var byKind = graph.Nodes.GroupBy(n => n.Kind).OrderBy(g => g.Key.ToString(), StringComparer.Ordinal).Select(g => $"{g.Key} x{g.Count()}");
        w.WriteLine($"ops: {string.Join(", ", byKind)}");
    }
}
