using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Edge.Runtime;
using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Kernels;
using Edge.Runtime.Streaming;
using Edge.Runtime.Tensors;

namespace Edge.Device.Bench;

/// <summary>What `edge bench --model` was asked to do (validated by <see cref="BenchCommand"/>).</summary>
public sealed record BenchOptions
{
    public required string ModelPath { get; init; }
    public int Steps { get; init; } = 1000;
    public int Warmup { get; init; } = 100;
    public int Batch { get; init; } = 1;
    /// <summary>null: EDGE_ISA if set, else the best path; "all": every supported path; else one EDGE_ISA spelling.</summary>
    public string? Isa { get; init; }
    /// <summary>Length of a dynamic time axis; null: the blob's window (metadata "window"/"window_length"), else 1.</summary>
    public int? TimeSteps { get; init; }
}

/// <summary>
/// `edge bench`: loads the blob once, then per kernel path makes a session and a <see cref="SessionRunner"/>
/// (allocation-free reruns), fills the inputs with fixed pseudo-random values, warms up, and times every
/// Invoke on its own with <see cref="Stopwatch.GetTimestamp"/>:
/// <list type="bullet">
/// <item>step: batch 1, one Invoke = one streaming step (for window models, one forecast over the window);</item>
/// <item>forecast: at --batch B, one Invoke / B (equal to step when B is 1); throughput = forecasts per second.</item>
/// </list>
/// Allocation per step is GC.GetAllocatedBytesForCurrentThread across the measured steps; peak RSS is
/// /proc/self/status VmHWM at the end (the whole process: runtime, every session made, and under qemu-user
/// the emulator too).
/// </summary>
internal static class BenchRunner
{
    public static BenchResult Run(BenchOptions options, string command, TextWriter? progress = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!File.Exists(options.ModelPath)) throw new EdgeException($"--model {options.ModelPath}: no such file");
        var model = EdgeModel.Load(options.ModelPath);
        var isas = ResolveIsas(options.Isa);
        int timeSteps = options.TimeSteps ?? MetadataWindow(model.Metadata) ?? 1;
        var shapes1 = InputShapes(model.Graph, 1, timeSteps, options.ModelPath);
        var shapesB = options.Batch == 1 ? shapes1 : InputShapes(model.Graph, options.Batch, timeSteps, options.ModelPath);
        int declaredSteps = TimeAxis(model.Graph, shapes1);

        var runs = new List<(Isa Isa, Session Session, BenchRun Run)>();
        foreach (var isa in isas)
        {
            progress?.WriteLine($"edge bench: {IsaSelector.Name(isa)}: {options.Warmup} warm-up + {options.Steps} steps...");
            var sw = Stopwatch.StartNew();
            var session = BenchSessions.Create(model, isa);
            double sessionMs = sw.Elapsed.TotalMilliseconds;
            var (step, stepSeconds, alloc) = Measure(session, shapes1, options.Steps, options.Warmup);
            LatencyStats forecast;
            double throughput;
            if (options.Batch == 1)
            {
                forecast = step;
                throughput = options.Steps / stepSeconds;
            }
            else
            {
                int invokes = Math.Max(options.Steps / options.Batch, 20);
                var (batched, seconds, _) = Measure(session, shapesB, invokes, Math.Max(options.Warmup / options.Batch, 5));
                forecast = batched.Per(options.Batch);
                throughput = (double)invokes * options.Batch / seconds;
            }
            runs.Add((isa, session, new BenchRun
            {
                Isa = IsaSelector.Name(session.Isa),
                Best = session.Isa == IsaSelector.Best,
                Execution = "pending",
                SessionMs = sessionMs,
                Step = step,
                Forecast = forecast,
                Batch = options.Batch,
                ThroughputPerSecond = throughput,
                AllocatedBytesPerStep = (double)alloc / options.Steps,
                Stream = MeasureStream(model, isa, options.Steps, options.Warmup),
            }));
        }

