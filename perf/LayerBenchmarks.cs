using BenchmarkDotNet.Attributes;
using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using EdgeTensor = Edge.Runtime.Tensors.Tensor;

namespace Edge.Perf;

/// <summary>
/// fp32 layer baselines: the seed GRU nn.GRU(96, 96) over (L, N=8, 96) and an LSTM(200) step
/// sequence like the forecaster's encoder. These are the numbers the int8 kernels must beat.
/// </summary>
[MemoryDiagnoser]
public class RecurrentFp32Benchmarks
{
    private Session _gru = null!;
    private Dictionary<string, EdgeTensor> _gruInputs = null!;
    private Session _lstm = null!;
    private Dictionary<string, EdgeTensor> _lstmInputs = null!;

    [Params(1, 8)]
    public int Batch { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(42);
        _gru = new Session(RecurrentGraph(OpKind.Gru, 96, 96, 3, rng));
        _gruInputs = new() { ["X"] = Random(rng, 16, Batch, 96) };
        _lstm = new Session(RecurrentGraph(OpKind.Lstm, 6, 200, 4, rng));
        _lstmInputs = new() { ["X"] = Random(rng, 10, Batch, 6) };
    }

    [Benchmark(Description = "GRU(96,96) L=16 fp32")]
    public object Gru() => _gru.Run(_gruInputs);

    [Benchmark(Description = "LSTM(6,200) L=10 fp32")]
    public object Lstm() => _lstm.Run(_lstmInputs);

    private static Graph RecurrentGraph(OpKind kind, int input, int hidden, int gates, Random rng)
    {
        var g = new Graph { Name = kind.ToString() };
        g.Inputs.Add(new ValueInfo("X", Edge.Runtime.Tensors.DataType.Float32, [-1, -1, input]));
        g.Constants["W"] = Random(rng, 1, gates * hidden, input);
        g.Constants["R"] = Random(rng, 1, gates * hidden, hidden);
        g.Constants["B"] = Random(rng, 1, 2 * gates * hidden);
        var node = new Node(kind, "rnn", ["X", "W", "R", "B"], ["Y", "Y_h"]).Set("hidden_size", (long)hidden);
        g.Nodes.Add(node);
        g.Outputs.Add(new ValueInfo("Y_h", Edge.Runtime.Tensors.DataType.Float32, [1, -1, hidden]));
        return g;
    }

    private static EdgeTensor Random(Random rng, params int[] shape)
    {
        var t = EdgeTensor.Zeros<float>(shape);
        var s = t.Span<float>();
        for (int i = 0; i < s.Length; i++) s[i] = (float)(rng.NextDouble() - 0.5) * 0.2f;
        return t;
    }
}
