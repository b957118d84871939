using Edge.Quantizer.Import.Keras;
using Edge.Quantizer.Import.Onnx;
using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;
using Edge.Runtime.Tests.EndToEnd;

// Not "...Tests.Execution": that namespace would hide Edge.Runtime.Execution from the tests that write `Execution.Session`.
namespace Edge.Runtime.Tests.Sessions;

/// <summary>
/// <see cref="SessionRunner"/> on the fixture models (PyTorch exports under Fixtures/models) and the
/// real Keras models in ../shared/models: bit-for-bit the results of <see cref="Session.Run"/>, no
/// allocation once warm, results of the dictionary API never overwritten, batch changes between calls.
/// </summary>
[TestClass]
public sealed class SessionRunnerTests
{
    public static IEnumerable<object[]> Models =>
    [
        ["seed_gru"], ["forecaster"], ["dual_encoder"], ["gru2_batchfirst"], ["lstm_bidir"], ["lstm_multilayer"], ["char_lstm"],
        ["airsensor_gru.h5"], ["airsensor_gru.keras"], ["airquality_lstm_relu.h5"],
    ];

    // ── exactness ───────────────────────────────────────────────────────────────────────────────

    [TestMethod]
    [DynamicData(nameof(Models))]
    public void Runner_Batch1_IsBitForBitSessionRun(string model)
    {
        var m = TestModel.Load(model);
        var session = new Session(m.Graph);
        var runner = session.CreateRunner();
        // Rows 0, 1, 0: the second and third calls reuse every buffer of the first, so a value left over
        // from an earlier call (a buffer an operator forgot to overwrite) shows up as a difference.
        foreach (int row in new[] { 0, 1, 0 })
        {
            var feeds = m.Batch(row, 1);
            var expected = session.Run(feeds);
            Feed(runner, m.Graph, feeds);
            runner.Invoke();
            AssertSameOutputs(m.Graph, expected, runner, $"{model} batch 1 row {row}");
        }
    }

    [TestMethod]
    [DynamicData(nameof(Models))]
    public void Runner_ChangingTheBatchBetweenCalls_MatchesSessionRun(string model)
    {
        var m = TestModel.Load(model);
        var session = new Session(m.Graph);
        var runner = session.CreateRunner();
        foreach (var (row, count) in new[] { (0, 1), (0, m.BatchSize), (1, 1), (1, m.BatchSize - 1), (0, 1) })
        {
            var feeds = m.Batch(row, count);
            var expected = session.Run(feeds);
            Feed(runner, m.Graph, feeds);
            runner.Invoke();
            AssertSameOutputs(m.Graph, expected, runner, $"{model} rows {row}..{row + count - 1}");
        }
        AssertNoAllocation(runner, model);
    }

    [TestMethod]
    public void Runner_BoundTensors_AreReadInPlaceAndConvertedWhenIntegerWidthsDiffer()
    {
        var m = TestModel.Load("dual_encoder");
        var session = new Session(m.Graph);
        var feeds = m.Batch(2, 3);
        var expected = session.Run(feeds);
        var runner = session.CreateRunner();
        for (int i = 0; i < m.Graph.Inputs.Count; i++)
        {
            var t = feeds[m.Graph.Inputs[i].Name];
            // int32 token ids for an int64 input are accepted, as Session.Run accepts them.
            runner.Bind(i, Tensor.FromArray(Array.ConvertAll(t.ToInt64Array(), v => (int)v), t.ShapeArray()));
        }
        runner.Invoke();
        AssertSameOutputs(m.Graph, expected, runner, "dual_encoder, int32 ids bound");
        AssertNoAllocation(runner, "dual_encoder with int32 ids bound");

        var forecaster = TestModel.Load("forecaster");
        var x = forecaster.Batch(0, 1)["x"];
        var fs = new Session(forecaster.Graph);
        var fr = fs.CreateRunner();
        var bound = x.Clone();
        fr.Bind(0, bound);
        fr.Invoke();
        AssertSameOutputs(forecaster.Graph, fs.Run(new Dictionary<string, Tensor> { ["x"] = x }), fr, "forecaster, bound");
        // The runner reads the caller's tensor at each Invoke: changing it changes the next result.
        var x2 = forecaster.Batch(3, 1)["x"];
        x2.Span<float>().CopyTo(bound.Span<float>());
        fr.Invoke();
        AssertSameOutputs(forecaster.Graph, fs.Run(new Dictionary<string, Tensor> { ["x"] = x2 }), fr, "forecaster, bound tensor refilled");
    }

