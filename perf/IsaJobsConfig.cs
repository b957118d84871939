using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using Edge.Runtime.Kernels;

namespace Edge.Perf;

/// <summary>
/// One job per kernel path this machine supports, each its own process with <c>EDGE_ISA</c> set and the
/// runtime narrowed to that path with the same switches the child-process tests use (STYLE.md), so the fp32
/// gate math (TensorPrimitives) runs at the width the path would have on a CPU that stops there:
/// <list type="table">
/// <item><term>scalar</term><description>EDGE_ISA=scalar, DOTNET_EnableHWIntrinsic=0 (no SIMD at all)</description></item>
/// <item><term>avx2</term><description>EDGE_ISA=avx2, DOTNET_EnableAVX512F=0 (a Haswell..Zen 3 class CPU)</description></item>
/// <item><term>avx512</term><description>EDGE_ISA=avx512, everything on</description></item>
/// <item><term>neon</term><description>EDGE_ISA=neon, DOTNET_EnableArm64Dp=0 (Cortex-A53/A72: Pi 3, Pi 4)</description></item>
/// <item><term>neondot</term><description>EDGE_ISA=neondot, everything on (Cortex-A76: Pi 5)</description></item>
/// </list>
/// The base job is <c>EDGE_BENCH_JOB</c>: <c>dry</c> (one call: does it run), <c>short</c>, <c>final</c> (the
/// docs/benchmarks.md run: BenchmarkDotNet's own warm-up (until stable: tiered compilation and dynamic PGO have
/// to promote the hot methods first), then 10 measured iterations of the default 500 ms; 100 ms iterations gave
/// Edge's 50-step calls 4-9x spreads between processes that 500 ms iterations do not show, see
/// docs/benchmarks.md)
/// or unset (BenchmarkDotNet's default, which picks the counts itself).
/// </summary>
public class IsaJobsConfig : ManualConfig
{
    public IsaJobsConfig()
    {
        foreach (var isa in IsaSelector.Supported) AddJob(IsaJob(isa));
        AddColumn(StatisticColumn.Median, StatisticColumn.P95, StatisticColumn.Min);
        SummaryStyle = SummaryStyle.Default.WithMaxParameterColumnWidth(40);
    }

    /// <summary>The base job chosen by <c>EDGE_BENCH_JOB</c>.</summary>
    public static Job BaseJob() => (Environment.GetEnvironmentVariable("EDGE_BENCH_JOB") ?? "").ToLowerInvariant() switch
    {
        "dry" => Job.Dry,
        "short" => Job.ShortRun,
        "final" => Job.Default.WithIterationCount(10).WithLaunchCount(1),
        _ => Job.Default,
    };

    public static Job IsaJob(Isa isa)
    {
        string name = IsaSelector.Name(isa);
        var vars = new List<EnvironmentVariable> { new(IsaSelector.EnvironmentVariable, name) };
        switch (isa)
        {
            case Isa.Scalar: vars.Add(new("DOTNET_EnableHWIntrinsic", "0")); break;
            case Isa.Avx2: vars.Add(new("DOTNET_EnableAVX512F", "0")); break;
            case Isa.Neon: vars.Add(new("DOTNET_EnableArm64Dp", "0")); break;
        }
        return BaseJob().WithEnvironmentVariables(vars.ToArray()).WithId(name);
    }
}

/// <summary>A single job for the peers (ONNX Runtime): their speed does not depend on EDGE_ISA.</summary>
public class PeerJobConfig : ManualConfig
{
    public PeerJobConfig()
    {
        AddJob(IsaJobsConfig.BaseJob().WithId("peer"));
        AddColumn(StatisticColumn.Median, StatisticColumn.P95, StatisticColumn.Min);
        SummaryStyle = SummaryStyle.Default.WithMaxParameterColumnWidth(40);
    }
}
