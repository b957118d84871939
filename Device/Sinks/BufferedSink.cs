using Edge.Device.Pipeline;
using Edge.Device.Sources;
using Microsoft.Extensions.Logging;

namespace Edge.Device.Sinks;

/// <summary>
/// Decouples the pipeline from a sink that may be slow or down. <see cref="Enqueue"/> never blocks:
/// the queue holds up to <c>capacity</c> forecasts (plus the one being delivered); when it is full
/// the oldest is dropped and counted. A worker delivers in order and retries a failed delivery with
/// exponential back-off, so a forecast is either delivered or counted in <see cref="Dropped"/>:
/// evicted by a full buffer, or still undelivered when a graceful stop's flush timeout ran out.
/// </summary>
public sealed class BufferedSink : IAsyncDisposable
{
    private readonly IForecastSink _inner;
    private readonly int _capacity;
    private readonly Backoff _backoff;
    private readonly ILogger _logger;
    private readonly LogLimiter _log;
    private readonly Queue<Forecast> _queue = new();
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _abort = new();
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Forecast? _inFlight;
    private bool _completed;
    private Task? _worker;
    private long _delivered;
    private long _dropped;
    private long _failures;

    public BufferedSink(IForecastSink inner, int capacity, Backoff backoff, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(backoff);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _inner = inner;
        _capacity = capacity;
        _backoff = backoff;
        _logger = logger;
        _log = new LogLimiter(logger, TimeSpan.FromSeconds(30));
    }

    public string Name => _inner.Name;

    public long Delivered => Interlocked.Read(ref _delivered);

    public long Dropped => Interlocked.Read(ref _dropped);

    public long Failures => Interlocked.Read(ref _failures);

    public int Queued
    {
        get { lock (_lock) return _queue.Count + (_inFlight is null ? 0 : 1); }
    }

    public void Start() => _worker ??= Task.Run(WorkAsync);

    public void Enqueue(Forecast forecast)
    {
        ArgumentNullException.ThrowIfNull(forecast);
        TaskCompletionSource wake;
        bool dropped = false;
        lock (_lock)
        {
            if (_completed) throw new InvalidOperationException($"sink {Name} is stopping");
            if (_queue.Count >= _capacity)
            {
                _queue.Dequeue();
                dropped = true;
            }
            _queue.Enqueue(forecast);
            wake = _wake;
        }
        if (dropped)
        {
            Interlocked.Increment(ref _dropped);
            _log.Warn("full", $"sink {Name}: buffer of {_capacity} full, oldest forecast dropped");
        }
        wake.TrySetResult();
    }

    private async Task WorkAsync()
    {
        var ct = _abort.Token;
        bool failing = false;
        while (!ct.IsCancellationRequested)
        {
            Task? wait = null;
            bool drained = false;
            lock (_lock)
            {
                if (_inFlight is null && _queue.Count > 0) _inFlight = _queue.Dequeue();
                if (_inFlight is null)
                {
                    if (_completed) return;
                    if (_wake.Task.IsCompleted) _wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    wait = _wake.Task;
                    drained = true;
                }
            }
            try
            {
                if (wait is not null)
                {
                    if (drained) await _inner.FlushAsync(ct).ConfigureAwait(false);
                    await wait.WaitAsync(ct).ConfigureAwait(false);
                    continue;
                }
                await _inner.WriteAsync(_inFlight!, ct).ConfigureAwait(false);
                lock (_lock)
                {
                    // Inside the lock: Queued and Delivered never both miss (or both count) this forecast.
                    _inFlight = null;
                    Interlocked.Increment(ref _delivered);
                }
                if (failing) _logger.LogInformation("sink {Sink}: delivering again ({Queued} queued)", Name, Queued);
                failing = false;
                _backoff.Reset();
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                Interlocked.Increment(ref _failures);
                failing = true;
                var delay = _backoff.Next();
                _log.Warn("fail", $"sink {Name}: {e.Message}; {Queued} forecast(s) held, retrying in {delay.TotalSeconds:0.#} s");
                try { await Task.Delay(delay, ct).ConfigureAwait(false); }
                catch (OperationCanceledException) { return; }
            }
        }
    }

    /// <summary>
    /// Stops accepting, delivers what is held within <paramref name="timeout"/>, and counts what could
    /// not be delivered as dropped. Returns that count.
    /// </summary>
    public async Task<long> CompleteAsync(TimeSpan timeout)
    {
        TaskCompletionSource wake;
        lock (_lock)
        {
            _completed = true;
            wake = _wake;
        }
        wake.TrySetResult();
        if (_worker is not null)
        {
            try { await _worker.WaitAsync(timeout).ConfigureAwait(false); }
            catch (TimeoutException) { }
            await _abort.CancelAsync().ConfigureAwait(false);
            await _worker.ConfigureAwait(false);
        }
        long left;
        lock (_lock)
        {
            left = _queue.Count + (_inFlight is null ? 0 : 1);
            _queue.Clear();
            _inFlight = null;
        }
        if (left > 0)
        {
            Interlocked.Add(ref _dropped, left);
            _logger.LogWarning("sink {Sink}: {Count} forecast(s) not delivered before the stop deadline, dropped", Name, left);
        }
        try
        {
            using var cts = new CancellationTokenSource(timeout);
            await _inner.FlushAsync(cts.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _logger.LogWarning("sink {Sink}: final flush failed: {Message}", Name, e.Message);
        }
        return left;
    }

    public async ValueTask DisposeAsync()
    {
        if (_worker is not null && !_completed) await CompleteAsync(TimeSpan.Zero).ConfigureAwait(false);
        await _inner.DisposeAsync().ConfigureAwait(false);
        _abort.Dispose();
    }
}