    // ── allocation ──────────────────────────────────────────────────────────────────────────────

    [TestMethod]
    [DynamicData(nameof(Models))]
    public void Runner_Batch1_AllocatesNothingAfterTheFirstCall(string model)
    {
        var m = TestModel.Load(model);
        var runner = new Session(m.Graph).CreateRunner();
        Feed(runner, m.Graph, m.Batch(0, 1));
        runner.Invoke();
        AssertNoAllocation(runner, model);
    }

    [TestMethod]
    public void Runner_RefillingInputsThroughSpans_AllocatesNothing()
    {
        var m = TestModel.Load("forecaster");
        var runner = new Session(m.Graph).CreateRunner();
        var rows = new[] { m.Batch(0, 1)["x"], m.Batch(1, 1)["x"] };
        // A shape array made once: in this Debug-built test assembly a literal `Input(0, 1, 10, 6)` would
        // allocate at the call site (the unoptimized JIT does not expand RuntimeHelpers.CreateSpan).
        int[] shape = [1, 10, 6];
        var input = runner.Input(0, shape);
        rows[0].Span<float>().CopyTo(input.Span<float>());
        runner.Invoke();
        float sum = 0;
        int call = 0;
        AssertNoAllocation(() =>
        {
            rows[call++ % 2].Span<float>().CopyTo(runner.Input(0, shape).Span<float>());
            runner.Invoke();
            sum += runner.Output(0).Span<float>()[0];
        }, "forecasts with their input refilled through spans");
        Assert.IsTrue(float.IsFinite(sum));
    }

    // ── ownership and lifetimes ─────────────────────────────────────────────────────────────────

    [TestMethod]
    [DataRow("seed_gru")]
    [DataRow("forecaster")]
    [DataRow("dual_encoder")]
    [DataRow("lstm_multilayer")]
    public void Run_DictionaryResults_AreNotOverwrittenByLaterRuns(string model)
    {
        var m = TestModel.Load(model);
        var session = new Session(m.Graph);
        var first = session.Run(m.Batch(0, 1));
        var snapshot = first.ToDictionary(kv => kv.Key, kv => kv.Value.Clone());
        var runner = session.CreateRunner();
        for (int row = 1; row < 3; row++)
        {
            var feeds = m.Batch(row, 1);
            session.Run(feeds);
            Feed(runner, m.Graph, feeds);
            runner.Invoke();
        }
        foreach (var (name, value) in snapshot)
            AssertBitEqual(value, first[name], $"{model} '{name}' from the first Run, after later runs");
    }

    [TestMethod]
    public void Runner_OutputsAreOverwrittenByTheNextInvoke_AsDocumented()
    {
        var m = TestModel.Load("forecaster");
        var session = new Session(m.Graph);
        var runner = session.CreateRunner();
        Feed(runner, m.Graph, m.Batch(0, 1));
        runner.Invoke();
        var output = runner.Output(0);
        var kept = output.Clone();
        Feed(runner, m.Graph, m.Batch(1, 1));
        runner.Invoke();
        Assert.AreSame(output, runner.Output(0), "same shapes: the runner hands out the same output tensor");
        AssertBitEqual(session.Run(m.Batch(1, 1))[m.Graph.Outputs[0].Name], output, "the reused output holds the second result");
        AssertBitEqual(session.Run(m.Batch(0, 1))[m.Graph.Outputs[0].Name], kept, "a Clone taken before keeps the first");
    }

