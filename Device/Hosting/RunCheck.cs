using System.Globalization;
using Edge.Device.Config;
using Edge.Device.Pipeline;
using Edge.Device.Sources;
using Edge.Runtime;

namespace Edge.Device.Hosting;

/// <summary>Where the config's file paths came from, so a problem names the flag the user typed (`--model`) or the key.</summary>
public sealed record CheckLabels(string Model = "model", string Replay = "source.path");

/// <summary>The outcome of <see cref="RunCheck.Run"/>: every problem, and the model and its spec when they loaded.</summary>
public sealed class CheckResult
{
    public List<string> Problems { get; } = new();

    public EdgeModel? Model { get; internal set; }

    public ModelSpecReader.Result? Read { get; internal set; }

    /// <summary>The stream the pipeline will push into, at the run's horizon (opened when the model and its spec are good).</summary>
    public Runtime.Streaming.ForecastStream? Stream { get; internal set; }
}

/// <summary>
/// Validates a config and its model together and lists every problem, one line each naming the key,
/// flag or file (`edge run --check`, `--print-config`, and the start of every `edge run`). Independent
/// parts are checked independently, so one mistake does not hide the next. Nothing is opened: no port,
/// bus, broker or output file is touched; with <c>environment</c> the check also looks at what the
/// run will need from the machine (the serial device nodes, the csv sink's directory).
/// </summary>
public static class RunCheck
{
    public static readonly string[] SourceKinds = ["serial", "replay", "sensors"];
    public static readonly string[] Formats = ["csv", "json", "kv"];
    public static readonly string[] SinkKinds = ["stdout", "table", "csv", "mqtt", "serial"];
    public static readonly string[] SensorKinds = ["bme280", "mcp3008", "dht22"];

    public static CheckResult Run(RunConfig config, bool environment, CheckLabels? labels = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        labels ??= new CheckLabels();
        var r = new CheckResult();
        var p = r.Problems;
        CheckModel(config, labels, r);
        var spec = r.Read?.Spec;

        // pipeline keys
        int beforePipelineKeys = p.Count;
        if (config.Resample is { } rs && !OneOf(rs, "none", "mean", "last")) p.Add($"resample: '{rs}' is not one of none, mean, last");
        if (config.Missing is { } m)
        {
            if (!OneOf(m.Policy, "hold", "interpolate", "drop")) p.Add($"missing.policy: '{m.Policy}' is not one of hold, interpolate, drop");
            if (m.MaxGap < 0) p.Add($"missing.max_gap: must be 0 or more, got {m.MaxGap}");
        }
        if (config.Horizon is < 1) p.Add($"horizon: must be at least 1, got {config.Horizon}");
        bool pipelineKeysOk = p.Count == beforePipelineKeys;
        if (config.Window is < 1) p.Add($"window: must be at least 1, got {config.Window}");
        if (config.SamplePeriodS is { } sp && !(sp > 0 && double.IsFinite(sp))) p.Add($"sample_period_s: must be a positive number of seconds, got {Num(sp)}");
        if (config.StatsIntervalS is { } si && !(si >= 0 && double.IsFinite(si))) p.Add($"stats_interval_s: must be 0 or more, got {Num(si)}");
        if (config.FlushTimeoutS is { } ft && !(ft >= 0 && double.IsFinite(ft))) p.Add($"flush_timeout_s: must be 0 or more, got {Num(ft)}");
        if (config.Device is { Length: 0 }) p.Add("device: must not be empty");

        if (config.Source is { } source) CheckSource(source, spec, environment, labels, p);
        else p.Add("source: none given; give --serial PORT, --replay FILE or a \"source\" in the config");

        var sinks = config.Sinks ?? [];
        for (int i = 0; i < sinks.Count; i++) CheckSink(sinks[i], $"sinks[{i}]", environment, p);

        // The pipeline itself, once the model and the keys it reads are known to be good: resampling against
        // the period (the horizon against rollout was checked when the stream was opened).
        if (r.Stream is not null && spec is not null && pipelineKeysOk)
        {
            var resample = string.Equals(config.Source?.Kind, "sensors", StringComparison.OrdinalIgnoreCase) ? ResampleMode.None
                : (config.Resample ?? (spec.Period is null ? "none" : "mean")).ToLowerInvariant() switch { "mean" => ResampleMode.Mean, "last" => ResampleMode.Last, _ => ResampleMode.None };
            var missing = config.Missing ?? new MissingConfig();
            try
            {
                ForecastPipeline.Validate(spec, new PipelineOptions(resample, MissingPolicy.Hold, missing.MaxGap));
            }
            catch (ArgumentException e)
            {
                p.Add(e.Message);
            }
        }
        return r;
    }

