using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Edge.Runtime;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;
using Edge.Runtime.Tooling;

namespace Edge.Quantizer.Calibration;

/// <summary>One file the data came from.</summary>
public sealed record DataFile(string Input, string File, string Sha256, string Kind);

/// <summary>
/// Samples to run a model on (calibration or evaluation): every graph input as a tensor whose axis 0
/// counts samples, and optionally their targets (the real next values for a forecaster, class ids
/// for a classifier). Loaded from `--calibration` / `--data` files:
/// <list type="bullet">
/// <item>`.npy` with the input's rank: ready model inputs (N, ...), used as they are (already normalized);</item>
/// <item>`.npy` (T, features) or `.csv` for a model with one float input (N, window, features): a
///   recording, normalized with the metadata's normalization and cut into windows with the next
///   sample(s) as targets (<see cref="Windowing.Cut"/>).</item>
/// </list>
/// </summary>
public sealed class ModelData
{
    private ModelData(Dictionary<string, Tensor> inputs, Tensor? targets, string? targetsFile, IReadOnlyList<DataFile> files, int samples, int count)
    {
        Inputs = inputs;
        Targets = targets;
        TargetsFile = targetsFile;
        Files = files;
        Samples = samples;
        Count = count;
    }

    public IReadOnlyDictionary<string, Tensor> Inputs { get; }

    /// <summary>Targets aligned with the inputs' axis 0 (normalized like the model's outputs), or null.</summary>
    public Tensor? Targets { get; }

    /// <summary>Where <see cref="Targets"/> came from: a file name, or "recording" (the next samples).</summary>
    public string? TargetsFile { get; }

    public IReadOnlyList<DataFile> Files { get; }

    /// <summary>Rows of the recording, or N for ready inputs.</summary>
    public int Samples { get; }

    /// <summary>N: model inputs (windows) along axis 0.</summary>
    public int Count { get; }

    public bool FromRecording => Files.Any(f => f.Kind == "recording");

    /// <summary>The inputs of samples [start, start + count).</summary>
    public Dictionary<string, Tensor> Batch(int start, int count) =>
        Inputs.ToDictionary(kv => kv.Key, kv => Windowing.Rows(kv.Value, start, count), StringComparer.Ordinal);

    /// <summary>The calibration summary stored in metadata: counts and where the data came from.</summary>
    public JsonObject Summary() => new()
    {
        ["samples"] = Samples,
        ["windows"] = Count,
        ["files"] = new JsonArray(Files.Select(f => (JsonNode)new JsonObject
        {
            ["input"] = f.Input,
            ["file"] = f.File,
            ["kind"] = f.Kind,
            ["sha256"] = f.Sha256,
        }).ToArray()),
    };

