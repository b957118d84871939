using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.Quantizer.Calibration;
using Edge.Quantizer.Evaluation;
using Edge.Quantizer.Import;
using Edge.Quantizer.Quantization;
using Edge.Quantizer.Report;
using Edge.Runtime;
using Edge.Runtime.Contract;
using Edge.Runtime.Format;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Quantizer;

public enum Precision
{
    Fp32,
    Int8,
}

public sealed record ConvertOptions(
    string ModelPath,
    string OutputPath,
    Precision Precision = Precision.Fp32,
    IReadOnlyDictionary<string, string>? Freeze = null,
    string? ModelName = null,
    string? SpecPath = null,
    string? MetadataPath = null)
{
    /// <summary>`--calibration`: a recording (.csv, .npy (T, features)) or model inputs (.npy), "NAME=FILE" per input for several inputs.</summary>
    public IReadOnlyList<string> Calibration { get; init; } = [];

    /// <summary>`--eval-data`: data for the accuracy report of an int8 conversion (default: the calibration data).</summary>
    public IReadOnlyList<string> EvalData { get; init; } = [];

    /// <summary>`--eval-targets`: targets for ready-made evaluation inputs (class ids, or next values).</summary>
    public string? EvalTargets { get; init; }

    /// <summary>Samples per run during calibration and evaluation.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>`--allow-nonfinite`: keep NaN/infinite weights in an fp32 blob (with a warning) instead of refusing.</summary>
    public bool AllowNonFinite { get; init; }
}

