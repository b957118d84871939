using Edge.Device.Config;
using Edge.Device.Metrics;
using Microsoft.Extensions.Logging;

namespace Edge.Device.Hosting;

/// <summary>Starts the /metrics and /healthz server of a run when the config has a "metrics" section (or --metrics).</summary>
internal static class MetricsHosting
{
    public static EdgeMetrics? Start(RunConfig config, RunPlan plan, Func<EdgeMetrics.HealthState> state, ILoggerFactory loggers)
    {
        if (config.Metrics is not { } m) return null;
        var address = MetricsAddress.Parse(m.Listen, "metrics.listen");
        var model = plan.Model is { } loaded && config.Model is { } path ? ModelInfo.Of(path, loaded) : new ModelInfo("", "", "", "");
        var metrics = new EdgeMetrics(address, plan.Runner.Counters, () => plan.Sinks, model, state);
        loggers.CreateLogger("edge.metrics").LogInformation("metrics: http://{Address}/metrics and /healthz (model {Model} sha256 {Sha})", address, model.Name, model.Sha256);
        return metrics;
    }
}
