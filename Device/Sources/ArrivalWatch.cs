using Microsoft.Extensions.Logging;

namespace Edge.Device.Sources;

/// <summary>
/// Warns once when a model feature has not arrived in any of the first <see cref="Readings"/> readings of
/// a line source (a misspelled CSV column or JSON key: every reading lacks it, no window ever fills and
/// no forecast is made). The warning names the missing features, the ones that did arrive, and the
/// input's field names as seen (a CSV header or the configured columns, JSON and kv keys).
/// </summary>
public sealed class ArrivalWatch
{
    /// <summary>Readings after which a feature that never had a value is reported.</summary>
    public const int DefaultReadings = 20;

    private const int MaxFieldNames = 32;
    private readonly IReadOnlyList<string> _features;
    private readonly string _format;
    private readonly char _delimiter;
    private readonly ILogger _logger;
    private readonly string _origin;
    private readonly bool[] _arrived;
    private readonly List<string> _fields = new();
    private readonly bool _fieldsFixed;
    private bool _sawLine;
    private int _readings;
    private bool _done;

    public ArrivalWatch(IReadOnlyList<string> features, string format, char delimiter, IReadOnlyList<string>? columns, ILogger logger, string origin, int readings = DefaultReadings)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(format);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(origin);
        if (readings < 1) throw new ArgumentOutOfRangeException(nameof(readings), readings, "must be at least 1");
        _features = features;
        _format = format.ToLowerInvariant();
        _delimiter = delimiter;
        _logger = logger;
        _origin = origin;
        _arrived = new bool[features.Count];
        Readings = readings;
        if (_format == "csv" && columns is { Count: > 0 })
        {
            _fields.AddRange(columns.Take(MaxFieldNames));
            _fieldsFixed = true;
        }
    }

    public int Readings { get; }

    /// <summary>The warning once given (for tests and the log), else null.</summary>
    public string? Warning { get; private set; }

    /// <summary>Every text line the source read, before it is parsed (it may be a CSV header).</summary>
    public void Line(string? text)
    {
        if (_done || text is null || _fieldsFixed) return;
        if (_format == "csv")
        {
            // Only a first line can be a header; later CSV lines carry values, not names.
            if (_sawLine || text.AsSpan().Trim() is { IsEmpty: true } or ['#', ..]) return;
            _sawLine = true;
        }
        if (FieldNames.FromLine(text, _format, _delimiter) is not { } names) return;
        foreach (var n in names)
            if (_fields.Count < MaxFieldNames && !_fields.Contains(n, StringComparer.OrdinalIgnoreCase)) _fields.Add(n);
    }

    /// <summary>A reading the line became (NaN: the feature was absent or empty).</summary>
    public void Reading(ReadOnlySpan<float> values)
    {
        if (_done) return;
        for (int i = 0; i < _arrived.Length && i < values.Length; i++)
            if (float.IsFinite(values[i])) _arrived[i] = true;
        if (++_readings < Readings) return;
        _done = true;
        var never = _features.Where((_, i) => !_arrived[i]).ToList();
        if (never.Count == 0) return;
        var arrived = _features.Where((_, i) => _arrived[i]).ToList();
        string fields = _fields.Count > 0
            ? $"; the input's fields: {string.Join(", ", _fields)}"
            : _format == "csv" ? "; the input has no header: columns are taken by position (give \"columns\")" : "";
        Warning = $"{_origin}: feature{(never.Count > 1 ? "s" : "")} {string.Join(", ", never)} never arrived in the first {_readings} readings"
            + $" (arrived: {(arrived.Count > 0 ? string.Join(", ", arrived) : "none")}){fields}; no forecast can be made without {(never.Count > 1 ? "them" : "it")}"
            + " (\"map\": {\"FIELD\": \"FEATURE\"} maps a field to a feature)";
        _logger.LogWarning("{Warning}", Warning);
    }
}
