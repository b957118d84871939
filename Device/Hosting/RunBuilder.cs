using System.Device.Gpio;
using System.Device.I2c;
using System.Device.Spi;
using System.Globalization;
using System.IO.Ports;
using Edge.Device.Config;
using Edge.Device.Pipeline;
using Edge.Device.Sinks;
using Edge.Device.Sources;
using Edge.Device.Sources.Sensors;
using Edge.Runtime;
using Iot.Device.DHTxx;
using Microsoft.Extensions.Logging;

namespace Edge.Device.Hosting;

/// <summary>Everything one `edge run` needs, built from a <see cref="RunConfig"/>; disposing it releases sinks and sensors.</summary>
public sealed class RunPlan : IAsyncDisposable
{
    internal RunPlan(EdgeRunner runner, RunConfig config, ModelSpec spec, bool periodicSource, IReadOnlyList<(BufferedSink Sink, SinkConfig Config)> sinkConfigs, IReadOnlyList<IDisposable> owned)
    {
        Runner = runner;
        Config = config;
        Spec = spec;
        PeriodicSource = periodicSource;
        SinkConfigs = sinkConfigs;
        _owned = owned;
    }

    private readonly IReadOnlyList<IDisposable> _owned;

    public EdgeRunner Runner { get; }

    /// <summary>The config running now (a reload replaces it once it is switched in).</summary>
    public RunConfig Config { get; internal set; }

    public ModelSpec Spec { get; internal set; }

    /// <summary>The pipeline running now.</summary>
    public ForecastPipeline Pipeline => Runner.Pipeline;

    /// <summary>The sinks running now.</summary>
    public IReadOnlyList<BufferedSink> Sinks => Runner.Sinks;

    /// <summary>The loaded model (its metadata names it in the metrics).</summary>
    public EdgeModel? Model { get; internal set; }

    internal bool PeriodicSource { get; }

    /// <summary>The config each running sink was built from, so a reload keeps the sinks it did not change.</summary>
    internal IReadOnlyList<(BufferedSink Sink, SinkConfig Config)> SinkConfigs { get; set; }

    public async ValueTask DisposeAsync()
    {
        foreach (var s in Sinks) await s.DisposeAsync().ConfigureAwait(false);
        foreach (var o in _owned) o.Dispose();
    }
}

/// <summary>
/// Turns a config into a running plan: loads the model, resolves its spec, opens nothing yet
/// (ports, buses and brokers are opened by the sources and sinks when they start, and reopened by them).
/// Every user error is an <see cref="EdgeException"/> naming the key at fault.
/// </summary>
public static class RunBuilder
{
    public static RunPlan Build(RunConfig config, ILoggerFactory loggers, TextWriter stdout, Func<SensorConfig, ModelSpec, ISensor>? sensorFactory = null, CheckLabels? labels = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(loggers);
        ArgumentNullException.ThrowIfNull(stdout);
        var logger = loggers.CreateLogger("edge.run");
        // Every mistake in the config and the model is reported at once, before anything starts; what
        // the machine lacks right now (an unplugged serial adapter) is not a mistake here: the source waits for it.
        var check = RunCheck.Run(config, environment: false, labels);
        if (check.Problems.Count > 0) throw new ConfigProblemsException(check.Problems);
        var read = check.Read!;
        var spec = read.Spec;
        var stream = check.Stream!;
        foreach (var note in read.Notes) logger.LogInformation("model: {Note}", note);

        var counters = new DeviceCounters();
        var owned = new List<IDisposable>();
        var sourceConfig = config.Source ?? throw new EdgeException("no source: give --serial PORT, --replay FILE or a \"source\" in the config");
        var source = BuildSource(sourceConfig, spec, counters, loggers, owned, sensorFactory);

        var options = Options(config, spec, source.Periodic);
        ForecastPipeline pipeline;
        try { pipeline = new ForecastPipeline(spec, stream, options, counters); }
        catch (ArgumentException e) { throw new EdgeException(e.Message, e); }

        var sinkConfigs = Sinks(config, spec, stdout, loggers, kept: null);
        var sinks = sinkConfigs.Select(x => x.Sink).ToList();
        LogModel(logger, config, spec, stream, options, sinks);

        var runner = new EdgeRunner(pipeline, source, sinks, counters, logger,
            TimeSpan.FromSeconds(config.StatsIntervalS ?? 60), TimeSpan.FromSeconds(config.FlushTimeoutS ?? 5));
        return new RunPlan(runner, config, spec, source.Periodic, sinkConfigs, owned) { Model = check.Model };
    }

