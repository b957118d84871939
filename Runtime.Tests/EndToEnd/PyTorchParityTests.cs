using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Tests.EndToEnd;

/// <summary>
/// The seed's models, trained-shape and exported by PyTorch (tools/make_fixtures.py), through Edge's
/// whole path: `edge-quantize convert` → `.edge` → `edge predict`, compared with PyTorch's own outputs
/// and with ONNX Runtime on the same model.onnx. Golden values come from PyTorch, never from Edge.
/// Tolerance: |edge - expected| &lt;= 1e-4 + 1e-4·|expected| (fp32 path).
/// </summary>
[TestClass]
public sealed class PyTorchParityTests
{
    /// <summary>Every ONNX export under Fixtures/models; <see cref="EveryOnnxFixture_IsInTheParityList"/> keeps this list complete.</summary>
    public static IEnumerable<object[]> OnnxModels =>
    [
        ["seed_gru", "model.onnx"],
        ["gru2_batchfirst", "model_opset9.onnx"],
        ["gru2_batchfirst", "model_opset13.onnx"],
        ["gru2_batchfirst", "model_opset17.onnx"],
        ["forecaster", "model.onnx"],
        ["dual_encoder", "model.onnx"],
        ["dual_encoder_vocab", "model.onnx"],
        ["max_pool_gru", "model_opset13.onnx"],
        ["max_pool_gru", "model_opset17.onnx"],
        ["max_pool_gru", "model_opset18.onnx"],
        ["prelu_head", "model.onnx"],
        ["char_lstm", "model.onnx"],
        ["lstm_multilayer", "model.onnx"],
        ["lstm_bidir", "model.onnx"],
    ];

    [TestMethod]
    public void EveryOnnxFixture_IsInTheParityList()
    {
        var listed = OnnxModels.Select(r => $"{r[0]}/{r[1]}").Order(StringComparer.Ordinal).ToList();
        var onDisk = FixtureCase.AllOnnxModels().Select(m => $"{m.Fixture}/{m.ModelFile}").Order(StringComparer.Ordinal).ToList();
        CollectionAssert.AreEqual(onDisk, listed,
            $"fixtures on disk: {string.Join(", ", onDisk)}; tested: {string.Join(", ", listed)}");
        foreach (var m in onDisk)
            Assert.IsTrue(File.Exists(Path.Combine(FixtureCase.Root, m)), $"case.json names {m}, which is missing");
    }

    [TestMethod]
    [DynamicData(nameof(OnnxModels))]
    public void OnnxFixture_EdgeCliMatchesPyTorchAndOnnxRuntime(string fixture, string modelFile)
    {
        var fx = FixtureCase.Load(fixture);
        string onnx = fx.PathOf(modelFile);
        string dir = TestPaths.NewTempDir();
        try
        {
            string edge = EdgeCli.Convert(onnx, dir);
            var inputFiles = fx.InputNames.ToDictionary(n => n, fx.NpyPath, StringComparer.Ordinal);
            var edgeOut = EdgeCli.Predict(edge, inputFiles, fx.OutputNames, Path.Combine(dir, "out"));
            var ortOut = OnnxRuntimePeer.Run(onnx, fx.Inputs());

            var problems = new List<string>();
            foreach (var name in fx.OutputNames)
            {
                var torch = fx.Read(name);
                Assert.IsTrue(ortOut.ContainsKey(name), $"ONNX Runtime gave no output '{name}' for {onnx}");
                // The peer agreeing with PyTorch shows the fixture itself is sound.
                problems.Add(Assertions.Compare(torch, ortOut[name], Parity.Tolerance, $"{fixture}/{modelFile} '{name}': ONNX Runtime vs PyTorch") ?? "");
                problems.Add(Assertions.Compare(torch, edgeOut[name], Parity.Tolerance, $"{fixture}/{modelFile} '{name}': Edge vs PyTorch") ?? "");
                problems.Add(Assertions.Compare(ortOut[name], edgeOut[name], Parity.Tolerance, $"{fixture}/{modelFile} '{name}': Edge vs ONNX Runtime") ?? "");
            }
            problems.RemoveAll(p => p.Length == 0);
            Assert.AreEqual(0, problems.Count, string.Join(Environment.NewLine, problems));
        }
        finally
        {
            DeleteQuietly(dir);
        }
    }

