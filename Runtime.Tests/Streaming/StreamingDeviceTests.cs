using System.Globalization;
using System.Text.Json.Nodes;
using Edge.Device;
using Edge.Device.Config;
using Edge.Device.Pipeline;
using Edge.Quantizer;
using Edge.Runtime.Streaming;
using Edge.Runtime.Tests.Device;

namespace Edge.Runtime.Tests.Streaming;

/// <summary>
/// The device side of streaming: `edge run` pushes samples through the Runtime's <see cref="ForecastStream"/>,
/// the table sink's running RMSE is what its own printed columns say, and the embedded demo (README's first
/// command) runs end to end.
/// </summary>
[TestClass]
public sealed class StreamingDeviceTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 21, 10, 0, 0, TimeSpan.Zero);

    /// <summary>The printed table: per row the time and, per feature, actual, forecast (NaN for "-") and running RMSE.</summary>
    internal sealed record TableRow(string Time, double[] Actual, double[] Forecast, double[] Rmse);

    internal static List<TableRow> ParseTable(string stdout, int features)
    {
        var rows = new List<TableRow>();
        foreach (var line in stdout.Split('\n'))
        {
            var tok = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            int timeTokens = tok.Length - 3 * features;
            if (timeTokens is < 1 or > 2 || !DateTime.TryParse(string.Join(' ', tok[..timeTokens]), CultureInfo.InvariantCulture, DateTimeStyles.None, out _)) continue;
            static double Num(string s) => s == "-" ? double.NaN : double.Parse(s, CultureInfo.InvariantCulture);
            var nums = tok[timeTokens..].Select(Num).ToArray();
            rows.Add(new TableRow(string.Join(' ', tok[..timeTokens]),
                Enumerable.Range(0, features).Select(j => nums[3 * j]).ToArray(),
                Enumerable.Range(0, features).Select(j => nums[3 * j + 1]).ToArray(),
                Enumerable.Range(0, features).Select(j => nums[3 * j + 2]).ToArray()));
        }
        return rows;
    }

    /// <summary>RMSE per feature over the rows that print a forecast, from the printed (rounded) numbers.</summary>
    internal static double[] RmseOfPrinted(List<TableRow> rows, int features) =>
        Enumerable.Range(0, features).Select(j =>
        {
            var e = rows.Where(r => !double.IsNaN(r.Forecast[j])).Select(r => r.Actual[j] - r.Forecast[j]).ToList();
            return Math.Sqrt(e.Sum(x => x * x) / e.Count);
        }).ToArray();

    [TestMethod]
    public void EdgeRun_Table_RunningRmseEqualsTheRmseOfItsPrintedColumns_AndOfTheModel()
    {
        // The Dense "mean of the last two steps, plus 1 on a" model (window 2, min-max a in [0, 10], b in [100, 200]).
        var dir = TestPaths.NewTempDir();
        var meta = DeviceTestSupport.Metadata(["a", "b"], 60, 2,
            new JsonObject { ["kind"] = "minmax", ["min"] = new JsonArray(0, 100), ["max"] = new JsonArray(10, 200) });
        DeviceTestSupport.WriteDenseModel(dir, 2, 2, 2, DeviceTestSupport.MeanOfStepsWeights(2, 2), [0.1f, 0f], meta);
        var values = Enumerable.Range(0, 30).Select(i => new[] { 5 + 3 * Math.Sin(i / 3.0), 150 + 20 * Math.Cos(i / 5.0) }).ToArray();
        File.WriteAllLines(Path.Combine(dir, "log.csv"), new[] { "time,a,b" }.Concat(values.Select((v, i) =>
            FormattableString.Invariant($"{T0.AddMinutes(i):yyyy-MM-ddTHH:mm:ssZ},{v[0]:0.###},{v[1]:0.###}"))));
        File.WriteAllText(Path.Combine(dir, "edge.json"), """
            { "model": "dense.edge", "resample": "none", "stats_interval_s": 0,
              "source": { "kind": "replay", "path": "log.csv", "time_field": "time", "speed": "fast" },
              "sinks": [ { "kind": "table" } ] }
            """);
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Assert.AreEqual(0, DeviceCli.Run(["run", "--config", Path.Combine(dir, "edge.json")], stdout, stderr), stderr.ToString());
        var text = stdout.ToString();
        Console.WriteLine(text);
        var rows = ParseTable(text, 2);
        Assert.HasCount(29, rows, "one row per forecast: every sample from the second on (window 2)");
        Assert.IsTrue(double.IsNaN(rows[0].Forecast[0]), "the first row has no earlier forecast");
        var printed = RmseOfPrinted(rows, 2);
        // The model's own forecasts, computed here: next = mean of the last two steps + (1, 0), on the CSV's values.
        var exact = new double[2];
        for (int j = 0; j < 2; j++)
        {
            double sq = 0;
            for (int t = 2; t < 30; t++)
            {
                double a0 = Math.Round(values[t - 2][j], 3), a1 = Math.Round(values[t - 1][j], 3), actual = Math.Round(values[t][j], 3);
                double e = actual - ((a0 + a1) / 2 + (j == 0 ? 1 : 0));
                sq += e * e;
            }
            exact[j] = Math.Sqrt(sq / 28);
        }
        for (int j = 0; j < 2; j++)
        {
            double final = rows[^1].Rmse[j];
            // Printed numbers have 2 decimals: each error is off by at most 0.01, the RMSE by at most that plus its own rounding.
            Assert.AreEqual(printed[j], final, 0.016, $"feature {j}: final running RMSE vs the RMSE of the printed columns");
            Assert.AreEqual(exact[j], final, 0.0051, $"feature {j}: final running RMSE vs the model's RMSE computed here");
        }
        StringAssert.Contains(text, "28 forecasts compared");
    }

    [TestMethod]
    public void Pipeline_PushesSamplesThroughItsStream()
    {
        var dir = TestPaths.NewTempDir();
        var meta = DeviceTestSupport.Metadata(["a", "b"], 60, 2, null);
        var model = EdgeModel.Load(DeviceTestSupport.WriteDenseModel(dir, 2, 2, 2, DeviceTestSupport.MeanOfStepsWeights(2, 2), [0.1f, 0f], meta));
        var spec = ModelSpecReader.Read(model, new RunConfig()).Spec;
        var counters = new DeviceCounters();
        var pipeline = new ForecastPipeline(spec, PipelineStream.Open(model, spec, null, null, 3), new PipelineOptions(MaxGap: 0), counters);
        Assert.AreEqual(3, pipeline.Stream.Horizon);
        Assert.AreEqual(StreamStyle.Window, pipeline.Stream.Style);
        var got = new List<Forecast>();
        pipeline.Push(new Sample(T0, [2, 150], 0), got);
        pipeline.Push(new Sample(T0.AddMinutes(1), [4, 170], 0), got);
        Assert.HasCount(1, got);
        // Rollout: step 2 from [(4, 170), (3.1, 160)], step 3 from [(3.1, 160), (3.65, 165)].
        Assertions.AssertClose(new[] { 3.1f, 160f, 3.65f, 165f, 3.475f, 162.5f }, got[0].Values, Tolerance.Scaled(1e-5), "rollout through the stream");
        // A gap the policy cannot fill restarts the window: the stream is reset with it.
        pipeline.Push(new Sample(T0.AddMinutes(2), [float.NaN, 1], 0), got);
        Assert.AreEqual(0, pipeline.Stream.Count);
        Assert.AreEqual(1, counters.WindowResets);
        pipeline.Push(new Sample(T0.AddMinutes(3), [1, 1], 0), got);
        Assert.HasCount(1, got, "the window refills first");
        pipeline.Push(new Sample(T0.AddMinutes(4), [2, 150], 0), got);
        pipeline.Push(new Sample(T0.AddMinutes(5), [4, 170], 0), got);
        Assert.HasCount(3, got);
        CollectionAssert.AreEqual(got[0].Values, got[2].Values, "the same window after a reset gives the same forecast");
    }

    /// <summary>
    /// The embedded default, as README's first command runs it (demo.sh): samples/forecaster converted to int8
    /// with its metadata, samples/demo.json replayed fast through `edge run` into the table.
    /// </summary>
    [TestMethod]
    public void Demo_FastMode_RunsEndToEnd_AndItsFinalRmseIsThatOfItsPrintedForecasts()
    {
        var sample = Path.Combine(TestPaths.RepoRoot, "samples", "forecaster");
        if (!File.Exists(Path.Combine(sample, "forecaster.onnx")) || !File.Exists(Path.Combine(sample, "holdout.csv")))
            Assert.Inconclusive("samples/forecaster is not there yet (tools/train_forecaster.py)");
        var dir = TestPaths.NewTempDir();
        var blob = Path.Combine(dir, "forecaster.int8.edge");
        Converter.Convert(new ConvertOptions(Path.Combine(sample, "forecaster.onnx"), blob, Precision.Int8, MetadataPath: Path.Combine(sample, "meta.json")));
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int rc = DeviceCli.Run(["run", "--config", Path.Combine(TestPaths.RepoRoot, "samples", "demo.json"), "--model", blob, "--speed", "fast"], stdout, stderr);
        Assert.AreEqual(0, rc, stderr.ToString());
        var text = stdout.ToString();
        Console.WriteLine(string.Join('\n', text.Split('\n').Take(8)));
        Console.WriteLine("...");
        Console.WriteLine(string.Join('\n', text.Split('\n').TakeLast(10)));

        var model = EdgeModel.Load(blob);
        int features = ((JsonArray)model.Metadata["features"]!).Count;
        var rows = ParseTable(text, features);
        int csvRows = File.ReadAllLines(Path.Combine(sample, "holdout.csv")).Skip(1).Count(l => l.Length > 0);
        int window = model.CreateStream().Window;
        Assert.HasCount(csvRows - window + 1, rows, "a row per forecast: every sample once the window is full");
        var printed = RmseOfPrinted(rows, features);
        for (int j = 0; j < features; j++)
            Assert.AreEqual(printed[j], rows[^1].Rmse[j], 0.016, $"feature {j}: final running RMSE vs the RMSE of the printed columns");
        StringAssert.Contains(text, $"{rows.Count - 1} forecasts compared");
    }
}
