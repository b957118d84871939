using System.CommandLine;
using System.Globalization;
using Edge.Device.Config;
using Edge.Runtime;
using Edge.Cli;

namespace Edge.Device.Hosting;

/// <summary>
/// `edge run`: a config file (docs/config.md) and/or flags; a flag overrides the file's value.
/// </summary>
public static class RunCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var config = new Option<string>("--config", "-c") { Description = "JSON config file (docs/config.md)" };
        var model = new Option<string>("--model", "-m") { Description = "the .edge model" };
        var device = new Option<string>("--device") { Description = "device name for topics and records (default: host name)" };
        var horizon = new Option<int?>("--horizon") { Description = "steps to forecast; beyond the model's own output by autoregressive rollout" };
        var window = new Option<int?>("--window") { Description = "window length when the blob does not give one" };
        var period = new Option<double?>("--period") { Description = "sample period in seconds when the blob does not give one" };
        var resample = new Option<string>("--resample") { Description = "mean | last | none" };
        var missing = new Option<string>("--missing") { Description = "hold | interpolate | drop" };
        var maxGap = new Option<int?>("--max-gap") { Description = "longest run of missing steps that is filled" };
        var serial = new Option<string>("--serial") { Description = "read lines from this serial port", HelpName = "PORT" };
        var baud = new Option<int?>("--baud") { Description = "serial baud rate (default 9600)" };
        var parity = new Option<string>("--parity") { Description = "none | odd | even | mark | space" };
        var replay = new Option<string>("--replay") { Description = "replay a recorded file", HelpName = "FILE" };
        var speed = new Option<string>("--speed") { Description = "replay speed: realtime | fast | FACTOR" };
        var format = new Option<string>("--format") { Description = "line format: csv | json | kv" };
        var columns = new Option<string>("--columns") { Description = "CSV column names, comma-separated (default: header line or feature order)" };
        var map = new Option<string[]>("--map") { Description = "input field to feature, FIELD=FEATURE (repeatable)", HelpName = "FIELD=FEATURE" };
        var timeField = new Option<string>("--time-field") { Description = "field holding the sample time" };
        var sinks = new Option<string[]>("--sink")
        {
            Description = "stdout | table | csv:PATH | mqtt://[USER[:PASS]@]HOST[:PORT][/PREFIX] | mqtts://... | serial:PORT[@BAUD] (repeatable; default stdout)",
            HelpName = "SINK",
        };
        var stats = new Option<double?>("--stats-interval") { Description = "seconds between counter log lines (0: only at exit)" };
        var metrics = new Option<string>("--metrics") { Description = "serve Prometheus /metrics and /healthz on HOST:PORT or PORT (loopback); off by default", HelpName = "ADDRESS" };
        var printConfig = new Option<bool>("--print-config") { Description = "print the effective configuration as JSON, check it like --check, and exit" };
        var check = new Option<bool>("--check") { Description = "check the configuration and the model together, list every problem (one per line) and exit: 0 when all is well, 1 otherwise" };

        var cmd = new Command("run", "stream sensor readings through the model and publish forecasts (a service: stops on SIGTERM/SIGINT, reloads its config and model on SIGHUP)")
        {
            config, model, device, horizon, window, period, resample, missing, maxGap, serial, baud, parity, replay, speed, format, columns, map, timeField, sinks, stats, metrics, printConfig, check,
        };
        cmd.SetAction(r => CliSupport.Guard("edge", stderr, () =>
        {
            bool checkOnly = r.GetValue(check) || r.GetValue(printConfig);
            // The file with the flags over it; a reload (SIGHUP) reads it again the same way.
            RunConfig Effective()
            {
                var c = r.GetValue(config) is { } path ? RunConfigLoader.Load(path, "--config") : new RunConfig();
                if (r.GetValue(config) is { } cfgPath) ResolvePaths(c, Path.GetDirectoryName(Path.GetFullPath(cfgPath))!);
                if (r.GetValue(model) is { } m) c.Model = m;
                if (r.GetValue(device) is { } d) c.Device = d;
                if (r.GetValue(horizon) is { } h) c.Horizon = h;
                if (r.GetValue(window) is { } w) c.Window = w;
                if (r.GetValue(period) is { } p) c.SamplePeriodS = p;
                if (r.GetValue(resample) is { } rs) c.Resample = rs;
                if (r.GetValue(missing) is { } mp) (c.Missing ??= new MissingConfig()).Policy = mp;
                if (r.GetValue(maxGap) is { } mg) (c.Missing ??= new MissingConfig()).MaxGap = mg;
                if (r.GetValue(stats) is { } st) c.StatsIntervalS = st;
                if (r.GetValue(serial) is { } port && r.GetValue(replay) is not null) throw new EdgeException("--serial and --replay: choose one source");
                if (r.GetValue(serial) is { } sp)
                {
                    if (c.Source is not { Kind: "serial" }) c.Source = new SourceConfig { Kind = "serial" };
                    c.Source.Port = sp;
                }
                if (r.GetValue(replay) is { } rp)
                {
                    if (c.Source is not { Kind: "replay" }) c.Source = new SourceConfig { Kind = "replay" };
                    c.Source.Path = rp;
                }
                if (c.Source is { } src)
                {
                    if (r.GetValue(baud) is { } b) src.Baud = b;
                    if (r.GetValue(parity) is { } pa) src.Parity = pa;
                    if (r.GetValue(speed) is { } sd) src.Speed = sd;
                    if (r.GetValue(format) is { } f) src.Format = f;
                    if (r.GetValue(columns) is { } cols) src.Columns = cols.Split(',').Select(x => x.Trim()).ToList();
                    if (r.GetValue(timeField) is { } tf) src.TimeField = tf;
                    foreach (var spec in r.GetValue(map) ?? [])
                    {
                        int eq = spec.IndexOf('=', StringComparison.Ordinal);
                        if (eq <= 0 || eq == spec.Length - 1) throw new EdgeException($"--map '{spec}': expected FIELD=FEATURE");
                        (src.Map ??= new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase))[spec[..eq]] = spec[(eq + 1)..];
                    }
                }
                if (r.GetValue(sinks) is { Length: > 0 } ss) c.Sinks = ss.Select(ParseSink).ToList();
                if (r.GetValue(metrics) is { } ma) c.Metrics = new MetricsConfig { Listen = Metrics.MetricsAddress.Parse(ma, "--metrics").ToString() };
                if (c.Metrics is { } mc) Metrics.MetricsAddress.Parse(mc.Listen, "metrics.listen");
                return c;
            }
            RunConfig c;
            try { c = Effective(); }
            catch (ConfigProblemsException e) when (checkOnly)
            {
                return Report(e.Problems, stderr);
            }
            var labels = new CheckLabels(
                Model: r.GetValue(model) is not null ? "--model" : "model",
                Replay: r.GetValue(replay) is not null ? "--replay" : "source.path");
            if (r.GetValue(printConfig)) stdout.WriteLine(RunConfigLoader.Serialize(c));
            if (checkOnly)
            {
                var result = RunCheck.Run(c, environment: true, labels);
                if (result.Problems.Count > 0) return Report(result.Problems, stderr);
                if (r.GetValue(check)) stdout.WriteLine($"edge: {(r.GetValue(config) is { } cp ? cp + " and " : "")}{c.Model}: no problems found");
                return 0;
            }
            return RunHost.Run(c, stdout, labels, Effective);
        }));
        return cmd;
    }

    /// <summary>`--check`: every problem on its own line, then a count; exit code 1.</summary>
    private static int Report(IReadOnlyList<string> problems, TextWriter stderr)
    {
        foreach (var p in problems) stderr.WriteLine($"edge: error: {p}");
        stderr.WriteLine($"edge: {problems.Count} problem{(problems.Count == 1 ? "" : "s")} found");
        return 1;
    }

    /// <summary>Relative paths in a config file are relative to the file, not to wherever edge was started.</summary>
    internal static void ResolvePaths(RunConfig c, string dir)
    {
        static string? Abs(string? p, string dir) => p is null || Path.IsPathRooted(p) ? p : Path.GetFullPath(Path.Combine(dir, p));
        c.Model = Abs(c.Model, dir);
        if (c.Source is { } s) s.Path = Abs(s.Path, dir);
        foreach (var k in c.Sinks ?? [])
        {
            if (k.Kind is "csv") k.Path = Abs(k.Path, dir);
            k.PasswordFile = Abs(k.PasswordFile, dir);
            k.CaFile = Abs(k.CaFile, dir);
        }
    }

    public static SinkConfig ParseSink(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec == "stdout") return new SinkConfig { Kind = "stdout" };
        if (spec == "table") return new SinkConfig { Kind = "table" };
        if (spec.StartsWith("csv:", StringComparison.Ordinal) && spec.Length > 4) return new SinkConfig { Kind = "csv", Path = spec[4..] };
        if (spec.StartsWith("serial:", StringComparison.Ordinal) && spec.Length > 7)
        {
            var rest = spec[7..];
            int at = rest.LastIndexOf('@');
            var sink = new SinkConfig { Kind = "serial", Path = at < 0 ? rest : rest[..at] };
            if (at >= 0)
            {
                if (!int.TryParse(rest[(at + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int b)) throw new EdgeException($"--sink {spec}: bad baud rate");
                sink.Baud = b;
            }
            return sink;
        }
        if ((spec.StartsWith("mqtt://", StringComparison.Ordinal) || spec.StartsWith("mqtts://", StringComparison.Ordinal))
            && Uri.TryCreate(spec, UriKind.Absolute, out var uri) && uri.Host.Length > 0)
        {
            var sink = new SinkConfig { Kind = "mqtt", Host = uri.Host, Tls = uri.Scheme == "mqtts" };
            if (!uri.IsDefaultPort && uri.Port > 0) sink.Port = uri.Port;
            if (uri.UserInfo.Length > 0)
            {
                var parts = uri.UserInfo.Split(':', 2);
                sink.Username = Uri.UnescapeDataString(parts[0]);
                if (parts.Length > 1) sink.Password = Uri.UnescapeDataString(parts[1]);
            }
            var prefix = uri.AbsolutePath.Trim('/');
            if (prefix.Length > 0) sink.TopicPrefix = Uri.UnescapeDataString(prefix);
            return sink;
        }
        throw new EdgeException($"--sink '{spec}': expected stdout, table, csv:PATH, mqtt://HOST[:PORT], mqtts://HOST[:PORT] or serial:PORT[@BAUD]");
    }
}
