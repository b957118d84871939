using Edge.Runtime.Format;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Edge.Runtime;
using PureHDF;

namespace Edge.Quantizer.Import.Keras;

/// <summary>
/// One Keras model file opened for import: its architecture (the model config JSON), the Keras version that
/// wrote it, and its weights by layer name. Two containers:
/// <list type="bullet">
/// <item>`.h5` (Keras 2, and Keras 3's legacy format): root attributes <c>model_config</c> (JSON) and
///   <c>keras_version</c>; group <c>model_weights</c> with one group per layer whose <c>weight_names</c>
///   attribute lists dataset paths relative to it ("dense/kernel:0", "sequential/gru/gru_cell/kernel").</item>
/// <item>`.keras` (Keras 3): a zip of <c>config.json</c>, <c>metadata.json</c> (<c>keras_version</c>) and
///   <c>model.weights.h5</c>, whose groups <c>layers/&lt;key&gt;/vars/&lt;i&gt;</c> (and, for RNNs,
///   <c>layers/&lt;key&gt;/cell/vars/&lt;i&gt;</c>) are keyed by the snake-cased layer class ("gru", "gru_1"),
///   not the layer's name; the <c>vars</c> group's <c>name</c> attribute carries the configured name.</item>
/// </list>
/// The container is recognized by its first bytes, not its extension.
/// </summary>
internal sealed class KerasModelFile : IDisposable
{
    /// <summary>Larger files are not models for a Raspberry Pi; refusing them early avoids reading gigabytes.</summary>
    public const long MaxFileBytes = 1L << 30;
    /// <summary>The model config (and metadata) JSON: a real one is a few kilobytes to a few hundred; JsonDocument needs a few times this.</summary>
    public const long MaxJsonBytes = 64L << 20;

    /// <summary>Groups under layers/ nest as layers/&lt;key&gt;/[forward_layer/]cell/vars; deeper is a broken file (or one whose links loop).</summary>
    private const int MaxGroupDepth = 8;
    private const long MaxCompressionRatio = 1000; // deflate tops out near 1032:1; a real config/weights file compresses far less

    private readonly KerasHdf5 _h5;
    private readonly Func<string, string, IReadOnlyList<KerasWeight>?> _weights;

    private KerasModelFile(string name, JsonDocument config, string kerasVersion, KerasHdf5 h5,
        Func<string, string, IReadOnlyList<KerasWeight>?> weights)
    {
        Name = name;
        Config = config;
        KerasVersion = kerasVersion;
        _h5 = h5;
        _weights = weights;
        KerasMajor = int.TryParse(kerasVersion.Split('.')[0], out int major) ? major : 2;
    }

    public string Name { get; }
    public JsonDocument Config { get; }
    public string KerasVersion { get; }

    /// <summary>2 or 3: the definition of hard_sigmoid differs between them.</summary>
    public int KerasMajor { get; }

    public void Dispose()
    {
        Config.Dispose();
        _h5.Dispose();
    }

    /// <summary>The weights Keras stores for a layer, in Keras's order (kernel, recurrent kernel, bias, ...); null when the file has none for it.</summary>
    public IReadOnlyList<KerasWeight>? Weights(string layerName, string className) => _weights(layerName, className);

    public static KerasModelFile Open(string path)
    {
        byte[] bytes;
        try
        {
            long length = new FileInfo(path).Length;
            if (length > MaxFileBytes)
                throw new EdgeException($"{path}: {length} bytes is too large for a Keras model Edge can run (limit {MaxFileBytes})");
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EdgeException($"cannot read Keras model '{path}': {MessageText.Printable(e.Message, 200)}", e);
        }
        return Open(bytes, path);
    }

    public static KerasModelFile Open(byte[] bytes, string name)
    {
        if (bytes.Length >= 4 && bytes[0] == (byte)'P' && bytes[1] == (byte)'K')
            return OpenZip(bytes, name);
        var h5 = KerasHdf5.Open(bytes, name);
        try { return OpenLegacyH5(h5, name); }
        catch { h5.Dispose(); throw; }
    }

    // ── .h5 ──────────────────────────────────────────────────────────────────────────────────────

