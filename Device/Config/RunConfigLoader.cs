using System.Text;
using System.Text.Json;
using Edge.Runtime;

namespace Edge.Device.Config;

/// <summary>
/// A user error made of several problems, each one line naming its key or file (`edge run --check`
/// lists them one per line; elsewhere the message joins them with "; " so it stays one line).
/// </summary>
public sealed class ConfigProblemsException : EdgeException
{
    public ConfigProblemsException(IReadOnlyList<string> problems)
        : base(string.Join("; ", problems)) => Problems = problems;

    public IReadOnlyList<string> Problems { get; }
}

/// <summary>Reads the JSON config file with the source-generated serializer (no reflection: NativeAOT-safe).</summary>
public static class RunConfigLoader
{
    /// <param name="option">The command-line option that named the file, for the message when it cannot be read.</param>
    public static RunConfig Load(string path, string option = "--config")
    {
        ArgumentNullException.ThrowIfNull(path);
        return Parse(ReadFile(path, option, "config"), path);
    }

    /// <summary>A file named by a command-line option or a config key; a failure names the option and the file.</summary>
    public static byte[] ReadFile(string path, string option, string what)
    {
        ArgumentNullException.ThrowIfNull(path);
        try { return File.ReadAllBytes(path); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new EdgeException($"{option} {path}: no such {what} file", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new EdgeException($"{option} {path}: permission denied (cannot read the {what} file)", e);
        }
        catch (IOException e)
        {
            throw new EdgeException($"{option} {path}: cannot read the {what} file: {e.Message}", e);
        }
    }

    public static RunConfig Parse(string json, string origin)
    {
        ArgumentNullException.ThrowIfNull(json);
        return Parse(Encoding.UTF8.GetBytes(json), origin);
    }

    /// <summary>Every shape problem (unknown key, wrong type, bad JSON) is reported with its key path and line, all of them at once.</summary>
    public static RunConfig Parse(ReadOnlySpan<byte> utf8, string origin)
    {
        ArgumentNullException.ThrowIfNull(origin);
        if (utf8.StartsWith("\uFEFF"u8)) utf8 = utf8[3..];
        var problems = RunConfigValidator.Validate(utf8, origin);
        if (problems.Count > 0) throw new ConfigProblemsException(problems);
        try
        {
            return JsonSerializer.Deserialize(utf8, RunConfigJsonContext.Default.RunConfig)
                ?? throw new EdgeException($"{origin}: the config is null; expected a JSON object");
        }
        catch (JsonException e)
        {
            // The validator mirrors the serializer's rules; this is the safety net if they ever differ.
            string at = e.Path is { Length: > 2 } p ? p[2..] + ": " : "";
            throw new EdgeException($"{origin}:{(e.LineNumber ?? 0) + 1}: {at}{RunConfigValidator.Trim(e.Message)}", e);
        }
    }

    public static string Serialize(RunConfig config) => JsonSerializer.Serialize(config, RunConfigJsonContext.Default.RunConfig);
}
