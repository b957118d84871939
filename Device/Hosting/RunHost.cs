using Edge.Device.Config;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Edge.Device.Hosting;

/// <summary>
/// `edge run` as a Microsoft.Extensions.Hosting service. Under systemd (Type=notify) the systemd
/// integration sends READY=1 once the service is running and STOPPING=1 on stop, and logs get
/// journald priority prefixes; elsewhere logs are single lines on stderr (stdout carries forecasts).
/// SIGTERM and SIGINT stop gracefully: the runner drains what was accepted and flushes the sinks.
/// </summary>
public static class RunHost
{
    private sealed class PlanHolder
    {
        public RunPlan? Plan { get; set; }

        public int ExitCode { get; set; }

        public Metrics.EdgeMetrics.HealthState State { get; set; }
    }

    private sealed class RunService(PlanHolder holder, IHostApplicationLifetime lifetime, ILogger logger) : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            await Task.Yield();
            var plan = holder.Plan!;
            holder.State = Metrics.EdgeMetrics.HealthState.Running;
            try
            {
                await plan.Runner.RunAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                logger.LogCritical(e, "edge run failed (please report)");
                holder.ExitCode = 70;
            }
            finally
            {
                holder.State = Metrics.EdgeMetrics.HealthState.Stopping;
                await plan.DisposeAsync().ConfigureAwait(false);
                lifetime.StopApplication();
            }
        }
    }

    public static int Run(RunConfig config, TextWriter stdout, CheckLabels? labels = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(stdout);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            DisableDefaults = true, // no appsettings.json or environment-variable configuration: one config file, ours
            ApplicationName = "edge",
            ContentRootPath = Directory.GetCurrentDirectory(),
        });
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.UseUtcTimestamp = true;
            o.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss'Z' ";
        });
        builder.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds((config.FlushTimeoutS ?? 5) + 10));
        builder.Services.AddSystemd(); // after the console setup: under systemd its journald formatter wins
        var holder = new PlanHolder();
        builder.Services.AddHostedService(sp => new RunService(holder, sp.GetRequiredService<IHostApplicationLifetime>(),
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("edge.run")));

        using var host = builder.Build();
        var loggers = host.Services.GetRequiredService<ILoggerFactory>();
        holder.Plan = RunBuilder.Build(config, loggers, stdout, labels: labels);
        using var metrics = MetricsHosting.Start(config, holder.Plan, () => holder.State, loggers);
        host.Run();
        return holder.ExitCode;
    }
}
