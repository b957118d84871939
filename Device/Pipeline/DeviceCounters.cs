using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Edge.Device.Pipeline;

/// <summary>
/// What `edge run` has seen and done, shared by the source, the pipeline and the runner, logged
/// periodically and at exit. Fields are updated with <see cref="Interlocked"/> because sources run
/// on their own threads.
/// </summary>
public sealed class DeviceCounters
{
    public long Lines;
    public long Samples;
    public long Malformed;
    public long Overlong;
    public long Garbage;
    public long NanValues;
    public long OutOfOrder;
    public long SensorErrors;
    public long SourceErrors;
    public long Reconnects;
    public long Steps;
    public long FilledValues;
    public long StepsDropped;
    public long WindowResets;

    /// <summary>Outages the pipeline restarted its window at: a source reconnect, or a time gap longer than max_gap steps.</summary>
    public long Outages;
    public long Forecasts;
    public long ForecastErrors;

    /// <summary>Reloads (SIGHUP) that took effect, and those refused (a bad config or model: the running one kept going).</summary>
    public long Reloads;
    public long ReloadFailures;
    private long _latencyCount;
    private long _latencyTicks;
    private long _latencyMaxTicks;
    private long _modelTicks;

    /// <summary>
    /// Set for a replay at full speed: the source reads ahead of the model, so a reading's latency (arrival
    /// to forecast) is mostly time spent queued, and the log line says so.
    /// </summary>
    public bool FastReplay { get; set; }

    public void Add(ref long counter, long n = 1) => Interlocked.Add(ref counter, n);

    /// <summary>Called with each forecast's (latency, model time) in Stopwatch ticks; the metrics histograms (Device/Metrics) hook in here.</summary>
    public Action<long, long>? LatencyRecorded { get; set; }

    public void RecordLatency(long elapsedStopwatchTicks, long modelStopwatchTicks)
    {
        LatencyRecorded?.Invoke(elapsedStopwatchTicks, modelStopwatchTicks);
        Interlocked.Increment(ref _latencyCount);
        Interlocked.Add(ref _latencyTicks, elapsedStopwatchTicks);
        Interlocked.Add(ref _modelTicks, modelStopwatchTicks);
        long max;
        while (elapsedStopwatchTicks > (max = Interlocked.Read(ref _latencyMaxTicks)) &&
               Interlocked.CompareExchange(ref _latencyMaxTicks, elapsedStopwatchTicks, max) != max)
        {
        }
    }

    public double MeanLatencyMs => Ms(Interlocked.Read(ref _latencyTicks), Interlocked.Read(ref _latencyCount));

    public double MaxLatencyMs => Ms(Interlocked.Read(ref _latencyMaxTicks), 1);

    public double MeanModelMs => Ms(Interlocked.Read(ref _modelTicks), Interlocked.Read(ref _latencyCount));

    private static double Ms(long ticks, long count) => count == 0 ? 0 : ticks * 1000.0 / Stopwatch.Frequency / count;

    public override string ToString()
    {
        var sb = new StringBuilder();
        void Put(string name, long value)
        {
            if (sb.Length > 0) sb.Append(' ');
            sb.Append(name).Append('=').Append(value.ToString(CultureInfo.InvariantCulture));
        }
        Put("lines", Interlocked.Read(ref Lines)); Put("samples", Interlocked.Read(ref Samples)); Put("malformed", Interlocked.Read(ref Malformed)); Put("overlong", Interlocked.Read(ref Overlong));
        Put("garbage", Interlocked.Read(ref Garbage)); Put("nan", Interlocked.Read(ref NanValues)); Put("out_of_order", Interlocked.Read(ref OutOfOrder)); Put("sensor_errors", Interlocked.Read(ref SensorErrors));
        Put("source_errors", Interlocked.Read(ref SourceErrors)); Put("reconnects", Interlocked.Read(ref Reconnects)); Put("steps", Interlocked.Read(ref Steps)); Put("filled", Interlocked.Read(ref FilledValues));
        Put("steps_dropped", Interlocked.Read(ref StepsDropped)); Put("window_resets", Interlocked.Read(ref WindowResets)); Put("outages", Interlocked.Read(ref Outages)); Put("forecasts", Interlocked.Read(ref Forecasts)); Put("forecast_errors", Interlocked.Read(ref ForecastErrors));
        Put("reloads", Interlocked.Read(ref Reloads)); Put("reload_failures", Interlocked.Read(ref ReloadFailures));
        sb.Append(CultureInfo.InvariantCulture, $" latency_ms_mean={MeanLatencyMs:F2} latency_ms_max={MaxLatencyMs:F2} model_ms_mean={MeanModelMs:F2}");
        if (FastReplay) sb.Append(" latency_note=\"fast replay: latency_ms (a reading's arrival to its forecast) is mostly queueing, the file is read ahead of the model; model_ms is the model's own time\"");
        return sb.ToString();
    }
}
