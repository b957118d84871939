using Edge.Runtime;
using Edge.Runtime.Ir;
using Edge.Runtime.Quantization;
using Edge.Runtime.Tensors;

namespace Edge.Quantizer.Quantization;

/// <summary>One weight the quantizer turned into int8, with how much signal it kept.</summary>
public sealed record QuantizedWeightReport(string Name, string Node, OpKind Kind, int[] Shape, int Rows, double SqnrDb, double MaxAbsError);

/// <summary>
/// Turns the matrix weights of a graph into int8 (ARCHITECTURE.md, Quantization): symmetric, one scale
/// per output row, zero point 0, range [-127, 127]. Biases, embeddings and everything that is not a
/// matrix product's weight stay float32.
/// </summary>
public static class ModelQuantizer
{
    /// <summary>Which input of a node kind is a matrix weight, and its row axis (the output-feature axis).</summary>
    private static IEnumerable<(int Input, int Axis, int Rank)> MatrixInputs(OpKind kind) => kind switch
    {
        OpKind.Dense => [(1, 0, 2)],                // W (out, in)
        OpKind.Lstm or OpKind.Gru => [(1, 1, 3), (2, 1, 3)], // W (dirs, G*H, I), R (dirs, G*H, H): a scale per gate row
        OpKind.Conv1D => [(1, 0, 3)],               // W (M, C/group, K): a scale per output channel
        OpKind.Bilinear => [(2, 0, 2)],             // M (D1, D2): score = c . (M r), a scale per row of M
        _ => [],
    };

    public static IReadOnlyList<QuantizedWeightReport> QuantizeWeights(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        // A constant is quantized only when every reader uses it as a matrix weight with the same row
        // axis (a tied weight read elsewhere as data stays float32).
        var uses = new Dictionary<string, List<(Node Node, int Axis, int Rank)>>(StringComparer.Ordinal);
        var otherUse = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in graph.Nodes)
        {
            var matrix = MatrixInputs(node.Kind).ToDictionary(m => m.Input);
            for (int i = 0; i < node.Inputs.Count; i++)
            {
                string name = node.Inputs[i];
                if (name.Length == 0 || !graph.Constants.ContainsKey(name)) continue;
                if (matrix.TryGetValue(i, out var m))
                {
                    if (!uses.TryGetValue(name, out var list)) uses[name] = list = new();
                    list.Add((node, m.Axis, m.Rank));
                }
                else otherUse.Add(name);
            }
        }
        var reports = new List<QuantizedWeightReport>();
        foreach (var (name, list) in uses.OrderBy(u => u.Key, StringComparer.Ordinal))
        {
            var w = graph.Constants[name];
            if (otherUse.Contains(name) || w.DataType != DataType.Float32 || list.Any(u => u.Axis != list[0].Axis || u.Rank != w.Rank)) continue;
            if (graph.Outputs.Any(o => o.Name == name)) continue;
            var q = WeightQuantizer.QuantizePerRow(w, list[0].Axis);
            var (sqnr, maxErr) = Compare(w, WeightQuantizer.Dequantize(q));
            graph.Constants.Remove(name);
            graph.QuantizedConstants[name] = q;
            reports.Add(new QuantizedWeightReport(name, list[0].Node.Name, list[0].Node.Kind, w.ShapeArray(), q.Scales.Length, sqnr, maxErr));
        }
        return reports;
    }

    /// <summary>Signal-to-quantization-noise ratio in dB (infinite for an exact copy) and the largest absolute error.</summary>
    public static (double SqnrDb, double MaxAbsError) Compare(Tensor reference, Tensor approx)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(approx);
        if (reference.Length != approx.Length) throw new EdgeException($"cannot compare {reference.ShapeString} with {approx.ShapeString}");
        var a = reference.Contiguous().ReadOnlySpan<float>();
        var b = approx.Contiguous().ReadOnlySpan<float>();
        double signal = 0, noise = 0, maxErr = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = (double)a[i] - b[i];
            signal += (double)a[i] * a[i];
            noise += d * d;
            maxErr = Math.Max(maxErr, Math.Abs(d));
        }
        double sqnr = noise == 0 ? double.PositiveInfinity : 10 * Math.Log10(signal / noise);
        return (sqnr, maxErr);
    }
}
