using BenchmarkDotNet.Running;

// dotnet run -c Release --project perf -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(Edge.Perf.RecurrentFp32Benchmarks).Assembly).Run(args);
