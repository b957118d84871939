using BenchmarkDotNet.Running;

// dotnet run -c Release --project perf -- --filter '*'          (EDGE_BENCH_JOB=dry|short|final: see IsaJobsConfig)
// docs/benchmarks.md has the commands that produced its tables.
BenchmarkSwitcher.FromAssembly(typeof(Edge.Perf.ModelBenchmarks).Assembly).Run(args);
