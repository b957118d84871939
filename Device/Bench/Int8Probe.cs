using System.Diagnostics.CodeAnalysis;
using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Device.Bench;

/// <summary>
/// Tells whether a session's operators took their int8 weights as int8 or asked for the fp32 view
/// (<see cref="OperatorContext.Constant"/> on a quantized weight dequantizes it: the fp32 fallback). The
/// session keeps that choice to itself, so the probe prepares the graph's operators once more against a
/// constant table that records which quantized names were looked up as plain constants. Run it after the
/// measurement (it briefly holds a second copy of the weights, which would show in the peak RSS).
/// </summary>
internal static class Int8Probe
{
    public static int DequantizedWeights(Session session)
    {
        var graph = session.Graph;
        var constants = new RecordingConstants(graph.Constants, graph.QuantizedConstants);
        var ctx = new OperatorContext(constants, graph.QuantizedConstants, session.Gemv);
        foreach (var node in graph.Nodes) OperatorFactory.Create(node, ctx);
        return constants.QuantizedLookups.Count;
    }

    /// <summary>The plain constants, remembering every quantized weight name asked for as a plain constant.</summary>
    private sealed class RecordingConstants(IReadOnlyDictionary<string, Tensor> inner, IReadOnlyDictionary<string, QuantizedWeight> quantized)
        : IReadOnlyDictionary<string, Tensor>
    {
        public HashSet<string> QuantizedLookups { get; } = new(StringComparer.Ordinal);

        public bool TryGetValue(string key, [MaybeNullWhen(false)] out Tensor value)
        {
            if (quantized.ContainsKey(key)) QuantizedLookups.Add(key);
            return inner.TryGetValue(key, out value);
        }

        public Tensor this[string key] => TryGetValue(key, out var v) ? v : throw new KeyNotFoundException(key);
        public IEnumerable<string> Keys => inner.Keys;
        public IEnumerable<Tensor> Values => inner.Values;
        public int Count => inner.Count;
        public bool ContainsKey(string key) => TryGetValue(key, out _);
        public IEnumerator<KeyValuePair<string, Tensor>> GetEnumerator() => inner.GetEnumerator();
        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