    /// <summary>The dual encoder was exported with a dynamic batch: it must score one pair as it scores sixteen.</summary>
    [TestMethod]
    public void DualEncoder_DynamicBatch_ScoresBatchesOf1And16LikePyTorch()
    {
        var fx = FixtureCase.Load("dual_encoder");
        string onnx = fx.PathOf("model.onnx");
        string dir = TestPaths.NewTempDir();
        try
        {
            var session = EdgeModel.Load(EdgeCli.Convert(onnx, dir)).CreateSession();
            var context = fx.Read("context");
            var response = fx.Read("response");
            var score = fx.Read("score");
            Assert.AreEqual(16, context.Dim(0), "the fixture is a batch of 16");

            var full = session.Run(new Dictionary<string, Tensor> { ["context"] = context, ["response"] = response });
            Assertions.AssertClose(score, full["score"], Parity.Tolerance, "batch 16: Edge vs PyTorch");

            foreach (int row in new[] { 0, 7, 15 })
            {
                var feeds = new Dictionary<string, Tensor>
                {
                    ["context"] = Parity.Rows(context, row, 1),
                    ["response"] = Parity.Rows(response, row, 1),
                };
                var expected = Parity.Rows(score, row, 1);
                var edge = session.Run(feeds)["score"];
                var ort = OnnxRuntimePeer.Run(onnx, feeds)["score"];
                Assertions.AssertClose(expected, ort, Parity.Tolerance, $"batch 1 (row {row}): ONNX Runtime vs PyTorch");
                Assertions.AssertClose(expected, edge, Parity.Tolerance, $"batch 1 (row {row}): Edge vs PyTorch");
                Assertions.AssertClose(ort, edge, Parity.Tolerance, $"batch 1 (row {row}): Edge vs ONNX Runtime");
            }
        }
        finally
        {
            DeleteQuietly(dir);
        }
    }

    /// <summary>
    /// The seed's loss: logits (N, D, C) transposed to (N, C, D) for nn.CrossEntropyLoss, i.e.
    /// log-softmax over C and the mean NLL over N·D. Computed here from Edge's logits and compared
    /// with PyTorch's loss.npy.
    /// </summary>
    [TestMethod]
    public void CharLstm_CrossEntropyOverNCD_FromEdgeLogits_MatchesPyTorchLoss()
    {
        var fx = FixtureCase.Load("char_lstm");
        var targets = fx.Read("targets");
        var torchLoss = fx.Read("loss");
        Assert.AreEqual(0, torchLoss.Rank, "loss.npy is the 0-d loss PyTorch returns");
        double expected = torchLoss.ToDoubleArray()[0];

        // The reference computation first, on PyTorch's own logits: it must reproduce PyTorch's loss.
        double fromTorchLogits = CrossEntropyNcd(fx.Read("logits").Permute(0, 2, 1), targets);
        Assert.AreEqual(expected, fromTorchLogits, 1e-5, "the C# cross-entropy disagrees with PyTorch on PyTorch's own logits");

        string dir = TestPaths.NewTempDir();
        try
        {
            var session = EdgeModel.Load(EdgeCli.Convert(fx.PathOf("model.onnx"), dir)).CreateSession();
            var logits = session.Run(new Dictionary<string, Tensor> { ["tokens"] = fx.Read("tokens") })["logits"];
            CollectionAssert.AreEqual(new[] { 128, 100, 44 }, logits.ShapeArray(), "logits (N, D, C)");
            double loss = CrossEntropyNcd(logits.Permute(0, 2, 1), targets);
            Assert.AreEqual(expected, loss, Parity.Atol + Parity.Rtol * Math.Abs(expected), "cross-entropy of Edge's logits vs PyTorch's loss");
        }
        finally
        {
            DeleteQuietly(dir);
        }
    }

    /// <summary>nn.CrossEntropyLoss (mean reduction, no weights) of input (N, C, D) against targets (N, D), in double.</summary>
    private static double CrossEntropyNcd(Tensor logitsNcd, Tensor targets)
    {
        var x = logitsNcd.Contiguous();
        int n = x.Dim(0), c = x.Dim(1), d = x.Dim(2);
        CollectionAssert.AreEqual(new[] { n, d }, targets.ShapeArray(), "targets (N, D)");
        var v = x.ReadOnlySpan<float>();
        var t = targets.ToInt64Array();
        double total = 0;
        for (int b = 0; b < n; b++)
        {
            for (int p = 0; p < d; p++)
            {
                double max = double.NegativeInfinity;
                for (int k = 0; k < c; k++) max = Math.Max(max, v[(b * c + k) * d + p]);
                double sum = 0;
                for (int k = 0; k < c; k++) sum += Math.Exp(v[(b * c + k) * d + p] - max);
                long target = t[b * d + p];
                Assert.IsTrue(target >= 0 && target < c, $"target {target} at [{b}, {p}] is not a class of {c}");
                total += max + Math.Log(sum) - v[(b * c + (int)target) * d + p];
            }
        }
        return total / (n * (double)d);
    }

