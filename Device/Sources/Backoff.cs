namespace Edge.Device.Sources;

/// <summary>Exponential back-off: min, 2 min, 4 min, ... capped at max; <see cref="Reset"/> after a success.</summary>
public sealed class Backoff
{
    private readonly TimeSpan _min;
    private readonly TimeSpan _max;
    private int _failures;

    public Backoff(TimeSpan min, TimeSpan max)
    {
        if (min <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(min), min, "must be positive");
        if (max < min) throw new ArgumentOutOfRangeException(nameof(max), max, "must be at least min");
        _min = min;
        _max = max;
    }

    public int Failures => _failures;

    public TimeSpan Next()
    {
        int shift = Math.Min(_failures, 30);
        _failures++;
        double ticks = Math.Min(_min.Ticks * Math.Pow(2, shift), _max.Ticks);
        return TimeSpan.FromTicks((long)ticks);
    }

    public void Reset() => _failures = 0;
}
