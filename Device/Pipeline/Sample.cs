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
