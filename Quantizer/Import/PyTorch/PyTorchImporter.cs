using Edge.Runtime;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Quantizer.Import.PyTorch;

/// <summary>
/// `.pt` / `.pth` (torch.save zip) and `.safetensors` state_dicts plus a spec (docs/spec.md) into the
/// IR. Nothing in the file is executed: see <see cref="SafeUnpickler"/>.
/// </summary>
internal static class PyTorchImporter
{
    public static readonly string[] Extensions = [".pt", ".pth", ".safetensors"];

    /// <summary>
    /// Reads <paramref name="modelPath"/> and builds the graph that <paramref name="specPath"/> describes.
    /// <paramref name="log"/> receives notes such as which checkpoint entry held the state_dict.
    /// </summary>
    public static Graph Import(string modelPath, string specPath, TextWriter? log = null)
    {
        ArgumentNullException.ThrowIfNull(modelPath);
        ArgumentNullException.ThrowIfNull(specPath);
        var spec = Spec.Load(specPath);
        var stateDict = StateDict.Load(modelPath, spec.StateDictKey);
        foreach (var note in stateDict.Notes) log?.WriteLine($"{stateDict.Source}: {note}");
        return ImportPipeline.Finish(SpecGraphBuilder.Build(stateDict.Tensors, spec, stateDict.Source), stateDict.Source);
    }

    /// <summary>The graph <paramref name="spec"/> describes, with weights from <paramref name="stateDict"/> (already loaded).</summary>
    public static Graph FromStateDict(IReadOnlyDictionary<string, Tensor> stateDict, Spec spec) =>
        ImportPipeline.Finish(SpecGraphBuilder.Build(stateDict, spec));

    /// <summary>The error for a `.pt` given without a spec.</summary>
    public static EdgeException SpecRequired(string modelPath) =>
        new($"{modelPath}: a state_dict holds weights but no architecture; describe the graph with --spec FILE.json (see docs/spec.md)");
}
