using System.Text.Json.Nodes;
using Edge.Quantizer.Import.Keras;
using Edge.Quantizer.Import.Onnx;
using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Kernels;
using Edge.Runtime.Streaming;
using Edge.Runtime.Tensors;
using Edge.Runtime.Tests.EndToEnd;
using static Edge.Runtime.Tests.Assertions;

namespace Edge.Runtime.Tests.Streaming;

/// <summary>
/// <see cref="ForecastStream"/> against the batch <see cref="Session"/>: window models (the fixture forecaster,
/// the real Keras air-sensor GRU with a 24-step rollout) with and without cached input projections, a stateful
/// model (the seed's GRU, state carried sample by sample), allocation-free steps, and bad input.
/// </summary>
[TestClass]
public sealed class ForecastStreamTests
{
    private static readonly Tolerance Tolerance = Tolerance.Scaled(1e-5);

    internal static EdgeModel Fixture(string name)
    {
        var fx = FixtureCase.Load(name);
        return new EdgeModel(OnnxImporter.Import(fx.PathOf(fx.ModelFiles[0])), new JsonObject());
    }

    internal static EdgeModel Keras(string file)
    {
        var path = TestPaths.SharedModel(file);
        return new EdgeModel(KerasImporter.Import(path), new JsonObject());
    }

