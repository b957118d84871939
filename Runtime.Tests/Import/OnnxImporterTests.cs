using Edge.Quantizer.Import;
using Edge.Quantizer.Import.Onnx;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;
using OnnxType = Onnx.TensorProto.Types.DataType;
using Tensor = Edge.Runtime.Tensors.Tensor;
using static Edge.Runtime.Tests.Assertions;

namespace Edge.Runtime.Tests.Import;

/// <summary>
/// The ONNX importer on small models built here with the generated protobuf classes. Golden values come
/// from ONNX Runtime running the same file.
/// </summary>
[TestClass]
public sealed class OnnxImporterTests
{
    private static readonly Tolerance Close = new(1e-4, 1e-4);

    // ── refusals ─────────────────────────────────────────────────────────────────────────────────

    [TestMethod]
    public void UnsupportedOp_MessageNamesOpNodeAndWhatEdgeSupports()
    {
        var model = Model(13,
            new[] { Input("X", OnnxType.Float, 2, 3) },
            new[] { Input("Y", OnnxType.Float, 2, 3) },
            new[] { Op("Celu", "my_celu", new[] { "X" }, new[] { "Y" }) });
        var e = Assert.ThrowsExactly<UnsupportedModelException>(() => Import(model));
        StringAssert.Contains(e.Message, "unsupported ONNX op 'Celu' in node 'my_celu'");
        StringAssert.Contains(e.Message, "Edge supports: ");
        StringAssert.Contains(e.Message, "LSTM");
        StringAssert.Contains(e.Message, "GRU");
    }

    [TestMethod]
    public void Conv2D_IsRefusedAsUnsupported()
    {
        var model = Model(13,
            new[] { Input("X", OnnxType.Float, 1, 1, 4, 4) },
            new[] { Input("Y", OnnxType.Float, 1, 1, 3, 3) },
            new[] { Op("Conv", "c", new[] { "X", "W" }, new[] { "Y" }) },
            FloatTensor("W", new float[4], 1, 1, 2, 2));
        var e = Assert.ThrowsExactly<UnsupportedModelException>(() => Import(model));
        StringAssert.Contains(e.Message, "2-D convolution");
        StringAssert.Contains(e.Message, "'c'");
    }

    [TestMethod]
    public void Float16Initializer_IsRefusedNamingItAndItsType()
    {
        var init = new TensorProto { Name = "half_weights", DataType = (int)OnnxType.Float16, RawData = ByteString.CopyFrom(new byte[4]) };
        init.Dims.Add(2);
        var model = Model(13,
            new[] { Input("X", OnnxType.Float, 2) },
            new[] { Input("Y", OnnxType.Float, 2) },
            new[] { Op("Add", "a", new[] { "X", "half_weights" }, new[] { "Y" }) },
            init);
        var e = Assert.ThrowsExactly<UnsupportedModelException>(() => Import(model));
        StringAssert.Contains(e.Message, "'half_weights'");
        StringAssert.Contains(e.Message, "FLOAT16");
    }

