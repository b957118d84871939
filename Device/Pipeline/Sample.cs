namespace Edge.Device.Pipeline;

/// <summary>
/// One reading of every model feature, in raw units, in the model's feature order. NaN marks a
/// feature this reading did not carry (or carried as NaN); the pipeline's missing-value policy
/// decides what happens to it. <see cref="Received"/> is a <see cref="System.Diagnostics.Stopwatch"/>
/// timestamp taken when the reading arrived, for end-to-end latency. <see cref="AfterOutage"/> marks
/// the first reading after the source lost its input (a serial device that went away and came back):
/// the pipeline restarts its window there, so no forecast mixes readings from both sides of the outage.
/// </summary>
public readonly record struct Sample(DateTimeOffset Time, float[] Values, long Received, bool AfterOutage = false);

/// <summary>
/// A forecast made at <see cref="Time"/> (the time of the newest step in the window):
/// <see cref="Steps"/> future steps of the model's target features, de-normalized, step-major.
/// <see cref="Actual"/> is that newest step as it went into the model (raw units, gaps filled).
/// </summary>
public sealed class Forecast
{
    public required long Sequence { get; init; }

    public required DateTimeOffset Time { get; init; }

    public required float[] Actual { get; init; }

    public required int Steps { get; init; }

    public required float[] Values { get; init; }

    /// <summary>Time between steps; null when the model's period is not known (targets have no time).</summary>
    public TimeSpan? Period { get; init; }

    /// <summary>From the arrival of the reading that completed the window to the forecast.</summary>
    public double LatencyMs { get; init; }

    public DateTimeOffset? StepTime(int step) => Period is { } p ? Time + p * (step + 1) : null;
}
