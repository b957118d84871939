using Edge.Runtime;
using Edge.Runtime.Ir;
using Edge.Runtime.Quantization;
using Edge.Runtime.Tensors;

namespace Edge.Quantizer.Quantization;

/// <summary>One weight the quantizer turned into int8, with how much signal it kept.</summary>
internal sealed record QuantizedWeightReport(string Name, string Node, OpKind Kind, int[] Shape, int Rows, double SqnrDb, double MaxAbsError);

/// <summary>
/// Turns the matrix weights of a graph into int8 (docs/format.md, quantization scheme 1): symmetric, one scale
/// per output row, zero point 0, range [-127, 127]. Embedding tables (V, D) too, one scale per row (per
/// token): in a dual encoder or a text model the table is most of the weights, and the runtime gathers
/// int8 rows and dequantizes each by its scale. Biases and everything else stay float32.
/// LocallyConnected1D's W (folds, K*C, F) has one output row per (fold, output feature), which is not a
/// leading axis: it is stored transposed, (folds, F, K*C) with row axis 1, and its nodes get the
/// attribute weight_layout = "folds_out_in", which the runtime honours in fp32 and int8 alike.
/// </summary>
internal static class ModelQuantizer
{
    /// <summary>The LocallyConnected1D attribute and value that mark a W stored (folds, F, K*C).</summary>
    public const string LayoutAttribute = "weight_layout", FoldsOutIn = "folds_out_in";

    /// <summary>Which input of a node kind is a matrix weight, and its row axis (the output-feature axis).</summary>
    private static IEnumerable<(int Input, int Axis, int Rank)> MatrixInputs(OpKind kind) => kind switch
    {
        OpKind.Dense => [(1, 0, 2)],                // W (out, in)
        OpKind.Lstm or OpKind.Gru or OpKind.Rnn => [(1, 1, 3), (2, 1, 3)], // W (dirs, G*H, I), R (dirs, G*H, H): a scale per gate row
        OpKind.Conv1D => [(1, 0, 3)],               // W (M, C/group, K): a scale per output channel
        OpKind.Bilinear => [(2, 0, 2)],             // M (D1, D2): score = c . (M r), a scale per row of M
        OpKind.LocallyConnected1D => [(1, 1, 3)],   // W stored (folds, F, K*C): a scale per (fold, output feature)
        OpKind.Embedding => [(1, 0, 2)],            // table (V, D): a scale per row (a tied Dense W (V, D) agrees)
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
            if (list.Any(u => u.Node.Kind == OpKind.LocallyConnected1D))
            {
                if (list.Any(u => u.Node.Kind != OpKind.LocallyConnected1D)) continue; // one tensor, two layouts

                // Every reader must agree on the layout; a W already stored (folds, F, K*C) is not transposed again.
                bool outIn = list.All(u => u.Node.GetString(LayoutAttribute, "") == FoldsOutIn);
                if (!outIn && list.Any(u => u.Node.GetString(LayoutAttribute, "") == FoldsOutIn)) continue;
                if (!outIn)
                {
                    w = SwapLastAxes(w);
                    foreach (var u in list) u.Node.Set(LayoutAttribute, FoldsOutIn);
                }
            }
            var q = WeightQuantizer.QuantizePerRow(w, list[0].Axis);
            var (sqnr, maxErr) = Compare(w, WeightQuantizer.Dequantize(q));
            graph.Constants.Remove(name);
            graph.QuantizedConstants[name] = q;
            reports.Add(new QuantizedWeightReport(name, list[0].Node.Name, list[0].Node.Kind, w.ShapeArray(), q.Scales.Length, sqnr, maxErr));
        }
        return reports;
    }

    /// <summary>(A, B, C) to (A, C, B), as a new contiguous tensor.</summary>
    private static Tensor SwapLastAxes(Tensor w)
    {
        int a = w.Dim(0), b = w.Dim(1), c = w.Dim(2);
        var src = w.Contiguous().ReadOnlySpan<float>();
        var result = Tensor.Zeros(DataType.Float32, a, c, b);
        var dst = result.Span<float>();
        for (int i = 0; i < a; i++)
            for (int j = 0; j < b; j++)
                for (int k = 0; k < c; k++)
                    dst[(i * c + k) * b + j] = src[(i * b + j) * c + k];
        return result;
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
