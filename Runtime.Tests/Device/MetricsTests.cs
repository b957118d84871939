using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Edge.Device;
using Edge.Device.Config;
using Edge.Device.Metrics;
using Edge.Device.Pipeline;
using Edge.Device.Sinks;

namespace Edge.Runtime.Tests.Device;

/// <summary>
/// `edge run`'s Prometheus endpoint, scraped over HTTP as Prometheus does. Not parallel: OpenTelemetry
/// subscribes to meters by name, and two runs with metrics in one process would see each other's.
/// </summary>
[TestClass]
[DoNotParallelize]
public sealed partial class MetricsTests
{
    private static readonly string[] Features = ["t", "h"];

    [TestMethod]
    public void Address_ParsesHostPort_PortAloneIsLoopback_AndErrorsNameTheKey()
    {
        Assert.AreEqual(new MetricsAddress("127.0.0.1", 9464), MetricsAddress.Parse("9464", "metrics.listen"));
        Assert.AreEqual(new MetricsAddress("0.0.0.0", 9100), MetricsAddress.Parse("0.0.0.0:9100", "metrics.listen"));
        Assert.AreEqual("+", MetricsAddress.Parse("0.0.0.0:9100", "x").PrefixHost);
        Assert.AreEqual("[::1]", MetricsAddress.Parse("[::1]:9100", "x").PrefixHost);
        Assert.AreEqual("127.0.0.1:9464", new MetricsConfig().Listen, "the default is loopback");
        foreach (var bad in new[] { "", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000", "::1:9100", "host name:9100", "[::1]9100" })
        {
            var e = Assert.ThrowsExactly<EdgeException>(() => MetricsAddress.Parse(bad, "--metrics"), bad);
            StringAssert.StartsWith(e.Message, "--metrics: ");
            Assert.DoesNotContain("\n", e.Message);
        }
    }

    [TestMethod]
    public async Task Scrape_HasEveryLoggedCounter_Histograms_ModelAndBuildInfo_AndHealthz()
    {
        int port = DeviceTestSupport.FreeLoopbackPort();
        var counters = new DeviceCounters();
        var names = EdgeMetrics.CounterTable(counters).Select(c => c.Name).ToList();
        // The log line's counters, each given a distinct value through the same fields the pipeline uses.
        counters.Add(ref counters.Lines, 101);
        counters.Add(ref counters.Samples, 102);
        counters.Add(ref counters.Malformed, 103);
        counters.Add(ref counters.Reconnects, 104);
        counters.Add(ref counters.Forecasts, 105);
        counters.Add(ref counters.WindowResets, 106);
        counters.Add(ref counters.StepsDropped, 107);
        var state = EdgeMetrics.HealthState.Running;
        var model = new ModelInfo("forecaster", new string('a', 64), "3", "model.edge");
        using (var metrics = new EdgeMetrics(new MetricsAddress("127.0.0.1", port), counters, () => [], model, () => state))
        {
            // Two forecasts: 3 ms and 40 ms end to end, 1 ms and 2 ms in the model.
            counters.RecordLatency(Stopwatch.Frequency * 3 / 1000, Stopwatch.Frequency / 1000);
            counters.RecordLatency(Stopwatch.Frequency * 40 / 1000, Stopwatch.Frequency * 2 / 1000);
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
            var text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"));

            // Every counter the log's counters line has (DeviceCounters.ToString), by the same name.
            var logged = LogNames().Matches(counters.ToString()).Select(m => m.Groups[1].Value).Where(n => !n.StartsWith("latency", StringComparison.Ordinal) && n != "model_ms_mean").ToList();
            CollectionAssert.AreEquivalent(logged, names, "the metrics cover exactly the logged counters");
            foreach (var n in names) Assert.IsNotNull(Sample(text, $"edge_{n}_total"), $"edge_{n}_total missing:\n{text}");
            Assert.AreEqual(101, Sample(text, "edge_lines_total"));
            Assert.AreEqual(102, Sample(text, "edge_samples_total"));
            Assert.AreEqual(103, Sample(text, "edge_malformed_total"));
            Assert.AreEqual(104, Sample(text, "edge_reconnects_total"));
            Assert.AreEqual(105, Sample(text, "edge_forecasts_total"));
            Assert.AreEqual(106, Sample(text, "edge_window_resets_total"));
            Assert.AreEqual(107, Sample(text, "edge_steps_dropped_total"));
            Assert.AreEqual(2, Sample(text, "edge_forecast_latency_seconds_count"));
            Assert.AreEqual(0.043, Sample(text, "edge_forecast_latency_seconds_sum")!.Value, 1e-9);
            Assert.AreEqual(0, Sample(text, "edge_forecast_latency_seconds_bucket", "le=\"0.0025\""));
            Assert.AreEqual(1, Sample(text, "edge_forecast_latency_seconds_bucket", "le=\"0.005\""));
            Assert.AreEqual(1, Sample(text, "edge_forecast_latency_seconds_bucket", "le=\"0.025\""));
            Assert.AreEqual(2, Sample(text, "edge_forecast_latency_seconds_bucket", "le=\"0.05\""));
            Assert.AreEqual(0.003, Sample(text, "edge_model_latency_seconds_sum")!.Value, 1e-9);
            Assert.AreEqual(1, Sample(text, "edge_model_info", $"sha256=\"{model.Sha256}\""));
            StringAssert.Contains(text, "name=\"forecaster\"");
            StringAssert.Contains(text, "version=\"3\"");
            Assert.AreEqual(1, Sample(text, "edge_build_info", $"isa=\"{EdgeMetrics.IsaPath}\""));
            Assert.AreEqual(1, Sample(text, "edge_up"));

            var health = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/healthz"));
            Assert.AreEqual(HttpStatusCode.OK, health.StatusCode);
            StringAssert.StartsWith(await health.Content.ReadAsStringAsync(), "ok forecasts=105 ");
            state = EdgeMetrics.HealthState.Stopping;
            Assert.AreEqual(HttpStatusCode.ServiceUnavailable, (await http.GetAsync(new Uri($"http://127.0.0.1:{port}/healthz"))).StatusCode);
            Assert.AreEqual(0, Sample(await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics")), "edge_up"));
        }
        Assert.IsFalse(Listening(port), "disposing the metrics frees the port");
    }

    [TestMethod]
    public async Task EdgeRun_WithMetricsFlag_ServesTheRunsCounters_PerSink_AndTheBlobsSha()
    {
        var dir = TestPaths.NewTempDir();
        var blob = DeviceTestSupport.WriteDenseModel(dir, 2, 2, 2, DeviceTestSupport.MeanOfStepsWeights(2, 2), [0, 0],
            DeviceTestSupport.Metadata(Features, 1, 2));
        string sha = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(blob)));
        // 600 one-second samples replayed at 40x: ~15 s of forecasts to scrape while they come.
        var csv = new StringBuilder("timestamp,t,h\n");
        var start = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);
        for (int i = 0; i < 600; i++)
            csv.Append(CultureInfo.InvariantCulture, $"{start.AddSeconds(i):O},{i % 7},{i % 5}\n");
        File.WriteAllText(Path.Combine(dir, "r.csv"), csv.ToString());
        int port = DeviceTestSupport.FreeLoopbackPort();
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var run = Task.Run(() => DeviceCli.Run(["run", "--model", blob, "--replay", Path.Combine(dir, "r.csv"), "--time-field", "timestamp", "--speed", "40",
            "--resample", "none", "--stats-interval", "0", "--sink", "stdout", "--sink", "csv:" + Path.Combine(dir, "out.csv"), "--metrics", port.ToString(CultureInfo.InvariantCulture)],
            TextWriter.Synchronized(stdout), TextWriter.Synchronized(stderr)));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        string text = "";
        bool seen = await DeviceTestSupport.WaitUntil(() =>
        {
            try { text = http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics")).GetAwaiter().GetResult(); }
            catch (HttpRequestException) { return run.IsCompleted; }
            return Sample(text, "edge_forecasts_total") > 0;
        }, TimeSpan.FromSeconds(120));
        Assert.IsTrue(seen && !run.IsCompleted, $"no forecasts in /metrics while the run went on:\n{text}\n{stderr}");
        Assert.AreEqual(1, Sample(text, "edge_model_info", $"sha256=\"{sha}\""), text);
        StringAssert.Contains(text, "file=\"dense.edge\"");
        Assert.IsGreaterThan(0, Sample(text, "edge_lines_total")!.Value);
        Assert.IsGreaterThan(0, Sample(text, "edge_forecast_latency_seconds_count")!.Value);
        Assert.IsNotNull(Sample(text, "edge_sink_delivered_total", "sink=\"stdout\""), text);
        Assert.IsNotNull(Sample(text, "edge_sink_queued", "sink=\"csv:"), text);
        Assert.AreEqual(0, Sample(text, "edge_sink_dropped_total", "sink=\"stdout\""));
        Assert.AreEqual(HttpStatusCode.OK, (await http.GetAsync(new Uri($"http://127.0.0.1:{port}/healthz"))).StatusCode);

        Assert.IsTrue(run.Wait(TimeSpan.FromSeconds(120)), "the replay did not end");
        Assert.AreEqual(0, run.Result, stderr.ToString());
        Assert.IsFalse(Listening(port), "the run's end frees the metrics port");
    }

    [TestMethod]
    public void EdgeRun_BadMetricsAddress_OrPortInUse_IsOneLine_Exit1()
    {
        var stderr = new StringWriter();
        Assert.AreEqual(1, DeviceCli.Run(["run", "--replay", "x.csv", "--metrics", "localhost:port"], new StringWriter(), stderr));
        var lines = stderr.ToString().Trim().Split('\n');
        Assert.HasCount(1, lines, stderr.ToString());
        StringAssert.Contains(lines[0], "--metrics: 'localhost:port' has no port");

        var dir = TestPaths.NewTempDir();
        var blob = DeviceTestSupport.WriteDenseModel(dir, 2, 2, 2, DeviceTestSupport.MeanOfStepsWeights(2, 2), [0, 0], DeviceTestSupport.Metadata(Features, 1, 2));
        File.WriteAllText(Path.Combine(dir, "r.csv"), "t,h\n1,2\n");
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;
        stderr = new StringWriter();
        Assert.AreEqual(1, DeviceCli.Run(["run", "--model", blob, "--replay", Path.Combine(dir, "r.csv"), "--metrics", $"127.0.0.1:{port}"], new StringWriter(), stderr));
        var err = stderr.ToString().Split('\n').Where(l => l.StartsWith("edge: ", StringComparison.Ordinal)).ToList();
        Assert.HasCount(1, err, stderr.ToString());
        StringAssert.Contains(err[0], $"metrics.listen 127.0.0.1:{port}: cannot serve /metrics there");
    }

    /// <summary>The value of the first sample of <paramref name="metric"/> whose labels contain <paramref name="labelPart"/>.</summary>
    private static double? Sample(string text, string metric, string labelPart = "")
    {
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith('#')) continue;
            var m = SampleLine().Match(line);
            if (!m.Success || m.Groups[1].Value != metric || !m.Groups[2].Value.Contains(labelPart, StringComparison.Ordinal)) continue;
            return double.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture);
        }
        return null;
    }

    private static bool Listening(int port)
    {
        using var c = new TcpClient();
        try { c.Connect(IPAddress.Loopback, port); return true; }
        catch (SocketException) { return false; }
    }

    [GeneratedRegex(@"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? ([^ ]+)")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"(\w+)=")]
    private static partial Regex LogNames();
}
