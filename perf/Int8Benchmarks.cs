using BenchmarkDotNet.Attributes;
using Edge.Quantizer.Quantization;
using Edge.Runtime;
using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;
using EdgeTensor = Edge.Runtime.Tensors.Tensor;

namespace Edge.Perf;

/// <summary>
/// int8 against fp32 execution of the same weights, batch 1 through a <see cref="SessionRunner"/>, one job per
/// kernel path (<see cref="IsaJobsConfig"/>: EDGE_ISA picks the session's kernels), MemoryDiagnoser (0 B per call):
/// <list type="bullet">
/// <item><c>lstm200 step</c> / <c>gru200 step</c>: LSTM/GRU(200, input 8), one streaming step from a carried
///   (non-zero) state fed as initial_h (and initial_c), so the recurrent product really runs (with a zero
///   initial state both paths skip it: R·0 = 0);</item>
/// <item><c>lstm200 T=50</c> / <c>gru200 T=50</c>: the same layer over a 50-step sequence from that state
///   (per step = time / 50);</item>
/// <item><c>forecaster50</c>: the seed forecaster (hidden 200, window 50; perf/models/forecaster50.onnx via
///   <see cref="BenchModels"/>), one forecast.</item>
/// </list>
/// The cells are built in-process (PyTorch's init range, GRU with linear_before_reset = 1) and quantized by the
/// quantizer's own <see cref="ModelQuantizer"/>, as `edge-quantize convert` does.
/// <code>EDGE_BENCH_JOB=short dotnet run -c Release --project perf -- --filter '*Int8Benchmarks*'</code>
/// </summary>
[MemoryDiagnoser]
[Config(typeof(IsaJobsConfig))]
public class Int8Benchmarks
{
    private const int Hidden = 200, Input = 8;

    private SessionRunner _runner = null!;

    [Params("lstm200 step", "lstm200 T=50", "gru200 step", "gru200 T=50", "forecaster50")]
    public string Case { get; set; } = "lstm200 step";

    [Params("fp32", "int8")]
    public string Precision { get; set; } = "int8";

    [GlobalSetup]
    public void Setup()
    {
        if (Case == "forecaster50")
        {
            _runner = EdgeModel.Load(BenchModels.Edge("forecaster50", Precision)).CreateSession().CreateRunner();
            BenchModels.Fill(_runner.Input(0, [1, 50, 6]).Span<float>());
        }
        else
        {
            var kind = Case.StartsWith("lstm", StringComparison.Ordinal) ? OpKind.Lstm : OpKind.Gru;
            int steps = Case.EndsWith("step", StringComparison.Ordinal) ? 1 : 50;
            var graph = Cell(kind, new Random(42));
            if (Precision == "int8") ModelQuantizer.QuantizeWeights(graph);
            _runner = new Session(graph).CreateRunner();
            BenchModels.Fill(_runner.Input(0, [steps, 1, Input]).Span<float>());
            // A carried state, as a stream would hold it: |h| < 1 (tanh-bounded), c moderate.
            for (int i = 1; i < graph.Inputs.Count; i++)
            {
                var s = _runner.Input(i, [1, 1, Hidden]).Span<float>();
                BenchModels.Fill(s, seed: 7 + i);
                for (int j = 0; j < s.Length; j++) s[j] *= 0.8f;
            }
        }
        _runner.Invoke(); // makes the buffers
    }

    [Benchmark(Description = "runner.Invoke")]
    public void Invoke() => _runner.Invoke();

    private static Graph Cell(OpKind kind, Random rng)
    {
        int gates = kind == OpKind.Lstm ? 4 : 3;
        var g = new Graph { Name = kind.ToString() };
        g.Inputs.Add(new ValueInfo("X", DataType.Float32, [-1, 1, Input]));
        g.Inputs.Add(new ValueInfo("initial_h", DataType.Float32, [1, 1, Hidden]));
        if (kind == OpKind.Lstm) g.Inputs.Add(new ValueInfo("initial_c", DataType.Float32, [1, 1, Hidden]));
        g.Constants["W"] = Random(rng, 1, gates * Hidden, Input);
        g.Constants["R"] = Random(rng, 1, gates * Hidden, Hidden);
        g.Constants["B"] = Random(rng, 1, 2 * gates * Hidden);
        string[] inputs = kind == OpKind.Lstm ? ["X", "W", "R", "B", "", "initial_h", "initial_c"] : ["X", "W", "R", "B", "", "initial_h"];
        string[] outputs = kind == OpKind.Lstm ? ["", "Y_h", "Y_c"] : ["", "Y_h"];
        var node = new Node(kind, "rnn", inputs, outputs).Set("hidden_size", (long)Hidden);
        if (kind == OpKind.Gru) node.Set("linear_before_reset", 1L);
        g.Nodes.Add(node);
        foreach (var o in outputs.Where(o => o.Length > 0)) g.Outputs.Add(new ValueInfo(o, DataType.Float32, [1, 1, Hidden]));
        return g;
    }

    private static EdgeTensor Random(Random rng, params int[] shape)
    {
        var t = EdgeTensor.Zeros<float>(shape);
        var s = t.Span<float>();
        float bound = 1f / MathF.Sqrt(Hidden); // PyTorch's init range
        for (int i = 0; i < s.Length; i++) s[i] = (float)(rng.NextDouble() * 2 - 1) * bound;
        return t;
    }
}
