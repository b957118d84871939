using BenchmarkDotNet.Running;

// dotnet run -c Release --project perf -- --filter '*'          (EDGE_BENCH_JOB=dry|short|final: see IsaJobsConfig)
// dotnet run -c Release --project perf -- --per-call [--json FILE] [--calls N] [--case C] [--precision P] [--isa I]   (see PerCall)
// docs/benchmarks.md has the commands that produced its tables.
// dotnet run -c Release --project perf -- --fingerprint ROOT OUT                            (see Fingerprint, tools/fingerprint.sh)
if (args.Length > 0 && args[0] == "--fingerprint") return Edge.Perf.Fingerprint.Run(args[1..]);
if (args.Length > 0 && args[0] == "--per-call") return Edge.Perf.PerCall.Run(args[1..]);
BenchmarkSwitcher.FromAssembly(typeof(Edge.Perf.ModelBenchmarks).Assembly).Run(args);
return 0;
