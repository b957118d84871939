using System.Text.Json.Nodes;
using Edge.Runtime.Execution;
using Edge.Runtime.Format;
using Edge.Runtime.Ir;
using Edge.Runtime.Streaming;

namespace Edge.Runtime;

/// <summary>A model loaded from a `.edge` blob: its graph and metadata. Create sessions to run it.</summary>
public sealed class EdgeModel
{
    internal EdgeModel(Graph graph, JsonObject metadata)
    {
        Graph = graph;
        Metadata = metadata;
    }

    internal Graph Graph { get; }

    /// <summary>The blob's metadata section (model name, inputs/outputs, provenance, ...), as JSON.</summary>
    public JsonObject Metadata { get; }

    /// <summary>Reads and validates a `.edge` file. Throws <see cref="EdgeFormatException"/> naming the section at fault.</summary>
    public static EdgeModel Load(string path)
    {
        var (graph, metadata) = EdgeBlob.Read(path);
        return new EdgeModel(graph, metadata);
    }

    /// <summary>A session over the graph; <paramref name="options"/> picks the kernel set (null: <c>EDGE_ISA</c> or the best).</summary>
    public Session CreateSession(SessionOptions? options = null) => new(Graph, options);

    /// <summary>
    /// A streaming session: push one sample at a time, get forecasts once the window is full (see
    /// <see cref="ForecastStream"/>). Options left unset come from the metadata, else from the graph.
    /// </summary>
    public ForecastStream CreateStream(StreamOptions? options = null) => ForecastStream.Create(this, options ?? new StreamOptions());
}