    [TestMethod]
    public void Runner_TwoRunnersOfOneSession_DoNotShareBuffers()
    {
        var m = TestModel.Load("seed_gru");
        var session = new Session(m.Graph);
        var a = session.CreateRunner();
        var b = session.CreateRunner();
        Feed(a, m.Graph, m.Batch(0, 1));
        Feed(b, m.Graph, m.Batch(1, 1));
        a.Invoke();
        b.Invoke();
        AssertSameOutputs(m.Graph, session.Run(m.Batch(0, 1)), a, "runner a after runner b ran");
        AssertSameOutputs(m.Graph, session.Run(m.Batch(1, 1)), b, "runner b");
    }

    // ── misuse ──────────────────────────────────────────────────────────────────────────────────

    [TestMethod]
    public void Runner_Misuse_IsReportedClearly()
    {
        var m = TestModel.Load("forecaster");
        var runner = new Session(m.Graph).CreateRunner();
        var e = Assert.ThrowsExactly<EdgeException>(() => runner.Input(0));
        StringAssert.Contains(e.Message, "dynamic dimension");
        e = Assert.ThrowsExactly<EdgeException>(() => runner.Invoke());
        StringAssert.Contains(e.Message, "input 'x'");
        e = Assert.ThrowsExactly<EdgeException>(() => runner.Input(0, 1, 11, 6));
        StringAssert.Contains(e.Message, "must have shape (?, 10, 6), got (1, 11, 6)");
        Assert.ThrowsExactly<InvalidOperationException>(() => runner.Output(0));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => runner.Input(1, 1, 10, 6));
        runner.Bind(0, Tensor.Zeros<float>(1, 10, 7));
        e = Assert.ThrowsExactly<EdgeException>(() => runner.Invoke());
        StringAssert.Contains(e.Message, "must have shape (?, 10, 6), got (1, 10, 7)");
        Assert.AreEqual(0, runner.InputIndex("x"));
        Assert.ThrowsExactly<EdgeException>(() => runner.OutputIndex("nope"));
    }

    // ── helpers ─────────────────────────────────────────────────────────────────────────────────

    /// <summary>Copies <paramref name="feeds"/> into the runner's own input tensors (Input(i, shape)).</summary>
    internal static void Feed(SessionRunner runner, Graph graph, IReadOnlyDictionary<string, Tensor> feeds)
    {
        for (int i = 0; i < graph.Inputs.Count; i++)
        {
            var t = feeds[graph.Inputs[i].Name];
            var input = runner.Input(i, t.Shape);
            t.Bytes().CopyTo(input.WritableBytes());
        }
    }

    /// <summary>
    /// Calls on the same inputs allocate 0 bytes on this thread. Measured in rounds of 5 calls: the
    /// runtime itself may allocate once while a method is recompiled (tiered JIT, on-stack replacement
    /// of a hot loop) during a round, so one round of 0 bytes out of 20 passes; an allocation per call
    /// shows in every round.
    /// </summary>
    internal static void AssertNoAllocation(SessionRunner runner, string what) => AssertNoAllocation(runner.Invoke, what);

    internal static void AssertNoAllocation(Action call, string what)
    {
        call();
        var rounds = new long[20];
        for (int r = 0; r < rounds.Length; r++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 5; i++) call();
            rounds[r] = GC.GetAllocatedBytesForCurrentThread() - before;
            if (rounds[r] == 0) return;
        }
        Assert.Fail($"{what}: every round of 5 warm calls allocated (bytes per round: {string.Join(", ", rounds)})");
    }

    internal static void AssertSameOutputs(Graph graph, Dictionary<string, Tensor> expected, SessionRunner runner, string what)
    {
        for (int o = 0; o < graph.Outputs.Count; o++)
            AssertBitEqual(expected[graph.Outputs[o].Name], runner.Output(o), $"{what}: output '{graph.Outputs[o].Name}'");
    }

    internal static void AssertBitEqual(Tensor expected, Tensor actual, string what)
    {
        Assert.AreEqual(expected.DataType, actual.DataType, $"{what}: dtype");
        Assert.AreEqual(expected.ShapeString, actual.ShapeString, $"{what}: shape");
        var e = expected.Contiguous().Bytes();
        var a = actual.Contiguous().Bytes();
        int at = e.SequenceEqual(a) ? -1 : CommonPrefix(e, a);
        if (at >= 0)
            Assert.Fail($"{what}: differs at element {at / expected.DataType.SizeOf()} ({expected.ToDoubleArray()[at / expected.DataType.SizeOf()]:R} expected, {actual.ToDoubleArray()[at / expected.DataType.SizeOf()]:R} got)");
    }

    private static int CommonPrefix(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        int i = 0;
        while (i < a.Length && i < b.Length && a[i] == b[i]) i++;
        return i;
    }
}

