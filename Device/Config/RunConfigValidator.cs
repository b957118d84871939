using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Edge.Device.Config;

/// <summary>
/// Checks a config file's JSON against the shape of <see cref="RunConfig"/> before it is deserialized,
/// so that every mistake is reported by its key path and line (`source.colums: unknown key; known:
/// kind, port, ...`) instead of by .NET type names. It walks the source-generated metadata of
/// <see cref="RunConfigJsonContext"/> (no reflection: NativeAOT-safe) and reports every problem it
/// finds, not only the first.
/// </summary>
internal static class RunConfigValidator
{
    private static readonly JsonReaderOptions ReaderOptions = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        MaxDepth = 64,
    };

    private sealed class Walk(string origin, int[] lineStarts)
    {
        public List<string> Problems { get; } = new();

        public void Add(long offset, string path, string what) =>
            Problems.Add($"{origin}:{Line(offset)}: {(path.Length == 0 ? "" : path + ": ")}{what}");

        private int Line(long offset)
        {
            int i = Array.BinarySearch(lineStarts, (int)Math.Min(offset, int.MaxValue));
            return (i >= 0 ? i : ~i - 1) + 1;
        }
    }

    /// <summary>Every problem in <paramref name="utf8"/>, one line each ("origin:LINE: key.path: what"); empty when it matches.</summary>
    public static List<string> Validate(ReadOnlySpan<byte> utf8, string origin)
    {
        var starts = new List<int> { 0 };
        for (int i = 0; i < utf8.Length; i++)
            if (utf8[i] == (byte)'\n') starts.Add(i + 1);
        var walk = new Walk(origin, starts.ToArray());
        if (utf8.Trim(" \t\r\n"u8).IsEmpty)
        {
            walk.Problems.Add($"{origin}: the file is empty; expected a JSON object");
            return walk.Problems;
        }
        var reader = new Utf8JsonReader(utf8, ReaderOptions);
        try
        {
            reader.Read();
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                walk.Add(reader.TokenStartIndex, "", $"expected a JSON object, got {Describe(ref reader)}");
                return walk.Problems;
            }
            Value(ref reader, RunConfigJsonContext.Default.RunConfig, "", nullable: false, walk);
            while (reader.Read())
            {
                // Only trailing comments are allowed after the object; the reader throws on anything else.
            }
        }
        catch (JsonException e)
        {
            walk.Problems.Add($"{origin}:{(e.LineNumber ?? 0) + 1}: invalid JSON: {Trim(e.Message)}");
        }
        return walk.Problems;
    }

    /// <summary>System.Text.Json's message without its trailing "Path: ... | LineNumber: ..." (the line is given already).</summary>
    internal static string Trim(string message)
    {
        int at = message.IndexOf(" Path: ", StringComparison.Ordinal);
        if (at < 0) at = message.IndexOf(" LineNumber: ", StringComparison.Ordinal);
        return (at < 0 ? message : message[..at]).TrimEnd();
    }

    /// <summary>Checks the value at the reader (its first token) against <paramref name="info"/>; leaves the reader on its last token.</summary>
    private static void Value(ref Utf8JsonReader reader, JsonTypeInfo info, string path, bool nullable, Walk walk)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            if (!nullable) walk.Add(reader.TokenStartIndex, path, $"expected {Expected(info)}, got null");
            return;
        }
        switch (info.Kind)
        {
            case JsonTypeInfoKind.Object:
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    Mismatch(ref reader, info, path, walk);
                    return;
                }
                ObjectMembers(ref reader, info, path, walk);
                return;
            case JsonTypeInfoKind.Enumerable:
            {
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    Mismatch(ref reader, info, path, walk);
                    return;
                }
                var element = Element(info.ElementType);
                int i = 0;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (element is null) reader.Skip();
                    else Value(ref reader, element, $"{path}[{i}]", nullable: false, walk);
                    i++;
                }
                return;
            }
            case JsonTypeInfoKind.Dictionary:
            {
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    Mismatch(ref reader, info, path, walk);
                    return;
                }
                var element = Element(info.ElementType);
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    string key = reader.GetString()!;
                    reader.Read();
                    if (element is null) reader.Skip();
                    else Value(ref reader, element, $"{path}.{key}", nullable: false, walk);
                }
                return;
            }
            default:
                Primitive(ref reader, info, path, walk);
                return;
        }
    }

    private static void ObjectMembers(ref Utf8JsonReader reader, JsonTypeInfo info, string path, Walk walk)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string name = reader.GetString()!;
            long at = reader.TokenStartIndex;
            string key = path.Length == 0 ? name : $"{path}.{name}";
            reader.Read();
            JsonPropertyInfo? property = null;
            foreach (var p in info.Properties)
                if (p.Name == name) { property = p; break; }
            if (property is null)
            {
                walk.Add(at, key, $"unknown key; known: {string.Join(", ", info.Properties.Select(p => p.Name))}");
                reader.Skip();
                continue;
            }
            bool nullable = property.PropertyType.IsValueType
                ? Nullable.GetUnderlyingType(property.PropertyType) is not null
                : property.IsSetNullable;
            Value(ref reader, RunConfigJsonContext.Default.GetTypeInfo(property.PropertyType)!, key, nullable, walk);
        }
    }

    private static JsonTypeInfo? Element(Type? type) => type is null ? null : RunConfigJsonContext.Default.GetTypeInfo(type);

    private static void Primitive(ref Utf8JsonReader reader, JsonTypeInfo info, string path, Walk walk)
    {
        var t = Nullable.GetUnderlyingType(info.Type) ?? info.Type;
        bool ok = reader.TokenType switch
        {
            JsonTokenType.String => t == typeof(string),
            JsonTokenType.Number when t == typeof(int) => reader.TryGetInt32(out _),
            // Out of range (1e400) would be read as infinity.
            JsonTokenType.Number when t == typeof(double) => reader.TryGetDouble(out double d) && double.IsFinite(d),
            JsonTokenType.Number when t == typeof(float) => reader.TryGetDouble(out double d) && float.IsFinite((float)d),
            JsonTokenType.True or JsonTokenType.False => t == typeof(bool),
            _ => false,
        };
        if (!ok) Mismatch(ref reader, info, path, walk);
    }

    private static void Mismatch(ref Utf8JsonReader reader, JsonTypeInfo info, string path, Walk walk)
    {
        walk.Add(reader.TokenStartIndex, path, $"expected {Expected(info)}, got {Describe(ref reader)}");
        reader.Skip();
    }

    private static string Expected(JsonTypeInfo info)
    {
        var t = Nullable.GetUnderlyingType(info.Type) ?? info.Type;
        return info.Kind switch
        {
            JsonTypeInfoKind.Object => "an object",
            JsonTypeInfoKind.Dictionary => "an object",
            JsonTypeInfoKind.Enumerable => Element(info.ElementType) is { } e ? $"an array of {Plural(e)}" : "an array",
            _ when t == typeof(string) => "a string",
            _ when t == typeof(int) => "a whole number",
            _ when t == typeof(double) || t == typeof(float) => "a finite number",
            _ when t == typeof(bool) => "true or false",
            _ => "a value",
        };
    }

    private static string Plural(JsonTypeInfo e)
    {
        var t = Nullable.GetUnderlyingType(e.Type) ?? e.Type;
        if (t == typeof(string)) return "strings";
        if (t == typeof(double) || t == typeof(float)) return "finite numbers";
        if (t == typeof(int)) return "whole numbers";
        return "objects";
    }

    /// <summary>The offending value as the user wrote it (shortened), or its kind for objects and arrays.</summary>
    private static string Describe(ref Utf8JsonReader reader)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject: return "an object";
            case JsonTokenType.StartArray: return "an array";
            case JsonTokenType.String:
            {
                var s = reader.GetString() ?? "";
                if (s.Length > 40) s = string.Concat(s.AsSpan(0, 37), "...");
                return "\"" + s + "\"";
            }
            default:
            {
                var raw = Encoding.UTF8.GetString(reader.ValueSpan);
                return raw.Length > 40 ? string.Concat(raw.AsSpan(0, 37), "...") : raw;
            }
        }
    }
}
