using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Edge.Device.Pipeline;
using Edge.Device.Sinks;
using Edge.Runtime;
using Edge.Runtime.Kernels;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;

namespace Edge.Device.Metrics;

/// <summary>What the metrics say about the model being served (labels of edge_model_info).</summary>
public sealed record ModelInfo(string Name, string Sha256, string Version, string File)
{
    public static ModelInfo Of(string path, EdgeModel model)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(model);
        string Meta(string key) => model.Metadata[key] is { } n && n.GetValueKind() == System.Text.Json.JsonValueKind.String ? n.GetValue<string>() : "";
        var name = Meta("name");
        return new ModelInfo(name.Length > 0 ? name : Path.GetFileNameWithoutExtension(path), Bench.Sha256.HashFileHex(path), Meta("version"), Path.GetFileName(path));
    }
}

/// <summary>
/// `edge run`'s Prometheus endpoint: the counters it logs, latency histograms, model and build info,
/// served by OpenTelemetry's Prometheus exporter on an HttpListener at http://ADDRESS/metrics, with
/// /healthz beside it. Instruments are observed at scrape time from the live <see cref="DeviceCounters"/>
/// and sinks, so a scrape costs the pipeline nothing; only the two histograms are recorded per forecast.
/// One instance per run; <see cref="Dispose"/> stops the server and frees the port.
/// </summary>
public sealed class EdgeMetrics : IDisposable
{
    /// <summary>The meter's name (OpenTelemetry subscribes by it).</summary>
    public const string MeterName = "Edge.Device";

    // Forecast latency spans sensor-to-forecast (queueing included); model time one model call.
    private static readonly double[] LatencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly Meter _meter;
    private readonly MeterProvider _provider;
    private readonly HttpListener _health;
    private readonly Task _healthLoop;
    private readonly Func<HealthState> _state;
    private readonly DeviceCounters _counters;
    private readonly Histogram<double> _latency;
    private readonly Histogram<double> _modelLatency;
    private ModelInfo _model;

    /// <summary>What /healthz answers: 200 while running, 503 otherwise.</summary>
    public enum HealthState
    {
        Starting,
        Running,
        Stopping,
    }

    public EdgeMetrics(MetricsAddress address, DeviceCounters counters, Func<IReadOnlyList<BufferedSink>> sinks, ModelInfo model, Func<HealthState> state)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentNullException.ThrowIfNull(counters);
        ArgumentNullException.ThrowIfNull(sinks);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(state);
        _counters = counters;
        _model = model;
        _state = state;
        Address = address;
        _meter = new Meter(MeterName, BuildVersion);

        foreach (var (name, help, read) in CounterTable(counters))
            _meter.CreateObservableCounter("edge." + name, read, description: help);
        _meter.CreateObservableCounter("edge.sink.delivered", () => PerSink(sinks(), s => s.Delivered), description: "forecasts a sink delivered");
        _meter.CreateObservableCounter("edge.sink.dropped", () => PerSink(sinks(), s => s.Dropped), description: "forecasts a sink dropped (its buffer was full, or undelivered at stop)");
        _meter.CreateObservableCounter("edge.sink.failures", () => PerSink(sinks(), s => s.Failures), description: "failed deliveries or connections of a sink");
        _meter.CreateObservableGauge("edge.sink.queued", () => PerSink(sinks(), s => (long)s.Queued), description: "forecasts waiting in a sink's buffer");
        _meter.CreateObservableGauge("edge.model.info", () => new Measurement<long>(1,
            new("name", _model.Name), new("sha256", _model.Sha256), new("version", _model.Version), new("file", _model.File)),
            description: "the model being served (value 1; its name, SHA-256, version and file as labels)");
        _meter.CreateObservableGauge("edge.build.info", () => new Measurement<long>(1,
            new("version", BuildVersion), new("isa", IsaPath), new("arch", RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant()),
            new("runtime", RuntimeInformation.FrameworkDescription)),
            description: "this edge binary (value 1; version, kernel instruction-set path, architecture, runtime as labels)");
        _meter.CreateObservableGauge("edge.up", () => _state() == HealthState.Running ? 1L : 0L, description: "1 while the pipeline runs");
        _latency = _meter.CreateHistogram<double>("edge.forecast.latency", "s", "from the newest sample's arrival to its forecast (queueing included)");
        _modelLatency = _meter.CreateHistogram<double>("edge.model.latency", "s", "time in the model (and rollout) for one forecast");
        counters.LatencyRecorded = Record;

