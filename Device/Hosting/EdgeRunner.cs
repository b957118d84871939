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
/// A reload (<see cref="Offer"/>, checked and built off the loop) is switched in between two samples: the
/// old pipeline's open slot is closed first, the forecast numbering continues, sinks the reload kept go on
/// with their queues, and the ones it replaced get <c>flushTimeout</c> to deliver theirs.
/// </summary>
public sealed class EdgeRunner
{
    /// <summary>Samples queued between the source and the pipeline; a full queue makes the source wait (backpressure, not loss).</summary>
    public const int SampleQueue = 1024;

    private ForecastPipeline _pipeline;
    private readonly ISampleSource _source;
    private volatile IReadOnlyList<BufferedSink> _sinks;
    private RunSwap? _pending;
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<Task> _retiring = new();
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

    /// <summary>The sinks forecasts go to now (a reload may change them).</summary>
    public IReadOnlyList<BufferedSink> Sinks => _sinks;

    /// <summary>The pipeline samples go through now (a reload replaces it).</summary>
    public ForecastPipeline Pipeline => Volatile.Read(ref _pipeline);

    /// <summary>
    /// Hands over a checked reload; the run loop switches to it before the next sample (or at once when idle).
    /// A reload offered before the previous one was switched in replaces it.
    /// </summary>
    internal void Offer(RunSwap swap)
    {
        ArgumentNullException.ThrowIfNull(swap);
        if (Interlocked.Exchange(ref _pending, swap) is { } stale) Discard(stale);
        Interlocked.Exchange(ref _wake, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

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
        // had already accepted is still processed. A reload wakes the loop, so it is switched in even
        // while no sample arrives.
        var reader = channel.Reader;
        Task<bool>? more = null;
        while (true)
        {
            SwitchIfOffered(batch);
            while (reader.TryRead(out var sample))
            {
                _pipeline.Push(sample, batch);
                Dispatch(batch);
                SwitchIfOffered(batch);
            }
            more ??= reader.WaitToReadAsync(CancellationToken.None).AsTask();
            var wake = Volatile.Read(ref _wake).Task;
            if (!more.IsCompleted && Volatile.Read(ref _pending) is null) await Task.WhenAny(more, wake).ConfigureAwait(false);
            if (!more.IsCompleted) continue;
            bool open = await more.ConfigureAwait(false);
            more = null;
            if (!open) break;
        }
        _pipeline.Flush(batch);
        Dispatch(batch);
        if (Interlocked.Exchange(ref _pending, null) is { } late) Discard(late);
        await sourceTask.ConfigureAwait(false);
        await statsStop.CancelAsync().ConfigureAwait(false);
        await stats.ConfigureAwait(false);

        Task[] retiring;
        lock (_retiring) retiring = _retiring.ToArray();
        await Task.WhenAll(_sinks.Select(s => s.CompleteAsync(_flushTimeout)).Concat(retiring)).ConfigureAwait(false);
        _logger.LogInformation("stopped: {Summary}", Summary());
    }

    private void SwitchIfOffered(List<Forecast> batch)
    {
        if (Volatile.Read(ref _pending) is null || Interlocked.Exchange(ref _pending, null) is not { } swap) return;
        if (!ReferenceEquals(swap.Based, _sinks))
        {
            // Built while another reload was switched in: the sinks it keeps may be gone.
            Discard(swap);
            _counters.Add(ref _counters.ReloadFailures);
            _logger.LogError("reload of {What} not switched in: another reload took effect while it was checked; send SIGHUP again", swap.Description);
            return;
        }
        // The old model's last step (an open resampling slot) still counts, and goes where forecasts went so far.
        _pipeline.Flush(batch);
        Dispatch(batch);
        var pipeline = swap.Pipeline(_pipeline.NextSequence);
        var old = _sinks;
        foreach (var s in swap.Sinks)
            if (!old.Contains(s)) s.Start();
        var retired = old.Where(s => !swap.Sinks.Contains(s)).ToList();
        Volatile.Write(ref _pipeline, pipeline);
        _sinks = swap.Sinks;
        if (retired.Count > 0) lock (_retiring) _retiring.Add(Retire(retired));
        _counters.Add(ref _counters.Reloads);
        swap.Applied?.Invoke();
        _logger.LogInformation("reloaded: {What}; sinks kept: {Kept}; sinks replaced: {Replaced}; forecasts resume once the window is full",
            swap.Description, Names(old.Where(swap.Sinks.Contains)), Names(retired));
    }

    private static string Names(IEnumerable<BufferedSink> sinks) => sinks.Any() ? string.Join(", ", sinks.Select(s => s.Name)) : "none";

    /// <summary>Sinks a reload replaced: each gets the flush timeout to deliver what it holds, as at a stop.</summary>
    private async Task Retire(IReadOnlyList<BufferedSink> sinks)
    {
        await Task.WhenAll(sinks.Select(s => s.CompleteAsync(_flushTimeout))).ConfigureAwait(false);
        foreach (var s in sinks) await s.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>A reload that was never switched in: its new sinks were never started.</summary>
    private void Discard(RunSwap swap)
    {
        var current = _sinks;
        foreach (var s in swap.Sinks)
            if (!current.Contains(s))
                lock (_retiring) _retiring.Add(s.DisposeAsync().AsTask());
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

/// <summary>
/// A checked reload, ready to switch in: the new pipeline (made at the switch, so the forecast numbering
/// continues), the sinks from then on (kept ones are the running objects, with their queues), the runner's
/// sink list it was built from (<see cref="EdgeRunner.Sinks"/>), and what to do once it is in (the metrics' model labels).
/// </summary>
internal sealed record RunSwap(Func<long, ForecastPipeline> Pipeline, IReadOnlyList<BufferedSink> Sinks, IReadOnlyList<BufferedSink> Based, string Description,
    Runtime.EdgeModel? Model, Action? Applied = null);
