using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using Edge.Quantizer.Import.Onnx;
using Edge.Runtime.Execution;
using Edge.Runtime.Format;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Tests.Hostile;

/// <summary>
/// Issue 15 defect 6: a `.edge` graph's declared output shapes are checked against what its nodes produce
/// at load (<see cref="GraphProbe.CheckDeclaredShapes"/>). Mutants change one declared dimension of a
/// blob written from a fixture, in place, with the checksums recomputed: every one must be refused with
/// one line naming the node and the value.
/// </summary>
[TestClass]
public sealed class EdgeShapeTests
{
    private static byte[] Blob(string model) =>
        EdgeBlob.ToBytes(OnnxImporter.Import(Path.Combine(TestPaths.Fixtures, "models", model)), new JsonObject { ["window"] = 3 });

    /// <summary>The GRPH section's offset and length.</summary>
    private static (int Offset, int Length) GraphSection(byte[] b)
    {
        int sections = (int)BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(16));
        for (int s = 0; s < sections; s++)
        {
            int e = 32 + 32 * s;
            if (Encoding.ASCII.GetString(b, e, 4) == "GRPH")
                return ((int)BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(e + 8)), (int)BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(e + 16)));
        }
        throw new AssertFailedException("no GRPH section");
    }

    /// <summary>
    /// Every fixed dimension of every declared value in <paramref name="field"/> ("inputs"/"outputs") of the
    /// GRPH JSON, as (position of its last digit in the file, its value): changing that digit keeps the layout.
    /// </summary>
    private static List<(int At, int Value, string Name)> FixedDims(byte[] b, string field)
    {
        var (offset, length) = GraphSection(b);
        string json = Encoding.UTF8.GetString(b, offset, length); // ASCII for these fixtures: chars = bytes
        Assert.AreEqual(length, json.Length);
        int at = json.IndexOf($"\"{field}\":[", StringComparison.Ordinal);
        int end = json.IndexOf(']', json.IndexOf("]}]", at, StringComparison.Ordinal));
        var dims = new List<(int, int, string)>();
        for (int s = json.IndexOf("\"shape\":[", at, StringComparison.Ordinal); s >= 0 && s < end; s = json.IndexOf("\"shape\":[", s + 1, StringComparison.Ordinal))
        {
            int nameAt = json.LastIndexOf("\"name\":\"", s, StringComparison.Ordinal) + 8;
            string name = json[nameAt..json.IndexOf('"', nameAt)];
            int open = s + 9, close = json.IndexOf(']', open);
            int p = open;
            foreach (var d in json[open..close].Split(','))
            {
                if (d.Length > 0 && d[0] != '-') dims.Add((offset + p + d.Length - 1, int.Parse(d, System.Globalization.CultureInfo.InvariantCulture), name));
                p += d.Length + 1;
            }
        }
        return dims;
    }

    private static byte[] WithDigit(byte[] original, int at, out int newValueDigit)
    {
        var b = (byte[])original.Clone();
        newValueDigit = b[at] == (byte)'9' ? 8 : b[at] - '0' + 1;
        b[at] = (byte)('0' + newValueDigit);
        return MutationSuite.RewriteChecksums(b);
    }

    [TestMethod]
    [DataRow("lstm_bidir/model.onnx")]
    [DataRow("gru2_batchfirst/model_opset13.onnx")]
    [DataRow("seed_gru/model.onnx")]
    public void EveryChangedOutputDimensionIsRefused(string model)
    {
        var blob = Blob(model);
        _ = EdgeBlob.Read(blob, "seed.edge"); // the seed loads
        var dims = FixedDims(blob, "outputs");
        Assert.IsNotEmpty(dims, "the fixture declares no fixed output dimension");
        foreach (var (at, value, name) in dims)
        {
            var mutant = WithDigit(blob, at, out _);
            var e = Assert.ThrowsExactly<EdgeFormatException>(() => EdgeBlob.Read(mutant, "mutant.edge"), $"{name} dim {value} changed");
            StringAssert.StartsWith(e.Message, "mutant.edge: GRPH: node '");
            StringAssert.Contains(e.Message, $"produces graph output '{name}' as float32(");
            StringAssert.Contains(e.Message, "but the graph declares float32(");
            Assert.DoesNotContain("\n", e.Message);
        }
    }

    [TestMethod]
    [DataRow("lstm_bidir/model.onnx")]
    [DataRow("gru2_batchfirst/model_opset13.onnx")]
    public void ChangedInputDimensionIsRefusedOrDoesNotMatter(string model)
    {
        // A changed input dimension makes an operator refuse its input (refused only when no input dimension
        // is dynamic: see CheckDeclaredShapes), changes an output (refused), or the mutant still loads and
        // runs as it declares: no mutant may load whose outputs differ from their declared shapes.
        var blob = Blob(model);
        foreach (var (at, value, name) in FixedDims(blob, "inputs"))
        {
            var mutant = WithDigit(blob, at, out _);
            Graph graph;
            try { graph = EdgeBlob.Read(mutant, "mutant.edge").Graph; }
            catch (EdgeFormatException) { continue; }
            Dictionary<string, Tensor> outputs;
            try { outputs = new Session(graph).Run(GraphProbe.ZeroInputs(graph, GraphProbe.DynamicDimension)); }
            catch (EdgeException) { continue; } // the run refuses it cleanly
            foreach (var o in graph.Outputs)
                for (int i = 0; i < o.Shape.Length; i++)
                    if (o.Shape[i] >= 0) Assert.AreEqual(o.Shape[i], outputs[o.Name].Shape[i], $"input {name} dim {value} changed: output {o.Name}");
        }
    }

    private static Graph Dense(int inFeatures, int declaredOut, int batch = 1)
    {
        var g = new Graph { Name = "dense" };
        g.Inputs.Add(new ValueInfo("x", DataType.Float32, [batch, inFeatures]));
        g.Outputs.Add(new ValueInfo("y", DataType.Float32, [batch, declaredOut]));
        g.Constants["W"] = Tensor.Zeros(DataType.Float32, 3, 4);
        g.Constants["b"] = Tensor.Zeros(DataType.Float32, 3);
        g.Nodes.Add(new Node(OpKind.Dense, "head", ["x", "W", "b"], ["y"]));
        return g;
    }

    [TestMethod]
    public void TheWriterRefusesWhatTheReaderWould()
    {
        _ = EdgeBlob.ToBytes(Dense(4, 3), new JsonObject());
        var e = Assert.Throws<EdgeException>(() => EdgeBlob.ToBytes(Dense(4, 5), new JsonObject()));
        Assert.AreEqual("node 'head' (Dense) produces graph output 'y' as float32(1, 3), but the graph declares float32(1, 5)", e.Message);
    }

    [TestMethod]
    public void AStaticGraphThatCannotRunAtItsDeclaredShapesIsRefused()
    {
        var e = Assert.Throws<EdgeException>(() => GraphProbe.CheckDeclaredShapes(Dense(5, 3)));
        StringAssert.StartsWith(e.Message, "the graph cannot run on inputs of its declared shapes (x: float32(1, 5)): ");
        StringAssert.Contains(e.Message, "head");
    }

    [TestMethod]
    public void DynamicDimensionsMatchAnySize()
    {
        var g = Dense(4, 3, batch: -1);
        GraphProbe.CheckDeclaredShapes(g);
        g.Outputs[0] = new ValueInfo("y", DataType.Float32, [-1, -1]);
        GraphProbe.CheckDeclaredShapes(g);
        g.Outputs[0] = new ValueInfo("y", DataType.Float32, [1, 3]); // the batch follows the input: 2 in the probe
        var e = Assert.Throws<EdgeException>(() => GraphProbe.CheckDeclaredShapes(g));
        StringAssert.Contains(e.Message, "as float32(2, 3) (dynamic input dimensions set to 2), but the graph declares float32(1, 3)");
    }

    [TestMethod]
    public void DeclaredRankOrTypeMismatchIsRefused()
    {
        var g = Dense(4, 3);
        g.Outputs[0] = new ValueInfo("y", DataType.Float32, [1, 3, 1]);
        StringAssert.Contains(Assert.Throws<EdgeException>(() => GraphProbe.CheckDeclaredShapes(g)).Message, "declares float32(1, 3, 1)");
        g.Outputs[0] = new ValueInfo("y", DataType.Int64, [1, 3]);
        StringAssert.Contains(Assert.Throws<EdgeException>(() => GraphProbe.CheckDeclaredShapes(g)).Message, "declares int64(1, 3)");
    }

    [TestMethod]
    public void ShapesThatComeFromIntegerInputsAreNotProbed()
    {
        // Reshape(x, shape) with the target shape a graph input (ONNX's conformance tests do this): zeros
        // say nothing about the real target, so the check stays out; indices of a Gather do not count.
        var g = new Graph { Name = "reshape" };
        g.Inputs.Add(new ValueInfo("x", DataType.Float32, [1, 4]));
        g.Inputs.Add(new ValueInfo("shape", DataType.Int64, [2]));
        g.Outputs.Add(new ValueInfo("y", DataType.Float32, [2, 2]));
        g.Nodes.Add(new Node(OpKind.Reshape, "r", ["x", "shape"], ["y"]));
        Assert.IsTrue(GraphProbe.ShapesMayDependOnInputValues(g));
        GraphProbe.CheckDeclaredShapes(g);

        var h = new Graph { Name = "gather" };
        h.Inputs.Add(new ValueInfo("i", DataType.Int64, [3]));
        h.Outputs.Add(new ValueInfo("y", DataType.Float32, [3, 5]));
        h.Constants["table"] = Tensor.Zeros(DataType.Float32, 4, 5);
        h.Nodes.Add(new Node(OpKind.Gather, "g", ["table", "i"], ["y"]));
        Assert.IsFalse(GraphProbe.ShapesMayDependOnInputValues(h));
        GraphProbe.CheckDeclaredShapes(h);
        h.Outputs[0] = new ValueInfo("y", DataType.Float32, [3, 6]);
        StringAssert.Contains(Assert.Throws<EdgeException>(() => GraphProbe.CheckDeclaredShapes(h)).Message, "node 'g' (Gather) produces graph output 'y' as float32(3, 5)");
    }
}
