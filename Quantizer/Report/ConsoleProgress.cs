using System.Diagnostics;
using System.Globalization;

namespace Edge.Quantizer.Report;

/// <summary>
/// Progress of a long calibration or evaluation, on stderr. On a terminal: a bar redrawn in place
/// (at most 10 times a second) and erased at the end. Otherwise (a log file, CI, a test's
/// StringWriter): a plain line every few seconds, so a short run prints nothing at all.
/// </summary>
internal sealed class ConsoleProgress
{
    private readonly TextWriter? _writer;
    private readonly string _label;
    private readonly long _total;
    private readonly bool _terminal;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private TimeSpan _lastDraw = TimeSpan.Zero;
    private bool _drawn;

    /// <summary>Plain lines are printed at most this often.</summary>
    public static TimeSpan PlainInterval { get; set; } = TimeSpan.FromSeconds(5);

    public ConsoleProgress(TextWriter? writer, string label, long total)
    {
        _writer = writer;
        _label = label;
        _total = Math.Max(1, total);
        _terminal = writer is not null && ReferenceEquals(writer, Console.Error) && !Console.IsErrorRedirected;
    }

    public void Report(long done)
    {
        if (_writer is null) return;
        var now = _clock.Elapsed;
        if (_terminal)
        {
            if (done < _total && now - _lastDraw < TimeSpan.FromMilliseconds(100)) return;
            _lastDraw = now;
            const int width = 30;
            int filled = (int)(width * Math.Min(done, _total) / _total);
            string eta = done > 0 && done < _total ? $" eta {Seconds(now.TotalSeconds * (_total - done) / done)}" : "";
            _writer.Write(string.Create(CultureInfo.InvariantCulture,
                $"\r{_label} [{new string('#', filled)}{new string('.', width - filled)}] {done}/{_total} ({100.0 * done / _total:F0} %){eta}   "));
            _drawn = true;
        }
        else if (done < _total && now - _lastDraw >= PlainInterval)
        {
            _lastDraw = now;
            _writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{_label}: {done}/{_total} ({100.0 * done / _total:F0} %), {Seconds(now.TotalSeconds)} elapsed"));
        }
    }

    /// <summary>Erases the bar (terminal) so the next output starts on a clean line.</summary>
    public void Done()
    {
        if (_writer is null || !_terminal || !_drawn) return;
        _writer.Write("\r" + new string(' ', _label.Length + 70) + "\r");
        _writer.Flush();
    }

    private static string Seconds(double s) => s < 60 ? s.ToString("F0", CultureInfo.InvariantCulture) + " s" : (s / 60).ToString("F1", CultureInfo.InvariantCulture) + " min";
}