        long? peakRss = PeakRssBytes();
        var machine = MachineInfo.Collect();
        // After the peak RSS is read: the probe prepares the operators again.
        var finished = runs.Select(r => r.Run with { Execution = BenchSessions.Execution(model, r.Session) }).ToList();

        var notes = new List<string>();
        notes.Add($"build: {machine.Build}");
        if (isas.Contains(Isa.Neon))
            notes.Add($"neon ran the {ArmCores.Description} int8 product (EDGE_NEON_KERNEL=inorder|outoforder forces one)");
        if (machine.Emulated == "yes")
            notes.Add($"ran under emulation ({machine.EmulationDetail}): the timings say nothing about real hardware; the run shows that the build and its kernel paths work");
        else if (machine.Emulated == "unknown")
            notes.Add("could not tell whether this ran under emulation");
        if (machine.Hypervisor == true && machine.Emulated != "yes")
            notes.Add("virtual machine (the CPU reports a hypervisor): cores may be shared with other guests, so expect noise");
        if (finished.Any(r => r.Execution.StartsWith("fp32-fallback", StringComparison.Ordinal) || r.Execution.StartsWith("mixed", StringComparison.Ordinal)))
            notes.Add("int8 blob, but the runtime dequantized int8 weights to fp32 at load for some layers: the int8 kernels did not run for those");
        var flags = (machine.Flags ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (machine.Architecture == "x64" && flags.Contains("avx512bw") && flags.Contains("avx_vnni") && !IsaSelector.IsSupported(Isa.Avx512Vnni))
            notes.Add(machine.RuntimeKind == "nativeaot"
                ? "the CPU has AVX-512 and AVX-VNNI but this NativeAOT binary cannot use them: its instruction sets are fixed when it is published (x86-64-v3), so the avx512 path is not offered; publish with -p:EdgeX64Avx512=true for a build that runs it"
                : "the CPU has AVX-512 and AVX-VNNI but the runtime does not offer them (a DOTNET_Enable* switch?), so the avx512 path is not offered");

        var file = new FileInfo(options.ModelPath);
        return new BenchResult
        {
            CreatedUtc = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            Command = command,
            Model = new BenchModel(
                file.Name,
                model.Metadata["model_name"]?.GetValue<string>() ?? model.Graph.Name,
                file.Length,
                Bench.Sha256.HashFileHex(options.ModelPath),
                model.Graph.QuantizedConstants.Count > 0 ? "int8" : "fp32",
                model.Graph.QuantizedConstants.Count,
                model.Graph.Inputs.Select((info, i) => (info.Name, shapes1[i])).ToList(),
                declaredSteps),
            Steps = options.Steps,
            Warmup = options.Warmup,
            Batch = options.Batch,
            IsaRequested = options.Isa ?? (Environment.GetEnvironmentVariable(IsaSelector.EnvironmentVariable) is { Length: > 0 } env ? $"EDGE_ISA={env}" : "best"),
            Machine = machine.ToJson(),
            Runs = finished,
            PeakRssBytes = peakRss,
            Notes = notes,
        };
    }

    /// <summary>The paths to run: one for a name (checked against the CPU), every supported one for "all".</summary>
    public static IReadOnlyList<Isa> ResolveIsas(string? isa)
    {
        if (isa is null) return [IsaSelector.FromEnvironment()];
        if (isa.Equals("all", StringComparison.OrdinalIgnoreCase)) return IsaSelector.Supported;
        Isa parsed;
        try { parsed = IsaSelector.Parse(isa); }
        catch (EdgeException)
        {
            throw new EdgeException($"--isa {isa}: unknown path; expected scalar, avx2, avx512, neon, neondot or all (this CPU supports {IsaSelector.SupportedList})");
        }
        if (!IsaSelector.IsSupported(parsed))
            throw new EdgeException($"--isa {isa}: this CPU does not support {IsaSelector.Name(parsed)}; it supports {IsaSelector.SupportedList}");
        return [parsed];
    }

