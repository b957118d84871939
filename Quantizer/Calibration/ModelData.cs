using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Edge.Runtime;
using Edge.Runtime.Contract;
using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;
using Edge.Cli;

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
internal sealed class ModelData
{
    private ModelData(Dictionary<string, Tensor> inputs, Tensor? targets, string? targetsFile, IReadOnlyList<DataFile> files, int samples, int count,
        int? fixedBatch, IReadOnlyList<string> warnings)
    {
        FixedBatch = fixedBatch;
        Warnings = warnings;
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

    /// <summary>The batch the graph's inputs are declared with (an export without a dynamic batch axis), or null.</summary>
    public int? FixedBatch { get; }

    /// <summary>What the user should know about how the data was read (one line each).</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>Samples per model run: the fixed batch when the graph has one, else <paramref name="batchSize"/>.</summary>
    public int RunBatch(int batchSize) => FixedBatch ?? batchSize;

    public bool FromRecording => Files.Any(f => f.Kind == "recording");

    /// <summary>
    /// The inputs of samples [start, start + count); for a graph with a fixed batch, a short last batch is filled up
    /// with copies of its last sample (their outputs are dropped, and a copy cannot widen a calibration range).
    /// </summary>
    public Dictionary<string, Tensor> Batch(int start, int count) =>
        Inputs.ToDictionary(kv => kv.Key, kv => Windowing.Rows(kv.Value, start, count, FixedBatch ?? count), StringComparer.Ordinal);

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
    public static ModelData Load(IReadOnlyList<string> specs, string? targetsPath, IReadOnlyList<ValueInfo> inputs, IReadOnlyList<ValueInfo> outputs, JsonObject metadata,
        string option = "--data", string targetsOption = "--targets", Graph? graph = null)
    {
        ArgumentNullException.ThrowIfNull(specs);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        ArgumentNullException.ThrowIfNull(metadata);
        if (specs.Count == 0) throw new EdgeException($"{option}: no data file given");
        var contract = ModelContract.Parse(metadata);
        var warnings = new List<string>();
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
            if (!File.Exists(file)) throw new EdgeException($"{option}: no such file '{file}'");
            string ext = Path.GetExtension(file).ToLowerInvariant();
            string sha = Sha256(file);
            bool recordingInput = info.DataType == DataType.Float32 && info.Shape.Length == 3;
            if (ext == ".csv")
            {
                if (!recordingInput || inputs.Count != 1)
                    throw new EdgeException($"{option} {file}: a CSV recording needs a model with one float input (N, window, features); input '{info.Name}' is {info.DataType.Name()}{info.ShapeString}");
                CsvRecording.Recording rec;
                try { rec = CsvRecording.Read(file, contract.Features?.Select(f => f.Name).ToList()); }
                catch (EdgeException e) { throw new EdgeException($"{option}: {e.Message}", e); }
                (tensors[info.Name], targets, samples) = WindowsFromRecording(rec.Values, rec.Rows, rec.Columns.Length, Path.GetFileName(file), info, outputs, contract, option, warnings, graph);
                targetsFile = "recording";
                files.Add(new DataFile(info.Name, Path.GetFileName(file), sha, "recording"));
            }
            else if (ext == ".npy")
            {
                Tensor t;
                try { t = Npy.Read(file); }
                catch (EdgeException e) { throw new EdgeException($"{option}: {e.Message}", e); }
                if (t.Rank == info.Shape.Length)
                {
                    CheckShape(t, info, file);
                    tensors[info.Name] = t;
                    files.Add(new DataFile(info.Name, Path.GetFileName(file), sha, "inputs"));
                }
                else if (recordingInput && inputs.Count == 1 && t.Rank == 2 && t.DataType == DataType.Float32)
                {
                    var values = t.Contiguous().ReadOnlySpan<float>().ToArray();
                    (tensors[info.Name], targets, samples) = WindowsFromRecording(values, t.Dim(0), t.Dim(1), Path.GetFileName(file), info, outputs, contract, option, warnings, graph);
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
            if (!File.Exists(targetsPath)) throw new EdgeException($"{targetsOption}: no such file '{targetsPath}'");
            try { targets = Npy.Read(targetsPath); }
            catch (EdgeException e) { throw new EdgeException($"{targetsOption}: {e.Message}", e); }
            if (targets.Rank == 0 || targets.Dim(0) != n)
                throw new EdgeException($"{targetsOption} {targetsPath}: {targets.ShapeString} does not have one row per sample ({n})");
            targetsFile = Path.GetFileName(targetsPath);
        }
        int? fixedBatch = null;
        var declared = inputs.Where(i => i.Shape.Length >= 2 && i.Shape[0] > 0).Select(i => i.Shape[0]).Distinct().ToList();
        if (declared.Count == 1 && inputs.All(i => i.Shape.Length >= 2 && i.Shape[0] > 0)) fixedBatch = declared[0];
        return new ModelData(tensors, targets, targetsFile, files, samples < 0 ? n : samples, n, fixedBatch, warnings);
    }

    private static (Tensor Windows, Tensor Targets, int Rows) WindowsFromRecording(float[] values, int rows, int features, string file, ValueInfo input,
        IReadOnlyList<ValueInfo> outputs, ModelContract contract, string option, List<string> notes, Graph? graph)
    {
        int modelFeatures = input.Shape[2];
        if (modelFeatures > 0 && features != modelFeatures)
            throw new EdgeException($"{option} {file}: {features} feature columns, but input '{input.Name}' {input.ShapeString} takes {modelFeatures}");
        if (contract.Normalization is { } given)
        {
            var norm = given.ForFeatures(features)
                ?? throw new EdgeException($"{option} {file}: {features} features, but the metadata's normalization has {given.Features}");
            norm.NormalizeRows(values); // the same float32 operations as the device pipeline (Edge.Runtime.Contract.Normalization)
        }
        else
            notes.Add($"{option} {file}: the metadata has no \"normalization\", so the recording's values go to the model as they are; "
                + "if the model was trained on scaled values, give the scaling in --metadata (\"normalization\": {\"kind\": \"none\"} says raw values are right)");
        int window = WindowLength(contract, input);
        int[] targets = contract.TargetIndices(features);
        var output = ForecastOutput(outputs, contract);
        if (graph is not null && !IsStatic(output) && rows >= window)
            output = output with { Shape = ProbeOutputShape(graph, input, output, values.AsSpan(0, window * features), window, features) };
        int steps = ModelSteps(output, contract, targets.Length);
        try
        {
            var (w, t) = Windowing.Cut(values, rows, features, window, steps);
            return (w, SelectTargets(t, targets, output), rows);
        }
        catch (EdgeException e)
        {
            throw new EdgeException($"{option} {file}: {e.Message}", e);
        }
    }

    private static bool IsStatic(ValueInfo output) => output.Shape.Length >= 2 && output.Shape.Skip(1).All(d => d > 0);

    /// <summary>
    /// The forecast output's shape per sample when the graph declares it dynamic (a Reshape with -1, say): one run
    /// of the fp32 graph on the recording's first window (repeated to a fixed batch) says what it is.
    /// </summary>
    private static int[] ProbeOutputShape(Graph graph, ValueInfo input, ValueInfo output, ReadOnlySpan<float> firstWindow, int window, int features)
    {
        int batch = input.Shape[0] > 0 ? input.Shape[0] : 1;
        var x = new float[batch * window * features];
        for (int b = 0; b < batch; b++) firstWindow.CopyTo(x.AsSpan(b * firstWindow.Length));
        var session = new Session(graph);
        var y = session.Run(new Dictionary<string, Tensor>(StringComparer.Ordinal) { [input.Name] = Tensor.FromArray(x, batch, window, features) })[output.Name];
        if (y.Rank < 2 || y.Dim(0) != batch)
            throw new EdgeException($"output '{output.Name}' is {y.ShapeString} for a batch of {batch} window(s): no batch axis to compare forecasts along");
        var shape = y.ShapeArray();
        shape[0] = ValueInfo.Dynamic;
        return shape;
    }

    /// <summary>The output that holds the forecast: the graph's one output that is not a state output.</summary>
    public static ValueInfo ForecastOutput(IReadOnlyList<ValueInfo> outputs, ModelContract contract)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        ArgumentNullException.ThrowIfNull(contract);
        var candidates = outputs.Where(o => !(contract.State ?? []).Any(p => p.Output == o.Name)).ToList();
        return candidates.Count >= 1 ? candidates[0] : throw new EdgeException("the model has no output that could hold the forecast");
    }

    /// <summary>
    /// Steps one run of the model forecasts: its output's values per window over the target count, so that (N, F),
    /// (N, 1, F), (N, H, F) and (N, H * F) all work; the metadata's "horizon" only where the output's shape is dynamic.
    /// </summary>
    public static int ModelSteps(ValueInfo output, ModelContract contract, int targets)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(contract);
        var perSample = output.Shape.Skip(1).ToArray();
        if (output.Shape.Length >= 2 && perSample.All(d => d > 0))
        {
            long length = perSample.Aggregate(1L, (a, d) => a * d);
            if (length % targets != 0)
                throw new EdgeException($"output '{output.Name}' {output.ShapeString} holds {length} value(s) per window, not whole steps of the {targets} forecast feature(s); set \"targets\" in the metadata to the features it forecasts");
            return (int)(length / targets);
        }
        return contract.Horizon ?? (output.Shape.Length == 3 && output.Shape[1] > 0 ? output.Shape[1] : 1);
    }

