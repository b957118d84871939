using Edge.Runtime.Contract;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Edge.Device.Config;
using Edge.Device.Hosting;
using Edge.Device.Pipeline;
using Edge.Device.Sources;

namespace Edge.Runtime.Tests.Device;

/// <summary>
/// What `edge run` does and says at run time: windows restart across outages (never mixing readings from
/// both sides), a feature that never arrives is named once, a missing serial device is called that, and a
/// fast replay's latency is labelled as queueing.
/// </summary>
[TestClass]
public sealed class OutageAndArrivalTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 21, 10, 0, 0, TimeSpan.Zero);

    private static ModelSpec Spec(double? periodS) =>
        new([new Feature("a", null), new Feature("b", null)], [0, 1], Normalization.Identity(2), periodS is { } p ? TimeSpan.FromSeconds(p) : null, 2);

    [TestMethod]
    public void AfterAReconnect_TheWindowRestarts_AndTheOutageIsCounted()
    {
        var counters = new DeviceCounters();
        var p = EchoPipeline.Create(Spec(null), new PipelineOptions(), counters);
        var got = new List<Forecast>();
        p.Push(new Sample(T0, [1, 10], 0), got);
        p.Push(new Sample(T0.AddSeconds(1), [2, 20], 0), got);
        Assert.HasCount(1, got);
        // The device went away and came back: its first reading starts a new window.
        p.Push(new Sample(T0.AddHours(5), [3, 30], 0, AfterOutage: true), got);
        Assert.HasCount(1, got, "a window of one reading from each side of the outage was forecast");
        p.Push(new Sample(T0.AddHours(5).AddSeconds(1), [4, 40], 0), got);
        Assert.HasCount(2, got);
        CollectionAssert.AreEqual(new[] { 3f, 30f, 4f, 40f }, got[^1].Values);
        Assert.AreEqual(1, counters.Outages);
        Assert.AreEqual(1, counters.WindowResets);
        StringAssert.Contains(counters.ToString(), "outages=1");
    }

    [TestMethod]
    public void AfterAReconnect_HoldDoesNotCarryAValueAcrossTheOutage()
    {
        var counters = new DeviceCounters();
        var p = EchoPipeline.Create(Spec(null), new PipelineOptions(Missing: MissingPolicy.Hold, MaxGap: 3), counters);
        var got = new List<Forecast>();
        p.Push(new Sample(T0, [1, 10], 0), got);
        p.Push(new Sample(T0.AddSeconds(1), [3, float.NaN], 0, AfterOutage: true), got);
        p.Push(new Sample(T0.AddSeconds(2), [4, 40], 0), got);
        Assert.IsEmpty(got, "b = 10 from before the outage was held into the new window");
        Assert.AreEqual(0, counters.FilledValues);
    }

    [TestMethod]
    public void WithoutResampling_AGapLongerThanMaxGapSteps_RestartsTheWindow_AShorterOneDoesNot()
    {
        foreach (var (gapSteps, restarts) in new[] { (2, false), (3, true) })
        {
            var counters = new DeviceCounters();
            var p = EchoPipeline.Create(Spec(60), new PipelineOptions(ResampleMode.None, MissingPolicy.Hold, MaxGap: 2), counters);
            var got = new List<Forecast>();
            p.Push(new Sample(T0, [1, 10], 0), got);
            p.Push(new Sample(T0.AddSeconds(60), [2, 20], 0), got);
            // gapSteps missing steps, with a little jitter on the arrival.
            var after = T0.AddSeconds(60 * (gapSteps + 2) + 1.5);
            p.Push(new Sample(after, [3, 30], 0), got);
            Assert.HasCount(restarts ? 1 : 2, got, $"gap of {gapSteps} steps");
            Assert.AreEqual(restarts ? 1 : 0, counters.Outages, $"gap of {gapSteps} steps");
            p.Push(new Sample(after.AddSeconds(60), [4, 40], 0), got);
            CollectionAssert.AreEqual(restarts ? new[] { 3f, 30f, 4f, 40f } : new[] { 2f, 20f, 3f, 30f }, got[restarts ? ^1 : ^2].Values);
        }
    }

    [TestMethod]
    public void WithResampling_AReconnectClosesTheOpenSlot_ThenRestarts()
    {
        var counters = new DeviceCounters();
        var p = EchoPipeline.Create(Spec(60), new PipelineOptions(ResampleMode.Mean), counters);
        var got = new List<Forecast>();
        p.Push(new Sample(T0, [1, 10], 0), got);
        p.Push(new Sample(T0.AddSeconds(60), [2, 20], 0), got);
        p.Push(new Sample(T0.AddSeconds(70), [4, 40], 0), got); // same slot: mean (3, 30)
        Assert.HasCount(0, got);
        p.Push(new Sample(T0.AddSeconds(100), [9, 90], 0, AfterOutage: true), got);
        Assert.HasCount(1, got, "the slot from before the outage is still a step");
        CollectionAssert.AreEqual(new[] { 1f, 10f, 3f, 30f }, got[0].Values);
        p.Push(new Sample(T0.AddSeconds(130), [7, 70], 0), got);
        p.Flush(got);
        Assert.HasCount(2, got);
        CollectionAssert.AreEqual(new[] { 9f, 90f, 7f, 70f }, got[1].Values, "the new window holds only readings from after the outage");
    }

    [TestMethod]
    public void AFeatureThatNeverArrives_IsNamedOnce_WithWhatDidArrive()
    {
        var log = new ListLogger();
        var watch = new ArrivalWatch(["temperature", "humidity", "pressure"], "csv", ',', null, log, "serial /dev/ttyUSB0", readings: 5);
        watch.Line("time,temperature,humidty,pressure");
        for (int i = 0; i < 12; i++)
        {
            watch.Line($"{i},20,50,1000");
            watch.Reading([20, float.NaN, 1000]);
        }
        Assert.AreEqual(
            "serial /dev/ttyUSB0: feature humidity never arrived in the first 5 readings (arrived: temperature, pressure); the input's fields: time, temperature, humidty, pressure; no forecast can be made without it (\"map\": {\"FIELD\": \"FEATURE\"} maps a field to a feature)",
            log.Messages.Single());

        // JSON keys are collected from every line; all features present: no warning.
        log = new ListLogger();
        watch = new ArrivalWatch(["t", "h"], "json", ',', null, log, "x", readings: 3);
        for (int i = 0; i < 5; i++)
        {
            watch.Line("""{"t": 1, "hum": 2}""");
            watch.Reading([1, float.NaN]);
        }
        StringAssert.Contains(log.Messages.Single(), "feature h never arrived in the first 3 readings (arrived: t); the input's fields: t, hum;");
        log = new ListLogger();
        watch = new ArrivalWatch(["t", "h"], "kv", ',', null, log, "x", readings: 3);
        watch.Reading([float.NaN, 2]);
        watch.Reading([1, float.NaN]);
        watch.Reading([float.NaN, float.NaN]);
        Assert.IsEmpty(log.Messages, "each feature arrived at least once");
    }

    /// <summary>The watch as wired in a real replay: a JSON recording whose key is misspelled (not visible up front: `--check` reads only the first line).</summary>
    [TestMethod]
    public async Task AReplay_WarnsOnce_AboutAFeatureThatNeverArrives()
    {
        var dir = TestPaths.NewTempDir();
        var file = Path.Combine(dir, "log.jsonl");
        File.WriteAllLines(file, Enumerable.Range(0, 60).Select(i => i == 0 ? """{"a": 1, "b": 2}""" : $$"""{"a": {{i}}, "bb": 2}"""));
        var spec = Spec(null);
        var counters = new DeviceCounters();
        var log = new ListLogger();
        var reader = new LineSampleReader(new JsonLineParser(new FieldMap(spec, null, null)), 2, counters, DeviceTestSupport.Limiter, file);
        var watch = new ArrivalWatch(["a", "b"], "json", ',', null, log, file);
        var source = new ReplaySource(file, reader, 1024, 0, false, null, log, watch);
        var channel = Channel.CreateUnbounded<Sample>();
        await source.RunAsync(channel.Writer, CancellationToken.None);
        Assert.IsNull(watch.Warning, "b arrived once, in the first line");

        File.WriteAllLines(file, Enumerable.Range(0, 60).Select(i => $$"""{"a": {{i}}, "bb": 2}"""));
        watch = new ArrivalWatch(["a", "b"], "json", ',', null, log, file);
        source = new ReplaySource(file, new LineSampleReader(new JsonLineParser(new FieldMap(spec, null, null)), 2, counters, DeviceTestSupport.Limiter, file), 1024, 0, false, null, log, watch);
        await source.RunAsync(channel.Writer, CancellationToken.None);
        Assert.AreEqual(1, log.Messages.Count(m => m.Contains("feature b never arrived in the first 20 readings (arrived: a); the input's fields: a, bb", StringComparison.Ordinal)),
            string.Join("\n", log.Messages));
    }

    [TestMethod]
    public void SerialOpenErrors_SayNoSuchDevice_OrPermissionDeniedWithTheGroup()
    {
        var denied = new UnauthorizedAccessException("Access to the port '/dev/ttyUSB9' is denied.");
        Assert.AreEqual("serial port /dev/ttyUSB9: no such device", SerialPortSource.Describe("/dev/ttyUSB9", denied));
        var real = SerialPortSource.Describe("/dev/null", new UnauthorizedAccessException("Access to the port '/dev/null' is denied."));
        StringAssert.StartsWith(real, "serial port /dev/null: permission denied");
        StringAssert.Contains(real, "dialout");
    }

    [TestMethod]
    [Timeout(20_000, CooperativeCancellation = true)]
    public async Task AMissingSerialDevice_IsLoggedAsNoSuchDevice()
    {
        var port = Path.Combine(TestPaths.NewTempDir(), "ttyUSB9");
        var spec = Spec(null);
        var counters = new DeviceCounters();
        var log = new ListLogger();
        var reader = new LineSampleReader(new CsvLineParser(new FieldMap(spec, null, null)), 2, counters, DeviceTestSupport.Limiter, port);
        var source = new SerialPortSource(new SerialSettings(port), reader, 128, new Backoff(TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(100)), counters, log);
        using var stop = new CancellationTokenSource();
        var run = source.RunAsync(Channel.CreateUnbounded<Sample>().Writer, stop.Token);
        Assert.IsTrue(await DeviceTestSupport.WaitUntil(() => !log.Messages.IsEmpty, TimeSpan.FromSeconds(5)));
        await stop.CancelAsync();
        await run;
        Assert.AreEqual($"serial port {port}: no such device; retrying", log.Messages.First());
    }

    [TestMethod]
    public async Task AFastReplay_LabelsItsLatencyAsQueueing()
    {
        var dir = TestPaths.NewTempDir();
        var model = DeviceTestSupport.WriteDenseModel(dir, 2, 2, 2, DeviceTestSupport.MeanOfStepsWeights(2, 2), [0f, 0f], DeviceTestSupport.Metadata(["a", "b"], null, 2));
        var csv = Path.Combine(dir, "log.csv");
        File.WriteAllText(csv, "a,b\n1,2\n3,4\n5,6\n");
        foreach (var speed in new[] { "fast", "1000" })
        {
            var config = new RunConfig
            {
                Model = model,
                Source = new SourceConfig { Kind = "replay", Path = csv, Speed = speed },
                Sinks = [new SinkConfig { Kind = "csv", Path = Path.Combine(dir, "out.csv") }],
                StatsIntervalS = 0,
            };
            await using var plan = RunBuilder.Build(config, new ListLogger(), TextWriter.Null);
            await plan.Runner.RunAsync(CancellationToken.None);
            Assert.AreEqual(2, plan.Runner.Counters.Forecasts);
            var summary = plan.Runner.Summary();
            if (speed == "fast") StringAssert.Contains(summary, "latency_note=\"fast replay: latency_ms (a reading's arrival to its forecast) is mostly queueing");
            else Assert.DoesNotContain("latency_note", summary);
        }
    }
}
