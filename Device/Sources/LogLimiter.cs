using Microsoft.Extensions.Logging;

namespace Edge.Device.Sources;

/// <summary>
/// Logs a recurring fault at most once per interval per kind, saying how many were suppressed, so
/// that a noisy line or a dead sensor cannot flood the journal while every instance is still counted.
/// </summary>
public sealed class LogLimiter
{
    private readonly ILogger _logger;
    private readonly TimeSpan _interval;
    private readonly TimeProvider _clock;
    private readonly Dictionary<string, (DateTimeOffset Last, long Suppressed)> _state = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public LogLimiter(ILogger logger, TimeSpan interval, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(logger);
        _logger = logger;
        _interval = interval;
        _clock = clock ?? TimeProvider.System;
    }

    public void Warn(string kind, string message)
    {
        var now = _clock.GetUtcNow();
        long suppressed;
        lock (_lock)
        {
            if (_state.TryGetValue(kind, out var s) && now - s.Last < _interval)
            {
                _state[kind] = (s.Last, s.Suppressed + 1);
                return;
            }
            suppressed = s.Suppressed;
            _state[kind] = (now, 0);
        }
        if (suppressed > 0) _logger.LogWarning("{Message} ({Suppressed} more like it since the last report)", message, suppressed);
        else _logger.LogWarning("{Message}", message);
    }
}