    /// <summary>Targets (N, H, F) of every feature -> the target features only, shaped like the output where its shape is static.</summary>
    private static Tensor SelectTargets(Tensor all, int[] targets, ValueInfo output)
    {
        int n = all.Dim(0), h = all.Dim(1), f = all.Dim(2);
        var src = all.ReadOnlySpan<float>();
        var dst = new float[n * h * targets.Length];
        int k = 0;
        for (int r = 0; r < n * h; r++)
            foreach (int t in targets) dst[k++] = src[r * f + t];
        var perSample = output.Shape.Skip(1).ToArray();
        int[] shape = output.Shape.Length >= 2 && perSample.All(d => d > 0) ? [n, .. perSample] : [n, h, targets.Length];
        return Tensor.FromArray(dst, shape);
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

    /// <summary>The contract's "window", else the input's static time axis; they must agree.</summary>
    public static int WindowLength(ModelContract contract, ValueInfo input)
    {
        ArgumentNullException.ThrowIfNull(contract);
        ArgumentNullException.ThrowIfNull(input);
        int fromShape = input.Shape.Length == 3 ? input.Shape[1] : -1;
        if (contract.Window is int m && fromShape > 0 && m != fromShape)
            throw new EdgeException($"metadata window {m} does not match input '{input.Name}' {input.ShapeString}");
        return contract.Window ?? (fromShape > 0 ? fromShape
            : throw new EdgeException($"input '{input.Name}' {input.ShapeString} has a dynamic time axis and the metadata has no \"window\": cannot cut a recording into windows"));
    }

    private static string Sha256(string path)
    {
        using var fs = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(fs));
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Count} {(FromRecording ? "windows" : "samples")} from {string.Join(", ", Files.Select(f => f.File))}");
}