    /// <summary>
    /// Reads <paramref name="specs"/> ("FILE" for a one-input model, else "NAME=FILE" per input) for a
    /// model with <paramref name="inputs"/> and <paramref name="outputs"/>; <paramref name="metadata"/>
    /// gives features, normalization, window and horizon for recordings.
    /// </summary>
    public static ModelData Load(IReadOnlyList<string> specs, string? targetsPath, IReadOnlyList<ValueInfo> inputs, IReadOnlyList<ValueInfo> outputs, JsonObject metadata, string option = "--data")
    {
        ArgumentNullException.ThrowIfNull(specs);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        ArgumentNullException.ThrowIfNull(metadata);
        if (specs.Count == 0) throw new EdgeException($"{option}: no data file given");
        var byInput = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var spec in specs)
        {
            var (name, file) = CliSupport.ParseNamedFile(spec, option);
            if (name is null)
            {
                if (inputs.Count != 1)
                    throw new EdgeException($"{option} {file}: the model has {inputs.Count} inputs ({string.Join(", ", inputs.Select(i => i.Name))}); give {option} NAME=FILE for each");
                name = inputs[0].Name;
            }
            if (!inputs.Any(i => i.Name == name))
                throw new EdgeException($"{option} {spec}: '{name}' is not an input of the model; inputs are: {string.Join(", ", inputs)}");
            if (!byInput.TryAdd(name, file)) throw new EdgeException($"{option}: input '{name}' is given twice");
        }
        foreach (var i in inputs)
            if (!byInput.ContainsKey(i.Name)) throw new EdgeException($"{option}: no data for input '{i.Name}' {i.DataType.Name()}{i.ShapeString}; give {option} {i.Name}=FILE");

        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var files = new List<DataFile>();
        Tensor? targets = null;
        string? targetsFile = null;
        int samples = -1;
        foreach (var info in inputs)
        {
            string file = byInput[info.Name];
            if (!File.Exists(file)) throw new EdgeException($"{option} {file}: no such file");
            string ext = Path.GetExtension(file).ToLowerInvariant();
            string sha = Sha256(file);
            bool recordingInput = info.DataType == DataType.Float32 && info.Shape.Length == 3;
            if (ext == ".csv")
            {
                if (!recordingInput || inputs.Count != 1)
                    throw new EdgeException($"{option} {file}: a CSV recording needs a model with one float input (N, window, features); input '{info.Name}' is {info.DataType.Name()}{info.ShapeString}");
                var rec = CsvRecording.Read(file, FeatureNames(metadata));
                (tensors[info.Name], targets, samples) = WindowsFromRecording(rec.Values, rec.Rows, rec.Columns.Length, Path.GetFileName(file), info, outputs, metadata);
                targetsFile = "recording";
                files.Add(new DataFile(info.Name, Path.GetFileName(file), sha, "recording"));
            }
            else if (ext == ".npy")
            {
                var t = Npy.Read(file);
                if (t.Rank == info.Shape.Length)
                {
                    CheckShape(t, info, file);
                    tensors[info.Name] = t;
                    files.Add(new DataFile(info.Name, Path.GetFileName(file), sha, "inputs"));
                }
                else if (recordingInput && inputs.Count == 1 && t.Rank == 2 && t.DataType == DataType.Float32)
                {
                    var values = t.Contiguous().ReadOnlySpan<float>().ToArray();
                    (tensors[info.Name], targets, samples) = WindowsFromRecording(values, t.Dim(0), t.Dim(1), Path.GetFileName(file), info, outputs, metadata);
                    targetsFile = "recording";
                    files.Add(new DataFile(info.Name, Path.GetFileName(file), sha, "recording"));
                }
                else
                {
                    string recording = recordingInput && inputs.Count == 1 ? " or a recording (T, features)" : "";
                    throw new EdgeException($"{option} {file}: {t.DataType.Name()}{t.ShapeString} does not fit input '{info.Name}' {info.DataType.Name()}{info.ShapeString}; expected model inputs (N, ...){recording}");
                }
            }
            else throw new EdgeException($"{option} {file}: unknown data format '{ext}'; expected .npy or .csv");
        }

        int n = tensors[inputs[0].Name].Dim(0);
        foreach (var (name, t) in tensors)
            if (t.Dim(0) != n)
                throw new EdgeException($"{option}: input '{name}' has {t.Dim(0)} samples but '{inputs[0].Name}' has {n}; every input needs the same count");
        if (n == 0) throw new EdgeException($"{option}: the data holds no samples");

