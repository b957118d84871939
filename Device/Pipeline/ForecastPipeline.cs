using System.Diagnostics;
using Edge.Runtime.Streaming;

namespace Edge.Device.Pipeline;

public enum ResampleMode
{
    /// <summary>Every sample is one model step (the source already runs at the model's period).</summary>
    None,

    /// <summary>Samples are bucketed into period-aligned slots; a slot's step is the mean of its samples.</summary>
    Mean,

    /// <summary>As <see cref="Mean"/>, keeping the last sample of each slot.</summary>
    Last,
}

public enum MissingPolicy
{
    /// <summary>A missing value repeats the feature's last value, for up to MaxGap steps in a row.</summary>
    Hold,

    /// <summary>Missing values are interpolated linearly once the feature is seen again within MaxGap steps (forecasts wait for it).</summary>
    Interpolate,

    /// <summary>Any missing value restarts the window.</summary>
    Drop,
}

public sealed record PipelineOptions(ResampleMode Resample = ResampleMode.None, MissingPolicy Missing = MissingPolicy.Hold, int MaxGap = 3);

/// <summary>
/// samples -> resample to the model's period -> fill or refuse gaps -> normalize -> stream -> de-normalize.
/// The window (or the state) and the autoregressive rollout to the horizon are the Runtime's
/// <see cref="ForecastStream"/>'s (opened by <see cref="PipelineStream.Open"/>, which checks the horizon):
/// each normalized step is pushed into it, and a window reset resets it. Single-threaded: the runner calls
/// it from one loop. What it refuses (out-of-order times, unfillable gaps) is counted
/// in <see cref="DeviceCounters"/>, never thrown.
/// </summary>
public sealed class ForecastPipeline
{
    private readonly ModelSpec _spec;
    private readonly PipelineOptions _options;
    private readonly DeviceCounters _counters;
    private readonly int _f;

    // resampling
    private readonly long _periodTicks;
    private bool _slotOpen;
    private long _slot;
    private long _slotReceived;
    private readonly double[] _sum;
    private readonly int[] _count;
    private readonly float[] _slotLast;
    private DateTimeOffset? _lastTime;

    // missing values
    private readonly float[] _lastGood;
    private readonly bool[] _hasGood;
    private readonly int[] _missingRun;
    private readonly List<(DateTimeOffset Time, float[] Values, long Received)> _pending = new();

    private readonly float[] _normalized;
    private long _sequence;

    // the stream's forecast, normalized, horizon x targets
    private readonly ForecastStream _stream;
    private readonly float[] _streamOut;

