using Edge.Quantizer.Import;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Tests.Import;

/// <summary>
/// The shared IR emitter keeps each importer's own naming, because value and node names end up in
/// .edge blobs: the same model must convert to the same bytes whichever importer code emitted it.
/// </summary>
[TestClass]
public sealed class IrEmitterTests
{
    [TestMethod]
    public void OnnxNaming_NumbersValues_AndPadsNodeNamesWithUnderscores()
    {
        var g = new Graph();
        var ir = new IrEmitter(g, IrNaming.Onnx);
        ir.Reserve("x");
        Assert.AreEqual("x_1", ir.FreshValue("x"));
        Assert.AreEqual("x_2", ir.FreshValue("x"));
        Assert.AreEqual("n", ir.Emit(OpKind.Relu, "n", ["x"], ["x_1"]).Name);
        Assert.AreEqual("n_", ir.Emit(OpKind.Relu, "n", ["x"], ["x_2"]).Name);
        Assert.AreEqual("n__", ir.Emit(OpKind.Relu, "n", ["x"], ["x_3"]).Name);
        Assert.AreEqual("x_1_1", ir.FreshValue("x_1"));
        Assert.AreEqual("n", ir.FreshValue("n"), "node and value names are separate namespaces: a node named n leaves the value name n free");
    }

    [TestMethod]
    public void SpecNaming_SharesOneNamespace_AndAvoidsTheReservedLayerNames()
    {
        var layers = new HashSet<string> { "fc" };
        var g = new Graph();
        var ir = new IrEmitter(g, IrNaming.Spec, layers.Contains);
        Assert.AreEqual("fc#2", ir.FreshValue("fc"), "a layer name the spec defines is taken");
        Assert.AreEqual("y", ir.FreshValue("y"));
        Assert.AreEqual("y#2", ir.Emit(OpKind.Relu, "y", ["x"], ["y"]).Name, "nodes and values share the namespace");
        Assert.AreEqual("y#3", ir.Constant("y", Tensor.Scalar(1f)));
        Assert.IsTrue(g.Constants.ContainsKey("y#3"));
    }

    [TestMethod]
    public void VerbatimNaming_UsesNamesAsGiven_AndSharedConstantsAreMadeOnce()
    {
        var g = new Graph();
        var ir = new IrEmitter(g, IrNaming.Verbatim);
        Assert.AreEqual("dense", ir.Emit(OpKind.Relu, "dense", ["x"], ["y"]).Name);
        Assert.AreEqual("dense", ir.Emit(OpKind.Relu, "dense", ["y"], ["z"]).Name);
        int made = 0;
        Tensor Make() { made++; return Tensor.Scalar(2f); }
        Assert.AreEqual("dense/kernel", ir.SharedConstant("dense/kernel", Make));
        Assert.AreEqual("dense/kernel", ir.SharedConstant("dense/kernel", Make));
        Assert.AreEqual(1, made, "a shared layer's weights are built once");
    }

    [TestMethod]
    public void KnownShapes_ComeFromConstantsOrWhatTheSourceDeclared()
    {
        var g = new Graph();
        var ir = new IrEmitter(g, IrNaming.Onnx);
        string c = ir.Int64s("axes", 1, 2, 3);
        CollectionAssert.AreEqual(new[] { 3 }, ir.KnownShape(c));
        ir.KnowShape("x", [-1, 4]);
        Assert.AreEqual(2, ir.KnownRank("x"));
        Assert.IsNull(ir.KnownShape("unknown"));
    }
}
