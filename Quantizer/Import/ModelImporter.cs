using Edge.Quantizer.Import.Keras;
using Edge.Quantizer.Import.Onnx;
using Edge.Quantizer.Import.PyTorch;
using Edge.Runtime;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Quantizer.Import;

/// <summary>Picks the importer for a model file by its extension.</summary>
internal static class ModelImporter
{
    public static readonly string[] SupportedExtensions = [".onnx", .. PyTorchImporter.Extensions, ".h5", ".keras"];

    /// <param name="path">the model file</param>
    /// <param name="frozenInputs">graph inputs to turn into constants (ONNX graphs that take weights as inputs)</param>
    /// <param name="specPath">the architecture of a PyTorch state_dict (docs/spec.md); required for .pt/.pth/.safetensors</param>
    /// <param name="log">progress notes</param>
    public static Graph Import(string path, IReadOnlyDictionary<string, Tensor>? frozenInputs = null, string? specPath = null, TextWriter? log = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new EdgeException($"{path}: no such file");
        string ext = Path.GetExtension(path).ToLowerInvariant();
        bool isPyTorch = PyTorchImporter.Extensions.Contains(ext);
        if (specPath is not null && !isPyTorch)
            throw new EdgeException($"--spec describes a PyTorch state_dict; {path} is a {ext} model, which carries its own architecture");
        if (frozenInputs is { Count: > 0 } && ext != ".onnx")
            throw new EdgeException($"--freeze applies to ONNX graphs that take weights as inputs; {path} is a {ext} model");
        return ext switch
        {
            ".onnx" => OnnxImporter.Import(path, frozenInputs),
            _ when isPyTorch => specPath is null ? throw PyTorchImporter.SpecRequired(path) : PyTorchImporter.Import(path, specPath, log),
            ".h5" or ".hdf5" or ".keras" => KerasImporter.Import(path),
            ".edge" => throw new EdgeException($"{path}: this is already an .edge blob; 'edge-quantize inspect' shows it"),
            _ => throw new EdgeException($"{path}: unknown model format '{ext}'; supported: {string.Join(", ", SupportedExtensions)}"),
        };
    }
}