    /// <summary>
    /// Checks a new config and its model for a running plan (SIGHUP) exactly as a start does, and builds what
    /// switches in: the new model's stream and pipeline, and the sinks, keeping every running sink whose
    /// config, device and model outputs did not change (with its queued forecasts). What a reload cannot
    /// change (the source, which parses by the model's features and period; the metrics address; the
    /// stats interval and flush timeout) is refused, naming it. Nothing running is touched here.
    /// </summary>
    internal static RunSwap Reload(RunConfig config, RunPlan plan, ILoggerFactory loggers, TextWriter stdout, CheckLabels? labels = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(loggers);
        var based = plan.Runner.Sinks;
        var current = plan.Config;
        var check = RunCheck.Run(config, environment: false, labels);
        if (check.Problems.Count > 0) throw new ConfigProblemsException(check.Problems);
        foreach (var (key, before, after) in new[]
        {
            ("source", Json(new RunConfig { Source = current.Source }), Json(new RunConfig { Source = config.Source })),
            ("metrics", Json(new RunConfig { Metrics = current.Metrics }), Json(new RunConfig { Metrics = config.Metrics })),
            ("stats_interval_s", Json(new RunConfig { StatsIntervalS = current.StatsIntervalS }), Json(new RunConfig { StatsIntervalS = config.StatsIntervalS })),
            ("flush_timeout_s", Json(new RunConfig { FlushTimeoutS = current.FlushTimeoutS }), Json(new RunConfig { FlushTimeoutS = config.FlushTimeoutS })),
        })
        {
            if (before != after) throw new EdgeException($"{key}: changed; a reload changes the model, horizon, resample, missing and sinks only: restart edge to change {key}");
        }
        var spec = check.Read!.Spec;
        var old = plan.Spec;
        if (!spec.Features.SequenceEqual(old.Features) || spec.Period != old.Period)
            throw new EdgeException($"{config.Model}: its features ({Describe(spec)}) differ from the running model's ({Describe(old)}); the source reads by them: restart edge to change them");
        var logger = loggers.CreateLogger("edge.run");
        foreach (var note in check.Read.Notes) logger.LogInformation("model: {Note}", note);
        var options = Options(config, spec, plan.PeriodicSource);
        try { ForecastPipeline.Validate(spec, options); }
        catch (ArgumentException e) { throw new EdgeException(e.Message, e); }
        // A sink shows the model's targets (columns, topics, discovery) and the device name: only with both unchanged is a running one the same sink.
        bool sameOutputs = spec.Targets.SequenceEqual(old.Targets) && (config.Device ?? Environment.MachineName) == (current.Device ?? Environment.MachineName);
        var sinkConfigs = Sinks(config, spec, stdout, loggers, sameOutputs ? plan.SinkConfigs : null);
        var sinks = sinkConfigs.Select(x => x.Sink).ToList();
        var stream = check.Stream!;
        var model = check.Model;
        LogModel(logger, config, spec, stream, options, sinks);
        var counters = plan.Runner.Counters;
        return new RunSwap(seq => new ForecastPipeline(spec, stream, options, counters, seq), sinks, based,
            $"model {config.Model}, horizon {stream.Horizon}", model, () =>
            {
                plan.Config = config;
                plan.Spec = spec;
                plan.Model = model;
                plan.SinkConfigs = sinkConfigs;
            });
    }

    private static string Json(RunConfig c) => RunConfigLoader.Serialize(c);

    private static string Describe(ModelSpec spec) =>
        string.Join(", ", spec.Features.Select(f => f.Unit is null ? f.Name : $"{f.Name} [{f.Unit}]"))
        + (spec.Period is { } p ? $"; period {p.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s" : "; no period");

    private static PipelineOptions Options(RunConfig config, ModelSpec spec, bool periodicSource)
    {
        var resample = periodicSource ? ResampleMode.None : Enum(config.Resample ?? (spec.Period is null ? "none" : "mean"), "resample",
            ("none", ResampleMode.None), ("mean", ResampleMode.Mean), ("last", ResampleMode.Last));
        var missing = config.Missing ?? new MissingConfig();
        var policy = Enum(missing.Policy, "missing.policy", ("hold", MissingPolicy.Hold), ("interpolate", MissingPolicy.Interpolate), ("drop", MissingPolicy.Drop));
        return new PipelineOptions(resample, policy, missing.MaxGap);
    }

