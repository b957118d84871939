using BenchmarkDotNet.Attributes;
using Microsoft.ML.OnnxRuntime;

namespace Edge.Perf;

/// <summary>
/// ONNX Runtime (Microsoft.ML.OnnxRuntime, CPU provider) on the same perf/models/*.onnx files and shapes as
/// <see cref="ModelBenchmarks"/>: one intra-op thread, one inter-op thread, sequential execution, all graph
/// optimizations, inputs and outputs pre-allocated as OrtValues (so the timing is the run, not marshalling).
/// </summary>
[MemoryDiagnoser]
[Config(typeof(PeerJobConfig))]
public class OnnxRuntimeBenchmarks
{
    private InferenceSession _session = null!;
    private RunOptions _run = null!;
    private OrtValue[] _inputs = null!;
    private OrtValue[] _outputs = null!;
    private string[] _inputNames = null!;
    private string[] _outputNames = null!;

    [ParamsSource(nameof(AllCases))]
    public string Case { get; set; } = "lstm200 T=1";

    public static IEnumerable<string> AllCases => BenchModels.Cases;

    [GlobalSetup]
    public void Setup()
    {
        var (model, steps, features) = BenchModels.Parse(Case);
        using var options = new SessionOptions
        {
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        _session = new InferenceSession(BenchModels.Onnx(model), options);
        _run = new RunOptions();
        var x = new float[steps * features];
        BenchModels.Fill(x);
        _inputs = [OrtValue.CreateTensorValueFromMemory(x, [1, steps, features])];
        _inputNames = ["x"];
        if (model == "forecaster50")
        {
            _outputNames = ["forecast"];
            _outputs = [OrtValue.CreateTensorValueFromMemory(new float[6], [1, 1, 6])];
        }
        else
        {
            _outputNames = ["y", "h_n"];
            _outputs =
            [
                OrtValue.CreateTensorValueFromMemory(new float[steps * 200], [1, steps, 200]),
                OrtValue.CreateTensorValueFromMemory(new float[200], [1, 1, 200]),
            ];
        }
        Run();
    }

    [Benchmark(Description = "ONNX Runtime")]
    public void Run() => _session.Run(_run, _inputNames, _inputs, _outputNames, _outputs);

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var v in _inputs) v.Dispose();
        foreach (var v in _outputs) v.Dispose();
        _run.Dispose();
        _session.Dispose();
    }
}
