using System.Threading.Channels;
using Edge.Device.Pipeline;
using Edge.Device.Sinks;
using Edge.Device.Sources;
using Microsoft.Extensions.Logging;

namespace Edge.Device.Hosting;

/// <summary>
/// Runs source -> pipeline -> sinks until the stop token fires or a finite source ends. Stopping is
/// graceful and loses nothing that was accepted: the source stops reading, the samples already
/// queued are pushed through the pipeline (the open resampling slot included), and every sink gets
/// <c>flushTimeout</c> to deliver what it holds; what it could not is logged and counted as dropped.
/// </summary>
public sealed class EdgeRunner
{
    /// <summary>Samples queued between the source and the pipeline; a full queue makes the source wait (backpressure, not loss).</summary>
    public const int SampleQueue = 1024;

    private readonly ForecastPipeline _pipeline;
    private readonly ISampleSource _source;
    private readonly IReadOnlyList<BufferedSink> _sinks;
    private readonly DeviceCounters _counters;
    private readonly ILogger _logger;
    private readonly TimeSpan _statsInterval;
    private readonly TimeSpan _flushTimeout;

    public EdgeRunner(ForecastPipeline pipeline, ISampleSource source, IReadOnlyList<BufferedSink> sinks, DeviceCounters counters, ILogger logger, TimeSpan statsInterval, TimeSpan flushTimeout)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(sinks);
        ArgumentNullException.ThrowIfNull(counters);
        ArgumentNullException.ThrowIfNull(logger);
        _pipeline = pipeline;
        _source = source;
        _sinks = sinks;
        _counters = counters;
        _logger = logger;
        _statsInterval = statsInterval;
        _flushTimeout = flushTimeout;
    }

    public DeviceCounters Counters => _counters;

    public IReadOnlyList<BufferedSink> Sinks => _sinks;

    public string Summary() =>
        _counters + string.Concat(_sinks.Select(s => $"; sink {s.Name}: delivered={s.Delivered} dropped={s.Dropped} queued={s.Queued} failures={s.Failures}"));

    public async Task RunAsync(CancellationToken stop)
    {
        foreach (var s in _sinks) s.Start();
        var channel = Channel.CreateBounded<Sample>(new BoundedChannelOptions(SampleQueue)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        var sourceTask = Task.Run(async () =>
        {
            try
            {
                await _source.RunAsync(channel.Writer, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or ArgumentException or Runtime.EdgeException)
            {
                _counters.Add(ref _counters.SourceErrors);
                _logger.LogError("source failed: {Message}", e.Message);
            }
            finally
            {
                channel.Writer.TryComplete();
            }
        }, CancellationToken.None);

        using var statsStop = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var stats = LogStatsAsync(statsStop.Token);
        var batch = new List<Forecast>();
        // Read without the stop token: after a stop the source completes the channel, and what it
        // had already accepted is still processed.
        await foreach (var sample in channel.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
        {
            _pipeline.Push(sample, batch);
            Dispatch(batch);
        }
        _pipeline.Flush(batch);
        Dispatch(batch);
        await sourceTask.ConfigureAwait(false);
        await statsStop.CancelAsync().ConfigureAwait(false);
        await stats.ConfigureAwait(false);

        await Task.WhenAll(_sinks.Select(s => s.CompleteAsync(_flushTimeout))).ConfigureAwait(false);
        _logger.LogInformation("stopped: {Summary}", Summary());
    }

    private void Dispatch(List<Forecast> batch)
    {
        foreach (var f in batch)
            foreach (var s in _sinks) s.Enqueue(f);
        batch.Clear();
    }

    private async Task LogStatsAsync(CancellationToken cancellationToken)
    {
        if (_statsInterval <= TimeSpan.Zero) return;
        using var timer = new PeriodicTimer(_statsInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
                _logger.LogInformation("counters: {Summary}", Summary());
        }
        catch (OperationCanceledException)
        {
        }
    }
}