    [TestMethod]
    public void ExternalData_IsRefusedWithAClearMessage()
    {
        var init = new TensorProto { Name = "W", DataType = (int)OnnxType.Float, DataLocation = TensorProto.Types.DataLocation.External };
        init.Dims.Add(2);
        init.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "weights.bin" });
        var model = Model(13,
            new[] { Input("X", OnnxType.Float, 2) },
            new[] { Input("Y", OnnxType.Float, 2) },
            new[] { Op("Add", "a", new[] { "X", "W" }, new[] { "Y" }) },
            init);
        var e = Assert.ThrowsExactly<UnsupportedModelException>(() => Import(model));
        StringAssert.Contains(e.Message, "'W'");
        StringAssert.Contains(e.Message, "external");
    }

    [TestMethod]
    public void OtherDomain_IsRefusedNamingTheDomain()
    {
        var node = Op("Foo", "f", new[] { "X" }, new[] { "Y" });
        node.Domain = "com.example";
        var model = Model(13, new[] { Input("X", OnnxType.Float, 2) }, new[] { Input("Y", OnnxType.Float, 2) }, new[] { node });
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "com.example", Version = 1 });
        var e = Assert.ThrowsExactly<UnsupportedModelException>(() => Import(model));
        StringAssert.Contains(e.Message, "'com.example'");
    }

    [TestMethod]
    public void CastToDouble_IsRefusedNamingTheType()
    {
        var model = Model(13,
            new[] { Input("X", OnnxType.Float, 2) },
            new[] { Input("Y", OnnxType.Float, 2) },
            new[]
            {
                Op("Cast", "widen", new[] { "X" }, new[] { "d" }, Attr("to", (long)OnnxType.Double)),
                Op("Cast", "narrow", new[] { "d" }, new[] { "Y" }, Attr("to", (long)OnnxType.Float)),
            });
        var e = Assert.ThrowsExactly<UnsupportedModelException>(() => Import(model));
        StringAssert.Contains(e.Message, "'widen'");
        StringAssert.Contains(e.Message, "DOUBLE");
    }

    [TestMethod]
    public void DropoutMask_IsRefusedWhenUsed_AndDropoutIsRemovedOtherwise()
    {
        ModelProto Build(bool useMask) => Model(13,
            new[] { Input("X", OnnxType.Float, 2) },
            useMask ? new[] { Input("Y", OnnxType.Float, 2), Input("M", OnnxType.Float, 2) } : new[] { Input("Y", OnnxType.Float, 2) },
            useMask
                ? new[] { Op("Dropout", "drop", new[] { "X" }, new[] { "d", "mask" }), Op("Relu", "relu", new[] { "d" }, new[] { "Y" }), Op("Cast", "c", new[] { "mask" }, new[] { "M" }, Attr("to", 1L)) }
                : new[] { Op("Dropout", "drop", new[] { "X" }, new[] { "d", "mask" }), Op("Relu", "relu", new[] { "d" }, new[] { "Y" }) });
        var e = Assert.ThrowsExactly<UnsupportedModelException>(() => Import(Build(true)));
        StringAssert.Contains(e.Message, "'mask'");
        var graph = Import(Build(false));
        Assert.AreEqual("relu = Relu(X) -> Y", graph.Nodes.Single().ToString());
    }

    /// <summary>Old exporters list initializers among the graph inputs; those are constants. DOUBLE weights are read as float32.</summary>
    [TestMethod]
    public void InitializerListedAsInput_IsAConstant_AndDoubleWeightsAreNarrowed()
    {
        var b = new TensorProto { Name = "B", DataType = (int)OnnxType.Double };
        b.Dims.Add(2);
        b.DoubleData.AddRange(new[] { 0.5, -1.25 });
        var model = Model(9,
            new[] { Input("X", OnnxType.Float, -1, 2), Input("B", OnnxType.Double, 2) },
            new[] { Input("Y", OnnxType.Float, -1, 2) },
            new[] { Op("Add", "add", new[] { "X", "B" }, new[] { "Y" }) },
            b);
        var graph = Import(model);
        CollectionAssert.AreEqual(new[] { "X" }, graph.Inputs.Select(i => i.Name).ToArray());
        var y = new Execution.Session(graph).Run(new Dictionary<string, Tensor> { ["X"] = Tensor.FromArray(new[] { 1f, 1f }, 1, 2) })["Y"];
        CollectionAssert.AreEqual(new[] { 1.5f, -0.25f }, y.ReadOnlySpan<float>().ToArray());
    }

    [TestMethod]
    public void NotAnOnnxFile_ErrorNamesTheFile()
    {
        var dir = TestPaths.NewTempDir();
        try
        {
            var path = Path.Combine(dir, "notes.onnx");
            File.WriteAllText(path, "this is a text file, not a model\n");
            var e = Assert.Throws<EdgeException>(() => OnnxImporter.Import(path));
            StringAssert.Contains(e.Message, path);
            Assert.IsNotInstanceOfType<UnsupportedModelException>(e);

            File.WriteAllBytes(path, Array.Empty<byte>());
            e = Assert.Throws<EdgeException>(() => OnnxImporter.Import(path));
            StringAssert.Contains(e.Message, path);
        }
        finally { Directory.Delete(dir, true); }
    }

    // ── recurrent gate order vs ONNX Runtime ─────────────────────────────────────────────────────

    [TestMethod]
    public void ConstantLstm_BidirectionalWithPeepholes_MatchesOnnxRuntime()
    {
        const int seq = 5, batch = 3, input = 4, hidden = 6, dirs = 2;
        var rng = new Random(7);
        var w = Random(rng, dirs * 4 * hidden * input);
        var r = Random(rng, dirs * 4 * hidden * hidden);
        var b = Random(rng, dirs * 8 * hidden);
        var p = Random(rng, dirs * 3 * hidden);
        var model = Model(14,
            new[] { Input("X", OnnxType.Float, seq, batch, input), Input("h0", OnnxType.Float, dirs, batch, hidden), Input("c0", OnnxType.Float, dirs, batch, hidden) },
            new[] { Input("Y", OnnxType.Float, seq, dirs, batch, hidden), Input("Y_h", OnnxType.Float, dirs, batch, hidden), Input("Y_c", OnnxType.Float, dirs, batch, hidden) },
            new[]
            {
                Op("LSTM", "lstm", new[] { "X", "W", "R", "B", "", "h0", "c0", "P" }, new[] { "Y", "Y_h", "Y_c" },
                    Attr("hidden_size", hidden), Attr("direction", "bidirectional")),
            },
            FloatTensor("W", w, dirs, 4 * hidden, input), FloatTensor("R", r, dirs, 4 * hidden, hidden),
            FloatTensor("B", b, dirs, 8 * hidden), FloatTensor("P", p, dirs, 3 * hidden));

        var feeds = new Dictionary<string, (float[], int[])>
        {
            ["X"] = (Random(rng, seq * batch * input), new[] { seq, batch, input }),
            ["h0"] = (Random(rng, dirs * batch * hidden), new[] { dirs, batch, hidden }),
            ["c0"] = (Random(rng, dirs * batch * hidden), new[] { dirs, batch, hidden }),
        };
        var graph = CompareWithOnnxRuntime(model, feeds);

        var lstm = graph.Nodes.Single(n => n.Kind == OpKind.Lstm);
        Assert.IsFalse(graph.Nodes.Any(n => n.Kind == OpKind.Gather), "constant weights are permuted at import, not at run time");
        // IR block f (1) is ONNX block f (2); IR block o (3) is ONNX block o (1).
        var irW = graph.Constants[lstm.Inputs[1]];
        Assert.AreEqual(w[2 * hidden * input], irW.Get<float>(0, hidden, 0));
        Assert.AreEqual(w[1 * hidden * input], irW.Get<float>(0, 3 * hidden, 0));
        var irP = graph.Constants[lstm.Inputs[7]];
        Assert.AreEqual(p[2 * hidden], irP.Get<float>(0, hidden)); // IR f <- ONNX f (block 2)
    }

    [TestMethod]
    [DataRow(0L)]
    [DataRow(1L)]
    public void ConstantGru_MatchesOnnxRuntime(long linearBeforeReset)
    {
        const int seq = 4, batch = 2, input = 3, hidden = 5, dirs = 2;
        var rng = new Random(11 + (int)linearBeforeReset);
        var model = Model(14,
            new[] { Input("X", OnnxType.Float, seq, batch, input) },
            new[] { Input("Y", OnnxType.Float, seq, dirs, batch, hidden), Input("Y_h", OnnxType.Float, dirs, batch, hidden) },
            new[]
            {
                Op("GRU", "gru", new[] { "X", "W", "R", "B" }, new[] { "Y", "Y_h" },
                    Attr("hidden_size", hidden), Attr("direction", "bidirectional"), Attr("linear_before_reset", linearBeforeReset)),
            },
            FloatTensor("W", Random(rng, dirs * 3 * hidden * input), dirs, 3 * hidden, input),
            FloatTensor("R", Random(rng, dirs * 3 * hidden * hidden), dirs, 3 * hidden, hidden),
            FloatTensor("B", Random(rng, dirs * 6 * hidden), dirs, 6 * hidden));
        var graph = CompareWithOnnxRuntime(model, new() { ["X"] = (Random(rng, seq * batch * input), new[] { seq, batch, input }) });
        Assert.AreEqual(linearBeforeReset, graph.Nodes.Single(n => n.Kind == OpKind.Gru).GetInt("linear_before_reset", -1));
    }

    [TestMethod]
    public void LstmWeightsAsGraphInputs_ArePermutedByARuntimeGather()
    {
        const int seq = 3, batch = 2, input = 3, hidden = 4;
        var rng = new Random(3);
        var model = Model(14,
            new[] { Input("X", OnnxType.Float, seq, batch, input), Input("W", OnnxType.Float, 1, 4 * hidden, input), Input("R", OnnxType.Float, 1, 4 * hidden, hidden) },
            new[] { Input("Y_h", OnnxType.Float, 1, batch, hidden) },
            new[] { Op("LSTM", "lstm", new[] { "X", "W", "R" }, new[] { "", "Y_h" }, Attr("hidden_size", hidden)) });
        var graph = CompareWithOnnxRuntime(model, new()
        {
            ["X"] = (Random(rng, seq * batch * input), new[] { seq, batch, input }),
            ["W"] = (Random(rng, 4 * hidden * input), new[] { 1, 4 * hidden, input }),
            ["R"] = (Random(rng, 4 * hidden * hidden), new[] { 1, 4 * hidden, hidden }),
        });
        var gathers = graph.Nodes.Where(n => n.Kind == OpKind.Gather).ToList();
        Assert.HasCount(2, gathers);
        Assert.IsTrue(gathers.All(g => g.GetInt("axis", 0) == 1));

        // Without hidden_size (ONNX Runtime insists on it; the spec does not) it is read from R's shape.
        model.Graph.Node[0].Attribute.Clear();
        graph = Import(model);
        Assert.AreEqual(hidden, graph.Nodes.Single(n => n.Kind == OpKind.Lstm).GetInt("hidden_size", 0));
    }

    // ── --freeze ─────────────────────────────────────────────────────────────────────────────────

    [TestMethod]
    public void Freeze_TurnsAnInputIntoAConstant()
    {
        var model = AddModel();
        var y = Tensor.FromArray(new[] { 10f, 20f, 30f }, 1, 3);
        var graph = Import(model, new Dictionary<string, Tensor> { ["Y"] = y });
        CollectionAssert.AreEqual(new[] { "X" }, graph.Inputs.Select(i => i.Name).ToArray());
        var result = new Execution.Session(graph).Run(new Dictionary<string, Tensor> { ["X"] = Tensor.FromArray(new[] { 1f, 2f, 3f, 4f, 5f, 6f }, 2, 3) });
        CollectionAssert.AreEqual(new[] { 11f, 22f, 33f, 14f, 25f, 36f }, result["Z"].ReadOnlySpan<float>().ToArray());
    }

    [TestMethod]
    public void Freeze_UnknownName_ListsTheInputs()
    {
        var e = Assert.Throws<EdgeException>(() => Import(AddModel(), new Dictionary<string, Tensor> { ["Q"] = Tensor.Zeros<float>(1, 3) }));
        StringAssert.Contains(e.Message, "'Q'");
        StringAssert.Contains(e.Message, "X, Y");
    }

    [TestMethod]
    public void Freeze_ShapeOrTypeMismatch_NamesBoth()
    {
        var e = Assert.Throws<EdgeException>(() => Import(AddModel(), new Dictionary<string, Tensor> { ["Y"] = Tensor.Zeros<float>(1, 4) }));
        StringAssert.Contains(e.Message, "(1, 3)");
        StringAssert.Contains(e.Message, "(1, 4)");
        e = Assert.Throws<EdgeException>(() => Import(AddModel(), new Dictionary<string, Tensor> { ["Y"] = Tensor.Zeros<long>(1, 3) }));
        StringAssert.Contains(e.Message, "int64");
    }

    private static ModelProto AddModel() => Model(13,
        new[] { Input("X", OnnxType.Float, -1, 3), Input("Y", OnnxType.Float, 1, 3) },
        new[] { Input("Z", OnnxType.Float, -1, 3) },
        new[] { Op("Add", "add", new[] { "X", "Y" }, new[] { "Z" }) });

    // ── folding ──────────────────────────────────────────────────────────────────────────────────

    /// <summary>
    /// torch's x.view(x.size(0), x.size(1) * x.size(2)) @ W + b with a dynamic batch: the Shape glue folds
    /// into a constant Reshape target (0 copies the batch), MatMul + Add become one Dense.
    /// </summary>
    [TestMethod]
    public void ShapeGlue_WithDynamicBatch_FoldsToReshapeAndDense()
    {
        var rng = new Random(5);
        var model = Model(13,
            new[] { Input("X", OnnxType.Float, -1, 4, 3) },
            new[] { Input("Y", OnnxType.Float, -1, 5) },
            new[]
            {
                Op("Shape", "shape", new[] { "X" }, new[] { "s" }),
                Op("Gather", "g0", new[] { "s", "i0" }, new[] { "n" }, Attr("axis", 0L)),
                Op("Gather", "g1", new[] { "s", "i1" }, new[] { "d1" }, Attr("axis", 0L)),
                Op("Gather", "g2", new[] { "s", "i2" }, new[] { "d2" }, Attr("axis", 0L)),
                Op("Mul", "features", new[] { "d1", "d2" }, new[] { "f" }),
                Op("Unsqueeze", "u0", new[] { "n", "axes0" }, new[] { "n1" }),
                Op("Unsqueeze", "u1", new[] { "f", "axes0" }, new[] { "f1" }),
                Op("Concat", "target", new[] { "n1", "f1" }, new[] { "t" }, Attr("axis", 0L)),
                Op("Reshape", "flatten", new[] { "X", "t" }, new[] { "flat" }),
                Op("MatMul", "mm", new[] { "flat", "W" }, new[] { "mmOut" }),
                Op("Add", "bias", new[] { "mmOut", "b" }, new[] { "Y" }),
            },
            Int64Tensor("i0", 0), Int64Tensor("i1", 1), Int64Tensor("i2", 2), Int64Tensor("axes0", new long[] { 0 }, 1),
            FloatTensor("W", Random(rng, 12 * 5), 12, 5), FloatTensor("b", Random(rng, 5), 5));

        foreach (int batch in new[] { 1, 5 })
        {
            var graph = CompareWithOnnxRuntime(model, new() { ["X"] = (Random(rng, batch * 12), new[] { batch, 4, 3 }) });
            CollectionAssert.AreEqual(new[] { OpKind.Reshape, OpKind.Dense }, graph.Nodes.Select(n => n.Kind).ToArray(), string.Join("; ", graph.Nodes));
            var target = graph.Constants[graph.Nodes[0].Inputs[1]].ToInt64Array();
            CollectionAssert.AreEqual(new long[] { 0, 12 }, target);
            Assert.AreEqual("Y", graph.Nodes[1].Outputs[0], "the graph output keeps its ONNX name");
            Assert.AreEqual("X", graph.Inputs.Single().Name);
            Assert.AreEqual(-1, graph.Inputs[0].Shape[0], "the batch stays dynamic");
        }
    }

    [TestMethod]
    public void ShapeGlue_WithStaticShapes_FoldsCompletely()
    {
        var model = Model(11,
            new[] { Input("X", OnnxType.Float, 2, 6) },
            new[] { Input("Y", OnnxType.Float, 2, 6) },
            new[]
            {
                Op("Shape", "shape", new[] { "X" }, new[] { "s" }),
                Op("ConstantOfShape", "ones", new[] { "s" }, new[] { "o" }, Attr("value", FloatTensor("v", new[] { 1f }, 1))),
                Op("Add", "add", new[] { "X", "o" }, new[] { "a" }),
                Op("Identity", "id", new[] { "a" }, new[] { "Y" }),
            });
        var graph = CompareWithOnnxRuntime(model, new() { ["X"] = (Random(new Random(1), 12), new[] { 2, 6 }) });
        Assert.AreEqual("add", graph.Nodes.Single().Name);
        Assert.AreEqual("Y", graph.Nodes.Single().Outputs[0]);
    }

    [TestMethod]
    public void GemmWithConstantWeight_BecomesDenseWithAlphaAndBetaFolded()
    {
        var rng = new Random(9);
        var model = Model(13,
            new[] { Input("X", OnnxType.Float, -1, 4) },
            new[] { Input("Y", OnnxType.Float, -1, 3) },
            new[] { Op("Gemm", "fc", new[] { "X", "W", "C" }, new[] { "Y" }, Attr("alpha", 0.5f), Attr("beta", 2f), Attr("transB", 1L)) },
            FloatTensor("W", Random(rng, 12), 3, 4), FloatTensor("C", Random(rng, 3), 3));
        var graph = CompareWithOnnxRuntime(model, new() { ["X"] = (Random(rng, 8), new[] { 2, 4 }) });
        Assert.AreEqual(OpKind.Dense, graph.Nodes.Single().Kind);
    }

    [TestMethod]
    public void Softmax_BeforeOpset13_UsesTheLegacyTwoDimensionalForm()
    {
        var model = Model(11,
            new[] { Input("X", OnnxType.Float, 2, 3, 4) },
            new[] { Input("Y", OnnxType.Float, 2, 3, 4) },
            new[] { Op("Softmax", "sm", new[] { "X" }, new[] { "Y" }) });
        var graph = CompareWithOnnxRuntime(model, new() { ["X"] = (Random(new Random(2), 24), new[] { 2, 3, 4 }) });
        var node = graph.Nodes.Single();
        Assert.AreEqual(1L, node.GetInt("legacy_2d", 0));
        Assert.AreEqual(1L, node.GetInt("axis", -1));
    }

    // ── 1-D convolution and the pre-opset-13 attribute forms ─────────────────────────────────────

    [TestMethod]
    [DataRow("NOTSET")]
    [DataRow("SAME_UPPER")]
    [DataRow("SAME_LOWER")]
    [DataRow("VALID")]
    public void Conv1D_MatchesOnnxRuntime(string autoPad)
    {
        var rng = new Random(13);
        var attributes = new List<AttributeProto> { Attr("group", 2L), Attr("kernel_shape", new long[] { 4 }) };
        if (autoPad == "NOTSET")
        {
            attributes.Add(Attr("pads", new long[] { 2, 1 }));
            attributes.Add(Attr("strides", new long[] { 2 }));
            attributes.Add(Attr("dilations", new long[] { 2 }));
        }
        else attributes.Add(Attr("auto_pad", autoPad));
        var model = Model(11,
            new[] { Input("X", OnnxType.Float, -1, 4, 11) },
            new[] { Input("Y", OnnxType.Float, -1, 6, -1) },
            new[] { Op("Conv", "conv", new[] { "X", "W", "B" }, new[] { "Y" }, attributes.ToArray()) },
            FloatTensor("W", Random(rng, 6 * 2 * 4), 6, 2, 4), FloatTensor("B", Random(rng, 6), 6));
        var graph = CompareWithOnnxRuntime(model, new() { ["X"] = (Random(rng, 3 * 4 * 11), new[] { 3, 4, 11 }) });
        Assert.AreEqual(OpKind.Conv1D, graph.Nodes.Single().Kind);
    }

    /// <summary>Opset 9: Unsqueeze/Squeeze/ReduceSum axes, Slice starts/ends/axes and Pad pads/value are attributes.</summary>
    [TestMethod]
    public void Opset9AttributeForms_MatchOnnxRuntime()
    {
        var model = Model(9,
            new[] { Input("X", OnnxType.Float, -1, 5) },
            new[] { Input("Y", OnnxType.Float, -1, 1, 1), Input("Z", OnnxType.Float, -1, 6) },
            new[]
            {
                Op("Slice", "slice", new[] { "X" }, new[] { "s" }, Attr("starts", new long[] { 1 }), Attr("ends", new long[] { 4 }), Attr("axes", new long[] { 1 })),
                Op("Unsqueeze", "unsq", new[] { "s" }, new[] { "u" }, Attr("axes", new long[] { 1, 3 })),
                Op("ReduceSum", "sum", new[] { "u" }, new[] { "r" }, Attr("axes", new long[] { 2 }), Attr("keepdims", 1L)),
                Op("Squeeze", "sq", new[] { "r" }, new[] { "Y" }, Attr("axes", new long[] { 3 })),
                Op("Pad", "pad", new[] { "X" }, new[] { "p" }, Attr("pads", new long[] { 0, 0, 0, 1 }), Attr("value", 2.5f)),
                Op("Softmax", "softmax", new[] { "p" }, new[] { "Z" }),
            });
        var graph = CompareWithOnnxRuntime(model, new() { ["X"] = (Random(new Random(4), 15), new[] { 3, 5 }) });
        Assert.AreEqual(6, graph.Nodes.Count, string.Join("; ", graph.Nodes));
    }

    [TestMethod]
    public void Tile_MatchesOnnxRuntime()
    {
        var model = Model(13,
            new[] { Input("X", OnnxType.Float, -1, 2, 3) },
            new[] { Input("Y", OnnxType.Float, -1, 6, 6) },
            new[] { Op("Tile", "tile", new[] { "X", "reps" }, new[] { "Y" }) },
            Int64Tensor("reps", new long[] { 1, 3, 2 }, 3));
        var graph = CompareWithOnnxRuntime(model, new() { ["X"] = (Random(new Random(8), 12), new[] { 2, 2, 3 }) });
        Assert.AreEqual(OpKind.Tile, graph.Nodes.Single().Kind);
    }

    /// <summary>
    /// torch.clamp exports Clip with min/max as inputs (opset 11+), either may be absent (""); opset 6-10
    /// has them as attributes. Every form matches ONNX Runtime, bounds crossing zero included.
    /// </summary>
    [TestMethod]
    public void Clip_InputAndAttributeForms_MatchOnnxRuntime()
    {
        var inputForms = Model(13,
            new[] { Input("X", OnnxType.Float, -1, 7) },
            new[] { Input("Both", OnnxType.Float, -1, 7), Input("MinOnly", OnnxType.Float, -1, 7), Input("MaxOnly", OnnxType.Float, -1, 7), Input("None", OnnxType.Float, -1, 7) },
            new[]
            {
                Op("Clip", "both", new[] { "X", "lo", "hi" }, new[] { "Both" }),
                Op("Clip", "min_only", new[] { "X", "lo" }, new[] { "MinOnly" }),
                Op("Clip", "max_only", new[] { "X", "", "hi" }, new[] { "MaxOnly" }),
                Op("Clip", "none", new[] { "X" }, new[] { "None" }),
            },
            FloatTensor("lo", new[] { -0.25f }), FloatTensor("hi", new[] { 0.5f }));
        var graph = CompareWithOnnxRuntime(inputForms, new() { ["X"] = (Random(new Random(21), 21), new[] { 3, 7 }) });
        Assert.AreEqual(4, graph.Nodes.Count(n => n.Kind == OpKind.Clip), string.Join("; ", graph.Nodes));

        var attributeForm = Model(9,
            new[] { Input("X", OnnxType.Float, -1, 7) },
            new[] { Input("Y", OnnxType.Float, -1, 7), Input("Z", OnnxType.Float, -1, 7) },
            new[]
            {
                Op("Clip", "both", new[] { "X" }, new[] { "Y" }, Attr("min", -0.3f), Attr("max", 0.1f)),
                Op("Clip", "max_only", new[] { "X" }, new[] { "Z" }, Attr("max", -0.2f)),
            });
        CompareWithOnnxRuntime(attributeForm, new() { ["X"] = (Random(new Random(22), 21), new[] { 3, 7 }) });
    }

    [TestMethod]
    public void Clip_NonScalarBound_IsRefusedNamingTheNodeAndBound()
    {
        var model = Model(13,
            new[] { Input("X", OnnxType.Float, -1, 2) },
            new[] { Input("Y", OnnxType.Float, -1, 2) },
            new[] { Op("Clip", "clamp", new[] { "X", "lo" }, new[] { "Y" }) },
            FloatTensor("lo", new[] { 0f, 1f }, 2));
        var graph = Import(model);
        var ex = Assert.ThrowsExactly<EdgeException>(() =>
            new Execution.Session(graph).Run(new Dictionary<string, Tensor> { ["X"] = Tensor.FromArray(new float[] { 1, 2 }, 1, 2) }));
        StringAssert.Contains(ex.Message, "'clamp'");
        StringAssert.Contains(ex.Message, "min must be a scalar");
    }

    /// <summary>
    /// torch 2.x's dynamo exporter declares an output at its traced batch of 1 (input ('batch', 3), output
    /// (1, 3)); ONNX Runtime runs it at any batch. The axis that follows the batch becomes dynamic; a real 1
    /// (a reduction over the batch) stays 1.
    /// </summary>
    [TestMethod]
    public void DeclaredOutputAtTracedBatchOfOne_BecomesDynamic_AndMatchesOnnxRuntime()
    {
        var model = Model(18,
            new[] { Input("X", OnnxType.Float, -1, 3) },
            new[] { Input("Y", OnnxType.Float, 1, 3), Input("S", OnnxType.Float, 1, 3) },
            new[]
            {
                Op("Relu", "relu", new[] { "X" }, new[] { "Y" }),
                Op("ReduceSum", "sum", new[] { "X", "axes" }, new[] { "S" }, Attr("keepdims", 1L)),
            },
            Int64Tensor("axes", new long[] { 0 }, 1));
        var graph = CompareWithOnnxRuntime(model, new() { ["X"] = (Random(new Random(30), 12), new[] { 4, 3 }) });
        CollectionAssert.AreEqual(new[] { -1, 3 }, graph.Outputs.Single(o => o.Name == "Y").Shape);
        CollectionAssert.AreEqual(new[] { 1, 3 }, graph.Outputs.Single(o => o.Name == "S").Shape);
        Runtime.Execution.GraphProbe.CheckDeclaredShapes(graph);
    }

    // ── torch.onnx.export fixtures (tools/make_fixtures.py) ──────────────────────────────────────

    public static IEnumerable<object[]> TorchModels()
    {
        var root = Path.Combine(TestPaths.Fixtures, "models");
        if (!Directory.Exists(root)) yield break;
        foreach (var caseFile in Directory.GetFiles(root, "case.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(caseFile))!;
            if (json["models"] is not System.Text.Json.Nodes.JsonArray models) continue;
            foreach (var m in models)
                yield return new object[] { Path.GetFileName(Path.GetDirectoryName(caseFile)!)!, (string)m!["file"]! };
        }
    }

    /// <summary>
    /// A real export imports to recurrent layers and Dense/Conv with the glue folded away, matches
    /// PyTorch's outputs (the .npy goldens) at the exported batch, and ONNX Runtime at batch 1.
    /// </summary>
    [TestMethod]
    [DynamicData(nameof(TorchModels))]
    public void TorchExport_ImportsFoldsAndMatchesPyTorchAndOnnxRuntime(string folder, string file)
    {
        var dir = Path.Combine(TestPaths.Fixtures, "models", folder);
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "case.json")))!;
        var modelPath = Path.Combine(dir, file);
        var graph = OnnxImporter.Import(modelPath);
        var kinds = graph.Nodes.Select(n => n.Kind).ToHashSet();
        foreach (var glue in new[] { OpKind.Shape, OpKind.ConstantOfShape, OpKind.Cast, OpKind.Expand, OpKind.Pad, OpKind.MatMul, OpKind.Gemm })
            Assert.DoesNotContain(glue, kinds, $"{folder}/{file} still has {glue} after import: {string.Join("; ", graph.Nodes)}");
        Assert.IsTrue(kinds.Contains(OpKind.Lstm) || kinds.Contains(OpKind.Gru), $"{folder}/{file}: {string.Join("; ", graph.Nodes)}");

        var inputs = json["inputs"]!.AsArray().ToDictionary(i => (string)i!["name"]!, i => Npy.Read(Path.Combine(dir, (string)i!["name"]! + ".npy")));
        var actual = new Execution.Session(graph).Run(inputs);
        foreach (var o in json["outputs"]!.AsArray())
        {
            string name = (string)o!["name"]!;
            AssertClose(Npy.Read(Path.Combine(dir, name + ".npy")), actual[name], Close, $"{folder}/{file} '{name}' vs PyTorch");
        }

        // Batch 1: slice each input to its first element along its first dynamic axis.
        var dynamic = json["dynamic_axes"]!.AsObject();
        var small = inputs.ToDictionary(kv => kv.Key, kv => FirstAlong(kv.Value, dynamic[kv.Key] is { } axes ? (int)axes[0]! : -1));
        var edgeSmall = new Execution.Session(graph).Run(small);
        using var ort = new InferenceSession(modelPath);
        var feeds = small.Select(kv => kv.Value.DataType == DataType.Int64
            ? NamedOnnxValue.CreateFromTensor(kv.Key, new DenseTensor<long>(kv.Value.ToInt64Array(), kv.Value.ShapeArray()))
            : NamedOnnxValue.CreateFromTensor(kv.Key, new DenseTensor<float>(kv.Value.ReadOnlySpan<float>().ToArray(), kv.Value.ShapeArray()))).ToList();
        using var results = ort.Run(feeds);
        foreach (var r in results)
        {
            var t = r.AsTensor<float>();
            AssertClose(Tensor.FromArray(t.ToArray(), t.Dimensions.ToArray()), edgeSmall[r.Name], Close, $"{folder}/{file} '{r.Name}' at batch 1 vs ONNX Runtime");
        }
    }

    private static Tensor FirstAlong(Tensor t, int axis)
    {
        if (axis < 0) return t;
        var shape = t.ShapeArray();
        var perm = Enumerable.Range(0, t.Rank).ToArray();
        (perm[0], perm[axis]) = (perm[axis], perm[0]);
        var moved = t.Permute(perm).Contiguous();
        int inner = moved.Length / shape[axis];
        var rest = moved.ShapeArray();
        rest[0] = 1;
        var first = t.DataType == DataType.Int64
            ? Tensor.FromArray(moved.ReadOnlySpan<long>()[..inner].ToArray(), rest)
            : Tensor.FromArray(moved.ReadOnlySpan<float>()[..inner].ToArray(), rest);
        return first.Permute(perm).Contiguous();
    }

    // ── helpers ──────────────────────────────────────────────────────────────────────────────────

    private static Graph Import(ModelProto model, IReadOnlyDictionary<string, Tensor>? frozen = null) =>
        OnnxImporter.Import(model.ToByteArray(), "test.onnx", frozen);

    /// <summary>Imports <paramref name="model"/>, runs it in Edge and in ONNX Runtime on the same inputs, and compares every output to 1e-4.</summary>
    private static Graph CompareWithOnnxRuntime(ModelProto model, Dictionary<string, (float[] Data, int[] Shape)> feeds)
    {
        var graph = Import(model);
        var edge = new Execution.Session(graph).Run(feeds.ToDictionary(kv => kv.Key, kv => Tensor.FromArray(kv.Value.Data, kv.Value.Shape)));

        using var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        using var ort = new InferenceSession(model.ToByteArray(), options);
        var inputs = feeds.Select(kv => NamedOnnxValue.CreateFromTensor(kv.Key, new DenseTensor<float>(kv.Value.Data, kv.Value.Shape))).ToList();
        using var results = ort.Run(inputs);
        foreach (var result in results)
        {
            var expected = result.AsTensor<float>();
            var actual = edge[result.Name];
            CollectionAssert.AreEqual(expected.Dimensions.ToArray(), actual.ShapeArray(), $"shape of '{result.Name}'");
            var e = expected.ToArray();
            var a = actual.Contiguous().ReadOnlySpan<float>();
            for (int i = 0; i < e.Length; i++)
                Assert.AreEqual(e[i], a[i], 1e-4f, $"'{result.Name}' element {i}");
        }
        return graph;
    }

    private static float[] Random(Random rng, int n)
    {
        var data = new float[n];
        for (int i = 0; i < n; i++) data[i] = (float)(rng.NextDouble() * 2 - 1);
        return data;
    }

    internal static ModelProto Model(long opset, ValueInfoProto[] inputs, ValueInfoProto[] outputs, NodeProto[] nodes, params TensorProto[] initializers)
    {
        var graph = new GraphProto { Name = "test" };
        graph.Input.AddRange(inputs);
        graph.Output.AddRange(outputs);
        graph.Node.AddRange(nodes);
        graph.Initializer.AddRange(initializers);
        var model = new ModelProto { IrVersion = 7, Graph = graph, ProducerName = "edge-tests" };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        return model;
    }

    /// <summary>A tensor value; a dimension of -1 becomes the symbolic "N".</summary>
    internal static ValueInfoProto Input(string name, OnnxType type, params long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(d < 0 ? new TensorShapeProto.Types.Dimension { DimParam = "N" } : new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }

    internal static NodeProto Op(string op, string name, string[] inputs, string[] outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = name };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        return node;
    }

    internal static TensorProto FloatTensor(string name, float[] data, params long[] dims)
    {
        var t = new TensorProto { Name = name, DataType = (int)OnnxType.Float };
        t.Dims.AddRange(dims);
        t.FloatData.AddRange(data);
        return t;
    }

    internal static TensorProto Int64Tensor(string name, long scalar) => Int64Tensor(name, new[] { scalar });

    internal static TensorProto Int64Tensor(string name, long[] data, params long[] dims)
    {
        var t = new TensorProto { Name = name, DataType = (int)OnnxType.Int64 };
        t.Dims.AddRange(dims);
        t.Int64Data.AddRange(data);
        return t;
    }

    internal static AttributeProto Attr(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    internal static AttributeProto Attr(string name, float value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    internal static AttributeProto Attr(string name, string value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };

    internal static AttributeProto Attr(string name, long[] value)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(value);
        return a;
    }

    internal static AttributeProto Attr(string name, TensorProto value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Tensor, T = value };
}