/// <summary>Model file -> IR -> `.edge` blob, with the metadata the runtime and the device need.</summary>
internal static class Converter
{
    public static string Version { get; } =
        typeof(Converter).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    /// <param name="progress">where a long calibration or evaluation shows progress (stderr), or null.</param>
    public static Graph Convert(ConvertOptions options, TextWriter? log = null, TextWriter? progress = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        // Every file option is checked before the (possibly long) import, and named in its error.
        if (options.MetadataPath is not null && !File.Exists(options.MetadataPath)) throw new EdgeException($"--metadata: no such file '{options.MetadataPath}'");
        if (options.EvalTargets is not null && !File.Exists(options.EvalTargets)) throw new EdgeException($"--eval-targets: no such file '{options.EvalTargets}'");
        var frozen = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        if (options.Freeze is not null)
            foreach (var (name, file) in options.Freeze)
            {
                if (!File.Exists(file)) throw new EdgeException($"--freeze {name}: no such file '{file}'");
                try { frozen[name] = Npy.Read(file); }
                catch (EdgeException e) { throw new EdgeException($"--freeze {name}: {e.Message}", e); }
            }

        log?.WriteLine($"importing {options.ModelPath}");
        var graph = ModelImporter.Import(options.ModelPath, frozen, options.SpecPath, log);
        graph.Validate();
        NonFiniteWeights.Check(graph, options.ModelPath, options.Precision, options.AllowNonFinite, progress ?? log);
        if (options.ModelName is { Length: > 0 } n) graph.Name = n;
        else if (graph.Name is "" or "model" or "main_graph" or "torch-jit-export" or "torch_jit") graph.Name = Path.GetFileNameWithoutExtension(options.ModelPath);

        // Metadata first: recordings are normalized and windowed the way it says (features, normalization, window).
        var metadata = BuildMetadata(graph, options);
        if (options.MetadataPath is not null) MergeUserMetadata(metadata, options.MetadataPath, graph);
        ModelData? calibration = null;
        var warn = progress ?? log;
        if (options.Calibration.Count > 0)
        {
            calibration = ModelData.Load(options.Calibration, null, graph.Inputs, graph.Outputs, metadata, "--calibration", graph: graph);
            foreach (var w in calibration.Warnings) warn?.WriteLine($"warning: {w}");
            var ranges = Calibrator.Calibrate(graph, calibration, options.BatchSize, progress);
            metadata["provenance"]!["calibration"] = Calibrator.Summary(calibration, ranges, options.BatchSize);
            log?.WriteLine($"calibrated {ranges.Count} activation ranges on {calibration}");
        }
        ModelData? evalData = options.EvalData.Count > 0
            ? ModelData.Load(options.EvalData, options.EvalTargets, graph.Inputs, graph.Outputs, metadata, "--eval-data", "--eval-targets", graph)
            : calibration;
        if (options.EvalData.Count > 0) foreach (var w in evalData!.Warnings) warn?.WriteLine($"warning: {w}");
        Graph? fp32 = options.Precision == Precision.Int8 && evalData is not null ? Calibrator.Snapshot(graph) : null;

        IReadOnlyList<QuantizedWeightReport> quantized = [];
        if (options.Precision == Precision.Int8)
        {
            quantized = ModelQuantizer.QuantizeWeights(graph);
            log?.WriteLine($"quantized {quantized.Count} weight matrices to int8 (per-row symmetric); lowest weight SQNR {(quantized.Count == 0 ? "n/a" : quantized.Min(q => q.SqnrDb).ToString("F1", CultureInfo.InvariantCulture) + " dB")}");
            foreach (var t in quantized.Where(q => q.Kind == OpKind.Embedding))
                log?.WriteLine($"embedding table '{t.Name}' ({string.Join(", ", t.Shape)}) is int8, one scale per row");
        }
        if (quantized.Count > 0)
            metadata["quantization"] = new JsonObject
            {
                ["scheme"] = "int8 per-row symmetric",
                ["weights"] = new JsonArray(quantized.Select(q =>
                {
                    var entry = new JsonObject
                    {
                        ["name"] = q.Name,
                        ["node"] = q.Node,
                        ["rows"] = q.Rows,
                        ["sqnr_db"] = double.IsFinite(q.SqnrDb) ? Math.Round(q.SqnrDb, 2) : null,
                    };
                    if (q.Kind == OpKind.Embedding) entry["role"] = "embedding table";
                    return (JsonNode)entry;
                }).ToArray()),
            };
        string? dir = Path.GetDirectoryName(Path.GetFullPath(options.OutputPath));
        if (dir is not null) Directory.CreateDirectory(dir);
        AccuracyReport? report = null;
        if (fp32 is not null && evalData is not null)
        {
            // The in-memory int8 graph is the one written below: the same Session code runs both. The report is
            // made before the blob (the blob stores its summary); if it fails, nothing is written and the message says so.
            try
            {
                report = Evaluator.Evaluate(new EvaluationInput(fp32, graph, metadata, evalData, Path.GetFileName(options.ModelPath), Path.GetFileName(options.OutputPath))
                {
                    BatchSize = options.BatchSize,
                    Weights = quantized,
                }, progress);
            }
            catch (EdgeException e)
            {
                throw new EdgeException($"accuracy report: {e.Message}; nothing was written (convert without --calibration/--eval-data writes the blob without a report)", e);
            }
            metadata["provenance"]!["accuracy"] = report.Summary();
        }
        EdgeBlob.Write(options.OutputPath, graph, metadata);
        log?.WriteLine($"wrote {options.OutputPath}: {graph.Nodes.Count} nodes, {graph.ParameterCount.ToString("N0", CultureInfo.InvariantCulture)} parameters, {new FileInfo(options.OutputPath).Length.ToString("N0", CultureInfo.InvariantCulture)} bytes");
        if (report is not null)
        {
            report.Int8Bytes = new FileInfo(options.OutputPath).Length;
            var (json, html) = ReportFiles.PathsFor(options.OutputPath);
            try
            {
                ReportFiles.WriteJson(report, json);
                ReportFiles.WriteHtml(report, html);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new EdgeException($"wrote {options.OutputPath}, but not its accuracy report: {e.Message}", e);
            }
            if (log is not null)
            {
                TextReport.Write(report, log);
                log.WriteLine($"wrote {json} and {html}");
            }
        }
        return graph;
    }

