using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Edge.Runtime.Tests.Device;

/// <summary>
/// `edge run` reloads its config and model on SIGHUP (issue 19): the real binary, a replay source, an MQTT
/// sink whose broker is down (so forecasts queue), a refused reload (not a model) and a good one (a model with
/// another bias), then the broker comes up and every forecast is delivered, in order, counted.
/// </summary>
[TestClass]
public sealed partial class ReloadTests
{
    [GeneratedRegex(@"forecasts=(\d+) forecast_errors=\d+ reloads=(\d+) reload_failures=(\d+)")]
    private static partial Regex Counters();

    [GeneratedRegex(@"sink mqtt://127\.0\.0\.1:\d+: delivered=(\d+) dropped=(\d+) queued=(\d+) failures=(\d+)")]
    private static partial Regex SinkCounters();

    /// <summary>Mean of the window's two steps plus <paramref name="bias"/> on a: with a = b = 1 throughout, a forecast's a is 1 + bias.</summary>
    private static string Model(string dir, string name, float bias)
    {
        var sub = Directory.CreateDirectory(Path.Combine(dir, name)).FullName;
        var path = DeviceTestSupport.WriteDenseModel(sub, 2, 2, 2, DeviceTestSupport.MeanOfStepsWeights(2, 2), [bias, 0f], DeviceTestSupport.Metadata(["a", "b"], 1, 2));
        var dest = Path.Combine(dir, name + ".edge");
        File.Move(path, dest);
        return dest;
    }

    private static void WriteConfig(string cfg, string model, string replay, int brokerPort, int metricsPort) =>
        File.WriteAllText(cfg, new JsonObject
        {
            ["model"] = model,
            ["device"] = "testpi",
            ["resample"] = "none",
            ["stats_interval_s"] = 0.1,
            ["flush_timeout_s"] = 15,
            ["metrics"] = new JsonObject { ["listen"] = $"127.0.0.1:{metricsPort}" },
            ["source"] = new JsonObject { ["kind"] = "replay", ["path"] = replay, ["speed"] = "25" },
            ["sinks"] = new JsonArray(new JsonObject
            {
                ["kind"] = "mqtt", ["host"] = "127.0.0.1", ["port"] = brokerPort, ["qos"] = 1, ["buffer"] = 10000,
                ["reconnect_min_s"] = 0.05, ["reconnect_max_s"] = 0.2,
            }),
        }.ToJsonString());

    private sealed class EdgeProcess : IDisposable
    {
        private readonly Process _p;

