using Edge.Runtime.Execution;

namespace Edge.Runtime.Streaming;

/// <summary>How a <see cref="ForecastStream"/> runs its model.</summary>
public enum StreamStyle
{
    /// <summary>Stateful when the graph has state inputs paired with state outputs (given or detected), else window.</summary>
    Auto,

    /// <summary>
    /// Keras style: every forecast runs the model from zero state over the last <see cref="StreamOptions.Window"/>
    /// samples, kept in a ring buffer.
    /// </summary>
    Window,

    /// <summary>PyTorch style: one sample per run, the state outputs fed back as the next run's state inputs (O(1) per sample).</summary>
    Stateful,
}

/// <summary>What a sample holding NaN or ±infinity does to the stream.</summary>
public enum NonFinitePolicy
{
    /// <summary>The push throws an <see cref="ArgumentException"/> naming the feature; the stream is left as it was.</summary>
    Reject,

    /// <summary>The feature's previous value stands in (a sensor that missed a reading); rejected while there is none yet.</summary>
    HoldLast,
}

/// <summary>Whether a window stream caches the first recurrent layer's input projections per sample.</summary>
public enum ProjectionCache
{
    /// <summary>
    /// On when the graph starts with input -> [Transpose] -> Lstm/Gru/Rnn that the cache can run and the layer's
    /// weights are float32; off for int8 weights, whose products belong to the layer's int8 kernels (the
    /// cache would compute them in fp32 from the dequantized weights and so differ from the batch session).
    /// </summary>
    Auto,

    /// <summary>Never: every forecast runs the whole graph on the window.</summary>
    Off,

    /// <summary>Always when the graph allows it (int8 weights are dequantized once for the cache); an error when it does not.</summary>
    On,
}

/// <summary>A state input of the graph and the output that carries its next value (e.g. h0 -> h_n).</summary>
public sealed record StatePair(string Input, string Output);

/// <summary>
/// Options of <see cref="EdgeModel.CreateStream"/>. Everything is optional: a value left null comes from
/// the blob's metadata ("window", "horizon", "state"), else from the graph.
/// </summary>
public sealed class StreamOptions
{
    /// <summary>Window or stateful; <see cref="StreamStyle.Auto"/> (the default) decides from the graph's state pairs.</summary>
    public StreamStyle Style { get; init; } = StreamStyle.Auto;

    /// <summary>
    /// Window style: samples per forecast (default: metadata "window" / "window_length", else the input's
    /// time axis). Stateful style: samples pushed before the first forecast (a warm-up; default 1).
    /// </summary>
    public int? Window { get; init; }

    /// <summary>
    /// Steps per forecast (default: metadata "horizon", else the model's own output length). Up to the
    /// model's output length they come from one run; beyond it by autoregressive rollout, each forecast
    /// step fed back as the next sample (needs a model that forecasts every input feature).
    /// </summary>
    public int? Horizon { get; init; }

    /// <summary>The graph input that takes the samples, when the graph has several that are not state inputs.</summary>
    public string? Input { get; init; }

    /// <summary>The graph output that holds the forecast, when the graph has several that are not state outputs.</summary>
    public string? Output { get; init; }

    /// <summary>
    /// Features per forecast step (default: the forecast output's last axis). Needed when the output is
    /// flattened, e.g. (batch, steps * features).
    /// </summary>
    public int? OutputFeatures { get; init; }

    /// <summary>
    /// State input -> state output pairs of a stateful model (default: metadata "state" as
    /// [{"input": "h0", "output": "h_n"}], else detected: an Lstm/Gru/Rnn whose initial state is a graph input
    /// and whose final state is a graph output, else inputs and outputs of the same declared shape, in order).
    /// </summary>
    public IReadOnlyList<StatePair>? State { get; init; }

    /// <summary>What a sample holding NaN or ±infinity does (default: <see cref="NonFinitePolicy.Reject"/>).</summary>
    public NonFinitePolicy NonFinite { get; init; } = NonFinitePolicy.Reject;

    /// <summary>Whether a window stream caches input projections (default: <see cref="ProjectionCache.Auto"/>).</summary>
    public ProjectionCache CacheProjections { get; init; } = ProjectionCache.Auto;

    /// <summary>Options of the session(s) the stream runs (the kernel set); null: the defaults.</summary>
    public SessionOptions? Session { get; init; }
}
