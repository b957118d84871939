using BenchmarkDotNet.Attributes;
using Edge.Quantizer.Quantization;
using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;
using EdgeTensor = Edge.Runtime.Tensors.Tensor;

namespace Edge.Perf;

/// <summary>
/// The recurrent layers alone (a one-node graph, no import glue): LSTM(200, input 8) and GRU(200, input 8,
/// PyTorch's linear_before_reset), batch 1, one step (T=1) and a 50-step sequence (T=50), fp32 weights and int8
/// per-row weights (quantized by the quantizer, as `convert --precision int8` does), one job per kernel path.
/// <code>EDGE_BENCH_JOB=short dotnet run -c Release --project perf -- --filter '*RecurrentLayerBenchmarks*'</code>
/// </summary>
[MemoryDiagnoser]
[Config(typeof(IsaJobsConfig))]
public class RecurrentLayerBenchmarks
{
    private const int Hidden = 200, Input = 8;
    private SessionRunner _runner = null!;

    [Params("lstm", "gru")]
    public string Cell { get; set; } = "lstm";

    [Params(1, 50)]
    public int Steps { get; set; } = 1;

    [Params("fp32", "int8")]
    public string Precision { get; set; } = "fp32";

    [GlobalSetup]
    public void Setup()
    {
        var graph = RecurrentGraph(Cell == "lstm" ? OpKind.Lstm : OpKind.Gru, new Random(42));
        if (Precision == "int8") ModelQuantizer.QuantizeWeights(graph);
        _runner = new Session(graph).CreateRunner();
        BenchModels.Fill(_runner.Input(0, [Steps, 1, Input]).Span<float>());
        _runner.Invoke();
    }

    [Benchmark(Description = "layer")]
    public void Layer() => _runner.Invoke();

    private static Graph RecurrentGraph(OpKind kind, Random rng)
    {
        int gates = kind == OpKind.Lstm ? 4 : 3;
        var g = new Graph { Name = kind.ToString() };
        g.Inputs.Add(new ValueInfo("X", DataType.Float32, [-1, -1, Input]));
        g.Constants["W"] = Random(rng, 1, gates * Hidden, Input);
        g.Constants["R"] = Random(rng, 1, gates * Hidden, Hidden);
        g.Constants["B"] = Random(rng, 1, 2 * gates * Hidden);
        var node = new Node(kind, "rnn", ["X", "W", "R", "B"], ["Y", "Y_h"]).Set("hidden_size", (long)Hidden);
        if (kind == OpKind.Gru) node.Set("linear_before_reset", 1L);
        g.Nodes.Add(node);
        g.Outputs.Add(new ValueInfo("Y_h", DataType.Float32, [1, -1, Hidden]));
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
