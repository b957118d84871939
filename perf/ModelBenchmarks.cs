using BenchmarkDotNet.Attributes;
using Edge.Runtime;
using Edge.Runtime.Execution;

namespace Edge.Perf;

/// <summary>
/// Edge on the peer-comparison workloads (<see cref="BenchModels"/>), fp32 and int8 blobs, batch 1 through a
/// <see cref="SessionRunner"/> (buffers reused: 0 B per call), one job per kernel path (<see cref="IsaJobsConfig"/>).
/// ONNX Runtime runs the same files in <see cref="OnnxRuntimeBenchmarks"/>; run both into one table with
/// <code>EDGE_BENCH_JOB=final dotnet run -c Release --project perf -- --filter '*ModelBenchmarks*' '*OnnxRuntimeBenchmarks*' --join</code>
/// </summary>
[MemoryDiagnoser]
[Config(typeof(IsaJobsConfig))]
public class ModelBenchmarks
{
    private SessionRunner _runner = null!;

    [ParamsSource(nameof(AllCases))]
    public string Case { get; set; } = "lstm200 T=1";

    [Params("fp32", "int8")]
    public string Precision { get; set; } = "fp32";

    public static IEnumerable<string> AllCases => BenchModels.Cases;

    [GlobalSetup]
    public void Setup()
    {
        var session = EdgeModel.Load(BenchModels.Edge(BenchModels.Parse(Case).Model, Precision)).CreateSession();
        _runner = session.CreateRunner();
        int seed = 1;
        foreach (var (name, shape) in BenchModels.Inputs(Case))
            BenchModels.Fill(_runner.Input(_runner.InputIndex(name), shape).Span<float>(), seed++);
        _runner.Invoke(); // makes the buffers
    }

    [Benchmark(Description = "Edge")]
    public void Edge() => _runner.Invoke();
}
