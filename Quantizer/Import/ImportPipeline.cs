using Edge.Runtime;
using Edge.Runtime.Format;
using Edge.Runtime.Ir;

namespace Edge.Quantizer.Import;

/// <summary>
/// The path every format takes after its front end (ONNX converter, Keras graph builder, PyTorch spec
/// builder) has translated the file into IR: <see cref="GraphOptimizer.Optimize"/> once, then
/// <see cref="Graph.Validate"/>. It is the only place the optimizer runs on an imported graph, so each
/// format gets the same folding, simplification and dead-node removal.
/// </summary>
internal static class ImportPipeline
{
    /// <summary>
    /// Optimizes and validates <paramref name="graph"/> in place and returns it. With <paramref name="source"/>,
    /// a refusal that does not name the file yet is prefixed with it (folding and validation know nodes,
    /// not files); the exception keeps its type.
    /// </summary>
    public static Graph Finish(Graph graph, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        try
        {
            GraphOptimizer.Optimize(graph);
            graph.Validate();
        }
        catch (EdgeException e) when (source is not null && !e.Message.Contains(source, StringComparison.Ordinal))
        {
            string message = $"'{source}': {MessageText.Printable(e.Message, 1000)}";
            throw e switch
            {
                UnsupportedModelException => new UnsupportedModelException(message, e),
                EdgeFormatException => new EdgeFormatException(message, e),
                _ => new EdgeException(message, e),
            };
        }
        return graph;
    }
}