    /// <summary>
    /// The seed's LocalLinear(30, 4, kernel_size=5, padding=2, stride=3) is the IR's LocallyConnected1D
    /// with one channel: X (8, 30) unsqueezed to (8, 30, 1), W (folds, K·1, F) = PyTorch's (folds, K, F).
    /// </summary>
    [TestMethod]
    public void LocalLinear_AsLocallyConnected1D_MatchesPyTorch()
    {
        var fx = FixtureCase.Load("local_linear");
        var weight = fx.Read("weight");
        var bias = fx.Read("bias");
        var input = fx.Read("input");
        var expected = fx.Read("output");
        CollectionAssert.AreEqual(new[] { 10, 5, 4 }, weight.ShapeArray(), "weight (folds, kernel, features)");
        CollectionAssert.AreEqual(new[] { 8, 30 }, input.ShapeArray());

        var graph = new Graph { Name = "local_linear" };
        graph.Inputs.Add(new ValueInfo("x", DataType.Float32, [ValueInfo.Dynamic, 30, 1]));
        graph.Constants["w"] = weight.Reshape(10, 5 * 1, 4);
        graph.Constants["b"] = bias;
        graph.Nodes.Add(new Node(OpKind.LocallyConnected1D, "local", ["x", "w", "b"], ["y"])
            .Set("kernel_size", 5L).Set("stride", 3L).Set("pads", new long[] { 2, 2 }));
        graph.Outputs.Add(new ValueInfo("y", DataType.Float32, [ValueInfo.Dynamic, 10, 4]));

        var y = new Session(graph).Run(new Dictionary<string, Tensor> { ["x"] = input.Reshape(8, 30, 1) })["y"];
        Assertions.AssertClose(expected, y, Parity.Tolerance, "LocallyConnected1D vs PyTorch LocalLinear");
    }

    /// <summary>torch.stack([torch.cat(l, 0) for l in lists], 0) of 3 lists of 4 (1, 512) tensors: a copy, so exact.</summary>
    [TestMethod]
    public void Stack_CatThenStack_EqualsPyTorchExactly()
    {
        var fx = FixtureCase.Load("stack");
        var all = fx.Read("lists");
        var expected = fx.Read("stacked");
        CollectionAssert.AreEqual(new[] { 3, 4, 1, 512 }, all.ShapeArray());
        var flat = all.ReadOnlySpan<float>();
        var lists = new List<IReadOnlyList<Tensor>>();
        for (int i = 0; i < 3; i++)
        {
            var row = new List<Tensor>();
            for (int j = 0; j < 4; j++) row.Add(Tensor.FromArray(flat.Slice((i * 4 + j) * 512, 512).ToArray(), 1, 512));
            lists.Add(row);
        }
        var stacked = TensorOps.CatThenStack(lists);
        CollectionAssert.AreEqual(expected.ShapeArray(), stacked.ShapeArray());
        CollectionAssert.AreEqual(expected.ReadOnlySpan<float>().ToArray(), stacked.Contiguous().ReadOnlySpan<float>().ToArray());
    }

    // ── CLI error behaviour ─────────────────────────────────────────────────────────────────────

    [TestMethod]
    public void Predict_MissingInputFile_FailsWithOneLineOnStderr()
    {
        var fx = FixtureCase.Load("seed_gru");
        string dir = TestPaths.NewTempDir();
        try
        {
            string edge = EdgeCli.Convert(fx.PathOf("model.onnx"), dir);
            string missing = Path.Combine(dir, "no-such-file.npy");
            var r = EdgeCli.Device("predict", "--model", edge, "--input", $"x={missing}", "--input", $"h0={fx.NpyPath("h0")}",
                "--output-dir", Path.Combine(dir, "out"));
            AssertOneLineUserError(r, "no-such-file.npy");
        }
        finally
        {
            DeleteQuietly(dir);
        }
    }

    [TestMethod]
    public void Predict_WrongInputName_FailsWithOneLineOnStderr()
    {
        var fx = FixtureCase.Load("seed_gru");
        string dir = TestPaths.NewTempDir();
        try
        {
            string edge = EdgeCli.Convert(fx.PathOf("model.onnx"), dir);
            var r = EdgeCli.Device("predict", "--model", edge, "--input", $"x={fx.NpyPath("x")}", "--input", $"hidden0={fx.NpyPath("h0")}",
                "--output-dir", Path.Combine(dir, "out"));
            AssertOneLineUserError(r, "hidden0");
        }
        finally
        {
            DeleteQuietly(dir);
        }
    }

    [TestMethod]
    public void Predict_InputNotGiven_FailsWithOneLineOnStderr()
    {
        var fx = FixtureCase.Load("seed_gru");
        string dir = TestPaths.NewTempDir();
        try
        {
            string edge = EdgeCli.Convert(fx.PathOf("model.onnx"), dir);
            var r = EdgeCli.Device("predict", "--model", edge, "--input", $"x={fx.NpyPath("x")}", "--output-dir", Path.Combine(dir, "out"));
            AssertOneLineUserError(r, "h0");
        }
        finally
        {
            DeleteQuietly(dir);
        }
    }

    /// <summary>A user error: exit code 1 (CliSupport.Guard's contract; 70 would mean an internal error), one line that names the culprit, no stack trace.</summary>
    private static void AssertOneLineUserError(EdgeCli.Result r, string mentions)
    {
        Assert.AreEqual(1, r.ExitCode, $"expected the user-error exit code: {r}");
        var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.AreEqual(1, lines.Length, $"expected exactly one line on stderr: {r}");
        Assert.DoesNotContain("   at ", r.Stderr, $"stderr holds a stack trace: {r}");
        Assert.DoesNotContain("Exception", r.Stderr, $"stderr names an exception type: {r}");
        Assert.Contains(mentions, lines[0], $"the message should name '{mentions}': {r}");
    }

    private static void DeleteQuietly(string dir)
    {
        try { Directory.Delete(dir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
