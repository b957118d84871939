using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Edge.Device.Config;
using Edge.Device.Hosting;
using Edge.Device.Pipeline;
using Edge.Device.Sinks;
using Edge.Device.Sources;

namespace Edge.Runtime.Tests.Device;

/// <summary>
/// A real serial line: socat makes a pseudo-terminal pair; `edge run`'s serial source opens one end
/// with System.IO.Ports, the test writes sensor lines into the other. Killing socat is the USB unplug.
/// </summary>
[TestClass]
public sealed class SerialSocatTests
{
    private sealed class Pty : IDisposable
    {
        private Process? _socat;

        public Pty(string dir)
        {
            Device = Path.Combine(dir, "ttyEDGE");
            Peer = Path.Combine(dir, "ttyPEER");
        }

        public string Device { get; }

        public string Peer { get; }

        public async Task StartAsync()
        {
            File.Delete(Device);
            File.Delete(Peer);
            _socat = DeviceTestSupport.Start("socat", "-d", "-d", $"pty,raw,echo=0,link={Device}", $"pty,raw,echo=0,link={Peer}");
            Assert.IsTrue(await DeviceTestSupport.WaitUntil(() => File.Exists(Device) && File.Exists(Peer), TimeSpan.FromSeconds(5)), "socat did not make its ptys");
        }

        public void Stop()
        {
            if (_socat is null) return;
            DeviceTestSupport.Terminate(_socat);
            _socat.Dispose();
            _socat = null;
        }

        public void Write(string text)
        {
            using var fs = new FileStream(Peer, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
            fs.Write(Encoding.ASCII.GetBytes(text));
            fs.Flush();
        }

        public void Dispose() => Stop();
    }

    [TestMethod]
    [Timeout(40_000, CooperativeCancellation = true)]
    public async Task LinesThroughAPty_BecomeForecasts_AndSocatRestartIsSurvived()
    {
        if (!DeviceTestSupport.HasBinary("socat")) SkippedTests.Inconclusive(SkippedTests.Socat, "socat is not installed");
        var dir = TestPaths.NewTempDir();
        using var pty = new Pty(dir);
        await pty.StartAsync();

        var meta = DeviceTestSupport.Metadata(["a", "b"], 60, 2,
            new JsonObject { ["kind"] = "minmax", ["min"] = new JsonArray(0, 100), ["max"] = new JsonArray(10, 200) });
        var model = EdgeModel.Load(DeviceTestSupport.WriteDenseModel(dir, 2, 2, 2, DeviceTestSupport.MeanOfStepsWeights(2, 2), [0.1f, 0f], meta));
        var spec = ModelSpecReader.Read(model, new RunConfig()).Spec;
        var counters = new DeviceCounters();
        var pipeline = new ForecastPipeline(spec, PipelineStream.Open(model, spec, null, null, null), new PipelineOptions(), counters);
        var reader = new LineSampleReader(new CsvLineParser(new FieldMap(spec, null, null)), 2, counters, DeviceTestSupport.Limiter, "pty");
        var source = new SerialPortSource(new SerialSettings(pty.Device, 115200), reader, 128,
            new Backoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(400)), counters, DeviceTestSupport.Log);
        var inner = new CollectingSink();
        var sink = new BufferedSink(inner, 100, new Backoff(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(50)), DeviceTestSupport.Log);
        var runner = new EdgeRunner(pipeline, source, [sink], counters, DeviceTestSupport.Log, TimeSpan.Zero, TimeSpan.FromSeconds(2));
        using var stop = new CancellationTokenSource();
        var run = runner.RunAsync(stop.Token);
        try
        {
            Assert.IsTrue(await DeviceTestSupport.WaitUntil(() => source.Connected, TimeSpan.FromSeconds(5)), "the port did not open: " + runner.Summary());
            // Good lines, garbage, an overlong line and NaN: the bad ones are counted, the good ones go on.
            pty.Write("2,150\n4,170\n\u0001\u0002garbage\n" + new string('7', 500) + "\nnot,numbers\n6,NaN\n");
            Assert.IsTrue(await DeviceTestSupport.WaitUntil(() => inner.Got.Count >= 2, TimeSpan.FromSeconds(5)), runner.Summary());
            var first = inner.Got.First();
            Assert.AreEqual(4f, first.Values[0], 1e-4f);
            Assert.AreEqual(160f, first.Values[1], 1e-3f);
            Assert.AreEqual(1, counters.Garbage);
            Assert.AreEqual(1, counters.Overlong);
            Assert.AreEqual(1, counters.Malformed);
            Assert.AreEqual(1, counters.NanValues);
            Assert.AreEqual(1, counters.FilledValues, "the NaN humidity was held");

            // Unplug: socat goes away (SIGTERM, as at shutdown), then comes back with new ptys under the same names.
            pty.Stop();
            Assert.IsTrue(await DeviceTestSupport.WaitUntil(() => counters.SourceErrors >= 1, TimeSpan.FromSeconds(5)), "the disconnect was not noticed: " + runner.Summary());
            await Task.Delay(300);
            await pty.StartAsync();
            Assert.IsTrue(await DeviceTestSupport.WaitUntil(() => counters.Reconnects >= 1 && source.Connected, TimeSpan.FromSeconds(10)), "no reconnect: " + runner.Summary());
            // The window restarts at the reconnect: the first reading after it makes no forecast with the
            // one from before the outage; the second makes one from the two new readings only.
            pty.Write("8,180\n10,190\n");
            Assert.IsTrue(await DeviceTestSupport.WaitUntil(() => counters.Samples >= 5 && inner.Got.Count >= 3, TimeSpan.FromSeconds(5)), runner.Summary());
            await Task.Delay(200);
            Assert.HasCount(3, inner.Got, runner.Summary());
            var after = inner.Got.Last();
            CollectionAssert.AreEqual(new[] { 10f, 190f }, after.Actual);
            // normalized window (0.8, 0.8), (1.0, 0.9) -> mean (0.9, 0.85) + (0.1, 0) -> (10, 185)
            Assert.AreEqual(10f, after.Values[0], 1e-4f);
            Assert.AreEqual(185f, after.Values[1], 1e-3f);
            Assert.AreEqual(1, counters.Outages);
        }
        finally
        {
            await stop.CancelAsync();
            await run.WaitAsync(TimeSpan.FromSeconds(10));
        }
        Assert.AreEqual(0, sink.Dropped);
        Assert.AreEqual(counters.Forecasts, sink.Delivered);
    }
}