    private static (LatencyStats Stats, double TotalSeconds, long AllocatedBytes) Measure(Session session, int[][] shapes, int steps, int warmup)
    {
        var runner = session.CreateRunner();
        var rng = new Random(20261128);
        for (int i = 0; i < shapes.Length; i++) Fill(runner.Input(i, shapes[i]), rng);
        runner.Invoke(); // makes the buffers
        WarmUp(runner.Invoke, warmup);
        var ticks = new long[steps];
        var us = new double[steps];
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        long alloc0 = GC.GetAllocatedBytesForCurrentThread();
        long start = Stopwatch.GetTimestamp();
        for (int s = 0; s < ticks.Length; s++)
        {
            long t0 = Stopwatch.GetTimestamp();
            runner.Invoke();
            ticks[s] = Stopwatch.GetTimestamp() - t0;
        }
        long end = Stopwatch.GetTimestamp();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - alloc0;
        for (int s = 0; s < ticks.Length; s++) us[s] = ticks[s] * 1e6 / Stopwatch.Frequency;
        return (LatencyStats.From(us), (end - start) / (double)Stopwatch.Frequency, allocated);
    }

    /// <summary>
    /// The device's own loop: a <see cref="ForecastStream"/> (what `edge run` uses) fed one sample per push once
    /// its window is full, each push a forecast. For window models whose encoder input projections are cached
    /// this costs only the recurrent part; for stateful models one step. Null when the model is not a
    /// streaming forecaster (a bare layer, several inputs).
    /// </summary>
    private static StreamBench? MeasureStream(EdgeModel model, Isa isa, int steps, int warmup)
    {
        ForecastStream stream;
        try { stream = model.CreateStream(new StreamOptions { Session = new SessionOptions { Isa = isa } }); }
        catch (EdgeException) { return null; }
        var rng = new Random(7);
        var samples = new float[64][];
        for (int i = 0; i < samples.Length; i++)
        {
            samples[i] = new float[stream.InputFeatures];
            for (int j = 0; j < samples[i].Length; j++) samples[i][j] = (float)(rng.NextDouble() * 2 - 1);
        }
        int n = 0;
        for (int i = 0; i < stream.Window; i++) stream.Push(samples[n++ % samples.Length], out _);
        WarmUp(() => stream.Push(samples[n++ % samples.Length], out _), warmup);
        var ticks = new long[steps];
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long alloc0 = GC.GetAllocatedBytesForCurrentThread();
        for (int s = 0; s < ticks.Length; s++)
        {
            var sample = samples[n++ % samples.Length];
            long t0 = Stopwatch.GetTimestamp();
            stream.Push(sample, out _);
            ticks[s] = Stopwatch.GetTimestamp() - t0;
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - alloc0;
        var us = new double[steps];
        for (int s = 0; s < steps; s++) us[s] = ticks[s] * 1e6 / Stopwatch.Frequency;
        return new StreamBench(stream.Style.ToString().ToLowerInvariant(), stream.CachesInputProjections, stream.Window, LatencyStats.From(us), (double)allocated / steps);
    }

    /// <summary>
    /// <paramref name="calls"/> calls, then rounds of calls until the time per round stops improving: at least
    /// <see cref="MinWarmup"/> in all, and three rounds in a row no more than 3 % faster than the best so far (at
    /// most <see cref="MaxWarmup"/>). Under the JIT a count-only warm-up times unoptimized code: tiered
    /// compilation with dynamic PGO runs a hot method at tier 0, then instrumented, and promotes it to optimized
    /// code only after call-counting delays (measured here: LSTM(200) int8 step 8.7 µs after 20,000 steps with the
    /// defaults, 3.3 µs with DOTNET_TieredPGO=0). NativeAOT code is optimized from the start and settles at once.
    /// </summary>
    private static void WarmUp(Action call, int calls)
    {
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < calls; i++) call();
        int round = Math.Max(20, calls / 5);
        double best = double.MaxValue;
        int stale = 0;
        while (Stopwatch.GetElapsedTime(start) < MaxWarmup)
        {
            long t0 = Stopwatch.GetTimestamp();
            for (int i = 0; i < round; i++) call();
            double t = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            if (t < best * 0.97) stale = 0;
            else stale++;
            best = Math.Min(best, t);
            if (stale >= 3 && Stopwatch.GetElapsedTime(start) >= MinWarmup) break;
        }
    }

