using System.Globalization;
using System.Text;
using Edge.Device.Pipeline;

namespace Edge.Device.Sinks;

/// <summary>
/// Appends one row per forecast step: seq,time,step,target_time,&lt;target features&gt;. The header is
/// written when the file is new or empty.
/// <para>
/// A forecast's rows go to the OS in one unbuffered write, so <see cref="WriteAsync"/> returns (and
/// <see cref="BufferedSink"/> counts the forecast delivered) only once every byte of them is in the
/// kernel. When the write fails (ENOSPC, EIO, a vanished disk) whatever part of it reached the file
/// is cut off again (the file is truncated to its last complete row) and the exception goes to the
/// buffered sink, which keeps the forecast and retries it. A torn tail that could not be cut at
/// once (or that a crash left) is cut when the file is next opened, so the file only ever holds whole
/// rows. The data is fsynced when the sink's buffer runs empty and at stop (<see cref="FlushAsync"/>):
/// once per batch, not once per forecast, which a slow SD card could not keep up with.
/// </para>
/// </summary>
public sealed class CsvFileSink : IForecastSink
{
    private static readonly UTF8Encoding Utf8 = new(false);
    private readonly string _path;
    private readonly ModelSpec _spec;
    private FileStream? _file;
    private long _end; // length of the file up to its last complete row
    private bool _unsynced;

    public CsvFileSink(string path, ModelSpec spec)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(spec);
        _path = path;
        _spec = spec;
    }

    public string Name => "csv:" + _path;

    private FileStream Open()
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(_path));
        if (dir is not null) Directory.CreateDirectory(dir);
        // bufferSize 0: every Write is a write(2) of the whole row set, no bytes wait in a user-space buffer.
        var file = new FileStream(_path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, bufferSize: 0);
        try
        {
            long whole = LastCompleteRowEnd(file);
            if (whole != file.Length) file.SetLength(whole); // a torn row from a crash or a failed rollback
            _file = file;
            _end = whole;
            if (whole == 0)
                Append(Utf8.GetBytes("seq,time,step,target_time," + string.Join(',', _spec.Targets.Select(t => _spec.Features[t].Name)) + "\n"));
            return file;
        }
        catch
        {
            _file = null;
            file.Dispose();
            throw;
        }
    }

    /// <summary>Offset just past the file's last '\n' (0 when it has none).</summary>
    private static long LastCompleteRowEnd(FileStream file)
    {
        long length = file.Length;
        if (length == 0) return 0;
        Span<byte> block = stackalloc byte[4096];
        long at = length;
        while (at > 0)
        {
            int n = (int)Math.Min(block.Length, at);
            at -= n;
            file.Position = at;
            file.ReadExactly(block[..n]);
            int nl = block[..n].LastIndexOf((byte)'\n');
            if (nl >= 0) return at + nl + 1;
        }
        return 0;
    }

    /// <summary>Writes <paramref name="bytes"/> after the last complete row, or leaves the file as it was and throws.</summary>
    private void Append(byte[] bytes)
    {
        var file = _file!;
        try
        {
            file.Position = _end;
            file.Write(bytes);
            _end += bytes.Length;
            _unsynced = true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Close(rollback: true);
            throw;
        }
    }

    public ValueTask WriteAsync(Forecast forecast, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(forecast);
        var sb = new StringBuilder();
        int t = _spec.Targets.Count;
        for (int s = 0; s < forecast.Steps; s++)
        {
            sb.Append(forecast.Sequence.ToString(CultureInfo.InvariantCulture)).Append(',')
              .Append(ForecastJson.Time(forecast.Time)).Append(',')
              .Append((s + 1).ToString(CultureInfo.InvariantCulture)).Append(',')
              .Append(forecast.StepTime(s) is { } st ? ForecastJson.Time(st) : "");
            for (int j = 0; j < t; j++) sb.Append(',').Append(ForecastJson.Number(forecast.Values[s * t + j]));
            sb.Append('\n');
        }
        // Synchronous on purpose: a cancelled asynchronous write could stop between two write(2)
        // calls, and a local file write does not block for long. Open may throw (a full disk while
        // writing the header); the buffered sink retries.
        if (_file is null) Open();
        Append(Utf8.GetBytes(sb.ToString()));
        return ValueTask.CompletedTask;
    }

    /// <summary>The buffer ran empty (or the run stops): fsync what was written since the last time.</summary>
    public ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        if (_file is { } f && _unsynced)
        {
            try
            {
                f.Flush(flushToDisk: true);
                _unsynced = false;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Close(rollback: false);
                throw;
            }
        }
        return ValueTask.CompletedTask;
    }

    private void Close(bool rollback)
    {
        var f = _file;
        _file = null;
        if (f is null) return;
        try
        {
            // Shrinking a file needs no free space, so this works on a full disk; if it fails too,
            // the next Open cuts the torn tail.
            if (rollback && f.Length != _end) f.SetLength(_end);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        try { f.Dispose(); }
        catch (IOException) { }
    }

    public ValueTask DisposeAsync()
    {
        Close(rollback: true);
        return ValueTask.CompletedTask;
    }
}
