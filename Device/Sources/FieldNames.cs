using System.Text.Json;

namespace Edge.Device.Sources;

/// <summary>
/// The field names an input line carries (a CSV header's columns, a JSON object's keys, a kv line's
/// keys), for telling the user which fields arrived when a feature does not. Never throws on input.
/// </summary>
public static class FieldNames
{
    private static readonly char[] KvSeparators = [' ', '\t', ',', ';'];

    /// <summary>Names in <paramref name="line"/>; null for a line that names nothing (blank, a comment, a CSV line of numbers, not JSON).</summary>
    public static IReadOnlyList<string>? FromLine(string line, string format, char delimiter)
    {
        ArgumentNullException.ThrowIfNull(line);
        ArgumentNullException.ThrowIfNull(format);
        var text = line.AsSpan().Trim();
        if (text.IsEmpty || text[0] == '#') return null;
        switch (format.ToLowerInvariant())
        {
            case "csv":
            {
                var names = new List<string>();
                bool anyName = false;
                foreach (var r in text.Split(delimiter))
                {
                    var f = text[r].Trim().Trim('"');
                    if (!FieldMap.TryParseValue(f, out _) && !FieldMap.TryParseTime(f, out _)) anyName = true;
                    names.Add(f.ToString());
                }
                return anyName ? names : null;
            }
            case "json":
                try
                {
                    using var doc = JsonDocument.Parse(line, new JsonDocumentOptions { MaxDepth = 8 });
                    return doc.RootElement.ValueKind == JsonValueKind.Object ? doc.RootElement.EnumerateObject().Select(p => p.Name).ToList() : null;
                }
                catch (JsonException)
                {
                    return null;
                }
            case "kv":
            {
                var names = new List<string>();
                foreach (var r in text.SplitAny(KvSeparators))
                {
                    var token = text[r];
                    int eq = token.IndexOfAny('=', ':');
                    if (eq > 0) names.Add(token[..eq].ToString());
                }
                return names.Count > 0 ? names : null;
            }
            default:
                return null;
        }
    }

    /// <summary>
    /// The field names of a recorded file: a CSV file's header (its first line that is not blank or a
    /// comment; null when that line is numbers), or for JSON and kv lines every key of the first
    /// <paramref name="maxLines"/> lines (a key may be absent from some lines). Bounded reads; null when nothing is named.
    /// </summary>
    public static IReadOnlyList<string>? FromFile(string path, string format, char delimiter, int maxLineLength, int maxLines = 100)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(format);
        bool csv = format.Equals("csv", StringComparison.OrdinalIgnoreCase);
        var names = new List<string>();
        try
        {
            using var reader = new StreamReader(path);
            var buffer = new char[Math.Max(16, maxLineLength) + 1];
            for (int n = 0, lines = 0; n < 10 * maxLines && lines < maxLines; n++)
            {
                // One line of at most maxLineLength characters; a longer one is skipped to its end.
                int len = 0;
                int c;
                while ((c = reader.Read()) >= 0 && c != '\n')
                    if (len < buffer.Length) buffer[len++] = (char)c;
                var line = new string(buffer, 0, len);
                if (len < buffer.Length && line.Trim() is { Length: > 0 } t && t[0] != '#')
                {
                    lines++;
                    var found = FromLine(line, format, delimiter);
                    if (csv) return found;
                    foreach (var name in found ?? [])
                        if (!names.Contains(name, StringComparer.OrdinalIgnoreCase)) names.Add(name);
                }
                if (c < 0) break;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        return csv || names.Count == 0 ? null : names;
    }
}
