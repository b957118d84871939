using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Quantizer.Import.Onnx;

// SCAFFOLD: the ONNX importer replaces this file.
public static class OnnxImporter
{
    public static Graph Import(string path, IReadOnlyDictionary<string, Tensor>? frozenInputs = null) => throw new NotImplementedException();
}