    /// <summary>The shortest warm-up per measured loop.</summary>
    public static readonly TimeSpan MinWarmup = TimeSpan.FromMilliseconds(500);

    /// <summary>The longest adaptive warm-up per measured loop.</summary>
    public static readonly TimeSpan MaxWarmup = TimeSpan.FromSeconds(5);

    /// <summary>Fixed pseudo-random inputs: floats uniform in [-1, 1), integer inputs (token ids) 0.</summary>
    private static void Fill(Tensor t, Random rng)
    {
        if (t.DataType != DataType.Float32) return;
        var span = t.Span<float>();
        for (int i = 0; i < span.Length; i++) span[i] = (float)(rng.NextDouble() * 2 - 1);
    }

    /// <summary>
    /// Each input's concrete shape. The batch axis: axis 0 when it is dynamic (x (N, T, F)); when axis 0 is fixed
    /// but another input has a dynamic axis 0, the input's first dynamic axis (an ONNX state h0 (1, N, H)).
    /// Every other dynamic axis is the time axis. A model with no dynamic axis 0 has no batch axis at all (its
    /// dynamic axes are time), and cannot be benchmarked at --batch above 1.
    /// </summary>
    public static int[][] InputShapes(Graph graph, int batch, int timeSteps, string modelPath)
    {
        ArgumentNullException.ThrowIfNull(graph);
        bool batchable = graph.Inputs.Any(i => i.Shape.Length > 0 && i.Shape[0] < 0);
        var shapes = new int[graph.Inputs.Count][];
        for (int i = 0; i < shapes.Length; i++)
        {
            var info = graph.Inputs[i];
            var shape = (int[])info.Shape.Clone();
            int batchAxis = !batchable ? -1 : shape.Length > 0 && shape[0] < 0 ? 0 : Array.FindIndex(shape, d => d < 0);
            for (int d = 0; d < shape.Length; d++)
                if (shape[d] < 0) shape[d] = d == batchAxis ? batch : timeSteps;
            if (batch != 1 && batchAxis < 0)
                throw new EdgeException($"--batch {batch}: {Path.GetFileName(modelPath)} input '{info.Name}' {info.DataType.Name()}{info.ShapeString} has no dynamic batch axis; use --batch 1");
            shapes[i] = shape;
        }
        return shapes;
    }

    /// <summary>The time axis length the inputs were given (axis 1 of the first rank-3 input), else 1.</summary>
    private static int TimeAxis(Graph graph, int[][] shapes)
    {
        for (int i = 0; i < shapes.Length; i++)
            if (shapes[i].Length == 3 && graph.Inputs[i].DataType == DataType.Float32) return shapes[i][1];
        return 1;
    }

    private static int? MetadataWindow(JsonObject metadata)
    {
        foreach (var key in new[] { "window", "window_length" })
            if (metadata[key] is JsonValue v && v.TryGetValue(out int w) && w > 0) return w;
        return null;
    }

    /// <summary>VmHWM (peak resident set) of this process, in bytes; null where /proc is not there.</summary>
    public static long? PeakRssBytes()
    {
        try
        {
            if (!File.Exists("/proc/self/status")) return null;
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (!line.StartsWith("VmHWM:", StringComparison.Ordinal)) continue;
                var parts = line[6..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length >= 1 && long.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out long kb)) return kb * 1024;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return null;
    }
}
