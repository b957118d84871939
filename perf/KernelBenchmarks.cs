using BenchmarkDotNet.Attributes;
using Edge.Runtime.Kernels;

namespace Edge.Perf;

/// <summary>
/// The matrix kernels per ISA path: one job per path this machine supports, each a separate process with
/// EDGE_ISA set (STYLE.md: benchmarks run one job per ISA the same way the tests do), so every path is
/// measured by the same code (<see cref="IsaJobsConfig"/>: EDGE_ISA plus the DOTNET_Enable* switch of each path). int8 GEMV (pre-packed weights, int32 out, and fused dequantize into fp32) and
/// fp32 GEMV at the LSTM(200, input 8) input and recurrent shapes and at 1024 x 1024. MemoryDiagnoser must
/// show 0 B allocated per call.
/// <code>dotnet run -c Release --project perf -- --filter '*KernelBenchmarks*'</code>
/// </summary>
[MemoryDiagnoser]
[Config(typeof(IsaJobsConfig))]
public class KernelBenchmarks
{
    private Gemv _gemv = null!;
    private PackedInt8Matrix _wq = null!;
    private float[] _w = null!;
    private sbyte[] _xq = null!;
    private float[] _x = null!;
    private float[] _bias = null!;
    private int[] _acc = null!;
    private float[] _y = null!;
    private float[] _xScale = null!;

    [Params("800x200", "1024x1024", "800x8")]
    public string Shape { get; set; } = "800x200";

    [GlobalSetup]
    public void Setup()
    {
        _gemv = Gemv.FromEnvironment();
        var dims = Shape.Split('x');
        int m = int.Parse(dims[0], System.Globalization.CultureInfo.InvariantCulture);
        int k = int.Parse(dims[1], System.Globalization.CultureInfo.InvariantCulture);
        var rng = new Random(42);
        _w = new float[m * k];
        for (int i = 0; i < _w.Length; i++) _w[i] = (float)(rng.NextDouble() - 0.5);
        _wq = PackedInt8Matrix.Quantize(_w, m, k);
        _x = new float[k];
        for (int i = 0; i < k; i++) _x[i] = (float)(rng.NextDouble() - 0.5);
        _xq = new sbyte[k];
        _xScale = [_gemv.QuantizeActivations(_x, _xq)];
        _bias = new float[m];
        _acc = new int[m];
        _y = new float[m];
    }

    [Benchmark(Description = "int8 gemv -> int32")]
    public void Int8() => _gemv.MultiplyInt8(_wq, _xq, _xq.Length, 1, _acc, _acc.Length);

    [Benchmark(Description = "quantize x + int8 gemv + dequantize")]
    public void Int8Dequantize()
    {
        _xScale[0] = _gemv.QuantizeActivations(_x, _xq);
        _gemv.MultiplyInt8Dequantize(_wq, _xq, _xq.Length, _xScale, 1, _bias, _y, _y.Length, accumulate: true);
    }

    [Benchmark(Description = "fp32 gemv")]
    public void Fp32() => _gemv.MultiplyFp32(_w, _y.Length, _x.Length, _x.Length, _x, _x.Length, 1, _bias, _y, _y.Length, accumulate: false);
}