    /// <summary>The run's sinks in config order; with <paramref name="kept"/>, a running sink of an equal config is reused (each once).</summary>
    private static List<(BufferedSink Sink, SinkConfig Config)> Sinks(RunConfig config, ModelSpec spec, TextWriter stdout, ILoggerFactory loggers,
        IReadOnlyList<(BufferedSink Sink, SinkConfig Config)>? kept)
    {
        string device = config.Device ?? Environment.MachineName;
        var unused = kept?.Select(k => (k.Sink, Json: Json(new RunConfig { Sinks = [k.Config] }))).ToList() ?? [];
        var result = new List<(BufferedSink Sink, SinkConfig Config)>();
        try
        {
            foreach (var c in config.Sinks is { Count: > 0 } s ? s : [new SinkConfig { Kind = "stdout" }])
            {
                var json = Json(new RunConfig { Sinks = [c] });
                int same = unused.FindIndex(u => u.Json == json);
                if (same >= 0)
                {
                    result.Add((unused[same].Sink, c));
                    unused.RemoveAt(same);
                    continue;
                }
                result.Add((new BufferedSink(BuildSink(c, spec, device, stdout), c.Buffer, Backoff(c.ReconnectMinS, c.ReconnectMaxS, "sinks[].reconnect"), loggers.CreateLogger("edge.sink")), c));
            }
        }
        catch (EdgeException) when (kept is not null)
        {
            // A refused reload leaves nothing behind: the sinks it made were never started.
            foreach (var (sink, _) in result)
                if (!kept.Any(k => k.Sink == sink)) sink.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
        return result;
    }

    private static void LogModel(ILogger logger, RunConfig config, ModelSpec spec, Runtime.Streaming.ForecastStream stream, PipelineOptions options, IReadOnlyList<BufferedSink> sinks)
    {
        var missing = config.Missing ?? new MissingConfig();
        logger.LogInformation("stream: {Style} style, {Window} sample(s) per forecast; input projections: {Cache}",
            stream.Style, stream.Window, stream.ProjectionCacheNote);
        logger.LogInformation(
            "model {Model}: {Features} -> {Targets}; window {Window}, period {Period}, horizon {Horizon} (model gives {Steps} step(s){Rollout}); normalization {Norm}; resample {Resample}; missing {Policy} (max gap {MaxGap}); sinks: {Sinks}",
            config.Model, string.Join(", ", spec.Features.Select(f => f.Unit is null ? f.Name : $"{f.Name} [{f.Unit}]")),
            string.Join(", ", spec.Targets.Select(t => spec.Features[t].Name)), spec.Window,
            spec.Period is { } p ? p.TotalSeconds.ToString(CultureInfo.InvariantCulture) + " s" : "unknown", stream.Horizon, stream.ModelSteps,
            stream.Horizon > stream.ModelSteps ? ", the rest by autoregressive rollout" : "", spec.Normalizer.Kind, options.Resample, options.Missing, missing.MaxGap,
            string.Join(", ", sinks.Select(x => x.Name)));
    }

    private static Backoff Backoff(double min, double max, string what)
    {
        if (!(min > 0) || !(max >= min)) throw new EdgeException($"{what}_min_s / _max_s: need 0 < min <= max, got {min} and {max}");
        return new Backoff(TimeSpan.FromSeconds(min), TimeSpan.FromSeconds(max));
    }

    private static T Enum<T>(string value, string key, params (string Name, T Value)[] options)
    {
        foreach (var (name, v) in options)
            if (string.Equals(name, value, StringComparison.OrdinalIgnoreCase)) return v;
        throw new EdgeException($"{key}: '{value}' is not one of {string.Join(", ", options.Select(o => o.Name))}");
    }

    private static ILineParser Parser(SourceConfig c, ModelSpec spec)
    {
        FieldMap map;
        try { map = new FieldMap(spec, c.Map, c.TimeField); }
        catch (ArgumentException e) { throw new EdgeException("source." + e.Message, e); }
        if (c.Delimiter.Length != 1) throw new EdgeException($"source.delimiter must be one character, got '{c.Delimiter}'");
        try
        {
            return Enum<Func<ILineParser>>(c.Format, "source.format",
                ("csv", () => new CsvLineParser(map, c.Columns, c.Delimiter[0])),
                ("json", () => new JsonLineParser(map)),
                ("kv", () => new KeyValueLineParser(map)))();
        }
        catch (ArgumentException e)
        {
            throw new EdgeException($"source.{e.Message}; the model's features are: {string.Join(", ", spec.Features.Select(f => f.Name))}", e);
        }
    }

    private static ISampleSource BuildSource(SourceConfig c, ModelSpec spec, DeviceCounters counters, ILoggerFactory loggers, List<IDisposable> owned,
        Func<SensorConfig, ModelSpec, ISensor>? sensorFactory)
    {
        if (c.MaxLineLength is < 16 or > 1 << 20) throw new EdgeException($"source.max_line_length must be 16..1048576, got {c.MaxLineLength}");
        var logger = loggers.CreateLogger("edge.source");
        var limiter = new LogLimiter(logger, TimeSpan.FromSeconds(30));
        switch (c.Kind.ToLowerInvariant())
        {
            case "serial":
            {
                if (string.IsNullOrEmpty(c.Port)) throw new EdgeException("source.port is required for a serial source");
                var settings = Serial(c.Port, c.Baud, c.Parity, c.DataBits, c.StopBits);
                var reader = new LineSampleReader(Parser(c, spec), spec.Features.Count, counters, limiter, "serial " + c.Port);
                return new SerialPortSource(settings, reader, c.MaxLineLength, Backoff(c.ReconnectMinS, c.ReconnectMaxS, "source.reconnect"), counters, logger,
                    Watch(c, spec, logger, "serial " + c.Port));
            }
            case "replay":
            {
                if (string.IsNullOrEmpty(c.Path)) throw new EdgeException("source.path is required for a replay source");
                if (!File.Exists(c.Path)) throw new EdgeException($"source.path {c.Path}: no such replay file");
                double speed = RunCheck.Speed(c.Speed) ?? throw new EdgeException($"source.speed: '{c.Speed}' is not realtime, fast or a speed-up factor");
                counters.FastReplay = speed == 0;
                var reader = new LineSampleReader(Parser(c, spec), spec.Features.Count, counters, limiter, c.Path);
                return new ReplaySource(c.Path, reader, c.MaxLineLength, speed, c.TimeField is not null, spec.Period, logger, Watch(c, spec, logger, c.Path));
            }
            case "sensors":
            {
                if (c.Sensors is not { Count: > 0 }) throw new EdgeException("source.sensors must list at least one sensor");
                var period = spec.Period ?? throw new EdgeException("sensor sampling needs a period: sample_period_s in the blob or the config");
                var factory = sensorFactory ?? HardwareSensor;
                var sensors = new List<ISensor>();
                foreach (var sc in c.Sensors)
                {
                    var sensor = factory(sc, spec);
                    sensors.Add(sensor);
                    owned.Add(sensor);
                }
                return new PeriodicSensorSource(sensors, spec.Features.Count, period, counters, logger,
                    TimeSpan.FromSeconds(c.ReconnectMinS), TimeSpan.FromSeconds(Math.Max(c.ReconnectMinS, c.ReconnectMaxS)));
            }
            default:
                throw new EdgeException($"source.kind: '{c.Kind}' is not one of serial, replay, sensors");
        }
    }

    private static ArrivalWatch Watch(SourceConfig c, ModelSpec spec, ILogger logger, string origin) =>
        new(spec.Features.Select(f => f.Name).ToList(), c.Format, c.Delimiter[0], c.Columns, logger, origin);

    internal static SerialSettings Serial(string port, int baud, string parity, int dataBits, string stopBits)
    {
        if (baud <= 0) throw new EdgeException($"baud must be positive, got {baud}");
        if (dataBits is < 5 or > 8) throw new EdgeException($"data_bits must be 5..8, got {dataBits}");
        return new SerialSettings(port, baud,
            Enum(parity, "parity", ("none", Parity.None), ("odd", Parity.Odd), ("even", Parity.Even), ("mark", Parity.Mark), ("space", Parity.Space)),
            dataBits,
            Enum(stopBits, "stop_bits", ("one", StopBits.One), ("onepointfive", StopBits.OnePointFive), ("two", StopBits.Two)));
    }

    /// <summary>Index of the feature a sensor quantity feeds: an explicit map entry, else the feature of the same name, else none.</summary>
    private static int Feature(SensorConfig c, ModelSpec spec, string quantity)
    {
        if (c.Map is not null)
        {
            if (!c.Map.TryGetValue(quantity, out var name)) return -1;
            int i = spec.IndexOf(name);
            return i >= 0 ? i : throw new EdgeException($"sensors[{c.Kind}].map: '{quantity}' -> '{name}', but the model has no feature '{name}'");
        }
        return spec.IndexOf(quantity);
    }

    /// <summary>Real hardware: the only place that opens I2C, SPI and GPIO.</summary>
    public static ISensor HardwareSensor(SensorConfig c, ModelSpec spec)
    {
        ArgumentNullException.ThrowIfNull(c);
        ArgumentNullException.ThrowIfNull(spec);
        switch (c.Kind.ToLowerInvariant())
        {
            case "bme280":
            {
                int t = Feature(c, spec, "temperature"), h = Feature(c, spec, "humidity"), p = Feature(c, spec, "pressure");
                if (t < 0 && h < 0 && p < 0) throw new EdgeException("sensors[bme280]: none of temperature, humidity, pressure maps to a model feature; add a \"map\"");
                var settings = new I2cConnectionSettings(c.Bus, c.Address);
                return new Bme280Sensor(() => I2cDevice.Create(settings), t, h, p);
            }
            case "mcp3008":
            {
                if (c.Channels is not { Count: > 0 }) throw new EdgeException("sensors[mcp3008].channels must map feature names to channels 0..7");
                var channels = c.Channels.Select(kv =>
                {
                    int i = spec.IndexOf(kv.Key);
                    if (i < 0) throw new EdgeException($"sensors[mcp3008].channels: the model has no feature '{kv.Key}'");
                    if (kv.Value is < 0 or > 7) throw new EdgeException($"sensors[mcp3008].channels: '{kv.Key}' -> {kv.Value}; channels are 0..7");
                    return (kv.Value, i);
                }).ToList();
                var settings = new SpiConnectionSettings(c.Bus, c.ChipSelect) { ClockFrequency = c.ClockHz, Mode = SpiMode.Mode0 };
                return new Mcp3008Sensor(() => SpiDevice.Create(settings), channels, c.Scale, c.Offset);
            }
            case "dht22":
            {
                int t = Feature(c, spec, "temperature"), h = Feature(c, spec, "humidity");
                if (t < 0 && h < 0) throw new EdgeException("sensors[dht22]: neither temperature nor humidity maps to a model feature; add a \"map\"");
                int pin = c.Pin;
                return new Dht22Sensor(() => new Dht22(pin, new GpioController(), shouldDispose: true), t, h);
            }
            default:
                throw new EdgeException($"sensors[].kind: '{c.Kind}' is not one of bme280, mcp3008, dht22");
        }
    }

    private static IForecastSink BuildSink(SinkConfig c, ModelSpec spec, string device, TextWriter stdout)
    {
        if (c.Buffer < 1) throw new EdgeException($"sinks[{c.Kind}].buffer must be at least 1");
        switch (c.Kind.ToLowerInvariant())
        {
            case "stdout":
                return new JsonLinesSink(stdout, spec, device);
            case "table":
                return new TableSink(stdout, spec);
            case "csv":
                return new CsvFileSink(c.Path ?? throw new EdgeException("sinks[csv].path is required"), spec);
            case "serial":
                return new SerialLineSink(Serial(c.Path ?? throw new EdgeException("sinks[serial].path (the port) is required"), c.Baud, "none", 8, "one"), spec, device);
            case "mqtt":
            {
                if (c.Qos is < 0 or > 2) throw new EdgeException($"sinks[mqtt].qos must be 0, 1 or 2, got {c.Qos}");
                string? password = c.Password;
                if (c.PasswordFile is not null)
                {
                    try { password = File.ReadLines(c.PasswordFile).FirstOrDefault()?.Trim() ?? ""; }
                    catch (IOException e) { throw new EdgeException($"sinks[mqtt].password_file: {e.Message}", e); }
                }
                return new MqttSink(new MqttSettings(c.Host, c.Port ?? (c.Tls ? 8883 : 1883), device, c.TopicPrefix, c.Qos, c.Retain, c.Username, password,
                    c.Tls, c.CaFile, c.AllowUntrusted, c.ClientId, TimeSpan.FromSeconds(c.KeepAliveS), c.HomeAssistant, c.DiscoveryPrefix), spec);
            }
            default:
                throw new EdgeException($"sinks[].kind: '{c.Kind}' is not one of stdout, table, csv, mqtt, serial");
        }
    }
}
