using System.Diagnostics;
using System.Runtime.CompilerServices;
using BenchmarkDotNet.Attributes;
using Edge.Runtime;
using Edge.Runtime.Execution;
using EdgeTensor = Edge.Runtime.Tensors.Tensor;

namespace Edge.Perf;

/// <summary>
/// Batch-1 forwards of two fixture models (Runtime.Tests/Fixtures/models) through a
/// <see cref="SessionRunner"/>: the seed GRU (nn.GRU(96, 96), 12 steps, with h0) and the
/// encoder-decoder forecaster (LSTM encoder and decoder, Conv1D head, window 10). MemoryDiagnoser must
/// show 0 B allocated per forward; <see cref="Session.Run(IReadOnlyDictionary{string, EdgeTensor})"/>
/// (new tensors per call) runs beside it for comparison.
/// <code>dotnet run -c Release --project perf -- --filter '*SessionBenchmarks*'</code>
/// perf references only the runtime, so the fixtures' model.onnx are converted to fp32 `.edge` blobs
/// once, by `edge-quantize convert` run from this checkout, into $EDGE_BENCH_MODELS (default
/// $TMPDIR/edge-bench-models); delete that folder after changing the fixtures or the converter.
/// </summary>
[MemoryDiagnoser]
public class SessionBenchmarks
{
    private Session _session = null!;
    private SessionRunner _runner = null!;
    private Dictionary<string, EdgeTensor> _inputs = null!;

    [Params("seed_gru", "forecaster")]
    public string Model { get; set; } = "seed_gru";

    [GlobalSetup]
    public void Setup()
    {
        _session = EdgeModel.Load(ConvertedFixture(Model)).CreateSession();
        _runner = _session.CreateRunner();
        _inputs = new Dictionary<string, EdgeTensor>(StringComparer.Ordinal);
        var rng = new Random(42);
        for (int i = 0; i < _session.Inputs.Count; i++)
        {
            var info = _session.Inputs[i];
            // Batch 1: every dynamic dimension (the batch of these exports) is 1.
            var shape = info.Shape.Select(d => d < 0 ? 1 : d).ToArray();
            var input = _runner.Input(i, shape);
            var values = input.Span<float>();
            for (int j = 0; j < values.Length; j++) values[j] = (float)(rng.NextDouble() - 0.5);
            _inputs[info.Name] = input.Clone();
        }
        _runner.Invoke(); // the warm-up call makes the buffers
    }

    [Benchmark(Baseline = true, Description = "runner.Invoke (reused buffers)")]
    public float Runner()
    {
        _runner.Invoke();
        return _runner.Output(0).Span<float>()[0];
    }

    [Benchmark(Description = "session.Run (new tensors)")]
    public object Run() => _session.Run(_inputs);

    /// <summary>The fixture's model.onnx as an fp32 .edge blob, converted on first use.</summary>
    private static string ConvertedFixture(string fixture)
    {
        string dir = Environment.GetEnvironmentVariable("EDGE_BENCH_MODELS") is { Length: > 0 } d ? d : Path.Combine(Path.GetTempPath(), "edge-bench-models");
        Directory.CreateDirectory(dir);
        string edge = Path.Combine(dir, fixture + ".edge");
        if (File.Exists(edge)) return edge;
        string root = RepoRoot();
        string onnx = Path.Combine(root, "Runtime.Tests", "Fixtures", "models", fixture, "model.onnx");
        var psi = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { "run", "-c", "Release", "--project", Path.Combine(root, "Quantizer"), "--", "convert", onnx, "--output", edge, "--precision", "fp32" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("cannot start dotnet");
        string stdout = p.StandardOutput.ReadToEnd();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0 || !File.Exists(edge))
            throw new InvalidOperationException($"edge-quantize convert {onnx} failed (exit code {p.ExitCode}):\n{stdout}\n{stderr}");
        return edge;
    }

    private static string RepoRoot([CallerFilePath] string thisFile = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(thisFile)!, ".."));
}
