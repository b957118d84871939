using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Edge.Device.Config;
using Edge.Device.Pipeline;
using Edge.Runtime;
using Edge.Cli;
using Microsoft.Extensions.Logging.Abstractions;

namespace Edge.Device.Hosting;

/// <summary>
/// `edge model-check --config FILE`: what a deploy runs on the Pi before it switches to a new model:
/// the config is read as `edge run` reads it, the model loads and its contract (features, targets,
/// window, period, normalization) is resolved against the config exactly as `edge run` would, and one
/// forecast is made from a synthetic window (every feature 0 at the model's period) and must be
/// finite. Opens no port, bus or broker: sources and sinks are built but never started.
/// </summary>
public static class ModelCheckCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var config = new Option<string>("--config", "-c") { Description = "the `edge run` config (its \"model\" is checked)", Required = true };
        var model = new Option<string>("--model", "-m") { Description = "check this .edge instead of the config's \"model\"" };
        var cmd = new Command("model-check", "load the config's model, check its contract against the config and make one forecast from a synthetic window; exit 1 on any problem")
        {
            config, model,
        };
        cmd.SetAction(r => CliSupport.Guard("edge", stderr, () =>
        {
            var path = r.GetValue(config)!;
            var c = RunConfigLoader.Load(path);
            RunCommand.ResolvePaths(c, Path.GetDirectoryName(Path.GetFullPath(path))!);
            if (r.GetValue(model) is { } m) c.Model = m;
            stdout.WriteLine(Check(c));
            return 0;
        }));
        return cmd;
    }

    /// <summary>The one-line report of a passing check; an <see cref="EdgeException"/> says what failed.</summary>
    public static string Check(RunConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        // A source is needed to build a plan; the check never starts it.
        config.Source ??= new SourceConfig { Kind = "replay", Path = config.Model };
        var plan = RunBuilder.Build(config, NullLoggerFactory.Instance, TextWriter.Null);
        try
        {
            var spec = plan.Spec;
            var period = spec.Period ?? TimeSpan.FromSeconds(1);
            var t0 = new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);
            var forecasts = new List<Forecast>();
            // Window + 2 samples: with resampling a step is closed by the next sample's slot.
            for (int i = 0; i < spec.Window + 2 && forecasts.Count == 0; i++)
                plan.Pipeline.Push(new Sample(t0 + period * i, new float[spec.Features.Count], Stopwatch.GetTimestamp()), forecasts);
            if (forecasts.Count == 0) plan.Pipeline.Flush(forecasts);
            if (forecasts.Count == 0)
                throw new EdgeException($"{config.Model}: no forecast from a window of {spec.Window} synthetic samples (forecast errors: {plan.Runner.Counters.ForecastErrors})");
            var f = forecasts[0];
            int bad = f.Values.Count(v => !float.IsFinite(v));
            if (bad > 0) throw new EdgeException($"{config.Model}: the forecast from a synthetic window has {bad} of {f.Values.Length} values NaN or infinite");
            return string.Create(CultureInfo.InvariantCulture,
                $"model-check: ok: {config.Model}: {spec.Features.Count} features ({string.Join(", ", spec.Features.Select(x => x.Name))}) -> {spec.Targets.Count} targets, window {spec.Window}, {f.Steps} step(s); one forecast from a synthetic window, finite");
        }
        finally
        {
            plan.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }
}
