using System.Text.Json;
using Edge.Runtime;

namespace Edge.Device.Config;

/// <summary>Reads the JSON config file with the source-generated serializer (no reflection: NativeAOT-safe).</summary>
public static class RunConfigLoader
{
    public static RunConfig Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException) { throw new EdgeException($"{path}: config file not found", e); }
        return Parse(text, path);
    }

    public static RunConfig Parse(string json, string origin)
    {
        try
        {
            return JsonSerializer.Deserialize(json, RunConfigJsonContext.Default.RunConfig)
                ?? throw new EdgeException($"{origin}: the config is null; expected a JSON object");
        }
        catch (JsonException e)
        {
            throw new EdgeException($"{origin}: {e.Message}", e);
        }
    }

    public static string Serialize(RunConfig config) => JsonSerializer.Serialize(config, RunConfigJsonContext.Default.RunConfig);
}