    /// <summary>Keys Edge writes itself; a user's metadata file may not replace them.</summary>
    public static readonly string[] ReservedMetadataKeys = ["format_version", "model_name", "inputs", "outputs", "precision", "provenance", "quantization"];

    /// <summary>
    /// Merges a user's JSON object (the model contract: features and units, targets, normalization, sample period,
    /// window, horizon, task, state; see docs/config.md) into the blob's metadata, after checking it: unknown keys,
    /// forms and ranges (<see cref="ModelContract.Parse"/>, strict) and, with <paramref name="graph"/>, the feature
    /// count, statistics' lengths, window and targets against the graph's input and output.
    /// </summary>
    public static void MergeUserMetadata(JsonObject metadata, string path, Graph? graph = null)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        if (!File.Exists(path)) throw new EdgeException($"--metadata: no such file '{path}'");
        string origin = $"--metadata {Path.GetFileName(path)}";
        JsonNode? parsed;
        // A key written twice is refused here (JsonException): JsonObject would throw ArgumentException on first use.
        try { parsed = JsonNode.Parse(File.ReadAllText(path), documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false, MaxDepth = 64 }); }
        catch (System.Text.Json.JsonException e) { throw new EdgeException($"{origin}: not valid JSON: {e.Message}", e); }
        if (parsed is not JsonObject user) throw new EdgeException($"{origin}: expected a JSON object of metadata keys");
        foreach (var (key, _) in user)
            if (ReservedMetadataKeys.Contains(key))
                throw new EdgeException($"{origin}: '{key}' is written by edge-quantize itself and cannot be set; reserved: {string.Join(", ", ReservedMetadataKeys)}");
        var contract = ModelContract.Parse(user, origin, strict: true);
        if (graph is not null) contract.CheckAgainst(graph, origin);
        foreach (var (key, value) in user.ToList()) metadata[key] = value?.DeepClone();
    }

    private static string Sha256(string path)
    {
        using var fs = File.OpenRead(path);
        return System.Convert.ToHexStringLower(SHA256.HashData(fs));
    }

    public static JsonObject BuildMetadata(Graph graph, ConvertOptions options)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(options);
        string sha = Sha256(options.ModelPath);
        static JsonArray Values(IEnumerable<ValueInfo> vs) => new(vs.Select(v => (JsonNode)new JsonObject
        {
            ["name"] = v.Name,
            ["dtype"] = v.DataType.Name(),
            ["shape"] = new JsonArray(v.Shape.Select(d => (JsonNode)JsonValue.Create(d)).ToArray()),
        }).ToArray());
        var frozen = new JsonArray((options.Freeze ?? new Dictionary<string, string>()).Keys.Order(StringComparer.Ordinal).Select(k => (JsonNode)JsonValue.Create(k)).ToArray());
        var metadata = new JsonObject
        {
            ["model_name"] = graph.Name,
            ["inputs"] = Values(graph.Inputs),
            ["outputs"] = Values(graph.Outputs),
            ["precision"] = options.Precision.ToString().ToLowerInvariant(),
            ["provenance"] = new JsonObject
            {
                ["source_file"] = Path.GetFileName(options.ModelPath),
                ["source_sha256"] = sha,
                ["source_format"] = Path.GetExtension(options.ModelPath).TrimStart('.').ToLowerInvariant(),
                ["quantizer"] = "edge-quantize " + Version,
                ["frozen_inputs"] = frozen,
            },
        };
        if (options.SpecPath is not null)
        {
            var provenance = metadata["provenance"]!.AsObject();
            provenance["spec_file"] = Path.GetFileName(options.SpecPath);
            provenance["spec_sha256"] = Sha256(options.SpecPath);
        }
        return metadata;
    }
}
