using System.Text.Json.Nodes;
using Edge.Device;

namespace Edge.Runtime.Tests.Device;

/// <summary>`edge model-check`: what a model-only deploy runs on the Pi before switching.</summary>
[TestClass]
public sealed class ModelCheckTests
{
    private static readonly string[] Features = ["t", "h"];

    private static (string Dir, string Config) Setup(float[] w, JsonObject? extra = null)
    {
        var dir = TestPaths.NewTempDir();
        DeviceTestSupport.WriteDenseModel(dir, 2, 2, 2, w, [0, 0], DeviceTestSupport.Metadata(Features, 1, 2));
        var config = new JsonObject
        {
            ["model"] = "dense.edge", // relative to the config, as in a release
            ["source"] = new JsonObject { ["kind"] = "serial", ["port"] = "/dev/ttyEDGE-never-opened", ["columns"] = new JsonArray("t", "h") },
            ["sinks"] = new JsonArray(new JsonObject { ["kind"] = "mqtt", ["host"] = "192.0.2.1" }),
        };
        foreach (var (k, v) in extra ?? []) config[k] = v?.DeepClone();
        var path = Path.Combine(dir, "config.json");
        File.WriteAllText(path, config.ToJsonString());
        return (dir, path);
    }

    [TestMethod]
    public void GoodModelAndConfig_Passes_WithoutOpeningThePortOrTheBroker()
    {
        var (_, cfg) = Setup(DeviceTestSupport.MeanOfStepsWeights(2, 2));
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Assert.AreEqual(0, DeviceCli.Run(["model-check", "--config", cfg], stdout, stderr), stderr.ToString());
        StringAssert.StartsWith(stdout.ToString(), "model-check: ok: ");
        StringAssert.Contains(stdout.ToString(), "2 features (t, h) -> 2 targets, window 2");
    }

    [TestMethod]
    public void ConfigWhoseFeaturesDoNotMatchTheModel_FailsInOneLine()
    {
        var (_, cfg) = Setup(DeviceTestSupport.MeanOfStepsWeights(2, 2), new JsonObject { ["targets"] = new JsonArray("pressure") });
        var stderr = new StringWriter();
        Assert.AreEqual(1, DeviceCli.Run(["model-check", "--config", cfg], new StringWriter(), stderr));
        Assert.HasCount(1, stderr.ToString().Trim().Split('\n'), stderr.ToString());
        StringAssert.Contains(stderr.ToString(), "pressure");
    }

    [TestMethod]
    public void ModelWhoseForecastIsNaN_Fails()
    {
        var w = DeviceTestSupport.MeanOfStepsWeights(2, 2);
        w[0] = float.NaN;
        var (_, cfg) = Setup(w);
        var stderr = new StringWriter();
        Assert.AreEqual(1, DeviceCli.Run(["model-check", "--config", cfg], new StringWriter(), stderr));
        StringAssert.Contains(stderr.ToString(), "NaN or infinite");
    }

    [TestMethod]
    public void MissingModel_NamesIt()
    {
        var (dir, cfg) = Setup(DeviceTestSupport.MeanOfStepsWeights(2, 2));
        File.Delete(Path.Combine(dir, "dense.edge"));
        var stderr = new StringWriter();
        Assert.AreEqual(1, DeviceCli.Run(["model-check", "--config", cfg], new StringWriter(), stderr));
        StringAssert.Contains(stderr.ToString(), "dense.edge");
    }
}
