using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Edge.Device.Pipeline;
using Edge.Device.Sinks;
using Edge.Device.Sources;
using Edge.Runtime.Format;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Edge.Runtime.Tests.Device;

/// <summary>Small models, fake parts and process helpers shared by the Device tests.</summary>
internal static class DeviceTestSupport
{
    public static ILogger Log => NullLogger.Instance;

    public static LogLimiter Limiter => new(NullLogger.Instance, TimeSpan.FromSeconds(30));

    /// <summary>
    /// A window model whose forecast is a hand-checkable linear map: input x (1, window * features)
    /// -> Dense(W, B) -> y (1, targets). Written as a real .edge blob with the given metadata.
    /// </summary>
    public static string WriteDenseModel(string dir, int window, int features, int targets, float[] w, float[] b, JsonObject metadata)
    {
        var g = new Graph { Name = "dense-forecaster" };
        g.Inputs.Add(new ValueInfo("x", DataType.Float32, [ValueInfo.Dynamic, window * features]));
        g.Outputs.Add(new ValueInfo("y", DataType.Float32, [ValueInfo.Dynamic, targets]));
        g.Constants["W"] = Tensor.FromArray(w, targets, window * features);
        g.Constants["B"] = Tensor.FromArray(b, targets);
        g.Nodes.Add(new Node(OpKind.Dense, "head", ["x", "W", "B"], ["y"]));
        var path = Path.Combine(dir, "dense.edge");
        EdgeBlob.Write(path, g, metadata);
        return path;
    }

    /// <summary>"next = mean of the window's steps, per feature" as a Dense layer (window 2, features f).</summary>
    public static float[] MeanOfStepsWeights(int window, int features)
    {
        var w = new float[features * window * features];
        for (int o = 0; o < features; o++)
            for (int k = 0; k < window; k++)
                w[o * window * features + k * features + o] = 1f / window;
        return w;
    }

    public static JsonObject Metadata(string[] features, double? period, int window, JsonObject? normalization = null)
    {
        var m = new JsonObject
        {
            ["features"] = new JsonArray(features.Select(f => (JsonNode)new JsonObject { ["name"] = f, ["unit"] = "u" }).ToArray()),
            ["window"] = window,
        };
        if (period is { } p) m["sample_period_s"] = p;
        if (normalization is not null) m["normalization"] = normalization;
        return m;
    }

    public static bool HasBinary(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Concat(["/usr/sbin", "/sbin"])
            .Any(d => d.Length > 0 && File.Exists(Path.Combine(d, name)));

    public static string FindBinary(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Concat(["/usr/sbin", "/sbin"])
            .Select(d => Path.Combine(d, name)).First(File.Exists);

    public static int FreeLoopbackPort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <summary>Polls <paramref name="condition"/> every 20 ms for at most <paramref name="timeout"/>.</summary>
    public static async Task<bool> WaitUntil(Func<bool> condition, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            if (condition()) return true;
            await Task.Delay(20);
        }
        return condition();
    }

    public static Process Start(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(FindBinary(file)) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        p.ErrorDataReceived += (_, _) => { };
        p.OutputDataReceived += (_, _) => { };
        p.BeginErrorReadLine();
        p.BeginOutputReadLine();
        return p;
    }

    /// <summary>SIGTERM (what systemd and a user's kill send), then waits for the process, bounded.</summary>
    public static void Terminate(Process p)
    {
        if (p.HasExited) return;
        using (var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-TERM", p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) } })!)
            kill.WaitForExit(5000);
        if (!p.WaitForExit(5000)) p.Kill();
        p.WaitForExit(5000);
    }
}

/// <summary>An IForecastSink that keeps what it gets, and can be switched to fail (a destination that is down).</summary>
internal sealed class CollectingSink : IForecastSink
{
    public ConcurrentQueue<Forecast> Got { get; } = new();

    public volatile bool Down;

    public int Flushes;

    public string Name => "collect";

    public ValueTask WriteAsync(Forecast forecast, CancellationToken cancellationToken)
    {
        if (Down) throw new IOException("down");
        Got.Enqueue(forecast);
        return ValueTask.CompletedTask;
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Flushes);
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>A source the test feeds by hand.</summary>
internal sealed class HandSource : ISampleSource
{
    private readonly Channel<Sample> _samples = Channel.CreateUnbounded<Sample>();

    public bool Periodic => false;

    public void Push(DateTimeOffset time, params float[] values) => _samples.Writer.TryWrite(new Sample(time, values, Stopwatch.GetTimestamp()));

    public void End() => _samples.Writer.TryComplete();

    public async Task RunAsync(ChannelWriter<Sample> output, CancellationToken cancellationToken)
    {
        await foreach (var s in _samples.Reader.ReadAllAsync(cancellationToken))
            await output.WriteAsync(s, cancellationToken);
    }
}

/// <summary>
/// A pipeline over a real blob that echoes its window: Dense(identity) from (1, window * features) to
/// (1, window * features), read by the stream as <c>window</c> steps of every feature. With an identity
/// normalization each forecast's values are the window it was made from, oldest step first, so tests see
/// exactly what the stream was given (the path `edge run` takes: <see cref="PipelineStream.Open"/>).
/// </summary>
internal static class EchoPipeline
{
    public static ForecastPipeline Create(ModelSpec spec, PipelineOptions options, DeviceCounters counters)
    {
        int n = spec.Window * spec.Features.Count;
        var w = new float[n * n];
        for (int i = 0; i < n; i++) w[i * n + i] = 1f;
        var path = DeviceTestSupport.WriteDenseModel(TestPaths.NewTempDir(), spec.Window, spec.Features.Count, n, w, new float[n], new JsonObject());
        var stream = PipelineStream.Open(EdgeModel.Load(path), spec, null, null, null);
        return new ForecastPipeline(spec, stream, options, counters);
    }

    /// <summary>The windows the forecasts were made from, as "[1,2] [3,4]".</summary>
    public static string Windows(IEnumerable<Forecast> got) => string.Join(" ", got.Select(f => "[" + string.Join(",", f.Values) + "]"));
}

/// <summary>A logger that keeps every message (warnings and above by default), for tests of what a user reads in the log.</summary>
internal sealed class ListLogger(LogLevel minimum = LogLevel.Warning) : ILogger, ILoggerFactory
{
    public ConcurrentQueue<string> Messages { get; } = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (IsEnabled(logLevel)) Messages.Enqueue(formatter(state, exception));
    }

    public ILogger CreateLogger(string categoryName) => this;

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }
}
