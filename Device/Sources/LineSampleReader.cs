using Edge.Device.Pipeline;

namespace Edge.Device.Sources;

/// <summary>Turns the reader's lines into samples with a parser, counting and reporting every line it cannot use.</summary>
public sealed class LineSampleReader
{
    private readonly ILineParser _parser;
    private readonly int _features;
    private readonly DeviceCounters _counters;
    private readonly LogLimiter _log;
    private readonly TimeProvider _clock;
    private readonly string _origin;

    public LineSampleReader(ILineParser parser, int features, DeviceCounters counters, LogLimiter log, string origin, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(parser);
        ArgumentNullException.ThrowIfNull(counters);
        ArgumentNullException.ThrowIfNull(log);
        _parser = parser;
        _features = features;
        _counters = counters;
        _log = log;
        _origin = origin;
        _clock = clock ?? TimeProvider.System;
    }

    /// <summary>A sample, or false (counted and logged) for a line that is not one.</summary>
    public bool TryConvert(in LineResult line, out Sample sample)
    {
        sample = default;
        switch (line.Status)
        {
            case LineStatus.Overlong:
                _counters.Add(ref _counters.Overlong);
                _log.Warn("overlong", $"{_origin}: a line longer than the limit was skipped");
                return false;
            case LineStatus.Garbage:
                _counters.Add(ref _counters.Garbage);
                _log.Warn("garbage", $"{_origin}: a line of non-text bytes was skipped (wrong baud rate or line noise?)");
                return false;
            case LineStatus.Truncated:
                _counters.Add(ref _counters.Malformed);
                _log.Warn("truncated", $"{_origin}: a partial line at disconnect was skipped");
                return false;
            case LineStatus.Line:
                break;
            default:
                return false;
        }
        _counters.Add(ref _counters.Lines);
        var values = new float[_features];
        Array.Fill(values, float.NaN);
        switch (_parser.Parse(line.Text!, values, out var time))
        {
            case ParseStatus.Skip:
                return false;
            case ParseStatus.Malformed:
                _counters.Add(ref _counters.Malformed);
                _log.Warn("malformed", $"{_origin}: malformed line skipped: {Shorten(line.Text!)}");
                return false;
        }
        _counters.Add(ref _counters.Samples);
        sample = new Sample(time ?? _clock.GetUtcNow(), values, System.Diagnostics.Stopwatch.GetTimestamp());
        return true;
    }

    private static string Shorten(string s) => s.Length <= 80 ? s : string.Concat(s.AsSpan(0, 77), "...");
}