    /// <summary>A deterministic sensor-like series: T samples of F features, smooth plus noise, in about [-1, 1].</summary>
    internal static float[][] Series(int t, int f, int seed = 11)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, t).Select(i => Enumerable.Range(0, f)
            .Select(j => (float)(0.6 * Math.Sin(0.3 * i + j) + 0.4 * (rng.NextDouble() * 2 - 1))).ToArray()).ToArray();
    }

    /// <summary>The batch session on one window (1, n, F) of the series ending at sample <paramref name="end"/>.</summary>
    private static float[] Batch(Session session, string input, string output, float[][] series, int end, int n)
    {
        int f = series[0].Length;
        var x = new float[n * f];
        for (int k = 0; k < n; k++) series[end - n + 1 + k].CopyTo(x, k * f);
        return session.Run(new Dictionary<string, Tensor> { [input] = Tensor.FromArray(x, 1, n, f) })[output].Contiguous().ReadOnlySpan<float>().ToArray();
    }

    private static void AssertBitEqual(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.AreEqual(expected.Length, actual.Length, $"{what}: length");
        for (int i = 0; i < expected.Length; i++)
            Assert.AreEqual(BitConverter.SingleToInt32Bits(expected[i]), BitConverter.SingleToInt32Bits(actual[i]),
                $"{what}, element {i}: stream {actual[i]:R}, session {expected[i]:R}");
    }

    // ── window style ────────────────────────────────────────────────────────────────────────────

    [TestMethod]
    [DataRow(ProjectionCache.Auto, true)]
    [DataRow(ProjectionCache.Off, false)]
    public void Window_FixtureForecaster_EqualsTheBatchSessionOnEveryWindow(ProjectionCache cache, bool cached)
    {
        // x (batch, 10, 6) -> LSTM(200) encoder -> RepeatVector -> LSTM(200) decoder -> Conv1D head -> (batch, 1, 6).
        var model = Fixture("forecaster");
        var session = model.CreateSession();
        var stream = model.CreateStream(new StreamOptions { CacheProjections = cache });
        Assert.AreEqual(StreamStyle.Window, stream.Style);
        Assert.AreEqual(10, stream.Window);
        Assert.AreEqual(6, stream.InputFeatures);
        Assert.AreEqual(1, stream.ModelSteps);
        Assert.AreEqual(cached, stream.CachesInputProjections, stream.ProjectionCacheNote);
        var series = Series(40, 6);
        var forecast = new float[stream.ForecastLength];
        for (int t = 0; t < series.Length; t++)
        {
            bool ready = stream.TryPush(series[t], forecast);
            Assert.AreEqual(t >= 9, ready, $"sample {t}: a forecast once the window of 10 is full");
            if (ready) AssertClose(Batch(session, "x", "forecast", series, t, 10), forecast, Tolerance.Exact, $"window ending at {t}");
        }
    }

    [TestMethod]
    public void Window_Int8Forecaster_CachesInt8Projections_AndEqualsTheBatchSessionBitForBit_OnEveryPath()
    {
        // The int8 blob of the same fixture: the cached encoder runs the layer's own int8 products and cell
        // (per-sample x quantization, Gemv.LstmStepInt8), so every forecast equals the batch session's exactly.
        var (_, model) = Int8.Int8ModelTests.Converted("forecaster/model.onnx");
        var series = Series(30, 6, seed: 11);
        foreach (var isa in IsaSelector.Supported)
        {
            var options = new SessionOptions { Isa = isa };
            var session = model.CreateSession(options);
            var stream = model.CreateStream(new StreamOptions { Session = options });
            Assert.IsTrue(stream.CachesInputProjections, stream.ProjectionCacheNote);
            StringAssert.Contains(stream.ProjectionCacheNote, "int8");
            var forecast = new float[stream.ForecastLength];
            for (int t = 0; t < series.Length; t++)
            {
                if (!stream.TryPush(series[t], forecast)) continue;
                AssertBitEqual(Batch(session, "x", "forecast", series, t, 10), forecast, $"{IsaSelector.Name(isa)}, window ending at {t}");
            }
            // The int8 cached push allocates nothing once warm.
            int next = 0;
            Sessions.SessionRunnerTests.AssertNoAllocation(() => stream.TryPush(series[next++ % series.Length], forecast), $"{IsaSelector.Name(isa)} int8 cached push");
        }
    }

    [TestMethod]
    public void Window_ResetEmptiesTheWindow_AndPushWithoutForecastFillsIt()
    {
        var model = Fixture("forecaster");
        var session = model.CreateSession();
        var stream = model.CreateStream();
        var series = Series(30, 6, seed: 3);
        for (int t = 0; t < 15; t++) stream.Push(series[t]);
        stream.Reset();
        Assert.AreEqual(0, stream.Count);
        for (int t = 15; t < 24; t++) stream.Push(series[t]);
        Assert.IsFalse(stream.IsReady);
        Assert.IsTrue(stream.Push(series[24], out var forecast));
        AssertClose(Batch(session, "x", "forecast", series, 24, 10), forecast, Tolerance, "after a reset");
    }

    [TestMethod]
    [DataRow(ProjectionCache.Auto)]
    [DataRow(ProjectionCache.Off)]
    public void Window_AirSensorGru_Rollout24_EqualsRepeatedBatchCalls(ProjectionCache cache)
    {
        // The author's Keras model: GRU(64) -> Dense(5), input (batch, 1, 5), rolled forward 24 steps.
        var model = Keras("airsensor_gru.keras");
        var session = model.CreateSession();
        var input = model.Graph.Inputs[0].Name;
        var output = model.Graph.Outputs[0].Name;
        var stream = model.CreateStream(new StreamOptions { Horizon = 24, CacheProjections = cache });
        Assert.AreEqual(1, stream.Window);
        Assert.AreEqual(1, stream.ModelSteps);
        Assert.AreEqual(24 * 5, stream.ForecastLength);
        if (cache == ProjectionCache.Auto) Assert.IsTrue(stream.CachesInputProjections, stream.ProjectionCacheNote);
        var forecast = new float[stream.ForecastLength];
        var series = Series(6, 5, seed: 5).Select(s => s.Select(v => 0.5f + 0.5f * v).ToArray()).ToArray(); // MinMax-scaled: [0, 1]
        foreach (var sample in series)
        {
            Assert.IsTrue(stream.TryPush(sample, forecast));
            var x = sample;
            for (int k = 0; k < 24; k++)
            {
                x = session.Run(new Dictionary<string, Tensor> { [input] = Tensor.FromArray(x, 1, 1, 5) })[output].Contiguous().ReadOnlySpan<float>().ToArray();
                AssertClose(x, forecast.AsSpan(k * 5, 5), Tolerance, $"rollout step {k + 1}");
            }
        }
    }

    [TestMethod]
    public void Window_RolloutBeyondTheWindow_SlidesForecastsIn_AndLeavesTheRingAlone()
    {
        // Horizon 13 > window 10: the 11th..13th steps are forecast from windows made only of forecasts.
        AssertRolloutEqualsBatchCalls(Fixture("forecaster"), Series(25, 6, seed: 9), exact: false);
    }

    [TestMethod]
    public void Window_Int8Rollout_ProjectsForecastsLikeSamples_BitForBit()
    {
        // The same on the int8 blob: forecasts slide into the window and are projected with the same int8
        // quantization and product as real samples, so every step equals a batch call exactly.
        var (_, model) = Int8.Int8ModelTests.Converted("forecaster/model.onnx");
        AssertRolloutEqualsBatchCalls(model, Series(16, 6, seed: 13), exact: true);
    }

    /// <summary>A horizon-13 stream of the window-10 forecaster against batch calls on windows that take each forecast in turn.</summary>
    private static void AssertRolloutEqualsBatchCalls(EdgeModel model, float[][] series, bool exact)
    {
        var session = model.CreateSession();
        var stream = model.CreateStream(new StreamOptions { Horizon = 13 });
        Assert.IsTrue(stream.CachesInputProjections, stream.ProjectionCacheNote);
        var forecast = new float[stream.ForecastLength];
        for (int t = 0; t < series.Length; t++)
        {
            if (!stream.TryPush(series[t], forecast)) continue;
            var window = series[(t - 9)..(t + 1)].ToList();
            for (int k = 0; k < 13; k++)
            {
                var y = Batch(session, "x", "forecast", window.ToArray(), 9, 10);
                if (exact) AssertBitEqual(y, forecast.AsSpan(k * 6, 6), $"sample {t}, step {k + 1}");
                else AssertClose(y, forecast.AsSpan(k * 6, 6), Tolerance, $"sample {t}, step {k + 1}");
                window.RemoveAt(0);
                window.Add(y);
            }
        }
    }

    [TestMethod]
    public void Window_CachedProjections_EqualThePlainWindowPath_OnTheKerasLstmAndGruFixtures()
    {
        // Every fixture whose graph the cache takes must give the plain path's forecasts.
        foreach (var name in new[] { "forecaster", "gru2_batchfirst", "lstm_multilayer" })
        {
            EdgeModel model;
            try { model = Fixture(name); }
            catch (DirectoryNotFoundException) { continue; }
            StreamOptions Options(ProjectionCache c) => new() { CacheProjections = c, Window = model.Graph.Inputs[0].Shape[1] > 0 ? null : 7 };
            ForecastStream cached, plain;
            try
            {
                cached = model.CreateStream(Options(ProjectionCache.Auto));
                plain = model.CreateStream(Options(ProjectionCache.Off));
            }
            catch (EdgeException e)
            {
                Console.WriteLine($"{name}: not a stream model ({e.Message})");
                continue;
            }
            Console.WriteLine($"{name}: cached={cached.CachesInputProjections} ({cached.ProjectionCacheNote})");
            var series = Series(cached.Window + 8, cached.InputFeatures, seed: 21);
            var a = new float[cached.ForecastLength];
            var b = new float[plain.ForecastLength];
            foreach (var s in series)
            {
                bool ra = cached.TryPush(s, a), rb = plain.TryPush(s, b);
                Assert.AreEqual(rb, ra);
                if (ra) AssertClose(b, a, Tolerance.Exact, name);
            }
        }
    }

    // ── stateful style ──────────────────────────────────────────────────────────────────────────

    [TestMethod]
    public void Stateful_SeedGru_SampleBySample_EqualsOneLongSequenceRun()
    {
        // nn.GRU(96, 96), seq-first: x (12, batch, 96), h0 (1, batch, 96) -> output (12, batch, 96), h_n.
        var fx = FixtureCase.Load("seed_gru");
        var model = Fixture("seed_gru");
        var stream = model.CreateStream();
        Assert.AreEqual(StreamStyle.Stateful, stream.Style);
        Assert.HasCount(1, stream.State);
        Assert.AreEqual(new StatePair("h0", "h_n"), stream.State[0]);
        Assert.AreEqual("x", stream.InputName);
        Assert.AreEqual("output", stream.OutputName);
        Assert.AreEqual(96, stream.InputFeatures);

        var x = fx.Inputs()["x"]; // (12, 8, 96): take batch row 3 as the sample series
        int steps = x.Dim(0);
        var samples = Enumerable.Range(0, steps).Select(t => Enumerable.Range(0, 96).Select(j => x.Get<float>(t, 3, j)).ToArray()).ToArray();
        var seq = new float[steps * 96];
        for (int t = 0; t < steps; t++) samples[t].CopyTo(seq, t * 96);
        var expected = model.CreateSession().Run(new Dictionary<string, Tensor>
        {
            ["x"] = Tensor.FromArray(seq, steps, 1, 96),
            ["h0"] = Tensor.Zeros<float>(1, 1, 96),
        });
        var y = expected["output"].Contiguous().ReadOnlySpan<float>();
        var forecast = new float[stream.ForecastLength];
        for (int t = 0; t < steps; t++)
        {
            Assert.IsTrue(stream.TryPush(samples[t], forecast));
            AssertClose(y.Slice(t * 96, 96), forecast, Tolerance, $"step {t}");
        }
        AssertClose(expected["h_n"].Contiguous().ReadOnlySpan<float>(), y.Slice((steps - 1) * 96, 96), Tolerance.Exact, "h_n is the last output");
    }

    [TestMethod]
    public void Stateful_Rollout_FeedsForecastsBack_FromACopyOfTheState()
    {
        var model = Fixture("seed_gru");
        // The reference runs sequences of any length: the declared (12, batch, 96) relaxed as the stream relaxes it.
        var session = new Session(StreamGraph.WithInputs(model.Graph, i => i.Name == "x" ? i with { Shape = [-1, -1, 96] } : i));
        var stream = model.CreateStream(new StreamOptions { Horizon = 3 });
        var samples = Series(6, 96, seed: 4);
        var forecast = new float[stream.ForecastLength];
        var history = new List<float[]>();
        foreach (var s in samples)
        {
            history.Add(s);
            Assert.IsTrue(stream.TryPush(s, forecast));
            // Reference: the whole history plus the forecasts so far as one sequence from zero state.
            var seq = new List<float[]>(history);
            for (int k = 0; k < 3; k++)
            {
                var flat = seq.SelectMany(v => v).ToArray();
                var y = session.Run(new Dictionary<string, Tensor> { ["x"] = Tensor.FromArray(flat, seq.Count, 1, 96), ["h0"] = Tensor.Zeros<float>(1, 1, 96) })["output"];
                var next = y.Contiguous().ReadOnlySpan<float>().Slice((seq.Count - 1) * 96, 96).ToArray();
                AssertClose(next, forecast.AsSpan(k * 96, 96), Tolerance, $"after {history.Count} samples, step {k + 1}");
                seq.Add(next);
            }
        }
    }

    [TestMethod]
    public void Stateful_ExplicitPairs_AndWrongOnes()
    {
        var model = Fixture("seed_gru");
        var explicitPairs = model.CreateStream(new StreamOptions { State = [new StatePair("h0", "h_n")] });
        Assert.AreEqual(StreamStyle.Stateful, explicitPairs.Style);
        var ex = Assert.ThrowsExactly<EdgeException>(() => model.CreateStream(new StreamOptions { State = [new StatePair("h1", "h_n")] }));
        StringAssert.Contains(ex.Message, "no input 'h1'");
        ex = Assert.ThrowsExactly<EdgeException>(() => model.CreateStream(new StreamOptions { Style = StreamStyle.Window }));
        StringAssert.Contains(ex.Message, "h0");
    }

    // ── allocation ──────────────────────────────────────────────────────────────────────────────

    public static IEnumerable<object[]> AllocationCases =>
    [
        ["forecaster window, cached projections", "forecaster", 1, ProjectionCache.Auto],
        ["forecaster window, plain", "forecaster", 1, ProjectionCache.Off],
        ["forecaster window, rollout 13", "forecaster", 13, ProjectionCache.Auto],
        ["air-sensor GRU, rollout 24", "airsensor_gru.keras", 24, ProjectionCache.Auto],
        ["air-sensor GRU, rollout 24, plain", "airsensor_gru.keras", 24, ProjectionCache.Off],
        ["seed_gru stateful", "seed_gru", 1, ProjectionCache.Auto],
        ["seed_gru stateful, rollout 4", "seed_gru", 4, ProjectionCache.Auto],
    ];

    [TestMethod]
    [DynamicData(nameof(AllocationCases))]
    public void Push_AllocatesNothing_OnceWarm(string what, string modelName, int horizon, ProjectionCache cache)
    {
        var model = modelName.EndsWith(".keras", StringComparison.Ordinal) ? Keras(modelName) : Fixture(modelName);
        var stream = model.CreateStream(new StreamOptions { Horizon = horizon, CacheProjections = cache, NonFinite = NonFinitePolicy.HoldLast });
        var series = Series(64, stream.InputFeatures, seed: 2);
        series[40][0] = float.NaN; // a held value is filled without allocating too
        var forecast = new float[stream.ForecastLength];
        int i = 0;
        void Step() => stream.TryPush(series[i++ % series.Length], forecast);
        for (int k = 0; k < 3 * series.Length; k++) Step();
        var rounds = new List<long>();
        for (int r = 0; r < 5; r++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int k = 0; k < 100; k++) Step();
            long bytes = GC.GetAllocatedBytesForCurrentThread() - before;
            if (bytes == 0) return;
            rounds.Add(bytes);
        }
        Assert.Fail($"{what}: every round of 100 warm pushes allocated (bytes per round: {string.Join(", ", rounds)})");
    }

    // ── bad input ───────────────────────────────────────────────────────────────────────────────

    [TestMethod]
    public void BadSamples_GetClearErrors_AndChangeNothing()
    {
        var model = Fixture("forecaster");
        var stream = model.CreateStream();
        var forecast = new float[stream.ForecastLength];
        var ex = Assert.ThrowsExactly<ArgumentException>(() => stream.TryPush(new float[5], forecast));
        StringAssert.Contains(ex.Message, "holds 6 feature value(s), got 5");
        ex = Assert.ThrowsExactly<ArgumentException>(() => stream.TryPush(new float[6], new float[7]));
        StringAssert.Contains(ex.Message, "must hold 1 step(s) x 6 feature(s) = 6 floats, got 7");
        stream.Push(new float[6]);
        ex = Assert.ThrowsExactly<ArgumentException>(() => stream.TryPush([0, 0, float.NaN, 0, 0, 0], forecast));
        StringAssert.Contains(ex.Message, "sample[2] is NaN");
        ex = Assert.ThrowsExactly<ArgumentException>(() => stream.Push([0, 0, 0, 0, 0, float.PositiveInfinity]));
        StringAssert.Contains(ex.Message, "sample[5]");
        Assert.AreEqual(1, stream.Count, "a refused sample changes nothing");
    }

    [TestMethod]
    public void HoldLast_FillsNonFiniteValuesWithThePreviousSample()
    {
        var model = Fixture("forecaster");
        var held = model.CreateStream(new StreamOptions { NonFinite = NonFinitePolicy.HoldLast });
        var reference = model.CreateStream();
        var ex = Assert.ThrowsExactly<ArgumentException>(() => held.Push([float.NaN, 0, 0, 0, 0, 0]));
        StringAssert.Contains(ex.Message, "no earlier value to hold");
        var series = Series(14, 6, seed: 8);
        var a = new float[6];
        var b = new float[6];
        for (int t = 0; t < series.Length; t++)
        {
            var s = (float[])series[t].Clone();
            var filled = (float[])series[t].Clone();
            if (t is 5 or 11)
            {
                s[1] = float.NaN;
                s[4] = float.NegativeInfinity;
                filled[1] = series[t - 1][1];
                filled[4] = series[t - 1][4];
            }
            Assert.AreEqual(reference.TryPush(filled, b), held.TryPush(s, a));
            CollectionAssert.AreEqual(b, a, $"sample {t}");
        }
    }

    [TestMethod]
    public void ModelsTheStreamCannotServe_AreRefusedWithTheReason()
    {
        // The cache forced on a layer it cannot run (LSTM with relu activations).
        var relu = Keras("airquality_lstm_relu.h5");
        var ex = Assert.ThrowsExactly<EdgeException>(() => relu.CreateStream(new StreamOptions { CacheProjections = ProjectionCache.On }));
        StringAssert.Contains(ex.Message, "activations");
        Assert.IsFalse(relu.CreateStream().CachesInputProjections);

        // Rollout needs a model that forecasts every input feature: (1, 2 x 2) -> Dense -> 1 feature.
        var g = new Graph();
        g.Inputs.Add(new ValueInfo("x", DataType.Float32, [ValueInfo.Dynamic, 4]));
        g.Outputs.Add(new ValueInfo("y", DataType.Float32, [ValueInfo.Dynamic, 1]));
        g.Constants["W"] = Tensor.FromArray(new float[] { 1, 0, 1, 0 }, 1, 4);
        g.Nodes.Add(new Node(OpKind.Dense, "head", ["x", "W"], ["y"]));
        var dense = new EdgeModel(g, new JsonObject { ["window"] = 2 });
        var ok = dense.CreateStream();
        Assert.AreEqual(2, ok.Window);
        Assert.AreEqual(2, ok.InputFeatures);
        ex = Assert.ThrowsExactly<EdgeException>(() => dense.CreateStream(new StreamOptions { Horizon = 3 }));
        StringAssert.Contains(ex.Message, "must forecast all 2 input features");
        ex = Assert.ThrowsExactly<EdgeException>(() => dense.CreateStream(new StreamOptions { Window = 3 }));
        StringAssert.Contains(ex.Message, "window of 3 whole samples");
    }
}
