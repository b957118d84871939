using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.Runtime.Tensors;
using Edge.Runtime.Tests.Device;

namespace Edge.Runtime.Tests.EndToEnd;

/// <summary>
/// Issue 14's first hour, as a new user goes through it, on tools/make_first_hour.py's fixtures (PyTorch,
/// fixed weights): the forecaster nn.LSTM(4, 32, batch_first=True) -> last step -> nn.Linear(32, 4) exported
/// to ONNX with a FIXED batch of 4, and as a state_dict with its spec; a recording split into train.csv and
/// test.csv; meta.json. Convert with --metadata and --calibration train.csv, evaluate on test.csv, check the
/// device config, then stream test.csv over a serial line (a socat pseudo-terminal) through `edge run`.
/// Every forecast equals PyTorch's: fp32 to 1e-4, int8 to <see cref="Int8Tolerance"/> of each feature's range.
/// </summary>
[TestClass]
public sealed class FirstHourTests
{
    /// <summary>int8 vs PyTorch fp32, in normalized units (a fraction of each feature's training range).</summary>
    private const double Int8Tolerance = 0.01;

    private const double Fp32Tolerance = 1e-4;

    private static string Fixture(string file) => Path.Combine(TestPaths.Fixtures, "first_hour", file);

    [TestMethod]
    [Timeout(300_000, CooperativeCancellation = true)]
    public async Task FirstHour_FixedBatchOnnx_ConvertEvaluateCheckAndStream_EqualsPyTorch()
    {
        string dir = TestPaths.NewTempDir();
        var meta = JsonNode.Parse(File.ReadAllText(Fixture("meta.json")))!.AsObject();
        var min = meta["normalization"]!["min"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
        var max = meta["normalization"]!["max"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
        var windows = Npy.Read(Fixture("test_windows.npy"));
        var golden = Npy.Read(Fixture("test_forecasts.npy"));

        // 1. Convert, as the README says: the fixed-batch ONNX with its metadata and a recording to calibrate on.
        var blobs = new Dictionary<string, (string Path, double Tolerance)>(StringComparer.Ordinal);
        foreach (var precision in new[] { "fp32", "int8" })
        {
            string blob = Path.Combine(dir, $"forecaster.{precision}.edge");
            var r = EdgeCli.Quantize("convert", Fixture("model.onnx"), "--output", blob, "--precision", precision,
                "--metadata", Fixture("meta.json"), "--calibration", Fixture("train.csv"));
            Assert.AreEqual(0, r.ExitCode, $"convert --precision {precision}: {r}");
            blobs[precision] = (blob, precision == "fp32" ? Fp32Tolerance : Int8Tolerance);
        }
        // The state_dict with its spec converts to the same model.
        string fromPt = Path.Combine(dir, "forecaster.pt.edge");
        var pt = EdgeCli.Quantize("convert", Fixture("model.pt"), "--spec", Fixture("spec.json"), "--output", fromPt,
            "--precision", "fp32", "--metadata", Fixture("meta.json"));
        Assert.AreEqual(0, pt.ExitCode, pt.ToString());
        blobs["state_dict fp32"] = (fromPt, Fp32Tolerance);

        // Every blob runs every test window at once (batch 96, though the ONNX was exported at 4) like PyTorch.
        foreach (var (name, (blob, tolerance)) in blobs)
        {
            var model = EdgeModel.Load(blob);
            var y = model.CreateSession().Run(new Dictionary<string, Tensor> { ["x"] = windows })["y"];
            AssertForecasts(golden.ToDoubleArray(), y.ToDoubleArray(), 4, tolerance, $"{name} on all test windows");
        }

        // 2. The accuracy report on the held-out recording.
        string report = Path.Combine(dir, "report.json");
        var ev = EdgeCli.Quantize("evaluate", "--model", Fixture("model.onnx"), "--quantized", blobs["int8"].Path,
            "--data", Fixture("test.csv"), "--json", report);
        Assert.AreEqual(0, ev.ExitCode, ev.ToString());
        using (var doc = JsonDocument.Parse(File.ReadAllBytes(report)))
        {
            var forecast = doc.RootElement.GetProperty("forecast");
            Assert.AreEqual(windows.Shape[0], forecast.GetProperty("windows").GetInt32(), "every window of test.csv with a next sample");
            Assert.IsTrue(forecast.GetProperty("rmse_int8").GetDouble() > 0, ev.ToString());
        }

        // 3. The device side: a config for a serial line; --check validates config and blob together.
        if (!DeviceTestSupport.HasBinary("socat")) SkippedTests.Inconclusive(SkippedTests.Socat, "socat is not installed (the first hour's serial stream)");
        foreach (var precision in new[] { "fp32", "int8" })
        {
            var (blob, tolerance) = blobs[precision];
            string runDir = Path.Combine(dir, precision);
            Directory.CreateDirectory(runDir);
            string device = Path.Combine(runDir, "ttyEDGE"), peer = Path.Combine(runDir, "ttyPEER"), sink = Path.Combine(runDir, "forecasts.csv");
            string config = Path.Combine(runDir, "edge.json");
            File.WriteAllText(config, new JsonObject
            {
                ["model"] = blob,
                ["source"] = new JsonObject
                {
                    ["kind"] = "serial", ["port"] = device, ["baud"] = 115200, ["format"] = "csv",
                    ["columns"] = new JsonArray("timestamp", "temperature", "humidity", "pressure", "wind"), ["time_field"] = "timestamp",
                },
                ["sinks"] = new JsonArray(new JsonObject { ["kind"] = "csv", ["path"] = sink }),
                ["stats_interval_s"] = 3600,
            }.ToJsonString());

            // The serial line (a socat pseudo-terminal pair) is plugged in first: --check looks for the device node.
            using var socat = DeviceTestSupport.Start("socat", "-d", "-d", $"pty,raw,echo=0,link={device}", $"pty,raw,echo=0,link={peer}");
            try
            {
                Assert.IsTrue(await DeviceTestSupport.WaitUntil(() => File.Exists(device) && File.Exists(peer), TimeSpan.FromSeconds(5)), "socat made no ptys");
                var check = EdgeCli.Device("run", "--config", config, "--check");
                Assert.AreEqual(0, check.ExitCode, $"edge run --check ({precision}): {check}");

                // 4. Stream test.csv over the serial line.
                using var edge = StartEdge("run", "--config", config);
                var log = new StringBuilder();
                edge.OutputDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
                edge.ErrorDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
                edge.BeginOutputReadLine();
                edge.BeginErrorReadLine();
                try
                {
                    await Task.Delay(1000); // the port opens
                    var lines = File.ReadAllLines(Fixture("test.csv")).Skip(1).Where(l => l.Length > 0).ToList();
                    using (var fs = new FileStream(peer, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
                    {
                        foreach (var chunk in lines.Chunk(10))
                        {
                            fs.Write(Encoding.ASCII.GetBytes(string.Join("\n", chunk) + "\n"));
                            fs.Flush();
                            await Task.Delay(20);
                        }
                    }
                    int expected = windows.Shape[0];
                    bool done = await DeviceTestSupport.WaitUntil(() => File.Exists(sink) && ReadRows(sink).Count >= expected, TimeSpan.FromSeconds(30));
                    Assert.IsTrue(done, $"{precision}: {(File.Exists(sink) ? ReadRows(sink).Count : 0)} forecasts of {expected}; edge run:\n{Snapshot(log)}");
                }
                finally
                {
                    DeviceTestSupport.Terminate(edge);
                }
                var rows = ReadRows(sink);
                // De-normalized on the device: back to normalized units to compare with PyTorch's forecasts.
                var streamed = rows.Take(windows.Shape[0]).SelectMany(r => r.Select((v, j) => (v - min[j]) / (max[j] - min[j]))).ToArray();
                AssertForecasts(golden.ToDoubleArray(), streamed, 4, tolerance, $"{precision} streamed over a pty");
            }
            finally
            {
                DeviceTestSupport.Terminate(socat);
            }
        }
    }

    private static void AssertForecasts(double[] expected, double[] actual, int features, double tolerance, string what)
    {
        Assert.AreEqual(expected.Length, actual.Length, $"{what}: count");
        double worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double d = Math.Abs(expected[i] - actual[i]);
            worst = Math.Max(worst, d);
            if (!(d <= tolerance))
                Assert.Fail($"{what}: window {i / features} feature {i % features} is {actual[i]:G6}, PyTorch {expected[i]:G6} (difference {d:G3} > {tolerance:G3})");
        }
        Console.WriteLine($"{what}: largest difference from PyTorch {worst:G3} (tolerance {tolerance:G3})");
    }

    /// <summary>The csv sink's forecast values (columns after seq, time, step, target_time).</summary>
    private static List<double[]> ReadRows(string path)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(fs);
        var rows = new List<double[]>();
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0 || line.StartsWith("seq", StringComparison.Ordinal)) continue;
            var cells = line.Split(',');
            if (cells.Length < 5) continue;
            rows.Add(cells.Skip(4).Select(c => double.Parse(c, CultureInfo.InvariantCulture)).ToArray());
        }
        return rows;
    }

    /// <summary>The built `edge` (Device/, next to this test assembly) as its own process.</summary>
    private static Process StartEdge(params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "edge.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("exec");
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    private static string Snapshot(StringBuilder log)
    {
        lock (log) return log.ToString();
    }
}
