using Edge.Runtime.Execution;

namespace Edge.Runtime.Tests;

/// <summary>
/// Edge.Runtime exports only what a library user needs (docs/architecture.md, Public API and internals); kernels,
/// layers, the IR and plumbing are internal. PublicApiAnalyzers guards members; this guards the type list itself.
/// </summary>
[TestClass]
public sealed class PublicApiTests
{
    private static readonly string[] Intended =
    [
        "Edge.Runtime.Contract.ContractFeature", "Edge.Runtime.Contract.ContractLimits", "Edge.Runtime.Contract.ModelContract",
        "Edge.Runtime.Contract.Normalization", "Edge.Runtime.Contract.NormalizationKind",
        "Edge.Runtime.EdgeException", "Edge.Runtime.EdgeFormatException", "Edge.Runtime.EdgeModel", "Edge.Runtime.EdgeProblemsException",
        "Edge.Runtime.Execution.Session", "Edge.Runtime.Execution.SessionOptions", "Edge.Runtime.Execution.SessionRunner",
        "Edge.Runtime.Kernels.Isa",
        "Edge.Runtime.Streaming.ForecastStream", "Edge.Runtime.Streaming.NonFinitePolicy", "Edge.Runtime.Streaming.ProjectionCache",
        "Edge.Runtime.Streaming.StatePair", "Edge.Runtime.Streaming.StreamOptions", "Edge.Runtime.Streaming.StreamStyle",
        "Edge.Runtime.Tensors.DataType", "Edge.Runtime.Tensors.Npy", "Edge.Runtime.Tensors.Tensor",
    ];

    [TestMethod]
    public void ExportedTypes_AreExactlyTheIntendedSurface()
    {
        var exported = typeof(EdgeModel).Assembly.GetExportedTypes().Select(t => t.FullName!).Order(StringComparer.Ordinal).ToArray();
        CollectionAssert.AreEqual(Intended.Order(StringComparer.Ordinal).ToArray(), exported,
            $"exported: {string.Join(", ", exported)}");
    }

    [TestMethod]
    public void Session_NamesItsInputsAndOutputs_InGraphOrder()
    {
        // lstm_multilayer: x, h0, c0 -> output, h_n, c_n (tools/make_fixtures.py).
        string onnx = Path.Combine(TestPaths.Fixtures, "models", "lstm_multilayer", "model.onnx");
        var session = new Session(Quantizer.Import.Onnx.OnnxImporter.Import(onnx));
        CollectionAssert.AreEqual(new[] { "x", "h0", "c0" }, session.InputNames.ToArray());
        CollectionAssert.AreEqual(new[] { "output", "h_n", "c_n" }, session.OutputNames.ToArray());
    }
}
