namespace Edge.Device.Pipeline;

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