    private static KerasModelFile OpenLegacyH5(KerasHdf5 h5, string name)
    {
        var root = h5.Root;
        string? configJson = h5.StringAttribute(root, "model_config", "the file");
        if (configJson is null)
            throw new EdgeException(
                $"{name}: no 'model_config' attribute: this is a weights-only file (model.save_weights); save the whole model with model.save(...) instead");
        string version = h5.StringAttribute(root, "keras_version", "the file") ?? "2";
        if (configJson.Length > MaxJsonBytes)
            throw new EdgeException($"{name}: the model_config attribute holds {configJson.Length} characters (limit {MaxJsonBytes})");
        var config = ParseJson(configJson, $"{name}: model_config");
        var weightsGroup = h5.TryGroup(root, "model_weights")
            ?? throw new EdgeException($"{name}: the file has a model_config but no 'model_weights' group (saved with include_optimizer only?)");
        IReadOnlyList<KerasWeight>? Read(string layer, string className)
        {
            var g = h5.TryGroup(weightsGroup, layer);
            if (g is null) return null;
            var names = h5.StringListAttribute(g, "weight_names", $"model_weights/{layer}") ?? [];
            var result = new List<KerasWeight>(names.Length);
            foreach (var w in names)
            {
                var ds = h5.TryDataset(g, w)
                    ?? throw new EdgeException($"{name}: layer '{MessageText.Printable(layer)}' ({MessageText.Printable(className)}) lists weight '{MessageText.Printable(w)}', but the file has no dataset model_weights/{MessageText.Printable(layer)}/{MessageText.Printable(w)}");
                result.Add(h5.ReadFloats(ds, $"model_weights/{layer}/{w}"));
            }
            return result;
        }
        return new KerasModelFile(name, config, version, h5, Read);
    }

    // ── .keras ───────────────────────────────────────────────────────────────────────────────────

    private static KerasModelFile OpenZip(byte[] bytes, string name)
    {
        byte[] configBytes, metadataBytes, weightBytes;
        try
        {
            using var zip = new ZipArchive(new MemoryStream(bytes, writable: false), ZipArchiveMode.Read);
            configBytes = Entry(zip, "config.json", MaxJsonBytes, name) ?? throw new EdgeException($"{name}: the .keras zip has no config.json");
            metadataBytes = Entry(zip, "metadata.json", MaxJsonBytes, name) ?? [];
            weightBytes = Entry(zip, "model.weights.h5", MaxFileBytes, name)
                ?? throw new EdgeException($"{name}: the .keras zip has no model.weights.h5");
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            throw new EdgeException($"{name}: not a readable .keras zip (truncated or corrupt?): {MessageText.Printable(e.Message, 200)}", e);
        }
        var config = ParseJson(Encoding.UTF8.GetString(configBytes), $"{name}: config.json");
        string version = "3";
        if (metadataBytes.Length > 0)
        {
            using var meta = ParseJson(Encoding.UTF8.GetString(metadataBytes), $"{name}: metadata.json");
            if (meta.RootElement.ValueKind == JsonValueKind.Object && meta.RootElement.TryGetProperty("keras_version", out var v) && v.ValueKind == JsonValueKind.String)
                version = v.GetString()!;
        }
        var h5 = KerasHdf5.Open(weightBytes, $"{name}!model.weights.h5");
        try
        {
            var groups = MapLayerGroups(h5, config.RootElement);
            IReadOnlyList<KerasWeight>? Read(string layer, string className)
            {
                if (!groups.TryGetValue(layer, out var entry)) return null;
                var result = new List<KerasWeight>();
                Collect(h5, entry.Group, "layers/" + entry.Key, result, depth: 1);
                return result;
            }
            return new KerasModelFile(name, config, version, h5, Read);
        }
        catch
        {
            h5.Dispose();
            throw;
        }
    }

    /// <summary>Copies one zip entry into memory, refusing absurd declared sizes and compression ratios before allocating.</summary>
    private static byte[]? Entry(ZipArchive zip, string entryName, long limit, string name)
    {
        var e = zip.GetEntry(entryName);
        if (e is null) return null;
        if (e.Length > limit)
            throw new EdgeException($"{name}: zip entry '{entryName}' declares {e.Length} bytes (limit {limit}); refusing it");
        if (e.Length > (1 << 20) && e.Length > MaxCompressionRatio * Math.Max(e.CompressedLength, 1))
            throw new EdgeException(
                $"{name}: zip entry '{entryName}' expands {e.CompressedLength} bytes to {e.Length} (ratio over {MaxCompressionRatio}); refusing it as a zip bomb");
        var buffer = new byte[e.Length];
        using var s = e.Open();
        int read = 0;
        while (read < buffer.Length)
        {
            int n = s.Read(buffer, read, buffer.Length - read);
            if (n == 0) throw new EdgeException($"{name}: zip entry '{entryName}' ends after {read} of its {e.Length} bytes (truncated?)");
            read += n;
        }
        if (s.ReadByte() >= 0) throw new EdgeException($"{name}: zip entry '{entryName}' holds more than the {e.Length} bytes it declares");
        return buffer;
    }

