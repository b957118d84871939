using System.Globalization;
using Edge.Runtime;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Quantizer.Quantization;

/// <summary>A float weight with NaN or infinite values.</summary>
public sealed record NonFiniteWeight(string Name, long NaN, long Infinite);

/// <summary>
/// NaN and infinite weights: a model that holds them computes NaN forecasts, so convert refuses it in both
/// precisions and names the file and the weight; an fp32 conversion may keep them behind `--allow-nonfinite`
/// (int8 cannot: a row scale of a NaN or infinite row is meaningless).
/// </summary>
internal static class NonFiniteWeights
{
    public static IReadOnlyList<NonFiniteWeight> Find(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var found = new List<NonFiniteWeight>();
        foreach (var (name, t) in graph.Constants.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (t.DataType != DataType.Float32 || t.Length == 0) continue;
            long nan = 0, inf = 0;
            foreach (float v in t.Contiguous().ReadOnlySpan<float>())
            {
                if (float.IsNaN(v)) nan++;
                else if (float.IsInfinity(v)) inf++;
            }
            if (nan + inf > 0) found.Add(new NonFiniteWeight(name, nan, inf));
        }
        return found;
    }

    /// <summary>Throws (one line naming <paramref name="modelFile"/> and up to three weights) unless there are none, or <paramref name="allow"/> in fp32.</summary>
    public static void Check(Graph graph, string modelFile, Precision precision, bool allow, TextWriter? log)
    {
        var found = Find(graph);
        if (found.Count == 0) return;
        static string Counts(NonFiniteWeight w) => string.Join(" and ", new[] { w.NaN > 0 ? $"{w.NaN} NaN" : null, w.Infinite > 0 ? $"{w.Infinite} infinite" : null }.Where(x => x is not null));
        string list = string.Join(", ", found.Take(3).Select(w => $"weight '{w.Name}' has {Counts(w)} values"));
        string more = found.Count > 3 ? string.Create(CultureInfo.InvariantCulture, $", and {found.Count - 3} more weight(s)") : "";
        string file = Path.GetFileName(modelFile);
        if (allow && precision == Precision.Fp32)
        {
            log?.WriteLine($"warning: {file}: {list}{more}; kept (--allow-nonfinite)");
            return;
        }
        string hint = precision == Precision.Fp32 ? "; --allow-nonfinite keeps them in an fp32 blob" : "; int8 cannot quantize them";
        throw new EdgeException($"{file}: {list}{more}{hint}");
    }
}
