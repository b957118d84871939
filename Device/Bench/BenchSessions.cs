using Edge.Runtime;
using Edge.Runtime.Execution;
using Edge.Runtime.Kernels;

namespace Edge.Device.Bench;

/// <summary>
/// A session of a model on one kernel path, in this process (so `--isa all` measures every path the CPU
/// supports with one load of the blob and one machine state).
/// </summary>
public static class BenchSessions
{
    /// <summary>A session whose kernels are <paramref name="isa"/>'s (<see cref="SessionOptions.Isa"/>; the session reports it back as <see cref="Session.Isa"/>).</summary>
    public static Session Create(EdgeModel model, Isa isa)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.CreateSession(new SessionOptions { Isa = isa });
    }

    /// <summary>
    /// What ran the matrix products, as the result file records it: "fp32" for an fp32 blob; for an int8 blob
    /// "int8" when the layers run the int8 kernels, or "fp32-fallback" when the runtime dequantized the int8
    /// weights at load (a layer without an int8 path, or a runtime from before the int8 layers).
    /// </summary>
    public static string Execution(EdgeModel model, Session session)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(session);
        if (model.Graph.QuantizedConstants.Count == 0) return "fp32";
        return Int8Probe.DequantizedWeights(session) switch
        {
            0 => "int8",
            int n when n == model.Graph.QuantizedConstants.Count => "fp32-fallback",
            int n => $"mixed ({n} of {model.Graph.QuantizedConstants.Count} int8 weights dequantized)",
        };
    }
}
