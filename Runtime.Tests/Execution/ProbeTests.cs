using Edge.Quantizer.Import.Keras;
using Edge.Quantizer.Import.Onnx;
using Edge.Runtime.Execution;
using Edge.Runtime.Tensors;
using Edge.Runtime.Tests.EndToEnd;

namespace Edge.Runtime.Tests.Sessions;

[TestClass]
public sealed class ProbeTests
{
    [TestMethod]
    public void Probe()
    {
        var lines = new List<string>();
        foreach (var name in new[] { "seed_gru", "forecaster", "dual_encoder", "gru2_batchfirst", "lstm_bidir", "lstm_multilayer", "char_lstm" })
        {
            var fx = FixtureCase.Load(name);
            var g = OnnxImporter.Import(fx.PathOf(fx.ModelFiles[0]));
            var inputs = fx.Inputs();
            lines.Add($"{name}: ops {string.Join(",", g.Nodes.Select(n => n.Kind))} inputs {string.Join(";", g.Inputs.Select(i => i + " fx " + inputs[i.Name].ShapeString))}");
            var s = new Session(g);
            s.Run(inputs);
            long before = GC.GetAllocatedBytesForCurrentThread();
            s.Run(inputs);
            lines.Add($"   alloc {GC.GetAllocatedBytesForCurrentThread() - before}");
            var runner = s.CreateRunner();
            for (int i = 0; i < g.Inputs.Count; i++) runner.Bind(i, inputs[g.Inputs[i].Name]);
            runner.Invoke();
            before = GC.GetAllocatedBytesForCurrentThread();
            runner.Invoke();
            lines.Add($"   runner alloc {GC.GetAllocatedBytesForCurrentThread() - before}");
        }
        foreach (var file in new[] { "airsensor_gru.h5", "airsensor_gru.keras", "airquality_lstm_relu.h5" })
        {
            var g = KerasImporter.Import(Path.Combine(TestPaths.SharedModels, file));
            lines.Add($"{file}: ops {string.Join(",", g.Nodes.Select(n => n.Kind))} inputs {string.Join(";", g.Inputs)}");
        }
        File.WriteAllLines("/tmp/edge-probe.txt", lines);
    }
}
[TestClass]
public sealed class Probe2Tests
{
    [TestMethod]
    public void Probe2()
    {
        var g = OnnxImporter.Import(FixtureCase.Load("forecaster").PathOf("model.onnx"));
        var runner = new Session(g).CreateRunner();
        var x = runner.Input(0, 1, 10, 6);
        runner.Invoke();
        var lines = new List<string>();
        for (int k = 0; k < 3; k++)
        {
            long b = GC.GetAllocatedBytesForCurrentThread();
            runner.Input(0, 1, 10, 6);
            long a1 = GC.GetAllocatedBytesForCurrentThread() - b;
            b = GC.GetAllocatedBytesForCurrentThread();
            x.Span<float>();
            long a2 = GC.GetAllocatedBytesForCurrentThread() - b;
            b = GC.GetAllocatedBytesForCurrentThread();
            runner.Output(0).Span<float>();
            long a3 = GC.GetAllocatedBytesForCurrentThread() - b;
            b = GC.GetAllocatedBytesForCurrentThread();
            runner.Invoke();
            long a4 = GC.GetAllocatedBytesForCurrentThread() - b;
            lines.Add($"input {a1} span {a2} output {a3} invoke {a4}");
        }
        File.WriteAllLines("/tmp/edge-probe2.txt", lines);
    }
}
