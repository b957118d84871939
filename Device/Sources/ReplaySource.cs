using System.Diagnostics;
using System.Threading.Channels;
using Edge.Device.Pipeline;
using Microsoft.Extensions.Logging;

namespace Edge.Device.Sources;

/// <summary>
/// Replays a recorded file of lines (CSV with a header, JSON lines or key=value) in real time (or
/// sped up by a factor) from its timestamps, or as fast as the pipeline takes it (speed 0). Without
/// a time field the lines are spaced one period apart. Pacing uses deadlines from the start of the
/// replay, so sleeps never accumulate error.
/// </summary>
public sealed class ReplaySource : ISampleSource
{
    private readonly string _path;
    private readonly LineSampleReader _reader;
    private readonly int _maxLineLength;
    private readonly double _speed;
    private readonly TimeSpan _spacing;
    private readonly bool _fileHasTime;
    private readonly ILogger _logger;
    private readonly ArrivalWatch? _watch;

    public ReplaySource(string path, LineSampleReader reader, int maxLineLength, double speed, bool fileHasTime, TimeSpan? period, ILogger logger,
        ArrivalWatch? watch = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(logger);
        if (speed < 0 || double.IsNaN(speed)) throw new ArgumentOutOfRangeException(nameof(speed), speed, "speed is 0 (as fast as possible) or a positive factor");
        _path = path;
        _reader = reader;
        _maxLineLength = maxLineLength;
        _speed = speed;
        _fileHasTime = fileHasTime;
        _spacing = period ?? TimeSpan.FromSeconds(1);
        _logger = logger;
        _watch = watch;
    }

    public bool Periodic => false;

    public async Task RunAsync(ChannelWriter<Sample> output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        await using var file = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
        var lines = new BoundedLineReader(file, _maxLineLength, partialLastLineIsLine: true);
        var started = Stopwatch.GetTimestamp();
        DateTimeOffset? first = null;
        var synthetic = DateTimeOffset.UtcNow;
        long n = 0;
        _logger.LogInformation("replaying {Path} ({Speed})", _path, _speed == 0 ? "as fast as possible" : $"x{_speed}");
        while (!cancellationToken.IsCancellationRequested)
        {
            var line = await lines.ReadLineAsync(cancellationToken).ConfigureAwait(false);
            if (line.Status == LineStatus.End) break;
            if (line.Status == LineStatus.Line) _watch?.Line(line.Text);
            if (!_reader.TryConvert(line, out var sample)) continue;
            _watch?.Reading(sample.Values);
            if (!_fileHasTime) sample = sample with { Time = synthetic + _spacing * n };
            n++;
            first ??= sample.Time;
            if (_speed > 0)
            {
                var due = (sample.Time - first.Value) / _speed;
                var wait = due - Stopwatch.GetElapsedTime(started);
                if (wait > TimeSpan.Zero) await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
                sample = sample with { Received = Stopwatch.GetTimestamp() };
            }
            await output.WriteAsync(sample, cancellationToken).ConfigureAwait(false);
        }
        _logger.LogInformation("replay of {Path} done: {Count} samples", _path, n);
    }
}