        try
        {
            _provider = Sdk.CreateMeterProviderBuilder()
                .AddMeter(MeterName)
                .AddView("edge.forecast.latency", new ExplicitBucketHistogramConfiguration { Boundaries = LatencyBuckets })
                .AddView("edge.model.latency", new ExplicitBucketHistogramConfiguration { Boundaries = LatencyBuckets })
                .AddPrometheusHttpListener(o =>
                {
                    o.Host = address.PrefixHost;
                    o.Port = address.Port;
                    o.ScrapeEndpointPath = "/metrics";
                    o.ScrapeResponseCacheDurationMilliseconds = 0;
                    o.ScopeInfoEnabled = false;
                    o.TargetInfoEnabled = false;
                })
                .Build();
            _health = new HttpListener();
            _health.Prefixes.Add($"http://{address.PrefixHost}:{address.Port.ToString(CultureInfo.InvariantCulture)}/healthz/");
            _health.Start();
        }
        catch (Exception e) when (e is HttpListenerException or SocketException or InvalidOperationException)
        {
            counters.LatencyRecorded = null;
            _meter.Dispose();
            throw new EdgeException($"metrics.listen {address}: cannot serve /metrics there: {e.Message}", e);
        }
        _healthLoop = Task.Run(ServeHealthAsync);
    }

    public MetricsAddress Address { get; }

    /// <summary>The model the labels describe (changed by a reload).</summary>
    public ModelInfo Model
    {
        get => Volatile.Read(ref _model);
        set => Volatile.Write(ref _model, value ?? throw new ArgumentNullException(nameof(value)));
    }

    public static string BuildVersion => MachineVersion.Value;

    private static readonly Lazy<string> MachineVersion = new(Bench.MachineInfo.EdgeVersionString);

    /// <summary>The kernel path sessions use (EDGE_ISA or the widest this CPU supports).</summary>
    public static string IsaPath
    {
        get
        {
            try { return IsaSelector.Name(IsaSelector.Select(Environment.GetEnvironmentVariable(IsaSelector.EnvironmentVariable))); }
            catch (EdgeException) { return IsaSelector.Name(IsaSelector.Best); }
        }
    }

    private void Record(long latencyTicks, long modelTicks)
    {
        _latency.Record((double)latencyTicks / Stopwatch.Frequency);
        _modelLatency.Record((double)modelTicks / Stopwatch.Frequency);
    }

    private static IEnumerable<Measurement<long>> PerSink(IReadOnlyList<BufferedSink> sinks, Func<BufferedSink, long> read)
    {
        for (int i = 0; i < sinks.Count; i++)
            yield return new Measurement<long>(read(sinks[i]), new("sink", sinks[i].Name), new("index", i.ToString(CultureInfo.InvariantCulture)));
    }

    /// <summary>Every counter of the log's counters line, by its log name.</summary>
    internal static IEnumerable<(string Name, string Help, Func<long> Read)> CounterTable(DeviceCounters c) =>
    [
        ("lines", "input lines read", () => Interlocked.Read(ref c.Lines)),
        ("samples", "samples accepted", () => Interlocked.Read(ref c.Samples)),
        ("malformed", "lines that could not be parsed", () => Interlocked.Read(ref c.Malformed)),
        ("overlong", "lines longer than source.max_line_length", () => Interlocked.Read(ref c.Overlong)),
        ("garbage", "lines with bytes that are not text", () => Interlocked.Read(ref c.Garbage)),
        ("nan", "values that were NaN or missing", () => Interlocked.Read(ref c.NanValues)),
        ("out_of_order", "samples older than the last one", () => Interlocked.Read(ref c.OutOfOrder)),
        ("sensor_errors", "failed sensor reads", () => Interlocked.Read(ref c.SensorErrors)),
        ("source_errors", "failures of the source", () => Interlocked.Read(ref c.SourceErrors)),
        ("reconnects", "reconnections of the source", () => Interlocked.Read(ref c.Reconnects)),
        ("steps", "resampled steps", () => Interlocked.Read(ref c.Steps)),
        ("filled", "missing values filled", () => Interlocked.Read(ref c.FilledValues)),
        ("steps_dropped", "steps dropped (missing values not filled)", () => Interlocked.Read(ref c.StepsDropped)),
        ("window_resets", "window restarts (gaps, reconnects)", () => Interlocked.Read(ref c.WindowResets)),
        ("outages", "outages the window restarted at (a source reconnect, or a gap longer than max_gap steps)", () => Interlocked.Read(ref c.Outages)),
        ("forecasts", "forecasts made", () => Interlocked.Read(ref c.Forecasts)),
        ("forecast_errors", "forecasts that failed", () => Interlocked.Read(ref c.ForecastErrors)),
        ("reloads", "config/model reloads (SIGHUP) that took effect", () => Interlocked.Read(ref c.Reloads)),
        ("reload_failures", "reloads refused (bad config or model; the running one kept going)", () => Interlocked.Read(ref c.ReloadFailures)),
    ];

    private async Task ServeHealthAsync()
    {
        while (_health.IsListening)
        {
            HttpListenerContext ctx;
            try { ctx = await _health.GetContextAsync().ConfigureAwait(false); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException) { return; }
            try
            {
                var state = _state();
                var m = Model;
                var body = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
                    $"{(state == HealthState.Running ? "ok" : state.ToString().ToLowerInvariant())} forecasts={Interlocked.Read(ref _counters.Forecasts)} model={m.Name} sha256={m.Sha256}\n"));
                ctx.Response.StatusCode = state == HealthState.Running ? 200 : 503;
                ctx.Response.ContentType = "text/plain; charset=utf-8";
                ctx.Response.ContentLength64 = body.Length;
                await ctx.Response.OutputStream.WriteAsync(body).ConfigureAwait(false);
                ctx.Response.Close();
            }
            catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException)
            {
                // The client went away: nothing to answer.
            }
        }
    }

    public void Dispose()
    {
        _counters.LatencyRecorded = null;
        _health.Close();
        try { _healthLoop.Wait(TimeSpan.FromSeconds(2)); }
        catch (AggregateException) { }
        _provider.Dispose();
        _meter.Dispose();
    }
}
