using System.Globalization;
using System.Text.Json;
using Edge.Device.Pipeline;

namespace Edge.Device.Sources;

public enum ParseStatus
{
    /// <summary>The line is a reading: values (NaN where a feature was absent or empty) and maybe a time.</summary>
    Sample,

    /// <summary>Not a reading and not an error: blank, a comment ('#'), a CSV header.</summary>
    Skip,

    /// <summary>Not a line of this format (a number that is not a number, broken JSON, a bad time).</summary>
    Malformed,
}

/// <summary>Parses one text line into feature values. Implementations keep only header state; they never throw on input.</summary>
public interface ILineParser
{
    /// <param name="values">One slot per model feature, pre-filled with NaN by the caller.</param>
    ParseStatus Parse(string line, Span<float> values, out DateTimeOffset? time);
}

/// <summary>
/// Input field name -> model feature index: an explicit <c>map</c> entry first, then a field whose
/// name equals a feature name (case-insensitive). Fields that map to nothing are ignored.
/// </summary>
public sealed class FieldMap
{
    private readonly Dictionary<string, int> _index = new(StringComparer.OrdinalIgnoreCase);

    public FieldMap(ModelSpec spec, IReadOnlyDictionary<string, string>? map, string? timeField)
    {
        ArgumentNullException.ThrowIfNull(spec);
        TimeField = timeField;
        for (int i = 0; i < spec.Features.Count; i++) _index[spec.Features[i].Name] = i;
        if (map is not null)
            foreach (var (field, feature) in map)
            {
                int i = spec.IndexOf(feature);
                if (i < 0) throw new ArgumentException($"map: '{field}' -> '{feature}', but the model has no feature '{feature}'; its features are: {string.Join(", ", spec.Features.Select(f => f.Name))}");
                _index[field] = i;
            }
        Features = spec.Features.Count;
    }

    public int Features { get; }

    public string? TimeField { get; }

    /// <summary>Feature index of an input field, or -1.</summary>
    public int this[string field] => _index.TryGetValue(field, out int i) ? i : -1;

    public bool IsTime(string field) => TimeField is not null && string.Equals(field, TimeField, StringComparison.OrdinalIgnoreCase);

    public static bool TryParseValue(ReadOnlySpan<char> text, out float value)
    {
        text = text.Trim();
        if (text.IsEmpty || text.Equals("null", StringComparison.OrdinalIgnoreCase) || text.Equals("nan", StringComparison.OrdinalIgnoreCase))
        {
            value = float.NaN;
            return true;
        }
        return float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>ISO 8601 (a time without an offset is UTC) or unix seconds.</summary>
    public static bool TryParseTime(ReadOnlySpan<char> text, out DateTimeOffset time)
    {
        text = text.Trim();
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) && double.IsFinite(seconds))
        {
            // DateTimeOffset spans years 1 to 9999: unix seconds outside that are not a time (AddTicks would throw).
            time = default;
            if (seconds < -62_135_596_800 || seconds > 253_402_300_799) return false;
            time = DateTimeOffset.UnixEpoch.AddTicks((long)Math.Round(seconds * TimeSpan.TicksPerSecond));
            return true;
        }
        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AllowWhiteSpaces, out time);
    }
}

/// <summary>
/// Delimited values. Columns come from the configuration, or from a header line (the first line
/// that is not all numbers), or else by position onto the model's features in order.
/// </summary>
public sealed class CsvLineParser : ILineParser
{
    private readonly FieldMap _map;
    private readonly char _delimiter;
    private int[]? _columns; // column -> feature index, -1 ignored, -2 time
    private bool _sawFirst;

    public CsvLineParser(FieldMap map, IReadOnlyList<string>? columns = null, char delimiter = ',')
    {
        ArgumentNullException.ThrowIfNull(map);
        _map = map;
        _delimiter = delimiter;
        if (columns is not null)
        {
            _columns = Resolve(columns);
            if (!_columns.Any(c => c >= 0))
                throw new ArgumentException($"columns: none of {string.Join(", ", columns)} is a model feature or mapped to one");
        }
    }

    private int[] Resolve(IReadOnlyList<string> names) =>
        names.Select(n => _map.IsTime(n.Trim()) ? -2 : _map[n.Trim()]).ToArray();

