using System.Text;

namespace Edge.Device.Sources;

public enum LineStatus
{
    /// <summary>A complete line of text (without its line ending).</summary>
    Line,

    /// <summary>A line longer than the limit; it was skipped up to its newline.</summary>
    Overlong,

    /// <summary>A line that is not text: invalid UTF-8 or control characters (line noise, a baud-rate mismatch).</summary>
    Garbage,

    /// <summary>A partial line cut off by the end of the stream (a device that went away mid-line).</summary>
    Truncated,

    /// <summary>The stream ended.</summary>
    End,
}

public readonly record struct LineResult(LineStatus Status, string? Text = null);

/// <summary>
/// Splits a byte stream into lines ('\n', with an optional '\r' before it) without ever holding more
/// than <c>maxLineLength</c> bytes of one line: a longer line is discarded up to its newline and
/// reported, so a device that never sends a newline cannot exhaust memory. The reader never opens
/// anything; the caller owns the stream (a serial port, a pty, a file, a MemoryStream in tests).
/// <para>
/// A device that streams junk without a newline (a wrong baud rate, a crashed firmware) and then
/// recovers sends its first good line straight after the junk. Waiting for the newline alone would
/// swallow that line with the junk, so on a device stream the discarded line also ends when the
/// stream falls idle: a read that had to wait at least <see cref="DeviceIdleResync"/> for its bytes
/// starts a new line. Only a line already over the limit is cut this way (it is junk either way), so
/// a device that pauses inside a normal line is unaffected.
/// </para>
/// </summary>
public sealed class BoundedLineReader
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private readonly Stream _stream;
    private readonly byte[] _chunk;
    private readonly byte[] _line;
    private readonly bool _partialLastLineIsLine;
    private readonly TimeSpan _idleResync;
    private readonly TimeProvider _clock;
    private int _chunkPos;
    private int _chunkLen;
    private int _lineLen;
    private bool _discarding;
    private bool _ended;

    /// <summary>How long a device stream must have been silent for an overlong line to end without a newline.</summary>
    public static readonly TimeSpan DeviceIdleResync = TimeSpan.FromMilliseconds(100);

    /// <param name="partialLastLineIsLine">
    /// True for files, whose last line may lack a newline; false for devices, where a line cut off
    /// by a disconnect is reported as <see cref="LineStatus.Truncated"/> rather than parsed, and an
    /// overlong line also ends when the stream falls idle (<see cref="DeviceIdleResync"/>).
    /// </param>
    /// <param name="clock">Measures how long a read waited (tests pass a fake one).</param>
    public BoundedLineReader(Stream stream, int maxLineLength, bool partialLastLineIsLine = false, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLineLength, 1);
        _stream = stream;
        _line = new byte[maxLineLength];
        _chunk = new byte[4096];
        _partialLastLineIsLine = partialLastLineIsLine;
        _idleResync = partialLastLineIsLine ? TimeSpan.MaxValue : DeviceIdleResync;
        _clock = clock ?? TimeProvider.System;
    }

    public int MaxLineLength => _line.Length;

    public async ValueTask<LineResult> ReadLineAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            if (_chunkPos == _chunkLen)
            {
                if (_ended) return new LineResult(LineStatus.End);
                long asked = _clock.GetTimestamp();
                _chunkLen = await _stream.ReadAsync(_chunk, cancellationToken).ConfigureAwait(false);
                _chunkPos = 0;
                if (_discarding && _chunkLen > 0 && _clock.GetElapsedTime(asked) >= _idleResync)
                {
                    // The device fell silent in the middle of junk: the junk ends here and these bytes start a new line.
                    _discarding = false;
                    _lineLen = 0;
                    return new LineResult(LineStatus.Overlong);
                }
                if (_chunkLen == 0)
                {
                    _ended = true;
                    bool had = _lineLen > 0 || _discarding;
                    bool wasDiscarding = _discarding;
                    int len = _lineLen;
                    _lineLen = 0;
                    _discarding = false;
                    if (!had) return new LineResult(LineStatus.End);
                    if (wasDiscarding) return new LineResult(LineStatus.Overlong);
                    return _partialLastLineIsLine ? Decode(len) : new LineResult(LineStatus.Truncated);
                }
            }
            var span = _chunk.AsSpan(_chunkPos, _chunkLen - _chunkPos);
            int nl = span.IndexOf((byte)'\n');
            int take = nl < 0 ? span.Length : nl;
            if (!_discarding)
            {
                if (_lineLen + take > _line.Length)
                {
                    _discarding = true;
                    _lineLen = 0;
                }
                else
                {
                    span[..take].CopyTo(_line.AsSpan(_lineLen));
                    _lineLen += take;
                }
            }
            _chunkPos += nl < 0 ? take : take + 1;
            if (nl < 0) continue;
            if (_discarding)
            {
                _discarding = false;
                return new LineResult(LineStatus.Overlong);
            }
            int n = _lineLen;
            _lineLen = 0;
            return Decode(n);
        }
    }

    private LineResult Decode(int length)
    {
        var bytes = _line.AsSpan(0, length);
        if (bytes.Length > 0 && bytes[^1] == (byte)'\r') bytes = bytes[..^1];
        string text;
        try { text = StrictUtf8.GetString(bytes); }
        catch (DecoderFallbackException) { return new LineResult(LineStatus.Garbage); }
        foreach (char c in text)
            if (char.IsControl(c) && c != '\t') return new LineResult(LineStatus.Garbage);
        return new LineResult(LineStatus.Line, text);
    }
}
