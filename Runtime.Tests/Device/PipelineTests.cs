using System.Text.Json.Nodes;
using Edge.Device.Config;
using Edge.Device.Hosting;
using Edge.Device.Pipeline;
using Edge.Device.Sinks;
using Edge.Device.Sources;
using Edge.Runtime.Contract;

namespace Edge.Runtime.Tests.Device;

[TestClass]
public sealed class PipelineTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 21, 10, 0, 0, TimeSpan.Zero);

    [TestMethod]
    public void Normalizer_MinMaxAndStandard_HandComputed()
    {
        var mm = Normalization.MinMax([10, 0], [30, 100]);
        var n = new float[2];
        mm.Normalize([20, 25], n);
        CollectionAssert.AreEqual(new[] { 0.5f, 0.25f }, n);
        Assert.AreEqual(20f, mm.Denormalize(0, 0.5f));
        Assert.AreEqual(25f, mm.Denormalize(1, 0.25f));

        var st = Normalization.Standard([20, 50], [2, 10]);
        st.Normalize([23, 35], n);
        CollectionAssert.AreEqual(new[] { 1.5f, -1.5f }, n);
        Assert.AreEqual(35f, st.Denormalize(1, -1.5f));

        // A constant feature in the training data (zero range) scales by 1, as scikit-learn does.
        Normalization.MinMax([5], [5]).Normalize([7], n.AsSpan(0, 1));
        Assert.AreEqual(2f, n[0]);
    }

    /// <summary>The Dense "mean of the window's steps, plus 0.1 on a" model, window 2, features a in [0, 10] and b in [100, 200].</summary>
    private static (ModelSpec Spec, EdgeModel Model) DenseModel(string dir)
    {
        var w = DeviceTestSupport.MeanOfStepsWeights(2, 2);
        var meta = DeviceTestSupport.Metadata(["a", "b"], 60, 2,
            new JsonObject { ["kind"] = "minmax", ["min"] = new JsonArray(0, 100), ["max"] = new JsonArray(10, 200) });
        var model = EdgeModel.Load(DeviceTestSupport.WriteDenseModel(dir, 2, 2, 2, w, [0.1f, 0f], meta));
        var spec = ModelSpecReader.Read(model, new RunConfig()).Spec;
        return (spec, model);
    }

    [TestMethod]
    public void NormalizeWindowForecastDenormalize_ThroughARealSession()
    {
        var (spec, model) = DenseModel(TestPaths.NewTempDir());
        Assert.AreEqual(NormalizationKind.MinMax, spec.Normalizer.Kind);
        Assert.AreEqual(TimeSpan.FromMinutes(1), spec.Period);
        Assert.AreEqual("u", spec.Features[1].Unit);
        var counters = new DeviceCounters();
        var p = new ForecastPipeline(spec, PipelineStream.Open(model, spec, null, null, null), new PipelineOptions(), counters);
        var got = new List<Forecast>();
        p.Push(new Sample(T0, [2, 150], 0), got);
        Assert.IsEmpty(got, "the window is not full yet");
        p.Push(new Sample(T0.AddMinutes(1), [4, 170], 0), got);
        // normalized window (0.2, 0.5), (0.4, 0.7) -> mean (0.3, 0.6) + (0.1, 0) = (0.4, 0.6) -> (4, 160)
        Assert.HasCount(1, got);
        Assert.AreEqual(4f, got[0].Values[0], 1e-5f);
        Assert.AreEqual(160f, got[0].Values[1], 1e-4f);
        CollectionAssert.AreEqual(new[] { 4f, 170f }, got[0].Actual);
        Assert.AreEqual(T0.AddMinutes(2), got[0].StepTime(0));
        Assert.AreEqual(1, counters.Forecasts);
    }

    [TestMethod]
    public void AutoregressiveRollout_FeedsForecastsBack()
    {
        var (spec, model) = DenseModel(TestPaths.NewTempDir());
        var p = new ForecastPipeline(spec, PipelineStream.Open(model, spec, null, null, 3), new PipelineOptions(), new DeviceCounters());
        var got = new List<Forecast>();
        p.Push(new Sample(T0, [2, 150], 0), got);
        p.Push(new Sample(T0.AddMinutes(1), [4, 170], 0), got);
        // step 1: (0.4, 0.6); step 2 from [(0.4, 0.7), (0.4, 0.6)]: (0.5, 0.65); step 3 from [(0.4, 0.6), (0.5, 0.65)]: (0.55, 0.625)
        var expected = new[] { 4f, 160f, 5f, 165f, 5.5f, 162.5f };
        Assert.AreEqual(3, got[0].Steps);
        for (int i = 0; i < expected.Length; i++) Assert.AreEqual(expected[i], got[0].Values[i], 1e-4f, $"value {i}");
        Assert.AreEqual(T0.AddMinutes(4), got[0].StepTime(2));
    }

    /// <summary>
    /// Rollout feeds forecast step k back as input step k + 1, feature by feature: a model whose outputs are
    /// the input features in another order (as many, so the stream itself cannot tell) gives only its own steps.
    /// </summary>
    [TestMethod]
    public void Rollout_NeedsTheTargetsToBeTheInputsInOrder()
    {
        var dir = TestPaths.NewTempDir();
        var meta = DeviceTestSupport.Metadata(["a", "b"], 60, 2);
        var model = EdgeModel.Load(DeviceTestSupport.WriteDenseModel(dir, 2, 2, 2, DeviceTestSupport.MeanOfStepsWeights(2, 2), [0f, 0f], meta));
        var inOrder = ModelSpecReader.Read(model, new RunConfig()).Spec;
        Assert.AreEqual(3, PipelineStream.Open(model, inOrder, null, null, 3).Horizon);
        var swapped = new ModelSpec(inOrder.Features, [1, 0], inOrder.Normalizer, inOrder.Period, 2);
        Assert.AreEqual(1, PipelineStream.Open(model, swapped, null, null, 1).Horizon, "its own step needs no rollout");
        var e = Assert.ThrowsExactly<EdgeException>(() => PipelineStream.Open(model, swapped, null, null, 3));
        Assert.AreEqual("a horizon of 3 needs autoregressive rollout beyond the model's 1 step(s), which needs a model that forecasts every input feature in input order; this one forecasts b, a of a, b", e.Message);
    }

    private static (ForecastPipeline, DeviceCounters, List<Forecast>) Recording(int window, PipelineOptions options, double? period = 60)
    {
        var spec = new ModelSpec([new Feature("x", null)], [0], Normalization.Identity(1), period is { } s ? TimeSpan.FromSeconds(s) : null, window);
        var c = new DeviceCounters();
        return (EchoPipeline.Create(spec, options, c), c, new List<Forecast>());
    }

    private static string Windows(List<Forecast> got) => EchoPipeline.Windows(got);

    [TestMethod]
    public void OutOfOrderSamples_AreCountedAndDropped()
    {
        var (p, c, got) = Recording(1, new PipelineOptions());
        p.Push(new Sample(T0, [1], 0), got);
        p.Push(new Sample(T0.AddMinutes(1), [2], 0), got);
        p.Push(new Sample(T0.AddSeconds(30), [99], 0), got);
        p.Push(new Sample(T0.AddMinutes(2), [3], 0), got);
        Assert.AreEqual("[1] [2] [3]", Windows(got));
        Assert.AreEqual(1, c.OutOfOrder);
    }

    [TestMethod]
    public void Resample_MeanPerPeriod_HoldsEmptySlots_FlushClosesTheLast()
    {
        var (p, c, got) = Recording(1, new PipelineOptions(ResampleMode.Mean, MissingPolicy.Hold, MaxGap: 3));
        p.Push(new Sample(T0, [1], 0), got);
        p.Push(new Sample(T0.AddSeconds(20), [3], 0), got);
        p.Push(new Sample(T0.AddSeconds(40), [5], 0), got);
        Assert.IsEmpty(got, "the slot is still open");
        p.Push(new Sample(T0.AddSeconds(65), [7], 0), got);
        p.Push(new Sample(T0.AddSeconds(250), [9], 0), got); // slots 2 and 3 are empty
        p.Flush(got);
        Assert.AreEqual("[3] [7] [7] [7] [9]", Windows(got));
        Assert.AreEqual(2, c.FilledValues);
        Assert.AreEqual(T0.AddMinutes(2), got[2].Time, "a step is stamped with its slot's start");
    }

    [TestMethod]
    public void Resample_Last_KeepsTheLastSampleOfTheSlot()
    {
        var (p, _, got) = Recording(1, new PipelineOptions(ResampleMode.Last));
        p.Push(new Sample(T0, [1], 0), got);
        p.Push(new Sample(T0.AddSeconds(59), [4], 0), got);
        p.Flush(got);
        Assert.AreEqual("[4]", Windows(got));
    }

    [TestMethod]
    public void Missing_Interpolate_WithinMaxGap_AndRestart_Beyond()
    {
        var (p, c, got) = Recording(1, new PipelineOptions(Missing: MissingPolicy.Interpolate, MaxGap: 2));
        float[] xs = [1, float.NaN, float.NaN, 4, float.NaN, float.NaN, float.NaN, 8];
        for (int i = 0; i < xs.Length; i++) p.Push(new Sample(T0.AddMinutes(i), [xs[i]], 0), got);
        Assert.AreEqual("[1] [2] [3] [4] [8]", Windows(got));
        Assert.AreEqual(2, c.FilledValues);
        Assert.AreEqual(1, c.WindowResets);
        Assert.AreEqual(5, c.NanValues);
    }

    [TestMethod]
    public void Missing_Hold_UpToMaxGap_ThenTheWindowRestarts()
    {
        var (p, c, got) = Recording(2, new PipelineOptions(Missing: MissingPolicy.Hold, MaxGap: 1));
        float[] xs = [1, float.NaN, float.NaN, 4, 5];
        for (int i = 0; i < xs.Length; i++) p.Push(new Sample(T0.AddMinutes(i), [xs[i]], 0), got);
        Assert.AreEqual("[1,1] [4,5]", Windows(got));
        Assert.AreEqual(1, c.WindowResets);
    }

    [TestMethod]
    public void Missing_Drop_RestartsTheWindow()
    {
        var (p, c, got) = Recording(2, new PipelineOptions(Missing: MissingPolicy.Drop));
        float[] xs = [1, 2, float.NaN, 3, 4];
        for (int i = 0; i < xs.Length; i++) p.Push(new Sample(T0.AddMinutes(i), [xs[i]], 0), got);
        Assert.AreEqual("[1,2] [3,4]", Windows(got));
        Assert.AreEqual(1, c.StepsDropped);
    }

    [TestMethod]
    public async Task BufferedSink_BoundedWhileDown_DeliversAfter_ReportsDrops()
    {
        var inner = new CollectingSink { Down = true };
        var sink = new BufferedSink(inner, 3, new Backoff(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(40)), DeviceTestSupport.Log);
        sink.Start();
        sink.Enqueue(Forecast(0));
        Assert.IsTrue(await DeviceTestSupport.WaitUntil(() => sink.Failures >= 1, TimeSpan.FromSeconds(5)));
        for (int i = 1; i < 6; i++) sink.Enqueue(Forecast(i));
        // One forecast is in flight (held for retry), three are queued: the two oldest queued were dropped.
        Assert.AreEqual(2, sink.Dropped);
        inner.Down = false;
        Assert.IsTrue(await DeviceTestSupport.WaitUntil(() => sink.Delivered == 4, TimeSpan.FromSeconds(5)));
        CollectionAssert.AreEqual(new long[] { 0, 3, 4, 5 }, inner.Got.Select(f => f.Sequence).ToArray(), "in order, nothing duplicated");
        Assert.AreEqual(0, await sink.CompleteAsync(TimeSpan.FromSeconds(2)));
    }

    [TestMethod]
    public async Task BufferedSink_StopDeadline_CountsWhatItCouldNotDeliver()
    {
        var inner = new CollectingSink { Down = true };
        var sink = new BufferedSink(inner, 10, new Backoff(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(20)), DeviceTestSupport.Log);
        sink.Start();
        for (int i = 0; i < 4; i++) sink.Enqueue(Forecast(i));
        Assert.AreEqual(4, await sink.CompleteAsync(TimeSpan.FromMilliseconds(200)));
        Assert.AreEqual(4, sink.Dropped);
        Assert.AreEqual(0, sink.Delivered);
    }

    [TestMethod]
    public async Task Runner_FiniteSource_EveryForecastDelivered_AndStopIsGraceful()
    {
        var (spec, model) = DenseModel(TestPaths.NewTempDir());
        var counters = new DeviceCounters();
        var pipeline = new ForecastPipeline(spec, PipelineStream.Open(model, spec, null, null, null), new PipelineOptions(), counters);
        var inner = new CollectingSink();
        var sink = new BufferedSink(inner, 100, new Backoff(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(20)), DeviceTestSupport.Log);
        var source = new HandSource();
        var runner = new EdgeRunner(pipeline, source, [sink], counters, DeviceTestSupport.Log, TimeSpan.Zero, TimeSpan.FromSeconds(2));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var run = runner.RunAsync(cts.Token);
        for (int i = 0; i < 50; i++) source.Push(T0.AddMinutes(i), i % 10, 100 + i);
        source.End();
        await run.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.AreEqual(49, counters.Forecasts);
        Assert.AreEqual(49, sink.Delivered);
        Assert.AreEqual(0, sink.Dropped);
        CollectionAssert.AreEqual(Enumerable.Range(0, 49).Select(i => (long)i).ToArray(), inner.Got.Select(f => f.Sequence).ToArray());
        StringAssert.Contains(runner.Summary(), "forecasts=49");
    }

    private static Forecast Forecast(long seq) => new() { Sequence = seq, Time = T0, Actual = [0], Steps = 1, Values = [0] };
}
