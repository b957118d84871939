using Edge.Runtime;
using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Quantizer.Import.Onnx;

/// <summary>
/// torch's dynamo exporter (torch 2.x, `dynamo=True`) can declare a graph output with the size it traced
/// the dynamic batch at (1) instead of the symbolic dimension, e.g. input ('batch', 168, 14) and output
/// (1,). ONNX Runtime runs such a model at any batch and only warns that the output's shape differs from
/// the declared one. Edge accepts it the same way: a declared 1 becomes dynamic when, run on zeros at two
/// different sizes of the dynamic input dimensions, that output axis has exactly that size both times
/// (it follows the batch). Any other mismatch is left for the load check to refuse.
/// </summary>
internal static class OnnxTracedOutputShapes
{
    public static void Relax(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        if (!graph.Inputs.Any(i => i.Shape.Any(d => d < 0)) || GraphProbe.ShapesMayDependOnInputValues(graph)) return;
        if (!graph.Outputs.Any(o => o.Shape.Any(d => d == 1))) return;
        Dictionary<string, Tensor> a, b;
        try
        {
            using (AllocationBudget.Limit(GraphProbe.Budget(graph), "the output shape check's budget"))
            {
                var session = new Session(graph, new SessionOptions { Isa = Runtime.Kernels.Isa.Scalar });
                a = session.Run(GraphProbe.ZeroInputs(graph, 2));
                b = session.Run(GraphProbe.ZeroInputs(graph, 3));
            }
        }
#pragma warning disable CA1031 // a graph that cannot run on zeros is not this pass's to report: the load check or the run does
        catch (Exception)
        {
            return;
        }
#pragma warning restore CA1031
        for (int k = 0; k < graph.Outputs.Count; k++)
        {
            var o = graph.Outputs[k];
            if (!a.TryGetValue(o.Name, out var ta) || !b.TryGetValue(o.Name, out var tb)) continue;
            if (ta.Rank != o.Shape.Length || tb.Rank != o.Shape.Length) continue;
            int[] shape = o.Shape.ToArray();
            bool changed = false;
            for (int i = 0; i < shape.Length; i++)
            {
                if (shape[i] == 1 && ta.Shape[i] == 2 && tb.Shape[i] == 3)
                {
                    shape[i] = -1;
                    changed = true;
                }
            }
            if (changed) graph.Outputs[k] = o with { Shape = shape };
        }
    }
}
