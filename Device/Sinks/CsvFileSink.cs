using System.Globalization;
using System.Text;
using Edge.Device.Pipeline;

namespace Edge.Device.Sinks;

/// <summary>
/// Appends one row per forecast step: seq,time,step,target_time,&lt;target features&gt;. The header is
/// written when the file is new or empty. Rows are flushed whenever the sink's buffer runs empty.
/// </summary>
public sealed class CsvFileSink : IForecastSink
{
    private readonly string _path;
    private readonly ModelSpec _spec;
    private StreamWriter? _writer;

    public CsvFileSink(string path, ModelSpec spec)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(spec);
        _path = path;
        _spec = spec;
    }

    public string Name => "csv:" + _path;

    private StreamWriter Open()
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(_path));
        if (dir is not null) Directory.CreateDirectory(dir);
        var stream = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.Read);
        var writer = new StreamWriter(stream, new UTF8Encoding(false));
        if (stream.Length == 0)
            writer.WriteLine("seq,time,step,target_time," + string.Join(',', _spec.Targets.Select(t => _spec.Features[t].Name)));
        return writer;
    }

    public async ValueTask WriteAsync(Forecast forecast, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(forecast);
        var w = _writer ??= Open();
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
        try
        {
            await w.WriteAsync(sb, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException)
        {
            await CloseAsync().ConfigureAwait(false); // a full or vanished disk: reopen on the retry
            throw;
        }
    }

    public async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        if (_writer is not null) await _writer.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask CloseAsync()
    {
        var w = _writer;
        _writer = null;
        if (w is not null)
        {
            try { await w.DisposeAsync().ConfigureAwait(false); }
            catch (IOException) { }
        }
    }

    public ValueTask DisposeAsync() => CloseAsync();
}
