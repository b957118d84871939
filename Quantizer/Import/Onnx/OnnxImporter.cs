using Edge.Runtime.Format;
using Edge.Runtime;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;
using Google.Protobuf;
using Onnx;

namespace Edge.Quantizer.Import.Onnx;

/// <summary>
/// Imports an ONNX model (opsets 1-17 of the default domain; what torch.onnx.export and tf2onnx emit for
/// Edge's models) into the Edge IR: converts each node (recurrent gates into the IR's order), then hands the graph to
/// <see cref="ImportPipeline"/>, which folds constant and shape glue away.
/// </summary>
internal static class OnnxImporter
{
    /// <summary>
    /// Reads <paramref name="path"/>, and the external data files its tensors name in its folder
    /// (<see cref="OnnxExternalData"/>). <paramref name="frozenInputs"/> turns graph inputs into constants
    /// (the CLI's --freeze NAME=FILE.npy). Throws <see cref="EdgeException"/> naming the file for malformed
    /// files and <see cref="UnsupportedModelException"/> for ops, attributes or types Edge lacks.
    /// </summary>
    public static Graph Import(string path, IReadOnlyDictionary<string, Tensor>? frozenInputs = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EdgeException($"cannot read ONNX model '{path}': {MessageText.Printable(e.Message, 200)}", e);
        }
        var model = Parse(bytes, path);
        if (OnnxExternalData.Any(model))
        {
            try { OnnxExternalData.Resolve(model, path); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new EdgeException($"{Path.GetFileName(path)}: cannot read its external data: {MessageText.Printable(e.Message, 200)}", e);
            }
        }
        return Import(model, path, frozenInputs);
    }

    /// <summary>Imports a model held in memory; <paramref name="name"/> names it in messages. External data cannot be read from memory (refused).</summary>
    public static Graph Import(ReadOnlySpan<byte> file, string name, IReadOnlyDictionary<string, Tensor>? frozenInputs = null) =>
        Import(Parse(file, name), name, frozenInputs);

    private static ModelProto Parse(ReadOnlySpan<byte> file, string name)
    {
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(file);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new EdgeException($"'{name}' is not an ONNX model (protobuf parse failed: {MessageText.Printable(e.Message, 200)})", e);
        }
        // Protobuf accepts many byte strings that are not models (an empty file, some text): an ONNX
        // model has an IR version and a graph.
        if (model.Graph is null || model.IrVersion <= 0)
            throw new EdgeException($"'{name}' is not an ONNX model (no IR version or graph)");
        return model;
    }

    internal static Graph Import(ModelProto model, string name, IReadOnlyDictionary<string, Tensor>? frozenInputs)
    {
        long opset = -1;
        foreach (var o in model.OpsetImport)
            if (o.Domain is "" or "ai.onnx") opset = Math.Max(opset, o.Version);
        var otherDomains = model.OpsetImport.Select(o => o.Domain).Where(d => d is not ("" or "ai.onnx")).Distinct().ToList();
        if (opset < 0 && otherDomains.Count > 0)
            throw new UnsupportedModelException(
                $"'{name}' uses only the operator domain(s) {string.Join(", ", otherDomains.Select(d => $"'{d}'"))}; Edge supports the default ONNX domain");
        if (opset < 0)
            throw new EdgeException($"'{name}' declares no opset for the default ONNX domain (opset_import)");

        var graph = new OnnxGraphConverter(model.Graph, name, opset, frozenInputs).Convert();
        if (!string.IsNullOrEmpty(model.Graph.Name)) graph.Name = model.Graph.Name;
        ImportPipeline.Finish(graph, name);
        // A fixed-batch export (no dynamic_axes) of a recurrent model: make the batch dynamic where the graph allows.
        OnnxBatchRelaxation.Relax(graph);
        // A dynamo export that declares an output at its traced batch of 1: the axis follows the dynamic batch.
        OnnxTracedOutputShapes.Relax(graph);
        return graph;
    }
}
