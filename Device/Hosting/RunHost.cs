using System.Runtime.InteropServices;
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
/// SIGHUP reloads: the config file and the model are read and checked again as at a start, and a good pair
/// is switched in between two samples (<see cref="RunBuilder.Reload"/>); a bad one is refused with one log
/// line and the running one keeps going. Both are counted (reloads, reload_failures).
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

    /// <param name="reload">Reads the config again for a SIGHUP (the file with the command line's flags over it); null: SIGHUP is ignored.</param>
    /// <summary>SIGHUP's work, one reload at a time, off the signal thread and off the run loop.</summary>
    private sealed class Reloader(RunPlan plan, Func<RunConfig>? read, Metrics.EdgeMetrics? metrics, ILoggerFactory loggers, TextWriter stdout, CheckLabels? labels)
    {
        private readonly ILogger _logger = loggers.CreateLogger("edge.reload");
        private readonly SemaphoreSlim _one = new(1, 1);
        private readonly List<Task> _running = new();

        public void Request()
        {
            if (read is null)
            {
                _logger.LogWarning("SIGHUP: this run has no config to read again; ignored");
                return;
            }
            lock (_running) _running.Add(Task.Run(ReloadAsync));
        }

        /// <summary>At exit: a reload still being checked finishes (bounded by the model load) before the plan is gone.</summary>
        public void Wait()
        {
            Task[] all;
            lock (_running) all = _running.ToArray();
            Task.WaitAll(all, TimeSpan.FromSeconds(30));
        }

        private async Task ReloadAsync()
        {
            await _one.WaitAsync().ConfigureAwait(false);
            var counters = plan.Runner.Counters;
            string running = plan.Config.Model ?? "";
            try
            {
                var config = read!();
                _logger.LogInformation("SIGHUP: checking {Model} and the config again", config.Model);
                var swap = RunBuilder.Reload(config, plan, loggers, stdout, labels);
                if (metrics is not null && swap.Model is { } model && config.Model is { } path)
                {
                    // Hashed here, off the run loop; the labels change when the swap is switched in.
                    var info = Metrics.ModelInfo.Of(path, model);
                    var applied = swap.Applied;
                    swap = swap with { Applied = () => { applied?.Invoke(); metrics.Model = info; } };
                }
                plan.Runner.Offer(swap);
            }
            catch (ConfigProblemsException e)
            {
                Refused(counters, running, string.Join("; ", e.Problems));
            }
            catch (Exception e) when (e is Runtime.EdgeException or IOException or UnauthorizedAccessException)
            {
                Refused(counters, running, e.Message);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                counters.Add(ref counters.ReloadFailures);
                _logger.LogCritical(e, "reload failed (please report); still running {Model}", running);
            }
            finally
            {
                _one.Release();
            }
        }

        private void Refused(Pipeline.DeviceCounters counters, string running, string why)
        {
            counters.Add(ref counters.ReloadFailures);
            _logger.LogError("reload refused: {Why}; still running {Model}", why, running);
        }
    }

    public static int Run(RunConfig config, TextWriter stdout, CheckLabels? labels = null, Func<RunConfig>? reload = null)
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
        var reloads = new Reloader(holder.Plan, reload, metrics, loggers, stdout, labels);
        using var hup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, ctx =>
        {
            ctx.Cancel = true; // not the default (terminate): a reload
            reloads.Request();
        });
        host.Run();
        reloads.Wait();
        return holder.ExitCode;
    }
}
