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