    private static void CheckModel(RunConfig config, CheckLabels labels, CheckResult r)
    {
        if (string.IsNullOrEmpty(config.Model))
        {
            r.Problems.Add("model: none given; give --model FILE.edge or \"model\" in the config");
            return;
        }
        if (FileProblem(config.Model, labels.Model, "model") is { } missing)
        {
            r.Problems.Add(missing);
            return;
        }
        try { r.Model = EdgeModel.Load(config.Model); }
        catch (Exception e) when (e is EdgeException or IOException or UnauthorizedAccessException)
        {
            r.Problems.Add(e.Message.Contains(config.Model, StringComparison.Ordinal) ? $"{labels.Model}: {e.Message}" : $"{labels.Model} {config.Model}: {e.Message}");
            return;
        }
        try
        {
            r.Read = ModelSpecReader.Read(r.Model, config);
        }
        catch (EdgeException e)
        {
            r.Problems.Add(e.Message);
            return;
        }
        var spec = r.Read.Spec;
        Disagreements(config, spec, r.Problems);
        try { r.Stream = PipelineStream.Open(r.Model, spec, config.Input, config.Output, config.Horizon ?? r.Read.MetadataHorizon); }
        catch (Exception e) when (e is ArgumentException or EdgeException)
        {
            r.Problems.Add(e.Message);
        }
    }

    /// <summary>
    /// Config keys that describe the model are fallbacks: the blob's metadata wins. A config (or flag) that
    /// says something else is a mistake the user would otherwise never see (their value is silently unused).
    /// </summary>
    private static void Disagreements(RunConfig config, ModelSpec spec, List<string> p)
    {
        static string Names(IEnumerable<string> names) => string.Join(", ", names);
        var blobFeatures = spec.Features.Select(f => f.Name).ToList();
        if (config.Features is { Count: > 0 } cf && !cf.Select(f => f.Name).SequenceEqual(blobFeatures, StringComparer.OrdinalIgnoreCase))
            p.Add($"features: the config lists {Names(cf.Select(f => f.Name))} but the model's metadata says {Names(blobFeatures)} (the model's wins; remove the key or make it match)");
        var blobTargets = spec.Targets.Select(t => spec.Features[t].Name).ToList();
        if (config.Targets is { Count: > 0 } ct && !ct.SequenceEqual(blobTargets, StringComparer.OrdinalIgnoreCase))
            p.Add($"targets: the config lists {Names(ct)} but the model's metadata says {Names(blobTargets)} (the model's wins; remove the key or make it match)");
        if (config.Window is { } w && w != spec.Window)
            p.Add($"window: the config (or --window) says {w} but the model's metadata says {spec.Window} (the model's wins; remove it or make it match)");
        if (config.SamplePeriodS is { } ps && spec.Period is { } period && Math.Abs(period.TotalSeconds - ps) > 1e-9 * Math.Max(1, ps))
            p.Add($"sample_period_s: the config (or --period) says {Num(ps)} but the model's metadata says {Num(period.TotalSeconds)} (the model's wins; remove it or make it match)");
    }

    private static void CheckSource(SourceConfig c, ModelSpec? spec, bool environment, CheckLabels labels, List<string> p)
    {
        string kind = c.Kind.ToLowerInvariant();
        if (!SourceKinds.Contains(kind))
        {
            p.Add($"source.kind: '{c.Kind}' is not one of {string.Join(", ", SourceKinds)}");
            return;
        }
        if (kind is "serial" or "replay")
        {
            if (!Formats.Contains(c.Format.ToLowerInvariant())) p.Add($"source.format: '{c.Format}' is not one of {string.Join(", ", Formats)}");
            if (c.Delimiter.Length != 1) p.Add($"source.delimiter: must be one character, got '{c.Delimiter}'");
            if (c.MaxLineLength is < 16 or > 1 << 20) p.Add($"source.max_line_length: must be 16..1048576, got {c.MaxLineLength}");
        }
        if (kind is "serial" or "sensors") Reconnect(c.ReconnectMinS, c.ReconnectMaxS, "source", p);
        switch (kind)
        {
            case "serial":
                if (string.IsNullOrEmpty(c.Port)) p.Add("source.port: required for a serial source (the device, e.g. /dev/ttyUSB0)");
                else if (environment && !SerialPortSource.DeviceExists(c.Port)) p.Add($"source.port: serial port {c.Port}: no such device");
                Serial(c.Baud, c.Parity, c.DataBits, c.StopBits, "source", p);
                break;
            case "replay":
                if (string.IsNullOrEmpty(c.Path)) p.Add("source.path: required for a replay source (the recorded file)");
                else if (FileProblem(c.Path, labels.Replay, "replay") is { } missing) p.Add(missing);
                if (Speed(c.Speed) is null) p.Add($"source.speed: '{c.Speed}' is not realtime, fast or a speed-up factor");
                break;
            case "sensors":
                CheckSensors(c, spec, p);
                break;
        }
        if (spec is not null && kind is "serial" or "replay") CheckFields(c, spec, labels, p);
    }