/// <summary>A model of <see cref="SessionRunnerTests.Models"/> with inputs cut into batches of any size.</summary>
internal sealed class TestModel
{
    private readonly Dictionary<string, Tensor> _inputs; // the whole fixture batch
    private readonly Dictionary<string, int> _batchAxis; // per input: the axis that is the batch (the first dynamic one)

    private TestModel(Graph graph, Dictionary<string, Tensor> inputs)
    {
        Graph = graph;
        _inputs = inputs;
        _batchAxis = graph.Inputs.ToDictionary(i => i.Name, i => Math.Max(0, Array.IndexOf(i.Shape, ValueInfo.Dynamic)), StringComparer.Ordinal);
        BatchSize = graph.Inputs.Min(i => inputs[i.Name].Dim(_batchAxis[i.Name]));
    }

    public Graph Graph { get; }

    /// <summary>Rows available in the fixture batch (at least 4).</summary>
    public int BatchSize { get; }

    public static TestModel Load(string name)
    {
        if (name.EndsWith(".h5", StringComparison.Ordinal) || name.EndsWith(".keras", StringComparison.Ordinal))
        {
            // The shared Keras models come without inputs: 4 rows of deterministic values in [0, 1) (MinMax-scaled sensors).
            var graph = KerasImporter.Import(TestPaths.SharedModel(name));
            var rng = new Random(7);
            var inputs = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (var info in graph.Inputs)
            {
                var t = Tensor.Zeros<float>(info.Shape.Select(d => d < 0 ? 4 : d).ToArray());
                var s = t.Span<float>();
                for (int i = 0; i < s.Length; i++) s[i] = (float)rng.NextDouble();
                inputs[info.Name] = t;
            }
            return new TestModel(graph, inputs);
        }
        var fx = FixtureCase.Load(name);
        return new TestModel(OnnxImporter.Import(fx.PathOf(fx.ModelFiles[0])), fx.Inputs());
    }

    /// <summary>Rows [start, start + count) of every input along its batch axis, as new contiguous tensors.</summary>
    public Dictionary<string, Tensor> Batch(int start, int count)
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, t) in _inputs)
        {
            int axis = _batchAxis[name];
            var shape = t.ShapeArray();
            shape[axis] = count;
            var slice = Tensor.Zeros(t.DataType, shape);
            int outer = shape[..axis].Aggregate(1, (a, b) => a * b);
            int inner = shape[(axis + 1)..].Aggregate(1, (a, b) => a * b) * t.DataType.SizeOf();
            var src = t.Contiguous().Bytes();
            var dst = slice.WritableBytes();
            int rows = t.Dim(axis);
            for (int o = 0; o < outer; o++)
                src.Slice((o * rows + start) * inner, count * inner).CopyTo(dst.Slice(o * count * inner, count * inner));
            result[name] = slice;
        }
        return result;
    }
}