    public ParseStatus Parse(string line, Span<float> values, out DateTimeOffset? time)
    {
        ArgumentNullException.ThrowIfNull(line);
        time = null;
        var text = line.AsSpan().Trim();
        if (text.IsEmpty || text[0] == '#') return ParseStatus.Skip;
        bool first = !_sawFirst;
        _sawFirst = true;
        if (_columns is null)
        {
            if (first && !AllNumeric(text))
            {
                var header = new List<string>();
                foreach (var r in text.Split(_delimiter)) header.Add(text[r].Trim().Trim('"').ToString());
                var resolved = Resolve(header);
                // A header that names no feature is a configuration mistake (or not a header): say so
                // on every line rather than turn every reading into missing values.
                if (!resolved.Any(c => c >= 0)) return ParseStatus.Malformed;
                _columns = resolved;
                return ParseStatus.Skip;
            }
            _columns = Enumerable.Range(0, _map.Features).ToArray();
        }

        int col = 0;
        bool lastEmpty = false;
        foreach (var r in text.Split(_delimiter))
        {
            var field = text[r].Trim().Trim('"');
            lastEmpty = field.IsEmpty;
            if (col >= _columns.Length)
            {
                col++;
                continue;
            }
            int target = _columns[col];
            col++;
            if (target == -2)
            {
                if (!FieldMap.TryParseTime(field, out var t)) return ParseStatus.Malformed;
                time = t;
            }
            else if (target >= 0)
            {
                if (!FieldMap.TryParseValue(field, out float v)) return ParseStatus.Malformed;
                values[target] = v;
            }
        }
        if (col < Array.FindLastIndex(_columns, c => c != -1) + 1)
            return ParseStatus.Malformed; // a short line: a device that was cut off or reset mid-line
        // A long line is two lines glued together (a torn line and the next one) or a device whose
        // layout changed: its values cannot be trusted by position. One trailing delimiter is allowed.
        if (col > _columns.Length && !(col == _columns.Length + 1 && lastEmpty))
            return ParseStatus.Malformed;
        return ParseStatus.Sample;
    }

    private bool AllNumeric(ReadOnlySpan<char> text)
    {
        foreach (var r in text.Split(_delimiter))
        {
            var f = text[r].Trim().Trim('"');
            if (!FieldMap.TryParseValue(f, out _) && !FieldMap.TryParseTime(f, out _)) return false;
        }
        return true;
    }
}

/// <summary>One JSON object per line: {"temperature": 21.5, "time": "2026-03-21T09:53:25Z"}; null is a missing value.</summary>
public sealed class JsonLineParser : ILineParser
{
    private readonly FieldMap _map;

    public JsonLineParser(FieldMap map)
    {
        ArgumentNullException.ThrowIfNull(map);
        _map = map;
    }

    public ParseStatus Parse(string line, Span<float> values, out DateTimeOffset? time)
    {
        ArgumentNullException.ThrowIfNull(line);
        time = null;
        var text = line.AsSpan().Trim();
        if (text.IsEmpty || text[0] == '#') return ParseStatus.Skip;
        try
        {
            using var doc = JsonDocument.Parse(line, new JsonDocumentOptions { MaxDepth = 8 });
            if (doc.RootElement.ValueKind != JsonValueKind.Object) return ParseStatus.Malformed;
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (_map.IsTime(p.Name))
                {
                    DateTimeOffset t = default;
                    bool ok = p.Value.ValueKind switch
                    {
                        JsonValueKind.String => FieldMap.TryParseTime(p.Value.GetString(), out t),
                        JsonValueKind.Number => FieldMap.TryParseTime(p.Value.GetRawText(), out t),
                        _ => false,
                    };
                    if (!ok) return ParseStatus.Malformed;
                    time = t;
                    continue;
                }
                int i = _map[p.Name];
                if (i < 0) continue;
                switch (p.Value.ValueKind)
                {
                    case JsonValueKind.Number:
                        values[i] = p.Value.TryGetDouble(out double d) ? (float)d : float.NaN;
                        break;
                    case JsonValueKind.Null:
                        values[i] = float.NaN;
                        break;
                    case JsonValueKind.String when FieldMap.TryParseValue(p.Value.GetString(), out float v):
                        values[i] = v;
                        break;
                    default:
                        return ParseStatus.Malformed;
                }
            }
            return ParseStatus.Sample;
        }
        catch (JsonException)
        {
            return ParseStatus.Malformed;
        }
    }
}

/// <summary>key=value (or key:value) pairs separated by spaces, commas or semicolons: "t=21.5 h=40".</summary>
public sealed class KeyValueLineParser : ILineParser
{
    private static readonly char[] Separators = [' ', '\t', ',', ';'];
    private readonly FieldMap _map;

    public KeyValueLineParser(FieldMap map)
    {
        ArgumentNullException.ThrowIfNull(map);
        _map = map;
    }

    public ParseStatus Parse(string line, Span<float> values, out DateTimeOffset? time)
    {
        ArgumentNullException.ThrowIfNull(line);
        time = null;
        var text = line.AsSpan().Trim();
        if (text.IsEmpty || text[0] == '#') return ParseStatus.Skip;
        int pairs = 0;
        foreach (var r in text.SplitAny(Separators))
        {
            var token = text[r];
            if (token.IsEmpty) continue;
            int eq = token.IndexOfAny('=', ':');
            if (eq <= 0) return ParseStatus.Malformed;
            var key = token[..eq].ToString();
            var value = token[(eq + 1)..];
            pairs++;
            if (_map.IsTime(key))
            {
                if (!FieldMap.TryParseTime(value, out var t)) return ParseStatus.Malformed;
                time = t;
                continue;
            }
            int i = _map[key];
            if (i < 0) continue;
            if (!FieldMap.TryParseValue(value, out float v)) return ParseStatus.Malformed;
            values[i] = v;
        }
        return pairs == 0 ? ParseStatus.Malformed : ParseStatus.Sample;
    }
}
