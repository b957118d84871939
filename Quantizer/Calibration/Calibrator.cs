using System.Globalization;
using System.Numerics.Tensors;
using System.Text.Json.Nodes;
using Edge.Quantizer.Report;
using Edge.Runtime;
using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Quantizer.Calibration;

/// <summary>The largest |value| seen on the activation that enters one matrix-bearing node.</summary>
internal sealed record ActivationRange(string Node, OpKind Kind, string Value, float AbsMax);

/// <summary>
/// Static activation ranges from calibration data (docs/architecture.md, Quantization): runs the fp32
/// graph over the data and records, per tensor, the max |x| of every activation that enters a
/// matrix product (Dense X, Lstm/Gru X, Conv1D X, LocallyConnected1D X, Bilinear C). Stored on the
/// node as float attribute <see cref="AttributeName"/>, so int8 execution can use the static scale
/// absmax / 127 instead of measuring each vector at run time. Recurrent state gets none: |h| &lt;= 1
/// for tanh-bounded cells, which the math already gives.
/// </summary>
internal static class Calibrator
{
    public const string AttributeName = "input_absmax";

    /// <summary>
    /// Which input of a node is the activation entering its matrix product. Bilinear's C: the int8 path
    /// multiplies C by M (once per context when Nc = 1); R only meets the fp32 result in a dot product.
    /// </summary>
    public static int? ActivationInput(OpKind kind) => kind switch
    {
        OpKind.Dense or OpKind.Lstm or OpKind.Gru or OpKind.Rnn or OpKind.Conv1D or OpKind.LocallyConnected1D or OpKind.Bilinear => 0,
        _ => null,
    };

    /// <summary>Measures the ranges over <paramref name="data"/> (fp32 graph) and stores them on the nodes.</summary>
    public static IReadOnlyList<ActivationRange> Calibrate(Graph graph, ModelData data, int batchSize, TextWriter? progress = null)
    {
        var ranges = Measure(graph, data, batchSize, progress);
        foreach (var r in ranges)
            graph.Nodes.First(n => n.Name == r.Node).Set(AttributeName, r.AbsMax);
        return ranges;
    }

    /// <summary>Runs <paramref name="graph"/> (fp32) over the data in batches and returns the max |x| per probed activation.</summary>
    public static IReadOnlyList<ActivationRange> Measure(Graph graph, ModelData data, int batchSize, TextWriter? progress = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(data);
        var probes = new List<(Node Node, string Value)>();
        foreach (var node in graph.Nodes)
        {
            if (ActivationInput(node.Kind) is not int i || !node.HasInput(i)) continue;
            string value = node.Input(i);
            if (graph.Constants.ContainsKey(value) || graph.QuantizedConstants.ContainsKey(value)) continue; // a folded constant has no run-time range
            probes.Add((node, value));
        }
        if (probes.Count == 0) return [];

        var session = new Session(WithExtraOutputs(graph, probes.Select(p => p.Value)));
        var absMax = new Dictionary<string, float>(StringComparer.Ordinal);
        foreach (var p in probes) absMax[p.Value] = 0f;
        var bar = new ConsoleProgress(progress, "calibrating", data.Count);
        foreach (var (start, count) in Windowing.Batches(data.Count, data.RunBatch(batchSize)))
        {
            var outputs = session.Run(data.Batch(start, count));
            foreach (var value in absMax.Keys.ToList())
            {
                var t = outputs[value];
                if (t.DataType != DataType.Float32 || t.Length == 0) continue;
                float m = Math.Abs(TensorPrimitives.MaxMagnitude(t.Contiguous().ReadOnlySpan<float>()));
                if (!float.IsFinite(m))
                    throw new EdgeException($"calibration: the activation '{value}' is not finite on samples {start}..{start + count - 1}; check the data's normalization");
                absMax[value] = Math.Max(absMax[value], m);
            }
            bar.Report(start + count);
        }
        bar.Done();
        return probes.Select(p => new ActivationRange(p.Node.Name, p.Node.Kind, p.Value, absMax[p.Value])).ToList();
    }

    /// <summary>The summary stored in the blob's metadata (provenance.calibration).</summary>
    public static JsonObject Summary(ModelData data, IReadOnlyList<ActivationRange> ranges, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(ranges);
        var s = data.Summary();
        s["batch_size"] = batchSize;
        s["statistic"] = "per-tensor max |x| of each activation entering a matrix product (node attribute " + AttributeName + ")";
        s["activations"] = new JsonArray(ranges.Select(r => (JsonNode)new JsonObject
        {
            ["node"] = r.Node,
            ["kind"] = r.Kind.ToString(),
            ["value"] = r.Value,
            ["absmax"] = r.AbsMax,
        }).ToArray());
        return s;
    }

    /// <summary>A graph that shares <paramref name="graph"/>'s nodes and constants but also outputs <paramref name="values"/>.</summary>
    internal static Graph WithExtraOutputs(Graph graph, IEnumerable<string> values)
    {
        var g = new Graph { Name = graph.Name };
        g.Inputs.AddRange(graph.Inputs);
        g.Outputs.AddRange(graph.Outputs);
        g.Nodes.AddRange(graph.Nodes);
        foreach (var (k, v) in graph.Constants) g.Constants[k] = v;
        foreach (var (k, v) in graph.QuantizedConstants) g.QuantizedConstants[k] = v;
        foreach (var v in values.Distinct(StringComparer.Ordinal))
            if (!g.Outputs.Any(o => o.Name == v)) g.Outputs.Add(new ValueInfo(v, DataType.Float32, []));
        return g;
    }

    /// <summary>
    /// A copy of the graph's nodes and constant table (tensors shared, never written), so quantizing
    /// one leaves the other an fp32 baseline.
    /// </summary>
    public static Graph Snapshot(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var g = WithExtraOutputs(graph, []);
        for (int i = 0; i < g.Nodes.Count; i++)
        {
            var n = g.Nodes[i];
            var copy = new Node(n.Kind, n.Name, n.Inputs, n.Outputs);
            foreach (var (k, v) in n.Attributes) copy.Attributes[k] = v;
            g.Nodes[i] = copy;
        }
        return g;
    }

    public static string Describe(IReadOnlyList<ActivationRange> ranges) =>
        string.Join(", ", ranges.Select(r => string.Create(CultureInfo.InvariantCulture, $"{r.Node} {r.AbsMax:G4}")));
}
