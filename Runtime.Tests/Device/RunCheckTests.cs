using System.Text.Json.Nodes;
using Edge.Device;
using Edge.Device.Config;

namespace Edge.Runtime.Tests.Device;

/// <summary>
/// `edge run --check` / `--print-config` and the config loader's messages: every mistake is found up
/// front, one line each naming the key, flag or file, exit code 1.
/// </summary>
[TestClass]
public sealed class RunCheckTests
{
    /// <summary>A dense window-2 model over temperature and humidity (period 60 s) and a replay file with a header.</summary>
    private static (string Dir, string Model, string Csv) Setup(string header = "time,temperature,humidity")
    {
        var dir = TestPaths.NewTempDir();
        var model = DeviceTestSupport.WriteDenseModel(dir, 2, 2, 2, DeviceTestSupport.MeanOfStepsWeights(2, 2), [0f, 0f],
            DeviceTestSupport.Metadata(["temperature", "humidity"], 60, 2));
        var csv = Path.Combine(dir, "log.csv");
        File.WriteAllText(csv, header + "\n0,20,50\n60,21,51\n120,22,52\n");
        return (dir, model, csv);
    }

    private static (int Rc, string Out, string[] Err) Edge(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int rc = DeviceCli.Run(args, stdout, stderr);
        return (rc, stdout.ToString(), stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    private static string WriteConfig(string dir, string json)
    {
        var path = Path.Combine(dir, "edge.json");
        File.WriteAllText(path, json);
        return path;
    }

    private static void HasLine(string[] lines, params string[] parts) =>
        Assert.IsTrue(lines.Any(l => parts.All(p => l.Contains(p, StringComparison.Ordinal))),
            $"no line with all of [{string.Join(" | ", parts)}] in:\n{string.Join("\n", lines)}");

    [TestMethod]
    public void Check_ListsEveryProblem_OnePerLine_Exit1()
    {
        var dir = TestPaths.NewTempDir();
        var cfg = WriteConfig(dir, """
            {
              "model": "missing.edge",
              "source": { "kind": "serial", "format": "xml" },
              "sinks": [ { "kind": "stdoutt" }, { "kind": "mqtt", "host": "", "qos": 3 } ]
            }
            """);
        foreach (var flag in new[] { "--check", "--print-config" })
        {
            var (rc, stdout, err) = Edge("run", "--config", cfg, flag);
            Assert.AreEqual(1, rc, string.Join("\n", err));
            HasLine(err, "model ", Path.Combine(dir, "missing.edge"), "no such model file");
            HasLine(err, "source.format: 'xml' is not one of csv, json, kv");
            HasLine(err, "source.port: required for a serial source");
            HasLine(err, "sinks[0].kind: 'stdoutt' is not one of stdout, table, csv, mqtt, serial");
            HasLine(err, "sinks[1].host: required");
            HasLine(err, "sinks[1].qos: must be 0, 1 or 2, got 3");
            HasLine(err, "6 problems found");
            Assert.HasCount(7, err, string.Join("\n", err));
            if (flag == "--print-config") Assert.AreEqual("xml", RunConfigLoader.Parse(stdout, "printed").Source!.Format, "the resolved config is still printed");
        }
    }

    [TestMethod]
    public void Check_AllWell_Exit0_AndTheRunStarts()
    {
        var (dir, model, csv) = Setup();
        var cfg = WriteConfig(dir, $$$"""{"model": "{{{Path.GetFileName(model)}}}", "source": {"kind": "replay", "path": "log.csv", "speed": "fast", "time_field": "time"}, "stats_interval_s": 0}""");
        var (rc, stdout, err) = Edge("run", "--config", cfg, "--check");
        Assert.AreEqual(0, rc, string.Join("\n", err));
        StringAssert.Contains(stdout, "no problems found");
        Assert.IsEmpty(err);
        (rc, _, err) = Edge("run", "--config", cfg, "--print-config");
        Assert.AreEqual(0, rc, string.Join("\n", err));
        _ = csv;
    }

    [TestMethod]
    public void Check_NamesAColumnThatFeedsNoFeature_WithTheFeatures()
    {
        var (dir, model, _) = Setup("time,temperature,humidty");
        var cfg = WriteConfig(dir, $$$"""{"model": "{{{Path.GetFileName(model)}}}", "source": {"kind": "replay", "path": "log.csv", "time_field": "time"}}""");
        var (rc, _, err) = Edge("run", "--config", cfg, "--check");
        Assert.AreEqual(1, rc);
        HasLine(err, "log.csv", "no field feeds feature humidity", "fields that match no feature: humidty", "the model's features: temperature, humidity");

        // The same through the columns flag, and a map entry to a feature the model does not have.
        (rc, _, err) = Edge("run", "--model", model, "--serial", "/dev/null", "--columns", "temperature,humidty", "--map", "rh=humid", "--check");
        Assert.AreEqual(1, rc);
        HasLine(err, "source.map: 'rh' -> 'humid', but the model has no feature 'humid'; its features are: temperature, humidity");

        (rc, _, err) = Edge("run", "--model", model, "--serial", "/dev/null", "--columns", "temperature,humidty", "--check");
        Assert.AreEqual(1, rc);
        HasLine(err, "source.columns: no field feeds feature humidity; fields that match no feature: humidty");

        // A map entry fixes it.
        (rc, _, err) = Edge("run", "--model", model, "--serial", "/dev/null", "--columns", "temperature,humidty", "--map", "humidty=humidity", "--check");
        Assert.AreEqual(0, rc, string.Join("\n", err));
    }

    [TestMethod]
    public void Check_JsonReplay_TakesTheKeysOfTheFirstLines_NotOnlyTheFirst()
    {
        var (dir, model, _) = Setup();
        var log = Path.Combine(dir, "log.jsonl");
        File.WriteAllText(log, "{\"temperature\": 20}\n{\"temperature\": 21, \"humidity\": 50}\n");
        var (rc, _, err) = Edge("run", "--model", model, "--replay", log, "--format", "json", "--check");
        Assert.AreEqual(0, rc, string.Join("\n", err));
        File.WriteAllText(log, "{\"temperature\": 20, \"humidty\": 50}\n{\"temperature\": 21, \"humidty\": 51}\n");
        (rc, _, err) = Edge("run", "--model", model, "--replay", log, "--format", "json", "--check");
        Assert.AreEqual(1, rc);
        HasLine(err, $"--replay {log}: no field feeds feature humidity; fields that match no feature: humidty");
    }

    [TestMethod]
    public void Check_ConfigThatContradictsTheModel_IsAProblem_OneThatRepeatsItIsNot()
    {
        var (dir, model, _) = Setup();
        var cfg = WriteConfig(dir, $$$"""
            {"model": "{{{Path.GetFileName(model)}}}", "features": [{"name": "temperature"}, {"name": "pressure"}],
             "window": 24, "sample_period_s": 600, "source": {"kind": "replay", "path": "log.csv", "time_field": "time"}}
            """);
        var (rc, _, err) = Edge("run", "--config", cfg, "--check");
        Assert.AreEqual(1, rc);
        HasLine(err, "features: the config lists temperature, pressure but the model's metadata says temperature, humidity");
        HasLine(err, "window: the config (or --window) says 24 but the model's metadata says 2");
        HasLine(err, "sample_period_s: the config (or --period) says 600 but the model's metadata says 60");
        Assert.HasCount(4, err, string.Join("\n", err));

        cfg = WriteConfig(dir, $$$"""
            {"model": "{{{Path.GetFileName(model)}}}", "features": [{"name": "Temperature"}, {"name": "humidity"}], "window": 2, "sample_period_s": 60,
             "source": {"kind": "replay", "path": "log.csv", "time_field": "time"}}
            """);
        (rc, _, err) = Edge("run", "--config", cfg, "--check");
        Assert.AreEqual(0, rc, string.Join("\n", err));
    }

    [TestMethod]
    public void Check_MissingSerialDevice_ReadsNoSuchDevice()
    {
        var (_, model, _) = Setup();
        var (rc, _, err) = Edge("run", "--model", model, "--serial", "/dev/ttyUSB9", "--check");
        Assert.AreEqual(1, rc);
        HasLine(err, "source.port: serial port /dev/ttyUSB9: no such device");
        Assert.HasCount(2, err);
    }

    [TestMethod]
    public void ConfigTypo_NamesTheKeyPath_AndTheKnownKeys_OneLine()
    {
        var dir = TestPaths.NewTempDir();
        var cfg = WriteConfig(dir, "{\n  \"source\": {\n    \"kind\": \"replay\",\n    \"colums\": [\"a\"]\n  }\n}\n");
        var (rc, _, err) = Edge("run", "--config", cfg);
        Assert.AreEqual(1, rc);
        Assert.HasCount(1, err);
        StringAssert.StartsWith(err[0], $"edge: error: {cfg}:4: source.colums: unknown key; known: kind, port, baud, parity, data_bits, stop_bits, format, columns,");
        Assert.IsFalse(err[0].Contains("Edge.Device", StringComparison.Ordinal), err[0]);
    }

    [TestMethod]
    public void ConfigWrongTypes_NameTheKeyPath_TheExpectedType_AndTheLine()
    {
        var json = "{\n  \"source\": {\n    \"baud\": \"fast\"\n  },\n  \"sinks\": [{\"kind\": null}, \"stdout\"],\n  \"horizon\": 2.5,\n  \"missing\": {\"policy\": \"hold\", \"max_gap\": true},\n  \"sample_period_s\": 1e400\n}";
        var e = Assert.ThrowsExactly<ConfigProblemsException>(() => RunConfigLoader.Parse(json, "config.json"));
        CollectionAssert.AreEqual(new[]
        {
            "config.json:3: source.baud: expected a whole number, got \"fast\"",
            "config.json:5: sinks[0].kind: expected a string, got null",
            "config.json:5: sinks[1]: expected an object, got \"stdout\"",
            "config.json:6: horizon: expected a whole number, got 2.5",
            "config.json:7: missing.max_gap: expected a whole number, got true",
            "config.json:8: sample_period_s: expected a finite number, got 1e400",
        }, e.Problems.ToArray());
        Assert.DoesNotContain('\n', e.Message);
    }

    [TestMethod]
    public void ConfigSyntaxError_NamesTheLine()
    {
        var e = Assert.ThrowsExactly<ConfigProblemsException>(() => RunConfigLoader.Parse("{\n \"model\": \"m.edge\"\n \"device\": \"x\"\n}", "config.json"));
        StringAssert.StartsWith(e.Message, "config.json:3: invalid JSON: ");
        e = Assert.ThrowsExactly<ConfigProblemsException>(() => RunConfigLoader.Parse(" \n", "config.json"));
        Assert.AreEqual("config.json: the file is empty; expected a JSON object", e.Message);
        e = Assert.ThrowsExactly<ConfigProblemsException>(() => RunConfigLoader.Parse("[1]", "config.json"));
        Assert.AreEqual("config.json:1: expected a JSON object, got an array", e.Message);
        // Nullable keys take null; comments and trailing commas are fine.
        var c = RunConfigLoader.Parse("{\"input\": null, // the only input\n \"source\": {\"kind\": \"replay\", \"columns\": [\"a\"],},}", "config.json");
        Assert.AreEqual("a", c.Source!.Columns![0]);
    }

    [TestMethod]
    public void FileOptions_NameTheOption_WhenTheFileIsMissing()
    {
        var (dir, model, _) = Setup();
        var missing = Path.Combine(dir, "nope");
        var (rc, _, err) = Edge("run", "--config", missing + ".json");
        Assert.AreEqual(1, rc);
        Assert.AreEqual($"edge: error: --config {missing}.json: no such config file", err.Single());

        (rc, _, err) = Edge("run", "--model", missing + ".edge", "--replay", missing + ".csv");
        Assert.AreEqual(1, rc);
        Assert.HasCount(1, err);
        StringAssert.Contains(err[0], $"--model {missing}.edge: no such model file");
        StringAssert.Contains(err[0], $"--replay {missing}.csv: no such replay file");

        (rc, _, err) = Edge("run", "--model", dir, "--replay", missing + ".csv", "--check");
        Assert.AreEqual(1, rc);
        HasLine(err, $"--model {dir}: is a directory, not a model file");

        (rc, _, err) = Edge("predict", "--model", missing + ".edge", "--input", "x=" + missing + ".npy", "--output-dir", dir);
        Assert.AreEqual(1, rc);
        Assert.AreEqual($"edge: error: --model {missing}.edge: no such model file", err.Single());

        (rc, _, err) = Edge("predict", "--model", model, "--input", "x=" + missing + ".npy", "--output-dir", dir);
        Assert.AreEqual(1, rc);
        Assert.AreEqual($"edge: error: --input x={missing}.npy: no such npy file", err.Single());
    }
}
