using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.Device;
using Edge.Device.Config;
using Edge.Device.Hosting;
using Edge.Quantizer;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Tests.Device;

[TestClass]
public sealed class RunCommandTests
{
    private static readonly string[] Fields = ["temperature", "humidity", "mq7", "mq135", "dust"];

    [TestMethod]
    public void DocsExample_IsAValidConfig()
    {
        var doc = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "docs", "config.md"));
        int at = doc.IndexOf("## The config file", StringComparison.Ordinal);
        int start = doc.IndexOf("```json", at, StringComparison.Ordinal) + "```json".Length;
        var json = doc[start..doc.IndexOf("```", start, StringComparison.Ordinal)];
        var c = RunConfigLoader.Parse(json, "docs/config.md");
        Assert.AreEqual("serial", c.Source!.Kind);
        Assert.HasCount(4, c.Sinks!);
        Assert.AreEqual("minmax", c.Normalization!.Kind);
        Assert.AreEqual(3, c.Missing!.MaxGap);
        Assert.IsTrue(c.Sinks![2].HomeAssistant);
    }

    [TestMethod]
    public void UnknownKey_IsAnError_NamingIt()
    {
        var e = Assert.ThrowsExactly<ConfigProblemsException>(() => RunConfigLoader.Parse("""{"modle": "x.edge"}""", "edge.json"));
        StringAssert.StartsWith(e.Message, "edge.json:1: modle: unknown key; known: model, device, horizon,");
    }

    [TestMethod]
    public void SinkFlags()
    {
        var m = RunCommand.ParseSink("mqtts://edge:s%40cret@broker.local:8884/home/edge");
        Assert.AreEqual(("mqtt", "broker.local", 8884, "edge", "s@cret", true, "home/edge"), (m.Kind, m.Host, m.Port, m.Username, m.Password, m.Tls, m.TopicPrefix));
        Assert.IsNull(RunCommand.ParseSink("mqtt://127.0.0.1").Port);
        Assert.AreEqual(("serial", "/dev/ttyAMA0", 57600), (RunCommand.ParseSink("serial:/dev/ttyAMA0@57600") is var s ? (s.Kind, s.Path, s.Baud) : default));
        Assert.AreEqual("out.csv", RunCommand.ParseSink("csv:out.csv").Path);
        Assert.ThrowsExactly<EdgeException>(() => RunCommand.ParseSink("kafka://x"));
    }

    [TestMethod]
    public void PrintConfig_ShowsFlagsOverTheFile()
    {
        var dir = TestPaths.NewTempDir();
        var cfg = Path.Combine(dir, "edge.json");
        File.WriteAllText(cfg, """{"model": "m.edge", "source": {"kind": "serial", "port": "/dev/ttyUSB0"}, "horizon": 2}""");
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int rc = DeviceCli.Run(["run", "--config", cfg, "--horizon", "24", "--baud", "115200", "--sink", "mqtt://127.0.0.1:1884", "--print-config"], stdout, stderr);
        // Printed even though it cannot run (no model file, no such port), and then the problems: exit 1.
        Assert.AreEqual(1, rc, stderr.ToString());
        StringAssert.Contains(stderr.ToString(), "no such model file");
        StringAssert.Contains(stderr.ToString(), "source.port: serial port /dev/ttyUSB0: no such device");
        var c = RunConfigLoader.Parse(stdout.ToString(), "printed");
        Assert.AreEqual(24, c.Horizon);
        Assert.AreEqual(115200, c.Source!.Baud);
        Assert.AreEqual(Path.Combine(dir, "m.edge"), c.Model, "relative to the config file");
        Assert.AreEqual(1884, c.Sinks![0].Port);
    }

    [TestMethod]
    public void ConfigErrors_AreOneLine_ExitCode1()
    {
        var stderr = new StringWriter();
        Assert.AreEqual(1, DeviceCli.Run(["run", "--replay", "/nonexistent.csv"], new StringWriter(), stderr));
        StringAssert.Contains(stderr.ToString(), "model");
        stderr = new StringWriter();
        Assert.AreEqual(1, DeviceCli.Run(["run", "--config", "/nonexistent/edge.json"], new StringWriter(), stderr));
        StringAssert.Contains(stderr.ToString(), "--config /nonexistent/edge.json: no such config file");
    }

    /// <summary>
    /// The check: replaying ../shared/models/airsensor_feeds.csv through the air-sensor GRU
    /// (its author's Keras model, converted) with `edge run` gives the same forecasts as `edge predict`
    /// on the same windows. The author scaled the five fields with a MinMaxScaler fitted on the whole
    /// log and used windows of one step; the blob carries no metadata, so the config supplies it.
    /// </summary>
    [TestMethod]
    public void ReplayOfTheAirSensorLog_MatchesEdgePredict_AndRollsOut24Steps()
    {
        var keras = Path.Combine(TestPaths.SharedModels, "airsensor_gru.keras");
        var log = Path.Combine(TestPaths.SharedModels, "airsensor_feeds.csv");
        if (!File.Exists(keras) || !File.Exists(log)) SkippedTests.Inconclusive(SkippedTests.SharedModels, "../shared/models is not present (third-party model, an extra check)");
        var dir = TestPaths.NewTempDir();
        var blob = Path.Combine(dir, "air.edge");
        Converter.Convert(new ConvertOptions(keras, blob));

        var rows = File.ReadAllLines(log).Skip(1).Where(l => l.Length > 0)
            .Select(l => l.Split(',').Skip(2).Take(5).Select(x => float.Parse(x, CultureInfo.InvariantCulture)).ToArray()).ToArray();
        var min = Enumerable.Range(0, 5).Select(j => rows.Min(r => r[j])).ToArray();
        var max = Enumerable.Range(0, 5).Select(j => rows.Max(r => r[j])).ToArray();
        var config = new JsonObject
        {
            ["model"] = "air.edge",
            ["device"] = "air-test",
            ["features"] = new JsonArray(Fields.Select(f => (JsonNode)new JsonObject { ["name"] = f }).ToArray()),
            ["normalization"] = new JsonObject { ["kind"] = "minmax", ["min"] = new JsonArray(min.Select(v => (JsonNode)v).ToArray()), ["max"] = new JsonArray(max.Select(v => (JsonNode)v).ToArray()) },
            ["resample"] = "none",
            ["stats_interval_s"] = 0,
            ["source"] = new JsonObject
            {
                ["kind"] = "replay",
                ["path"] = log,
                ["speed"] = "fast",
                ["time_field"] = "created_at",
                ["map"] = new JsonObject { ["field1"] = "temperature", ["field2"] = "humidity", ["field3"] = "mq7", ["field4"] = "mq135", ["field5"] = "dust" },
            },
            ["sinks"] = new JsonArray(new JsonObject { ["kind"] = "csv", ["path"] = "out.csv" }, new JsonObject { ["kind"] = "stdout" }),
        };
        var cfg = Path.Combine(dir, "edge.json");
        File.WriteAllText(cfg, config.ToJsonString());
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Assert.AreEqual(0, DeviceCli.Run(["run", "--config", cfg], stdout, stderr), stderr.ToString());
        var run = ReadCsv(Path.Combine(dir, "out.csv"));
        Assert.HasCount(rows.Length, run);
        var lines = stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.HasCount(rows.Length, lines);
        var firstJson = JsonDocument.Parse(lines[0]).RootElement;
        Assert.AreEqual("air-test", firstJson.GetProperty("device").GetString());
        Assert.AreEqual(rows[0][2], firstJson.GetProperty("actual").GetProperty("mq7").GetSingle());

        // edge predict on the same windows, all in one batch.
        var x = new float[rows.Length * 5];
        for (int i = 0; i < rows.Length; i++)
            for (int j = 0; j < 5; j++) x[i * 5 + j] = (rows[i][j] - min[j]) / (max[j] - min[j]);
        Npy.Write(Path.Combine(dir, "x.npy"), Tensor.FromArray(x, rows.Length, 1, 5));
        var outDir = Path.Combine(dir, "predict");
        Assert.AreEqual(0, DeviceCli.Run(["predict", "--model", blob, "--input", Path.Combine(dir, "x.npy"), "--output-dir", outDir], new StringWriter(), stderr), stderr.ToString());
        var y = Npy.Read(Directory.GetFiles(outDir, "*.npy").Single()).ReadOnlySpan<float>().ToArray();
        Assert.HasCount(rows.Length * 5, y);
        for (int i = 0; i < rows.Length; i++)
            for (int j = 0; j < 5; j++)
            {
                float expected = y[i * 5 + j] * (max[j] - min[j]) + min[j];
                Assert.AreEqual(expected, run[i][j], Math.Abs(expected) * 1e-5f + 1e-4f, $"row {i} feature {Fields[j]}");
            }

        // The author's use: roll the model forward 24 steps from each reading.
        var out24 = Path.Combine(dir, "out24.csv");
        Assert.AreEqual(0, DeviceCli.Run(["run", "--config", cfg, "--horizon", "24", "--sink", "csv:" + out24], new StringWriter(), stderr), stderr.ToString());
        var rolled = ReadCsv(out24);
        Assert.HasCount(rows.Length * 24, rolled);
        for (int i = 0; i < rows.Length; i++)
            for (int j = 0; j < 5; j++) Assert.AreEqual(run[i][j], rolled[i * 24][j], 1e-6f, "step 1 of the rollout is the one-step forecast");
    }

    private static List<float[]> ReadCsv(string path) =>
        File.ReadAllLines(path).Skip(1).Select(l => l.Split(',').Skip(4).Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray()).ToList();
}
