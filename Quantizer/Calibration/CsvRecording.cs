using System.Globalization;
using System.Text;
using Edge.Runtime;

namespace Edge.Quantizer.Calibration;

/// <summary>
/// A sensor recording read from CSV: a header row, then one sample per row. A timestamp column is
/// recognized (by its header name, or because its first cell is a date/time) and skipped. Which
/// columns are features: the names in <c>features</c> when given (the blob's metadata), in that
/// order; otherwise every column whose first data cell is a number (a label column such as
/// "weather" = "rain" is left out). Every cell of a chosen column must then be a number: anything
/// else is an error naming the line (1-based, the header is line 1) and the column.
/// </summary>
public static class CsvRecording
{
    private static readonly string[] TimestampNames = ["timestamp", "time", "date", "datetime", "ts", "time_utc", "date_time"];

    /// <summary>The parsed recording: <see cref="Values"/> is (rows, features) row-major.</summary>
    public sealed record Recording(string[] Columns, float[] Values, int Rows, string? TimestampColumn);

    public static Recording Read(string path, IReadOnlyList<string>? features)
    {
        using var stream = File.OpenRead(path);
        return Read(stream, Path.GetFileName(path), features);
    }

    public static Recording Read(Stream stream, string name, IReadOnlyList<string>? features)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        string? headerLine = reader.ReadLine();
        if (headerLine is null || headerLine.Trim().Length == 0) throw new EdgeException($"{name}: empty file; expected a header row of column names");
        var header = SplitLine(headerLine, name, 1).Select(h => h.Trim()).ToArray();
        for (int i = 0; i < header.Length; i++)
        {
            if (header[i].Length == 0) throw new EdgeException($"{name} line 1, column {i + 1}: empty column name");
            for (int j = 0; j < i; j++)
                if (header[j] == header[i]) throw new EdgeException($"{name} line 1: column name '{header[i]}' appears twice (columns {j + 1} and {i + 1})");
        }

        var rows = new List<string[]>();
        var lineNumbers = new List<int>();
        int lineNo = 1;
        for (string? line = reader.ReadLine(); line is not null; line = reader.ReadLine())
        {
            lineNo++;
            if (line.Trim().Length == 0) continue; // a trailing blank line is not a sample
            var cells = SplitLine(line, name, lineNo);
            if (cells.Length != header.Length)
                throw new EdgeException($"{name} line {lineNo}: {cells.Length} cells, but the header has {header.Length} columns");
            rows.Add(cells);
            lineNumbers.Add(lineNo);
        }
        if (rows.Count == 0) throw new EdgeException($"{name}: a header but no data rows");

        int timestamp = -1;
        for (int c = 0; c < header.Length && timestamp < 0; c++)
            if (TimestampNames.Contains(header[c].ToLowerInvariant())) timestamp = c;
        for (int c = 0; c < header.Length && timestamp < 0; c++)
            if (!IsNumber(rows[0][c]) && DateTimeOffset.TryParse(rows[0][c].Trim(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out _)) timestamp = c;

        int[] chosen;
        if (features is { Count: > 0 })
        {
            chosen = new int[features.Count];
            for (int f = 0; f < features.Count; f++)
            {
                int c = Array.IndexOf(header, features[f]);
                if (c < 0) throw new EdgeException($"{name}: no column '{features[f]}' (a feature named in the model's metadata); the header has: {string.Join(", ", header)}");
                chosen[f] = c;
            }
        }
        else
        {
            chosen = Enumerable.Range(0, header.Length).Where(c => c != timestamp && IsNumber(rows[0][c])).ToArray();
            if (chosen.Length == 0) throw new EdgeException($"{name}: no numeric column (line 2 has no number outside the timestamp)");
        }

        var values = new float[rows.Count * chosen.Length];
        for (int r = 0; r < rows.Count; r++)
        {
            for (int f = 0; f < chosen.Length; f++)
            {
                int c = chosen[f];
                string cell = rows[r][c].Trim();
                if (cell.Length == 0)
                    throw new EdgeException($"{name} line {lineNumbers[r]}, column {c + 1} ('{header[c]}'): empty cell; every sample needs a value for every feature");
                if (!float.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out float v) || !float.IsFinite(v))
                    throw new EdgeException($"{name} line {lineNumbers[r]}, column {c + 1} ('{header[c]}'): '{Clip(cell)}' is not a finite number");
                values[r * chosen.Length + f] = v; // parsed as float32 once, as the device's line parsers do
            }
        }
        return new Recording(chosen.Select(c => header[c]).ToArray(), values, rows.Count, timestamp < 0 ? null : header[timestamp]);
    }

    private static bool IsNumber(string cell) =>
        double.TryParse(cell.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v);

    private static string Clip(string s) => s.Length <= 40 ? s : s[..40] + "...";

    /// <summary>Splits one CSV line (RFC 4180 quoting: "a,b" and "" inside quotes).</summary>
    internal static string[] SplitLine(string line, string name, int lineNo)
    {
        var cells = new List<string>();
        var cell = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char ch = line[i];
            if (quoted)
            {
                if (ch == '"' && i + 1 < line.Length && line[i + 1] == '"') { cell.Append('"'); i++; }
                else if (ch == '"') quoted = false;
                else cell.Append(ch);
            }
            else if (ch == '"') quoted = true;
            else if (ch == ',') { cells.Add(cell.ToString()); cell.Clear(); }
            else cell.Append(ch);
        }
        if (quoted) throw new EdgeException($"{name} line {lineNo}: a quoted cell is not closed");
        cells.Add(cell.ToString());
        return cells.ToArray();
    }
}
