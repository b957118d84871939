using Edge.Runtime;
using Edge.Runtime.Format;
using Edge.Runtime.Ir;

namespace Edge.Quantizer.Import.Keras;

/// <summary>
/// Imports Keras models without Python: Keras 2 `.h5`, Keras 3 legacy `.h5` and Keras 3 `.keras` files
/// (recognized by content), Sequential and Functional, into the same IR the ONNX importer produces.
/// Nothing in the file is executed: Lambda layers (pickled Python) are refused by class and name.
/// Graph inputs carry the Keras input layer names, graph outputs the output layer names.
/// </summary>
internal static class KerasImporter
{
    /// <summary>
    /// Reads <paramref name="path"/>. Throws <see cref="EdgeException"/> naming the file (and layer or weight)
    /// for malformed or truncated files, and <see cref="UnsupportedModelException"/> for layers, activations
    /// or options Edge does not implement.
    /// </summary>
    public static Graph Import(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var file = KerasModelFile.Open(path);
        return Import(file);
    }

    /// <summary>Imports a model held in memory; <paramref name="name"/> names it in messages.</summary>
    public static Graph Import(byte[] bytes, string name)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        ArgumentNullException.ThrowIfNull(name);
        using var file = KerasModelFile.Open(bytes, name);
        return Import(file);
    }

    private static Graph Import(KerasModelFile file)
    {
        try
        {
            var model = KerasModelConfig.Parse(file.Config.RootElement, file.Name);
            return ImportPipeline.Finish(new KerasGraphBuilder(file, model).Build());
        }
        catch (EdgeException e) when (!IsPrintable(e.Message))
        {
            // Names from config.json reach messages through MessageText where they are formatted; this is
            // the net for any that reach one another way (an IR node or value named after a layer).
            string message = MessageText.Printable(e.Message, 1000);
            throw e is UnsupportedModelException ? new UnsupportedModelException(message, e) : new EdgeException(message, e);
        }
    }

    private static bool IsPrintable(string s) => s.All(c => c is >= ' ' and < (char)0x7f);
}