    /// <summary>
    /// Which input fields feed which features: map entries that name no feature, and features that no
    /// column feeds (from the configured columns, or a replay file's header or first line) — such a
    /// feature would never arrive and the model would never forecast.
    /// </summary>
    private static void CheckFields(SourceConfig c, ModelSpec spec, CheckLabels labels, List<string> p)
    {
        string features = string.Join(", ", spec.Features.Select(f => f.Name));
        FieldMap map;
        try { map = new FieldMap(spec, c.Map, c.TimeField); }
        catch (ArgumentException e)
        {
            p.Add("source." + e.Message);
            return;
        }
        if (!Formats.Contains(c.Format.ToLowerInvariant()) || c.Delimiter.Length != 1) return;
        IReadOnlyList<string>? fields = null;
        string where = "";
        if (c.Columns is { Count: > 0 } && c.Format.Equals("csv", StringComparison.OrdinalIgnoreCase))
        {
            fields = c.Columns.Select(x => x.Trim()).ToList();
            where = "source.columns";
        }
        else if (c.Kind.Equals("replay", StringComparison.OrdinalIgnoreCase) && c.Path is not null && File.Exists(c.Path))
        {
            fields = FieldNames.FromFile(c.Path, c.Format, c.Delimiter[0], c.MaxLineLength);
            where = $"{labels.Replay} {c.Path}";
        }
        if (fields is null) return;
        var fed = new bool[spec.Features.Count];
        var unmatched = new List<string>();
        foreach (var f in fields)
        {
            if (map.IsTime(f)) continue;
            int i = map[f];
            if (i >= 0) fed[i] = true;
            else unmatched.Add(f);
        }
        var never = spec.Features.Where((_, i) => !fed[i]).Select(f => f.Name).ToList();
        if (never.Count > 0)
            p.Add($"{where}: no field feeds feature{(never.Count > 1 ? "s" : "")} {string.Join(", ", never)}; "
                + (unmatched.Count > 0 ? $"fields that match no feature: {string.Join(", ", unmatched)}" : $"the fields are: {string.Join(", ", fields)}")
                + $" (the model's features: {features}; \"map\": {{\"FIELD\": \"FEATURE\"}} maps a field to a feature)");
        if (c.TimeField is { } tf && !fields.Any(map.IsTime))
            p.Add($"source.time_field: '{tf}' is not among the fields of {where} ({string.Join(", ", fields)})");
    }

    private static void CheckSensors(SourceConfig c, ModelSpec? spec, List<string> p)
    {
        if (c.Sensors is not { Count: > 0 })
        {
            p.Add("source.sensors: must list at least one sensor");
            return;
        }
        if (spec is not null && spec.Period is null)
            p.Add("source.period_s: sensor sampling needs a period: sample_period_s in the blob or the config, or source.period_s");
        for (int i = 0; i < c.Sensors.Count; i++)
        {
            var s = c.Sensors[i];
            if (!SensorKinds.Contains(s.Kind.ToLowerInvariant()))
            {
                p.Add($"source.sensors[{i}].kind: '{s.Kind}' is not one of {string.Join(", ", SensorKinds)}");
                continue;
            }
            if (spec is null) continue;
            // Builds the sensor object only: the hardware is opened on the first read, never here.
            try { using var _ = RunBuilder.HardwareSensor(s, spec); }
            catch (EdgeException e) { p.Add($"source.{e.Message}"); }
        }
    }

