using System.Diagnostics;
using System.Threading.Channels;
using Edge.Device.Pipeline;
using Edge.Device.Sources.Sensors;
using Microsoft.Extensions.Logging;

namespace Edge.Device.Sources;

/// <summary>
/// Reads every sensor once per model period into one sample. The k-th sample is due at
/// start + k x period (deadline arithmetic: a slow read or a late wake-up never shifts the ones after
/// it); a deadline already missed by more than a period is skipped, not caught up in a burst. A
/// sensor that throws is retried with exponential back-off while the others keep sampling; its
/// features are missing (NaN) in between and the pipeline's missing-value policy applies.
/// </summary>
public sealed class PeriodicSensorSource : ISampleSource
{
    private readonly ISensor[] _sensors;
    private readonly int _features;
    private readonly TimeSpan _period;
    private readonly DeviceCounters _counters;
    private readonly ILogger _logger;
    private readonly LogLimiter _log;
    private readonly TimeProvider _clock;
    private readonly Backoff[] _backoff;
    private readonly long[] _retryAt;
    private readonly bool[] _failing;

    public PeriodicSensorSource(IReadOnlyList<ISensor> sensors, int features, TimeSpan period, DeviceCounters counters, ILogger logger,
        TimeSpan? retryMin = null, TimeSpan? retryMax = null, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(sensors);
        ArgumentNullException.ThrowIfNull(counters);
        ArgumentNullException.ThrowIfNull(logger);
        if (period <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(period), period, "must be positive");
        _sensors = sensors.ToArray();
        _features = features;
        _period = period;
        _counters = counters;
        _logger = logger;
        _log = new LogLimiter(logger, TimeSpan.FromSeconds(60));
        _clock = clock ?? TimeProvider.System;
        var min = retryMin ?? TimeSpan.FromSeconds(1);
        var max = retryMax ?? TimeSpan.FromMinutes(5);
        _backoff = _sensors.Select(_ => new Backoff(min, max < min ? min : max)).ToArray();
        _retryAt = new long[_sensors.Length];
        _failing = new bool[_sensors.Length];
    }

    public bool Periodic => true;

    /// <summary>Samples whose deadline had already passed by more than a period (the device was too slow or suspended).</summary>
    public long Skipped { get; private set; }

    public async Task RunAsync(ChannelWriter<Sample> output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        long start = _clock.GetTimestamp();
        var wallStart = _clock.GetUtcNow();
        long k = 0;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var due = _period * k;
                var wait = due - _clock.GetElapsedTime(start);
                if (wait > TimeSpan.Zero)
                    await Task.Delay(wait, _clock, cancellationToken).ConfigureAwait(false);
                else if (-wait > _period)
                {
                    long behind = (long)(-wait / _period);
                    Skipped += behind;
                    k += behind;
                    _log.Warn("late", $"sensors: {behind} sample(s) skipped, the device fell behind the {_period.TotalSeconds:0.###} s period");
                }
                var values = new float[_features];
                Array.Fill(values, float.NaN);
                ReadAll(values);
                _counters.Add(ref _counters.Samples);
                await output.WriteAsync(new Sample(wallStart + _period * k, values, Stopwatch.GetTimestamp()), cancellationToken).ConfigureAwait(false);
                k++;
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    internal void ReadAll(Span<float> values)
    {
        long now = _clock.GetTimestamp();
        for (int i = 0; i < _sensors.Length; i++)
        {
            if (_failing[i] && now < _retryAt[i]) continue;
            var sensor = _sensors[i];
            try
            {
                if (sensor.TryRead(values))
                {
                    if (_failing[i]) _logger.LogInformation("sensor {Sensor} answers again", sensor.Name);
                    _failing[i] = false;
                    _backoff[i].Reset();
                }
                else
                {
                    _counters.Add(ref _counters.SensorErrors);
                    _log.Warn("noread:" + sensor.Name, $"sensor {sensor.Name}: no reading this period");
                }
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or UnauthorizedAccessException or TimeoutException or ArgumentException or PlatformNotSupportedException)
            {
                _counters.Add(ref _counters.SensorErrors);
                var delay = _backoff[i].Next();
                _retryAt[i] = now + (long)(delay.TotalSeconds * _clock.TimestampFrequency);
                _failing[i] = true;
                _log.Warn("fail:" + sensor.Name, $"sensor {sensor.Name} does not answer ({e.Message}); retrying in {delay.TotalSeconds:0.#} s");
            }
        }
    }
}