        public EdgeProcess(params string[] args)
        {
            // Through env --default-signal=HUP: a test run started under nohup passes SIGHUP down as ignored, and
            // .NET keeps an inherited "ignore" (as nohup asks), so edge would never see the reload.
            var psi = new ProcessStartInfo("env") { RedirectStandardError = true, RedirectStandardOutput = true };
            psi.ArgumentList.Add("--default-signal=HUP");
            psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "edge"));
            foreach (var a in args) psi.ArgumentList.Add(a);
            _p = Process.Start(psi)!;
            _p.ErrorDataReceived += (_, e) => { if (e.Data is not null) Log.Enqueue(e.Data); };
            _p.OutputDataReceived += (_, _) => { };
            _p.BeginErrorReadLine();
            _p.BeginOutputReadLine();
        }

        public ConcurrentQueue<string> Log { get; } = new();

        public string Text => string.Join('\n', Log);

        public Process Process => _p;

        /// <summary>forecasts, reloads, reload_failures from the newest counters line (zeros before the first).</summary>
        public (long Forecasts, long Reloads, long Failures) Latest()
        {
            var m = Log.Reverse().Select(l => Counters().Match(l)).FirstOrDefault(x => x.Success);
            return m is null ? (0, 0, 0) : (long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture),
                long.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture));
        }

        public void Signal(string signal)
        {
            using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-" + signal, _p.Id.ToString(CultureInfo.InvariantCulture) } })!;
            kill.WaitForExit(5000);
        }

        public void Dispose()
        {
            if (!_p.HasExited) _p.Kill();
            _p.WaitForExit(5000);
            _p.Dispose();
        }
    }

    [TestMethod]
    [Timeout(90_000, CooperativeCancellation = true)]
    public async Task Sighup_SwapsTheModel_KeepsTheQueuedForecasts_AndABadReloadKeepsTheOldOneRunning()
    {
        if (!DeviceTestSupport.HasBinary("mosquitto")) SkippedTests.Inconclusive(SkippedTests.Mosquitto, "mosquitto is not installed");
        var dir = TestPaths.NewTempDir();
        var a = Model(dir, "a", 0.1f);
        var b = Model(dir, "b", 5f);
        var notAModel = Path.Combine(dir, "broken.edge");
        File.WriteAllText(notAModel, "not a model");
        var replay = Path.Combine(dir, "replay.csv");
        File.WriteAllLines(replay, ["a,b", .. Enumerable.Repeat("1,1", 1500)]);
        var cfg = Path.Combine(dir, "edge.json");
        int metricsPort = DeviceTestSupport.FreeLoopbackPort();

        // The subscriber's session is made while the broker is up, then the broker goes down: what is
        // published for it later is kept for it (persistence), however fast edge reconnects.
        using var broker = new MosquittoBroker(dir, DeviceTestSupport.FreeLoopbackPort());
        await broker.StartAsync();
        await using var subscriber = new MqttTestSubscriber(broker.Port);
        await subscriber.ConnectAsync(TimeSpan.FromSeconds(5));
        broker.Stop();

        WriteConfig(cfg, a, replay, broker.Port, metricsPort);
        using var edge = new EdgeProcess("run", "--config", cfg);
        Assert.IsTrue(await DeviceTestSupport.WaitUntil(() => edge.Latest().Forecasts >= 10, TimeSpan.FromSeconds(20)), edge.Text);

        // A bad reload: refused with one line naming the model, counted; the old model keeps forecasting.
        WriteConfig(cfg, notAModel, replay, broker.Port, metricsPort);
        edge.Signal("HUP");
        Assert.IsTrue(await DeviceTestSupport.WaitUntil(() => edge.Latest().Failures == 1, TimeSpan.FromSeconds(20)), edge.Text);
        var refused = edge.Log.Where(l => l.Contains("reload refused", StringComparison.Ordinal)).ToList();
        Assert.HasCount(1, refused, edge.Text);
        StringAssert.Contains(refused[0], notAModel);
        StringAssert.Contains(refused[0], "still running " + a);
        long afterBad = edge.Latest().Forecasts;
        Assert.IsTrue(await DeviceTestSupport.WaitUntil(() => edge.Latest().Forecasts >= afterBad + 10, TimeSpan.FromSeconds(20)), edge.Text);
        long oldModelAtLeast = edge.Latest().Forecasts;
        Assert.AreEqual(0, edge.Latest().Reloads);

        // A good reload: model b, switched in between samples; the sink (unchanged) keeps its queue.
        WriteConfig(cfg, b, replay, broker.Port, metricsPort);
        edge.Signal("HUP");
        Assert.IsTrue(await DeviceTestSupport.WaitUntil(() => edge.Latest().Reloads == 1, TimeSpan.FromSeconds(20)), edge.Text);
        long atReload = edge.Latest().Forecasts;
        Assert.IsTrue(await DeviceTestSupport.WaitUntil(() => edge.Latest().Forecasts >= atReload + 10, TimeSpan.FromSeconds(20)), edge.Text);
        Assert.IsFalse(edge.Process.HasExited, "the replay is long enough to outlast the reloads");
        // /metrics counts both and labels the model now served.
        using (var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) })
        {
            var metrics = await http.GetStringAsync(new Uri($"http://127.0.0.1:{metricsPort}/metrics"));
            StringAssert.Matches(metrics, new Regex(@"(?m)^edge_reloads_total(\{[^}]*\})? 1( |$)"));
            StringAssert.Matches(metrics, new Regex(@"(?m)^edge_reload_failures_total(\{[^}]*\})? 1( |$)"));
            var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(b)));
            StringAssert.Contains(metrics, $"sha256=\"{sha}\"");
        }
        var queued = SinkCounters().Matches(edge.Text).Last();
        Assert.AreEqual("0", queued.Groups[1].Value, "nothing delivered while the broker is down");
        Assert.IsGreaterThan(0L, long.Parse(queued.Groups[4].Value, CultureInfo.InvariantCulture), "the sink has failed to connect");

        // The broker comes up; a graceful stop gives the sink its flush timeout to deliver everything.
        await broker.StartAsync();
        await subscriber.ConnectAsync(TimeSpan.FromSeconds(5));
        edge.Signal("TERM");
        Assert.IsTrue(edge.Process.WaitForExit(30_000), edge.Text);
        edge.Process.WaitForExit(); // the timed overload does not wait for the redirected stderr to drain: "stopped:" may still be in flight
        Assert.AreEqual(0, edge.Process.ExitCode, edge.Text);

        var stopped = edge.Log.Last(l => l.Contains("stopped:", StringComparison.Ordinal));
        var counters = Counters().Match(stopped);
        var sink = SinkCounters().Match(stopped);
        long forecasts = long.Parse(counters.Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.AreEqual(("1", "1"), (counters.Groups[2].Value, counters.Groups[3].Value), stopped);
        Assert.AreEqual((forecasts.ToString(CultureInfo.InvariantCulture), "0", "0"), (sink.Groups[1].Value, sink.Groups[2].Value, sink.Groups[3].Value),
            $"every forecast delivered, none dropped: {stopped}");

        Assert.IsTrue(await DeviceTestSupport.WaitUntil(() => subscriber.StateSequences().Length == forecasts, TimeSpan.FromSeconds(10)),
            $"the subscriber got {subscriber.StateSequences().Length} of {forecasts}");
        CollectionAssert.AreEqual(Enumerable.Range(0, (int)forecasts).Select(i => (long)i).ToArray(), subscriber.StateSequences(), "one numbering across the reload");
        // Which model made each forecast: a = 1.1 (model a) up to the reload, 6 (model b) after it, never back.
        var byModel = subscriber.Got.Where(m => m.Topic == "edge/testpi/state")
            .Select(m => JsonDocument.Parse(m.Payload).RootElement)
            .DistinctBy(e => e.GetProperty("seq").GetInt64())
            .OrderBy(e => e.GetProperty("seq").GetInt64())
            .Select(e => e.GetProperty("forecast")[0].GetProperty("a").GetSingle())
            .ToList();
        int switched = byModel.FindIndex(v => Math.Abs(v - 6f) < 1e-4f);
        Assert.IsGreaterThanOrEqualTo((int)oldModelAtLeast, switched, "every forecast queued before the reload (the bad one included) came from model a");
        Assert.IsTrue(byModel.Take(switched).All(v => Math.Abs(v - 1.1f) < 1e-4f), string.Join(",", byModel));
        Assert.IsTrue(byModel.Skip(switched).All(v => Math.Abs(v - 6f) < 1e-4f), string.Join(",", byModel));
        Assert.IsGreaterThanOrEqualTo(10, forecasts - switched, "model b forecast after the reload");
    }
}