    private static void CheckSink(SinkConfig s, string key, bool environment, List<string> p)
    {
        string kind = s.Kind.ToLowerInvariant();
        if (!SinkKinds.Contains(kind))
        {
            p.Add($"{key}.kind: '{s.Kind}' is not one of {string.Join(", ", SinkKinds)}");
            return;
        }
        if (s.Buffer < 1) p.Add($"{key}.buffer: must be at least 1, got {s.Buffer}");
        Reconnect(s.ReconnectMinS, s.ReconnectMaxS, key, p);
        switch (kind)
        {
            case "csv":
                if (string.IsNullOrEmpty(s.Path)) p.Add($"{key}.path: required for a csv sink");
                else if (environment && Path.GetDirectoryName(Path.GetFullPath(s.Path)) is { } dir && !Directory.Exists(dir))
                    p.Add($"{key}.path: {s.Path}: the directory {dir} does not exist");
                break;
            case "serial":
                if (string.IsNullOrEmpty(s.Path)) p.Add($"{key}.path: required for a serial sink (the port)");
                else if (environment && !SerialPortSource.DeviceExists(s.Path)) p.Add($"{key}.path: serial port {s.Path}: no such device");
                if (s.Baud <= 0) p.Add($"{key}.baud: must be positive, got {s.Baud}");
                break;
            case "mqtt":
                if (string.IsNullOrWhiteSpace(s.Host)) p.Add($"{key}.host: required for an mqtt sink (the broker)");
                if (s.Port is < 1 or > 65535) p.Add($"{key}.port: must be 1..65535, got {s.Port}");
                if (s.Qos is < 0 or > 2) p.Add($"{key}.qos: must be 0, 1 or 2, got {s.Qos}");
                if (!(s.KeepAliveS > 0 && s.KeepAliveS <= ushort.MaxValue)) p.Add($"{key}.keep_alive_s: must be 1..65535 seconds, got {Num(s.KeepAliveS)}");
                if (s.PasswordFile is { } pf && FileProblem(pf, $"{key}.password_file", "password") is { } pwd) p.Add(pwd);
                if (s.CaFile is { } ca && FileProblem(ca, $"{key}.ca_file", "CA certificate") is { } caProblem) p.Add(caProblem);
                if (s.Password is not null && s.PasswordFile is not null) p.Add($"{key}: give password or password_file, not both");
                break;
        }
    }

    private static void Serial(int baud, string parity, int dataBits, string stopBits, string key, List<string> p)
    {
        if (baud <= 0) p.Add($"{key}.baud: must be positive, got {baud}");
        if (dataBits is < 5 or > 8) p.Add($"{key}.data_bits: must be 5..8, got {dataBits}");
        if (!OneOf(parity, "none", "odd", "even", "mark", "space")) p.Add($"{key}.parity: '{parity}' is not one of none, odd, even, mark, space");
        if (!OneOf(stopBits, "one", "onepointfive", "two")) p.Add($"{key}.stop_bits: '{stopBits}' is not one of one, onepointfive, two");
    }

    private static void Reconnect(double min, double max, string key, List<string> p)
    {
        if (!(min > 0 && double.IsFinite(min)) || !(max >= min && double.IsFinite(max)))
            p.Add($"{key}.reconnect_min_s / reconnect_max_s: need 0 < min <= max, got {Num(min)} and {Num(max)}");
    }

    /// <summary>The replay speed factor: 1 real time, 0 as fast as possible; null when not understood.</summary>
    internal static double? Speed(string speed) => speed.ToLowerInvariant() switch
    {
        "realtime" or "real-time" => 1,
        "fast" => 0,
        var x when double.TryParse(x, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v >= 0 && double.IsFinite(v) => v,
        _ => null,
    };

    /// <summary>Null when <paramref name="path"/> is a readable file; else one line naming <paramref name="label"/> (a flag or a key) and the file.</summary>
    /// <param name="shown">How the file appears in the message (default: the path), e.g. the whole NAME=FILE option value.</param>
    public static string? FileProblem(string path, string label, string what, string? shown = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        label = $"{label} {shown ?? path}";
        if (Directory.Exists(path)) return $"{label}: is a directory, not a {what} file";
        try
        {
            using var _ = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);
            return null;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return $"{label}: no such {what} file";
        }
        catch (UnauthorizedAccessException)
        {
            return $"{label}: permission denied (cannot read the {what} file)";
        }
        catch (IOException e)
        {
            return $"{label}: cannot read the {what} file: {e.Message}";
        }
    }

    private static bool OneOf(string value, params string[] names) => names.Any(n => string.Equals(n, value, StringComparison.OrdinalIgnoreCase));

    private static string Num(double? v) => v?.ToString(CultureInfo.InvariantCulture) ?? "null";
}