    /// <summary>
    /// Maps configured layer names to their groups under <c>layers/</c>: through each group's <c>vars</c>
    /// attribute <c>name</c>, or, when a file lacks it, by re-deriving Keras 3's keys (snake-cased class name,
    /// "_1", "_2"... for repeats, in model.layers order, which leaves out a Sequential's InputLayer).
    /// </summary>
    private static Dictionary<string, (string Key, IH5Group Group)> MapLayerGroups(KerasHdf5 h5, JsonElement config)
    {
        var map = new Dictionary<string, (string, IH5Group)>(StringComparer.Ordinal);
        var layersGroup = h5.TryGroup(h5.Root, "layers");
        if (layersGroup is null) return map;
        var unnamed = new Dictionary<string, IH5Group>(StringComparer.Ordinal);
        foreach (var (key, obj) in h5.Children(layersGroup, "layers/"))
        {
            if (obj is not IH5Group g) continue;
            var vars = h5.TryGroup(g, "vars");
            string? layerName = vars is null ? null : h5.StringAttribute(vars, "name", $"layers/{key}/vars");
            if (layerName is not null) map[layerName] = (key, g);
            else unnamed[key] = g;
        }
        if (unnamed.Count == 0) return map;
        bool sequential = KerasJson.Str(config, "class_name") == "Sequential";
        var used = new Dictionary<string, int>(StringComparer.Ordinal);
        if (KerasJson.Get(config, "config") is { } c && KerasJson.Get(c, "layers") is { ValueKind: JsonValueKind.Array } layers)
        {
            foreach (var layer in layers.EnumerateArray())
            {
                string cls = KerasJson.Str(layer, "class_name") ?? "";
                if (sequential && cls == "InputLayer") continue;
                string key = SnakeCase(cls);
                if (used.TryGetValue(key, out int n)) { used[key] = n + 1; key = $"{key}_{n + 1}"; }
                else used[key] = 0;
                string? layerName = KerasJson.Get(layer, "config") is { } lc ? KerasJson.Str(lc, "name") : null;
                if (layerName is not null && !map.ContainsKey(layerName) && unnamed.TryGetValue(key, out var g))
                    map[layerName] = (key, g);
            }
        }
        return map;
    }

    /// <summary>keras.src.utils.naming.to_snake_case.</summary>
    internal static string SnakeCase(string name)
    {
        name = Regex.Replace(name, "(.)([A-Z][a-z]+)", "$1_$2");
        return Regex.Replace(name, "([a-z])([A-Z])", "$1_$2").ToLowerInvariant();
    }

    /// <summary>The layer's own vars (numeric order), then those of its sub-objects (cell, layer, ...) by name.</summary>
    private static void Collect(KerasHdf5 h5, IH5Group group, string path, List<KerasWeight> into, int depth)
    {
        if (depth > MaxGroupDepth)
            throw new EdgeException($"{h5.Name}: groups nest deeper than {MaxGroupDepth} levels at {MessageText.Printable(path, 200)} (does a link loop back?)");
        var children = h5.Children(group, path);
        if (children.FirstOrDefault(c => c.Name == "vars").Object is IH5Group vars)
        {
            var datasets = h5.Children(vars, path + "/vars")
                .Select(c => (Index: int.TryParse(c.Name, out int i) ? i : -1, c.Name, c.Object))
                .OrderBy(c => c.Index).ToList();
            foreach (var (index, n, obj) in datasets)
            {
                if (index < 0 || obj is not IH5Dataset ds)
                    throw new EdgeException($"{h5.Name}: unexpected member '{MessageText.Printable(n)}' in {MessageText.Printable(path, 200)}/vars (Keras numbers weights 0, 1, ...)");
                into.Add(h5.ReadFloats(ds, $"{path}/vars/{n}"));
            }
        }
        foreach (var (n, obj) in children.OrderBy(c => c.Name, StringComparer.Ordinal))
            if (n != "vars" && obj is IH5Group sub)
                Collect(h5, sub, $"{path}/{n}", into, depth + 1);
    }

    private static JsonDocument ParseJson(string json, string what)
    {
        try { return JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 256 }); }
        catch (JsonException e) { throw new EdgeException($"{what} is not valid JSON: {MessageText.Printable(e.Message, 200)}", e); }
    }
}
