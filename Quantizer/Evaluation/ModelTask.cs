using System.Text.Json.Nodes;
using Edge.Runtime;
using Edge.Runtime.Contract;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Quantizer.Evaluation;

public enum TaskKind
{
    /// <summary>Only the per-output fp32 vs int8 comparison applies.</summary>
    Generic,

    /// <summary>One float input (N, window, features) -> the next sample(s) (N, horizon, features).</summary>
    Forecaster,

    /// <summary>Integer token inputs -> class logits (N, D, C) or (N, C).</summary>
    Classifier,

    /// <summary>Two inputs (context, candidate) -> one score per pair (N, 1).</summary>
    DualEncoder,
}

/// <summary>What kind of model this is, and how that was decided (the report says which).</summary>
internal sealed record ModelTask(TaskKind Kind, string DetectedFrom)
{
    public string Name => Kind switch
    {
        TaskKind.Forecaster => "forecaster",
        TaskKind.Classifier => "classifier",
        TaskKind.DualEncoder => "dual_encoder",
        _ => "generic",
    };

    /// <summary>metadata "task" when present (forecaster | classifier | dual_encoder | generic, with a few synonyms), else the graph's shapes.</summary>
    public static ModelTask Detect(JsonObject metadata, IReadOnlyList<ValueInfo> inputs, IReadOnlyList<ValueInfo> outputs)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        var contract = ModelContract.Parse(metadata);
        if (contract.Task is { } task)
        {
            TaskKind kind = task switch
            {
                "forecaster" => TaskKind.Forecaster,
                "classifier" => TaskKind.Classifier,
                "dual_encoder" => TaskKind.DualEncoder,
                _ => TaskKind.Generic,
            };
            return new ModelTask(kind, $"metadata \"task\" = \"{(metadata["task"] as JsonValue)?.ToString() ?? task}\"");
        }
        string sig = $"{string.Join(", ", inputs.Select(i => i.ToString()))} -> {string.Join(", ", outputs.Select(o => o.ToString()))}";
        var o0 = outputs.Count > 0 ? outputs[0] : null;
        if (inputs.Count == 2 && outputs.Count == 1 && o0!.DataType == DataType.Float32 && o0.Shape.Length == 2 && o0.Shape[1] == 1)
            return new ModelTask(TaskKind.DualEncoder, $"graph shapes: two inputs and one score per pair ({sig})");
        bool intInputs = inputs.Count > 0 && inputs.All(i => i.DataType is DataType.Int64 or DataType.Int32);
        if (intInputs && inputs.Count == 1 && outputs.Count == 1 && o0!.DataType == DataType.Float32 && o0.Shape.Length is 2 or 3 && o0.Shape[^1] > 1)
            return new ModelTask(TaskKind.Classifier, $"graph shapes: integer token input and class logits (N{(o0.Shape.Length == 3 ? ", D" : "")}, C) ({sig})");
        if (inputs.Count == 1 && outputs.Count == 1 && inputs[0].DataType == DataType.Float32 && inputs[0].Shape.Length == 3
            && o0!.DataType == DataType.Float32 && o0.Shape.Length is 2 or 3 && IsWholeSteps(o0, contract.Targets?.Count ?? contract.Features?.Count ?? inputs[0].Shape[2]))
            return new ModelTask(TaskKind.Forecaster, $"graph shapes: a window (N, T, F) in and the next step(s) of the forecast features out, (N, F), (N, H, F) or (N, H * F) ({sig})");
        return new ModelTask(TaskKind.Generic, $"graph shapes: no forecaster, classifier or dual-encoder signature ({sig})");
    }

    /// <summary>Whether the output's values per sample are whole steps of <paramref name="features"/> (true where a size is unknown).</summary>
    private static bool IsWholeSteps(ValueInfo output, int features)
    {
        if (features <= 0 || output.Shape.Skip(1).Any(d => d < 0)) return true;
        long perSample = output.Shape.Skip(1).Aggregate(1L, (a, d) => a * d);
        return perSample % features == 0;
    }
}
