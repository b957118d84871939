using BenchmarkDotNet.Attributes;
using Microsoft.ML.OnnxRuntime;

namespace Edge.Perf;

/// <summary>
/// ONNX Runtime (Microsoft.ML.OnnxRuntime, CPU provider) on the same perf/models/*.onnx files and shapes as
/// <see cref="ModelBenchmarks"/>: one intra-op thread, one inter-op thread, sequential execution, all graph
/// optimizations, inputs and outputs pre-allocated as OrtValues (so the timing is the run, not marshalling).
/// The cases ending in " ort-int8" run ONNX Runtime's own int8 model instead (perf/models/*.ort-int8.onnx, made by
/// tools/make_ort_int8.py the way onnxruntime's quantize_dynamic(per_channel=True, weight_type=QInt8) makes it:
/// DynamicQuantizeLSTM): the int8 peer of Edge int8.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(PeerJobConfig))]
public class OnnxRuntimeBenchmarks : IDisposable
{
    private InferenceSession _session = null!;
    private RunOptions _run = null!;
    private OrtValue[] _inputs = null!;
    private OrtValue[] _outputs = null!;
    private string[] _inputNames = null!;
    private string[] _outputNames = null!;

    [ParamsSource(nameof(AllCases))]
    public string Case { get; set; } = "lstm200 T=1";

    public static IEnumerable<string> AllCases => BenchModels.Cases.Concat(OrtInt8Cases);

    /// <summary>The cases whose model ONNX Runtime's dynamic int8 rewrite covers (LSTM; GRU has no int8 form there).</summary>
    public static readonly string[] OrtInt8Cases = ["lstm200 T=1 ort-int8", "lstm200 T=50 ort-int8", "forecaster50 ort-int8"];

    [GlobalSetup]
    public void Setup()
    {
        var (model, steps, _) = BenchModels.Parse(Case);
        using var options = new SessionOptions
        {
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        bool int8 = Case.EndsWith(" ort-int8", StringComparison.Ordinal);
        _session = new InferenceSession(BenchModels.Onnx(int8 ? model + ".ort-int8" : model), options);
        _run = new RunOptions();
        var inputs = BenchModels.Inputs(Case);
        _inputNames = inputs.Select(i => i.Name).ToArray();
        int seed = 1;
        _inputs = inputs.Select(i =>
        {
            var values = new float[i.Shape.Aggregate(1, (a, b) => a * b)];
            BenchModels.Fill(values, seed++);
            return OrtValue.CreateTensorValueFromMemory(values, i.Shape.Select(d => (long)d).ToArray());
        }).ToArray();
        (string, long[])[] outputs = model switch
        {
            "forecaster50" => [("forecast", [1, 1, 6])],
            "lstm200" => [("y", [1, steps, 200]), ("h_n", [1, 1, 200]), ("c_n", [1, 1, 200])],
            _ => [("y", [1, steps, 200]), ("h_n", [1, 1, 200])],
        };
        _outputNames = outputs.Select(o => o.Item1).ToArray();
        _outputs = outputs.Select(o => OrtValue.CreateTensorValueFromMemory(new float[o.Item2.Aggregate(1L, (a, b) => a * b)], o.Item2)).ToArray();
        Run();
    }

    [Benchmark(Description = "ONNX Runtime")]
    public void Run() => _session.Run(_run, _inputNames, _inputs, _outputNames, _outputs);

    public void Dispose()
    {
        Cleanup();
        GC.SuppressFinalize(this);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        if (_session is null) return;
        foreach (var v in _inputs) v.Dispose();
        foreach (var v in _outputs) v.Dispose();
        _run.Dispose();
        _session.Dispose();
        _session = null!;
    }
}
