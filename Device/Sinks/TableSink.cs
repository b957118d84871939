using System.Globalization;
using System.Text;
using Edge.Device.Pipeline;

namespace Edge.Device.Sinks;

/// <summary>
/// A terminal table for watching a model work (the demo): one row per step, with the time, and per target
/// feature the actual value, the forecast made one step earlier for that time, and the running RMSE of
/// those forecasts so far (original units). Rows line up in fixed-width columns:
/// <code>
///                 precipitation [mm]    temp_max [degC]  ...
///   time         actual forecast  rmse  actual forecast  rmse
///   2015-06-02     0.00     0.41  0.41   21.10    20.37  0.73
/// </code>
/// A forecast is compared with the next step's actual when that step is the one it forecast (its step-1
/// time; without a known period, the next forecast in sequence). When the stream ends, a summary gives the
/// RMSE per feature next to a persistence baseline (next = last actual) over the same rows, and the last
/// forecast, whose actual has not happened yet.
/// </summary>
public sealed class TableSink : IForecastSink
{
    private const int Num = 9; // characters per number column

    private readonly TextWriter _writer;
    private readonly ModelSpec _spec;
    private readonly int _t;
    private readonly double[] _sq, _sqPersistence;
    private readonly StringBuilder _line = new();
    private Forecast? _previous;
    private long _rows, _compared;
    private bool _headerDone;

    public TableSink(TextWriter writer, ModelSpec spec, string name = "table")
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(spec);
        _writer = writer;
        _spec = spec;
        _t = spec.Targets.Count;
        _sq = new double[_t];
        _sqPersistence = new double[_t];
        Name = name;
    }

    public string Name { get; }

    /// <summary>Forecasts compared with their actual value so far.</summary>
    public long Compared => _compared;

    /// <summary>Running RMSE of target <paramref name="j"/> (original units); NaN before the first comparison.</summary>
    public double Rmse(int j) => _compared == 0 ? double.NaN : Math.Sqrt(_sq[j] / _compared);

    /// <summary>RMSE of the persistence forecast (next = last actual) over the same rows.</summary>
    public double PersistenceRmse(int j) => _compared == 0 ? double.NaN : Math.Sqrt(_sqPersistence[j] / _compared);

    private bool DailyOrCoarser => _spec.Period is { } p && p >= TimeSpan.FromDays(1) && p.Ticks % TimeSpan.TicksPerDay == 0;

    private string Time(DateTimeOffset t) =>
        t.UtcDateTime.ToString(DailyOrCoarser ? "yyyy-MM-dd" : "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    private int TimeWidth => DailyOrCoarser ? 10 : 19;

    private int GroupWidth => 3 * Num;

    public async ValueTask WriteAsync(Forecast forecast, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(forecast);
        _line.Clear();
        if (!_headerDone)
        {
            Header();
            _headerDone = true;
        }
        bool matches = _previous is { } prev && (prev.StepTime(0) is { } due ? due == forecast.Time : prev.Sequence == forecast.Sequence - 1);
        if (matches) _compared++;
        _line.Append(Time(forecast.Time).PadRight(TimeWidth));
        for (int j = 0; j < _t; j++)
        {
            float actual = forecast.Actual[_spec.Targets[j]];
            _line.Append(' ').Append(Number(actual));
            if (matches)
            {
                float predicted = _previous!.Values[j];
                double e = actual - (double)predicted;
                _sq[j] += e * e;
                double p = actual - (double)_previous.Actual[_spec.Targets[j]];
                _sqPersistence[j] += p * p;
                _line.Append(Number(predicted)).Append(Number(Rmse(j)));
            }
            else
            {
                _line.Append("-".PadLeft(Num)).Append((_compared > 0 ? Number(Rmse(j)) : "-".PadLeft(Num)));
            }
        }
        _rows++;
        _previous = forecast;
        _line.Append('\n');
        await _writer.WriteAsync(_line.ToString().AsMemory(), cancellationToken).ConfigureAwait(false);
        await _writer.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private void Header()
    {
        _line.Append(' ', TimeWidth);
        for (int j = 0; j < _t; j++)
        {
            var f = _spec.Features[_spec.Targets[j]];
            string title = f.Unit is null ? f.Name : $"{f.Name} [{f.Unit}]";
            if (title.Length > GroupWidth) title = title[..GroupWidth];
            _line.Append(' ').Append(title.PadLeft(GroupWidth));
        }
        _line.Append('\n').Append("time".PadRight(TimeWidth));
        for (int j = 0; j < _t; j++) _line.Append(' ').Append("actual".PadLeft(Num)).Append("forecast".PadLeft(Num)).Append("rmse".PadLeft(Num));
        _line.Append('\n');
    }

    /// <summary>A number as the table prints it: 2 decimals, right-aligned in its column.</summary>
    public static string Number(double v) =>
        (double.IsFinite(v) ? v.ToString("0.00", CultureInfo.InvariantCulture) : "nan").PadLeft(Num);

    public ValueTask FlushAsync(CancellationToken cancellationToken) => new(_writer.FlushAsync(cancellationToken));

    /// <summary>The summary: RMSE per feature (model and persistence) and the forecast still waiting for its actual.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_rows == 0) return;
        var s = new StringBuilder();
        s.Append(CultureInfo.InvariantCulture, $"{_compared} forecasts compared with what happened next (step 1, original units):\n");
        int nameWidth = Math.Max(8, _spec.Targets.Max(t => _spec.Features[t].Name.Length));
        s.Append("  ").Append("feature".PadRight(nameWidth)).Append("model rmse".PadLeft(12)).Append("persistence".PadLeft(13)).Append('\n');
        for (int j = 0; j < _t; j++)
        {
            var f = _spec.Features[_spec.Targets[j]];
            s.Append("  ").Append(f.Name.PadRight(nameWidth))
                .Append(Rmse(j).ToString("0.000", CultureInfo.InvariantCulture).PadLeft(12))
                .Append(PersistenceRmse(j).ToString("0.000", CultureInfo.InvariantCulture).PadLeft(13))
                .Append(f.Unit is null ? "" : " " + f.Unit).Append('\n');
        }
        if (_previous is { } last)
        {
            s.Append(last.StepTime(0) is { } next ? $"next ({Time(next)}):" : "next:");
            for (int j = 0; j < _t; j++)
                s.Append(' ').Append(_spec.Features[_spec.Targets[j]].Name).Append(' ')
                    .Append(last.Values[j].ToString("0.00", CultureInfo.InvariantCulture));
            s.Append('\n');
        }
        await _writer.WriteAsync(s.ToString()).ConfigureAwait(false);
        await _writer.FlushAsync().ConfigureAwait(false);
    }
}
