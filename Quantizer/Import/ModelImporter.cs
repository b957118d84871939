using Edge.Quantizer.Import.Onnx;
using Edge.Runtime;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Quantizer.Import;

/// <summary>Picks the importer for a model file by its extension (and, for ambiguous files, its first bytes).</summary>
public static class ModelImporter
{
    public static readonly string[] SupportedExtensions = [".onnx"];

    public static Graph Import(string path, IReadOnlyDictionary<string, Tensor>? frozenInputs = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new EdgeException($"{path}: no such file");
        string ext = Path.GetExtension(path).ToLowerInvariant();
        return ext switch
        {
            ".onnx" => OnnxImporter.Import(path, frozenInputs),
            ".pt" or ".pth" or ".safetensors" or ".h5" or ".keras" => throw new EdgeException(
                $"{path}: {ext} models are not supported by this version yet; export to ONNX (torch.onnx.export or tf2onnx) and convert the .onnx file"),
            ".edge" => throw new EdgeException($"{path}: this is already an .edge blob; 'edge-quantize inspect' shows it"),
            _ => throw new EdgeException($"{path}: unknown model format '{ext}'; supported: {string.Join(", ", SupportedExtensions)}"),
        };
    }
}
