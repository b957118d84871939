using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Edge.Quantizer;

namespace Edge.Perf;

/// <summary>
/// The peer-comparison workloads of perf/models/ (made by tools/make_bench_models.py), shared by the Edge and
/// ONNX Runtime suites so both run exactly the same files and shapes:
/// <list type="bullet">
/// <item><c>lstm200 T=1</c>, <c>gru200 T=1</c>: LSTM/GRU(200, input 8), one streaming step, batch 1, from a
///   non-zero initial state given as inputs h0 (and c0), so the recurrent product really runs;</item>
/// <item><c>lstm200 T=50</c>, <c>gru200 T=50</c>: the same cell over a 50-step sequence (per step = time / 50);</item>
/// <item><c>forecaster50</c>: the seed forecaster (LSTM(6, 200) encoder, LSTM(200, 200) decoder, Conv1D head)
///   over a 50-sample window: one forecast.</item>
/// </list>
/// Edge runs `.edge` blobs converted in-process by the quantizer (fp32 and int8, per-row weights) into
/// $EDGE_BENCH_MODELS (default $TMPDIR/edge-perf-models), named after the ONNX file's hash so a changed model
/// is converted again.
/// </summary>
public static class BenchModels
{
    public static readonly string[] Cases = ["lstm200 T=1", "lstm200 T=50", "gru200 T=1", "gru200 T=50", "forecaster50"];

    /// <summary>"lstm200 T=50" -> ("lstm200", 50, 8); the forecaster's window is its fixed time axis.</summary>
    public static (string Model, int Steps, int Features) Parse(string @case)
    {
        ArgumentNullException.ThrowIfNull(@case);
        var parts = @case.Split(' ');
        return parts[0] switch
        {
            "forecaster50" => ("forecaster50", 50, 6),
            _ => (parts[0], int.Parse(parts[1].AsSpan(2), System.Globalization.CultureInfo.InvariantCulture), 8),
        };
    }

    /// <summary>The inputs of a case at batch 1: x (1, T, features) and, for the cells, the initial state (1, 1, 200).</summary>
    public static (string Name, int[] Shape)[] Inputs(string @case)
    {
        var (model, steps, features) = Parse(@case);
        var x = ("x", new[] { 1, steps, features });
        return model switch
        {
            "lstm200" => [x, ("h0", [1, 1, 200]), ("c0", [1, 1, 200])],
            "gru200" => [x, ("h0", [1, 1, 200])],
            _ => [x],
        };
    }

    public static string Onnx(string model) => Path.Combine(RepoRoot(), "perf", "models", model + ".onnx");

    /// <summary>perf/models/MODEL.onnx as a .edge blob of <paramref name="precision"/> ("fp32" or "int8"), converted on first use.</summary>
    public static string Edge(string model, string precision)
    {
        string onnx = Onnx(model);
        if (!File.Exists(onnx)) throw new FileNotFoundException($"{onnx}: run /usr/bin/python3 tools/make_bench_models.py", onnx);
        string dir = Environment.GetEnvironmentVariable("EDGE_BENCH_MODELS") is { Length: > 0 } d ? d : Path.Combine(Path.GetTempPath(), "edge-perf-models");
        Directory.CreateDirectory(dir);
        string hash;
        using (var f = File.OpenRead(onnx)) hash = Convert.ToHexStringLower(SHA256.HashData(f))[..12];
        string edge = Path.Combine(dir, $"{model}.{hash}.{precision}.edge");
        if (File.Exists(edge)) return edge;
        string tmp = edge + "." + Environment.ProcessId + ".tmp";
        string meta = Path.ChangeExtension(onnx, ".meta.json");
        Converter.Convert(new ConvertOptions(onnx, tmp, precision == "int8" ? Precision.Int8 : Precision.Fp32, MetadataPath: File.Exists(meta) ? meta : null));
        File.Move(tmp, edge, overwrite: true);
        return edge;
    }

    public static string RepoRoot([CallerFilePath] string thisFile = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(thisFile)!, ".."));

    /// <summary>Fixed pseudo-random input values in [-1, 1) (states of tanh-bounded cells included).</summary>
    public static void Fill(Span<float> values, int seed = 20261128)
    {
        var rng = new Random(seed);
        for (int i = 0; i < values.Length; i++) values[i] = (float)(rng.NextDouble() * 2 - 1);
    }
}