        if (targetsPath is not null)
        {
            if (!File.Exists(targetsPath)) throw new EdgeException($"--targets {targetsPath}: no such file");
            targets = Npy.Read(targetsPath);
            if (targets.Rank == 0 || targets.Dim(0) != n)
                throw new EdgeException($"--targets {targetsPath}: {targets.ShapeString} does not have one row per sample ({n})");
            targetsFile = Path.GetFileName(targetsPath);
        }
        return new ModelData(tensors, targets, targetsFile, files, samples < 0 ? n : samples, n);
    }

    private static (Tensor Windows, Tensor Targets, int Rows) WindowsFromRecording(float[] values, int rows, int features, string file, ValueInfo input, IReadOnlyList<ValueInfo> outputs, JsonObject metadata)
    {
        int modelFeatures = input.Shape[2];
        if (modelFeatures > 0 && features != modelFeatures)
            throw new EdgeException($"{file}: {features} feature columns, but input '{input.Name}' {input.ShapeString} takes {modelFeatures}");
        var norm = Normalization.FromMetadata(metadata);
        if (norm is not null)
        {
            if (norm.Features != features) throw new EdgeException($"{file}: {features} features, but the metadata's normalization has {norm.Features}");
            norm.Apply(values);
        }
        int window = WindowLength(metadata, input);
        int horizon = Horizon(metadata, outputs);
        try
        {
            var (w, t) = Windowing.Cut(values, rows, features, window, horizon);
            return (w, t, rows);
        }
        catch (EdgeException e)
        {
            throw new EdgeException($"{file}: {e.Message}", e);
        }
    }

    private static void CheckShape(Tensor t, ValueInfo info, string file)
    {
        bool intToInt = t.DataType is DataType.Int32 or DataType.Int64 && info.DataType is DataType.Int32 or DataType.Int64;
        if (t.DataType != info.DataType && !intToInt)
            throw new EdgeException($"{file}: holds {t.DataType.Name()}, input '{info.Name}' takes {info.DataType.Name()}{info.ShapeString}");
        for (int d = 1; d < t.Rank; d++)
            if (info.Shape[d] >= 0 && info.Shape[d] != t.Shape[d])
                throw new EdgeException($"{file}: {t.ShapeString} does not fit input '{info.Name}' {info.ShapeString} (axis {d})");
    }

    /// <summary>metadata "features": a list of names, or of objects with "name" (and "unit"); null when absent.</summary>
    public static IReadOnlyList<string>? FeatureNames(JsonObject metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        if (metadata["features"] is not JsonArray a || a.Count == 0) return null;
        return a.Select((f, i) => f switch
        {
            JsonValue v when v.TryGetValue(out string? s) => s!,
            JsonObject o when o["name"] is JsonValue v && v.TryGetValue(out string? s) => s!,
            _ => throw new EdgeException($"metadata 'features'[{i}] is neither a name nor an object with a \"name\""),
        }).ToArray();
    }

    /// <summary>metadata "features"[i]["unit"], or "".</summary>
    public static string FeatureUnit(JsonObject metadata, int i)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        return metadata["features"] is JsonArray a && i < a.Count && a[i] is JsonObject o && o["unit"] is JsonValue v && v.TryGetValue(out string? s) ? s! : "";
    }

    /// <summary>metadata "window" (or "window_length"), else the input's static time axis.</summary>
    public static int WindowLength(JsonObject metadata, ValueInfo input)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        ArgumentNullException.ThrowIfNull(input);
        int? fromMeta = Int(metadata, "window") ?? Int(metadata, "window_length");
        int fromShape = input.Shape.Length == 3 ? input.Shape[1] : -1;
        if (fromMeta is int m && fromShape > 0 && m != fromShape)
            throw new EdgeException($"metadata window {m} does not match input '{input.Name}' {input.ShapeString}");
        return fromMeta ?? (fromShape > 0 ? fromShape
            : throw new EdgeException($"input '{input.Name}' {input.ShapeString} has a dynamic time axis and the metadata has no \"window\": cannot cut a recording into windows"));
    }

    /// <summary>metadata "horizon", else the forecast output's static time axis, else 1.</summary>
    public static int Horizon(JsonObject metadata, IReadOnlyList<ValueInfo> outputs)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        ArgumentNullException.ThrowIfNull(outputs);
        if (Int(metadata, "horizon") is int h) return h;
        return outputs.Count > 0 && outputs[0].Shape.Length == 3 && outputs[0].Shape[1] > 0 ? outputs[0].Shape[1] : 1;
    }

    private static int? Int(JsonObject metadata, string key)
    {
        if (metadata[key] is not JsonValue v) return null;
        if (v.TryGetValue(out int i)) return i;
        if (v.TryGetValue(out double d) && d == Math.Floor(d) && d is > 0 and < int.MaxValue) return (int)d;
        throw new EdgeException($"metadata '{key}' = {v.ToJsonString()} is not a whole number");
    }

    private static string Sha256(string path)
    {
        using var fs = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(fs));
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Count} {(FromRecording ? "windows" : "samples")} from {string.Join(", ", Files.Select(f => f.File))}");
}
