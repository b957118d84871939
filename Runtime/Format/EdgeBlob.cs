using System.Text.Json.Nodes;
using Edge.Runtime.Ir;

namespace Edge.Runtime.Format;

// SCAFFOLD: the blob helper replaces this file.
public static class EdgeBlob
{
    public const ushort FormatVersion = 1;

    public static void Write(string path, Graph graph, JsonObject metadata) => throw new NotImplementedException();

    public static void Write(Stream stream, Graph graph, JsonObject metadata) => throw new NotImplementedException();

    public static (Graph Graph, JsonObject Metadata) Read(string path) => throw new NotImplementedException();

    public static (Graph Graph, JsonObject Metadata) Read(ReadOnlySpan<byte> file, string name) => throw new NotImplementedException();
}