    /// <param name="firstSequence">The <see cref="Forecast.Sequence"/> of the first forecast (a reload continues the numbering).</param>
    public ForecastPipeline(ModelSpec spec, ForecastStream stream, PipelineOptions options, DeviceCounters counters, long firstSequence = 0)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(counters);
        Validate(spec, options);
        _f = spec.Features.Count;
        if (stream.Window != spec.Window || stream.InputFeatures != _f || stream.OutputFeatures != spec.Targets.Count)
            throw new ArgumentException($"the stream takes {stream.Window} x {stream.InputFeatures} and gives {stream.OutputFeatures} feature(s), but the model spec says window {spec.Window} x {_f} features -> {spec.Targets.Count} target(s)");
        _spec = spec;
        _stream = stream;
        _options = options;
        _counters = counters;
        _sequence = firstSequence;
        _periodTicks = spec.Period?.Ticks ?? 0;
        _sum = new double[_f];
        _count = new int[_f];
        _slotLast = new float[_f];
        _lastGood = new float[_f];
        _hasGood = new bool[_f];
        _missingRun = new int[_f];
        _normalized = new float[_f];
        _streamOut = new float[stream.ForecastLength];
    }

    /// <summary>The options' own problems, and resampling against the model's period (`edge run --check` calls it too).</summary>
    public static void Validate(ModelSpec spec, PipelineOptions options)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(options);
        if (options.MaxGap < 0) throw new ArgumentOutOfRangeException(nameof(options), "max_gap must be >= 0");
        if (options.Resample != ResampleMode.None && spec.Period is null)
            throw new ArgumentException("resampling needs the model's sample period (sample_period_s in the blob or the config); use resample \"none\" otherwise");
    }

    /// <summary>The stream the pipeline pushes its normalized steps into.</summary>
    public ForecastStream Stream => _stream;

    /// <summary>Steps per forecast (the stream's).</summary>
    public int Horizon => _stream.Horizon;

    /// <summary>The <see cref="Forecast.Sequence"/> the next forecast gets.</summary>
    public long NextSequence => _sequence;
    public ModelSpec Spec => _spec;

    /// <summary>Feeds one sample; forecasts it completes are added to <paramref name="output"/>.</summary>
    public void Push(in Sample sample, ICollection<Forecast> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (sample.Values is null || sample.Values.Length != _f)
            throw new ArgumentException($"a sample must carry {_f} values", nameof(sample));
        if (_lastTime is { } last && sample.Time < last && !sample.AfterOutage)
        {
            _counters.Add(ref _counters.OutOfOrder);
            return;
        }
        if (sample.AfterOutage || IsLongGap(sample.Time)) RestartAfterOutage(output);
        _lastTime = sample.Time;
        int nan = 0;
        foreach (var v in sample.Values) if (!float.IsFinite(v)) nan++;
        if (nan > 0) _counters.Add(ref _counters.NanValues, nan);

        if (_options.Resample == ResampleMode.None)
        {
            Step(sample.Time, (float[])sample.Values.Clone(), sample.Received, output);
            return;
        }

        long slot = Math.DivRem(sample.Time.UtcTicks, _periodTicks, out long rem);
        if (rem < 0) slot--;
        if (_slotOpen && slot > _slot)
        {
            CloseSlot(output);
            // Empty slots in between are missing steps; more than MaxGap + 1 of them restart the
            // window anyway, so a long outage costs a bounded amount of work.
            long empty = Math.Min(slot - _slot - 1, _options.MaxGap + 1L);
            for (long k = 1; k <= empty; k++)
                Step(SlotTime(_slot + k), Nans(), sample.Received, output);
        }
        if (!_slotOpen || slot != _slot)
        {
            _slotOpen = true;
            _slot = slot;
            Array.Clear(_sum);
            Array.Clear(_count);
        }
        _slotReceived = sample.Received;
        for (int i = 0; i < _f; i++)
        {
            float v = sample.Values[i];
            if (!float.IsFinite(v)) continue;
            _sum[i] += v;
            _count[i]++;
            _slotLast[i] = v;
        }
    }

    /// <summary>
    /// Without resampling, a sample more than max_gap missing steps after the previous one (known
    /// period only). With resampling the empty slots in between are missing steps and the missing-value
    /// policy restarts the window for a long gap anyway.
    /// </summary>
    private bool IsLongGap(DateTimeOffset time)
    {
        if (_options.Resample != ResampleMode.None || _periodTicks == 0 || _lastTime is not { } last) return false;
        double steps = (double)(time - last).Ticks / _periodTicks;
        return Math.Round(steps) - 1 > _options.MaxGap;
    }

    /// <summary>
    /// An outage (a reconnect, a long gap): the open slot closes with what arrived before it, then the
    /// window, the stream, steps waiting for interpolation and the values that hold would repeat are
    /// all forgotten: forecasts resume once the window is full of readings from after the outage.
    /// </summary>
    private void RestartAfterOutage(ICollection<Forecast> output)
    {
        if (_slotOpen) CloseSlot(output);
        _counters.Add(ref _counters.Outages);
        if (_pending.Count > 0) _counters.Add(ref _counters.StepsDropped, _pending.Count);
        if (_stream.Count > 0 || _pending.Count > 0) _counters.Add(ref _counters.WindowResets);
        _pending.Clear();
        _stream.Reset();
        Array.Clear(_hasGood);
        Array.Clear(_missingRun);
    }

    /// <summary>Closes the open resampling slot (end of input, or a graceful stop).</summary>
    public void Flush(ICollection<Forecast> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (_slotOpen) CloseSlot(output);
    }

    private DateTimeOffset SlotTime(long slot) => new(slot * _periodTicks, TimeSpan.Zero);

    private float[] Nans()
    {
        var v = new float[_f];
        Array.Fill(v, float.NaN);
        return v;
    }

    private void CloseSlot(ICollection<Forecast> output)
    {
        _slotOpen = false;
        var values = new float[_f];
        for (int i = 0; i < _f; i++)
            values[i] = _count[i] == 0 ? float.NaN : _options.Resample == ResampleMode.Mean ? (float)(_sum[i] / _count[i]) : _slotLast[i];
        Step(SlotTime(_slot), values, _slotReceived, output);
    }

    /// <summary>One model step in raw units, possibly with gaps.</summary>
    private void Step(DateTimeOffset time, float[] values, long received, ICollection<Forecast> output)
    {
        _counters.Add(ref _counters.Steps);
        bool complete = true;
        foreach (var v in values) complete &= float.IsFinite(v);

        if (complete)
        {
            if (_pending.Count > 0) ReleasePending(values, output);
            Accept(time, values, received, output);
            return;
        }
        switch (_options.Missing)
        {
            case MissingPolicy.Drop:
                Refuse();
                break;
            case MissingPolicy.Hold:
                for (int i = 0; i < _f; i++)
                {
                    if (float.IsFinite(values[i])) continue;
                    if (!_hasGood[i] || _missingRun[i] + 1 > _options.MaxGap)
                    {
                        for (int j = 0; j < _f; j++)
                            if (!float.IsFinite(values[j])) _missingRun[j]++;
                            else { _missingRun[j] = 0; _lastGood[j] = values[j]; _hasGood[j] = true; }
                        Refuse();
                        return;
                    }
                }
                Span<bool> held = stackalloc bool[_f];
                for (int i = 0; i < _f; i++)
                    if (!float.IsFinite(values[i])) { values[i] = _lastGood[i]; held[i] = true; _counters.Add(ref _counters.FilledValues); }
                Span<int> runs = stackalloc int[_f];
                _missingRun.CopyTo(runs);
                Accept(time, values, received, output);
                // A held value is not a new observation: the feature's run of missing steps goes on.
                for (int i = 0; i < _f; i++)
                    if (held[i]) _missingRun[i] = runs[i] + 1;
                break;
            case MissingPolicy.Interpolate:
                for (int i = 0; i < _f; i++)
                    if (!float.IsFinite(values[i]) && !_hasGood[i]) { Refuse(); return; }
                _pending.Add((time, values, received));
                if (_pending.Count > _options.MaxGap) Refuse();
                break;
        }
    }

    /// <summary>Fills the pending steps between the last good values and <paramref name="closing"/>, then accepts them.</summary>
    private void ReleasePending(float[] closing, ICollection<Forecast> output)
    {
        int n = _pending.Count;
        for (int i = 0; i < _f; i++)
        {
            int prev = -1; // -1 = _lastGood
            float prevValue = _lastGood[i];
            for (int j = 0; j <= n; j++)
            {
                float v = j == n ? closing[i] : _pending[j].Values[i];
                if (!float.IsFinite(v)) continue;
                for (int k = prev + 1; k < j; k++)
                {
                    float t = (float)(k - prev) / (j - prev);
                    _pending[k].Values[i] = prevValue + (v - prevValue) * t;
                    _counters.Add(ref _counters.FilledValues);
                }
                prev = j;
                prevValue = v;
            }
        }
        var steps = _pending.ToArray();
        _pending.Clear();
        foreach (var (t, v, r) in steps) Accept(t, v, r, output);
    }

    private void Refuse()
    {
        _counters.Add(ref _counters.StepsDropped, 1 + _pending.Count);
        if (_stream.Count > 0 || _pending.Count > 0) _counters.Add(ref _counters.WindowResets);
        _pending.Clear();
        _stream.Reset();
    }

    private void Accept(DateTimeOffset time, float[] values, long received, ICollection<Forecast> output)
    {
        for (int i = 0; i < _f; i++)
        {
            _lastGood[i] = values[i];
            _hasGood[i] = true;
            _missingRun[i] = 0;
        }
        _spec.Normalizer.Normalize(values, _normalized);
        Forecast(time, values, received, output);
    }

    /// <summary>The stream takes the normalized step; once its window is full it forecasts the whole horizon.</summary>
    private float[]? PushToStream()
    {
        if (!_stream.TryPush(_normalized, _streamOut)) return null;
        int t = _spec.Targets.Count;
        var result = new float[_stream.Horizon * t];
        for (int k = 0; k < _stream.Horizon; k++)
            for (int j = 0; j < t; j++)
                result[k * t + j] = _spec.Normalizer.Denormalize(_spec.Targets[j], _streamOut[k * t + j]);
        return result;
    }

    private void Forecast(DateTimeOffset time, float[] values, long received, ICollection<Forecast> output)
    {
        long started = Stopwatch.GetTimestamp();
        float[]? result;
        try
        {
            result = PushToStream();
        }
        catch (Exception e) when (e is Runtime.EdgeException or ArgumentException or InvalidOperationException)
        {
            _counters.Add(ref _counters.ForecastErrors);
            return;
        }
        if (result is null) return; // the stream's window is not full yet
        long done = Stopwatch.GetTimestamp();
        var latency = done - received;
        _counters.RecordLatency(latency, done - started);
        _counters.Add(ref _counters.Forecasts);
        output.Add(new Forecast
        {
            Sequence = _sequence++,
            Time = time,
            Actual = (float[])values.Clone(),
            Steps = _stream.Horizon,
            Values = result,
            Period = _spec.Period,
            LatencyMs = latency * 1000.0 / Stopwatch.Frequency,
        });
    }
}
