using Edge.Runtime.Contract;
using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Streaming;

/// <summary>
/// Forecasts from a stream of samples, one sample at a time, in model (normalized) units:
/// <code>
/// var stream = model.CreateStream(new StreamOptions { Horizon = 24 });
/// var forecast = new float[stream.ForecastLength];       // Horizon x OutputFeatures, step-major
/// foreach (var sample in samples)                         // InputFeatures floats each
///     if (stream.TryPush(sample, forecast)) Use(forecast); // true once the window is full
/// </code>
/// Two model styles (docs/architecture.md, The stream):
/// <list type="bullet">
/// <item><see cref="StreamStyle.Window"/> (Keras style): every forecast runs the model from zero state over the
///   last <see cref="Window"/> samples, kept in a ring. When the graph starts with input -> [Transpose] -> Lstm/Gru/Rnn,
///   the layer's input projections W·x + b are cached per sample, so a forecast redoes only the recurrent part
///   and the rest of the graph (<see cref="CachesInputProjections"/>).</item>
/// <item><see cref="StreamStyle.Stateful"/> (PyTorch style): the graph takes one sample per run with state
///   inputs (h0, c0, ...) whose next values are state outputs (h_n, c_n, ...); the stream carries the state
///   from sample to sample, O(1) work per sample.</item>
/// </list>
/// The horizon comes from the model's own output steps, and beyond them from autoregressive rollout: the
/// forecast steps are fed back as the next samples (window: appended to a copy of the window; stateful: run
/// from a saved copy of the state), exactly as the device pipeline's batch path did. The stream itself
/// (the ring, the state) only ever advances by real samples.
/// <para>
/// A push allocates nothing once the stream is made (the runners were run once on zeros at creation).
/// Bad input throws <see cref="ArgumentException"/> before anything changes: a sample of the wrong length, a
/// forecast span of the wrong length, a NaN or infinity under <see cref="NonFinitePolicy.Reject"/>.
/// One stream serves one thread; make one stream per sensor feed.
/// </para>
/// </summary>
public sealed class ForecastStream
{
    private readonly StreamEngine _engine;
    private readonly NonFinitePolicy _nonFinite;
    private readonly float[] _next;     // one model run's output
    private readonly float[] _steps;    // the steps fed back in a rollout
    private readonly float[] _clean;    // a sample with held values filled in
    private readonly float[] _lastGood; // the last accepted sample (NonFinitePolicy.HoldLast)
    private readonly float[] _forecast; // Push(sample, out forecast)'s buffer
    private bool _hasLast;

    private ForecastStream(StreamEngine engine, StreamStyle style, ValueInfo input, string output, int window, int features, int outputFeatures, int horizon,
        IReadOnlyList<StatePair> state, NonFinitePolicy nonFinite, CachedRecurrence? cache, string cacheNote)
    {
        _engine = engine;
        Style = style;
        InputName = input.Name;
        OutputName = output;
        Window = window;
        InputFeatures = features;
        OutputFeatures = outputFeatures;
        ModelSteps = engine.OutputLength / outputFeatures;
        Horizon = horizon;
        State = state;
        _nonFinite = nonFinite;
        CachesInputProjections = cache is not null;
        ProjectionCacheNote = cacheNote;
        _next = new float[engine.OutputLength];
        _steps = new float[engine.OutputLength];
        _clean = new float[features];
        _lastGood = new float[features];
        _forecast = new float[horizon * outputFeatures];
    }

    /// <summary>How the stream runs its model: <see cref="StreamStyle.Window"/> or <see cref="StreamStyle.Stateful"/> (never Auto).</summary>
    public StreamStyle Style { get; }

    /// <summary>The graph input that takes the samples.</summary>
    public string InputName { get; }

    /// <summary>The graph output that holds the forecast.</summary>
    public string OutputName { get; }

    /// <summary>Window style: samples per forecast. Stateful: samples before the first forecast.</summary>
    public int Window { get; }

    /// <summary>Floats per sample.</summary>
    public int InputFeatures { get; }

    /// <summary>Floats per forecast step.</summary>
    public int OutputFeatures { get; }

    /// <summary>Steps one run of the model gives.</summary>
    public int ModelSteps { get; }

    /// <summary>Steps per forecast; beyond <see cref="ModelSteps"/> by autoregressive rollout.</summary>
    public int Horizon { get; }

    /// <summary><see cref="Horizon"/> x <see cref="OutputFeatures"/>: the length of a forecast span.</summary>
    public int ForecastLength => _forecast.Length;

    /// <summary>Stateful style: the state input -> output pairs carried from sample to sample.</summary>
    public IReadOnlyList<StatePair> State { get; }

    /// <summary>Whether forecasts run only the recurrent part of the first recurrent layer, from input projections cached per sample.</summary>
    public bool CachesInputProjections { get; }

    /// <summary>Why the projections are or are not cached (for logs).</summary>
    public string ProjectionCacheNote { get; }

    /// <summary>Samples taken since creation or the last <see cref="Reset"/> (saturating).</summary>
    public int Count => _engine.Count;

    /// <summary>Whether the window is full (stateful: warmed up), so that pushes give forecasts.</summary>
    public bool IsReady => _engine.Count >= Window;

    /// <summary>Forgets every sample (the ring empties, the state returns to zero): after a gap in the data.</summary>
    public void Reset()
    {
        _engine.Reset();
        _hasLast = false;
    }

    /// <summary>Takes <paramref name="sample"/> without forecasting (a window model does no model work at all).</summary>
    public void Push(ReadOnlySpan<float> sample) => Accept(sample);

    /// <summary>
    /// Takes <paramref name="sample"/> (<see cref="InputFeatures"/> floats) and, once <see cref="IsReady"/>, writes
    /// the forecast (<see cref="ForecastLength"/> floats, step-major) into <paramref name="forecast"/> and returns true.
    /// </summary>
    public bool TryPush(ReadOnlySpan<float> sample, Span<float> forecast)
    {
        if (forecast.Length != _forecast.Length)
            throw new ArgumentException($"the forecast span must hold {Horizon} step(s) x {OutputFeatures} feature(s) = {_forecast.Length} floats, got {forecast.Length}", nameof(forecast));
        Accept(sample);
        if (!IsReady) return false;
        Produce(forecast);
        return true;
    }

    /// <summary>
    /// As <see cref="TryPush"/>, with the forecast in the stream's own buffer: valid until the next push; empty
    /// while the window is not full.
    /// </summary>
    public bool Push(ReadOnlySpan<float> sample, out ReadOnlySpan<float> forecast)
    {
        bool ready = TryPush(sample, _forecast);
        forecast = ready ? _forecast : default;
        return ready;
    }

    private void Accept(ReadOnlySpan<float> sample)
    {
        if (sample.Length != InputFeatures)
            throw new ArgumentException($"a sample of input '{InputName}' holds {InputFeatures} feature value(s), got {sample.Length}", nameof(sample));
        for (int i = 0; i < sample.Length; i++)
        {
            if (float.IsFinite(sample[i])) continue;
            if (_nonFinite == NonFinitePolicy.Reject)
                throw new ArgumentException($"sample[{i}] is {sample[i]}: the stream rejects non-finite values (NonFinitePolicy.HoldLast holds the previous value instead)", nameof(sample));
            if (!_hasLast)
                throw new ArgumentException($"sample[{i}] is {sample[i]} and there is no earlier value to hold (the first sample after creation or a reset must be complete)", nameof(sample));
            sample.CopyTo(_clean);
            for (int j = i; j < _clean.Length; j++)
                if (!float.IsFinite(_clean[j])) _clean[j] = _lastGood[j];
            sample = _clean;
            break;
        }
        _engine.Accept(sample);
        if (_nonFinite == NonFinitePolicy.HoldLast)
        {
            sample.CopyTo(_lastGood);
            _hasLast = true;
        }
    }

    private void Produce(Span<float> forecast)
    {
        int f = OutputFeatures;
        int s = ModelSteps;
        _engine.Forecast(_next);
        int have = Math.Min(s, Horizon);
        _next.AsSpan(0, have * f).CopyTo(forecast);
        if (have >= Horizon) return;
        _engine.BeginRollout();
        try
        {
            while (have < Horizon)
            {
                _next.CopyTo(_steps);
                _engine.RollForward(_steps, _next);
                int take = Math.Min(s, Horizon - have);
                _next.AsSpan(0, take * f).CopyTo(forecast[(have * f)..]);
                have += take;
            }
        }
        finally
        {
            _engine.EndRollout();
        }
    }

    // ── creation ─────────────────────────────────────────────────────────────────────────────────

    internal static ForecastStream Create(EdgeModel model, StreamOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        var graph = model.Graph;
        var meta = model.Metadata;
        if (options.Window is < 1 or > ContractLimits.MaxWindow) throw new EdgeException($"stream window must be from 1 to {ContractLimits.MaxWindow}, got {options.Window}");
        if (options.Horizon is < 1 or > ContractLimits.MaxHorizon) throw new EdgeException($"stream horizon must be from 1 to {ContractLimits.MaxHorizon}, got {options.Horizon}");
        var contract = ModelContract.Parse(meta, "blob metadata");
        if (options.OutputFeatures is < 1) throw new EdgeException($"stream output features must be at least 1, got {options.OutputFeatures}");

        // State pairs: given, from the metadata, or detected (not for a forced window style).
        var pairs = options.State?.ToList() ?? contract.State?.ToList()
            ?? (options.Style == StreamStyle.Window ? [] : StreamGraph.DetectStatePairs(graph, options.Input));
        foreach (var p in pairs)
        {
            if (!graph.Inputs.Any(i => i.Name == p.Input)) throw new EdgeException($"state pair {p.Input} -> {p.Output}: the model has no input '{p.Input}'; inputs are: {string.Join(", ", graph.Inputs)}");
            if (!graph.Outputs.Any(o => o.Name == p.Output)) throw new EdgeException($"state pair {p.Input} -> {p.Output}: the model has no output '{p.Output}'; outputs are: {string.Join(", ", graph.Outputs)}");
        }
        if (pairs.Select(p => p.Input).Distinct().Count() != pairs.Count || pairs.Select(p => p.Output).Distinct().Count() != pairs.Count)
            throw new EdgeException($"state pairs name an input or output twice: {string.Join(", ", pairs.Select(p => $"{p.Input} -> {p.Output}"))}");

        var input = PickInput(graph, options.Input, pairs);
        var output = PickOutput(graph, options.Output, pairs);
        if (input.DataType != DataType.Float32) throw new EdgeException($"input '{input.Name}' is {input.DataType.Name()}; a stream feeds float32 samples");
        var style = options.Style == StreamStyle.Auto ? (pairs.Count > 0 ? StreamStyle.Stateful : StreamStyle.Window) : options.Style;
        if (style == StreamStyle.Stateful && pairs.Count == 0)
            throw new EdgeException($"a stateful stream needs state inputs paired with state outputs; none were given or found among inputs {string.Join(", ", graph.Inputs)} and outputs {string.Join(", ", graph.Outputs)}");
        var others = graph.Inputs.Where(i => i != input && !pairs.Any(p => p.Input == i.Name)).ToList();
        if (others.Count > 0)
            throw new EdgeException($"input(s) {string.Join(", ", others)} are neither the sample input '{input.Name}' nor state inputs; name the pairs with StreamOptions.State");
        int? metaHorizon = contract.Horizon;

        StreamEngine engine;
        int window, features;
        CachedRecurrence? cache = null;
        string note;
        var stateShapes = pairs.Select(p =>
        {
            var info = graph.Inputs.First(i => i.Name == p.Input);
            if (info.DataType != DataType.Float32) throw new EdgeException($"state input '{info.Name}' is {info.DataType.Name()}; expected float32");
            return (Input: graph.Inputs.IndexOf(info), Shape: info.Shape.Select(d => d < 0 ? 1 : d).ToArray(), Output: graph.Outputs.FindIndex(o => o.Name == p.Output));
        }).ToList();

        if (style == StreamStyle.Window)
        {
            var (shape, w, f) = WindowShape(input, options.Window ?? contract.Window);
            window = w;
            features = f;
            note = "off (StreamOptions.CacheProjections)";
            if (options.CacheProjections != ProjectionCache.Off)
            {
                var split = pairs.Count == 0 ? StreamGraph.SplitAtFirstRecurrent(graph, input, window, (options.Session ?? new SessionOptions()).CreateGemv(), out note) : null;
                if (pairs.Count > 0) note = "the graph has state inputs";
                if (split is { } sp && sp.Layer.FromInt8 && !sp.Layer.IsInt8 && options.CacheProjections == ProjectionCache.Auto)
                {
                    note = $"'{sp.Layer.Node.Name}' has int8 weights, whose products are the layer's own (ProjectionCache.On caches them in fp32)";
                    split = null;
                }
                if (split is null && options.CacheProjections == ProjectionCache.On)
                    throw new EdgeException($"cannot cache input projections: {note}");
                if (split is { } s)
                {
                    cache = s.Layer;
                    note = $"'{s.Layer.Node.Name}' ({s.Layer.Node.Kind}, {s.Layer.Hidden} units): W·x cached per sample{(s.Layer.IsInt8 ? " (int8, the layer's own products)" : s.Layer.FromInt8 ? " (fp32 from the int8 weights)" : "")}";
                    engine = new CachedWindowEngine(new Session(s.RestGraph, options.Session), s.Layer, s.RestInputIsSlot, output.Name, window, features);
                }
                else engine = new WindowEngine(new Session(graph, options.Session), graph.Inputs.IndexOf(input), shape, graph.Outputs.IndexOf(output), window, features, stateShapes);
            }
            else engine = new WindowEngine(new Session(graph, options.Session), graph.Inputs.IndexOf(input), shape, graph.Outputs.IndexOf(output), window, features, stateShapes);
        }
        else
        {
            // One step per run: every axis but the features takes size 1, whatever the declaration's time length.
            int[] step;
            ValueInfo relaxed;
            switch (input.Shape.Length)
            {
                case 3 when input.Shape[2] > 0:
                    step = [1, 1, input.Shape[2]];
                    relaxed = input with { Shape = [ValueInfo.Dynamic, ValueInfo.Dynamic, input.Shape[2]] };
                    break;
                case 2 when input.Shape[1] > 0:
                    step = [1, input.Shape[1]];
                    relaxed = input with { Shape = [ValueInfo.Dynamic, input.Shape[1]] };
                    break;
                default:
                    throw new EdgeException($"input '{input.Name}' {input.ShapeString}: a stateful stream feeds (time, batch, features), (batch, time, features) or (batch, features) with a known feature count");
            }
            features = step[^1];
            window = options.Window ?? 1;
            note = "stateful: no window to recompute";
            var g = StreamGraph.WithInputs(graph, i => i == input ? relaxed : i);
            engine = new StatefulEngine(new Session(g, options.Session), graph.Inputs.IndexOf(input), step, graph.Outputs.IndexOf(output), stateShapes);
        }

        int outputLength = engine.OutputLength;
        int outF = options.OutputFeatures ?? (output.Shape.Length > 0 && output.Shape[^1] > 0 ? output.Shape[^1] : outputLength);
        if (outputLength == 0 || outputLength % outF != 0)
            throw new EdgeException($"output '{output.Name}' {output.ShapeString} holds {outputLength} floats, not a whole number of steps of {outF} feature(s)");
        int steps = outputLength / outF;
        int horizon = options.Horizon ?? metaHorizon ?? steps;
        // The forecast buffer is horizon x output features floats; the bounds keep that product far from int overflow.
        if (horizon > ContractLimits.MaxHorizon || (long)horizon * outF > ContractLimits.MaxHorizon * 1024L)
            throw new EdgeException($"a horizon of {horizon} step(s) of {outF} feature(s) exceeds the stream's limit ({ContractLimits.MaxHorizon} steps, {ContractLimits.MaxHorizon * 1024L} floats per forecast)");
        if (horizon > steps && outF != features)
            throw new EdgeException($"a horizon of {horizon} needs autoregressive rollout beyond the model's {steps} step(s), which feeds forecasts back as samples: the model must forecast all {features} input features, but it forecasts {outF}");
        return new ForecastStream(engine, style, input, output.Name, window, features, outF, horizon, pairs, options.NonFinite, cache, note);
    }

    private static ValueInfo PickInput(Graph graph, string? name, List<StatePair> pairs)
    {
        if (name is not null)
        {
            var i = graph.Inputs.FirstOrDefault(x => x.Name == name) ?? throw new EdgeException($"the model has no input '{name}'; inputs are: {string.Join(", ", graph.Inputs)}");
            if (pairs.Any(p => p.Input == name)) throw new EdgeException($"input '{name}' is a state input; it cannot take the samples");
            return i;
        }
        var candidates = graph.Inputs.Where(i => !pairs.Any(p => p.Input == i.Name)).ToList();
        return candidates.Count == 1 ? candidates[0]
            : throw new EdgeException($"the model has {candidates.Count} inputs that could take the samples ({string.Join(", ", candidates)}); name one with StreamOptions.Input");
    }

    private static ValueInfo PickOutput(Graph graph, string? name, List<StatePair> pairs)
    {
        if (name is not null)
            return graph.Outputs.FirstOrDefault(x => x.Name == name) ?? throw new EdgeException($"the model has no output '{name}'; outputs are: {string.Join(", ", graph.Outputs)}");
        var candidates = graph.Outputs.Where(o => !pairs.Any(p => p.Output == o.Name)).ToList();
        return candidates.Count == 1 ? candidates[0]
            : throw new EdgeException($"the model has {candidates.Count} outputs that could hold the forecast ({string.Join(", ", candidates)}); name one with StreamOptions.Output");
    }

    /// <summary>
    /// The input shape of one window, its length and the features per sample: (batch, time, features),
    /// (batch, time * features) or (time, features); a dynamic batch becomes 1, a dynamic time axis the window.
    /// </summary>
    internal static (int[] Shape, int Window, int Features) WindowShape(ValueInfo input, int? window)
    {
        var s = input.Shape;
        string Need() => $"input '{input.Name}' {input.ShapeString}";
        switch (s.Length)
        {
            case 3:
            {
                if (s[2] <= 0) throw new EdgeException($"{Need()}: the feature axis must have a known size");
                if (s[0] > 1)
                    throw new EdgeException($"{Need()}: a stream runs batch 1, the batch axis is fixed at {s[0]} and the graph could not be relaxed; " +
                                            $"re-export with a dynamic batch: torch.onnx.export(..., dynamic_axes={{'{input.Name}': {{0: 'batch'}}}})");
                int w = s[1] > 0 ? s[1] : window ?? throw new EdgeException($"{Need()} has a dynamic time axis: give the window (StreamOptions.Window or metadata \"window\")");
                if (window is { } given && given != w) throw new EdgeException($"{Need()} takes windows of {w} samples, not {given}");
                return ([1, w, s[2]], w, s[2]);
            }
            case 2 when s[1] > 0 && (s[0] < 0 || (s[0] == 1 && window is > 1)):
            {
                int w = window ?? 1; // (batch, time * features)
                if (s[1] % w != 0) throw new EdgeException($"{Need()} does not hold a window of {w} whole samples");
                return ([1, s[1]], w, s[1] / w);
            }
            case 2 when s[1] > 0 && s[0] > 0:
            {
                if (window is { } given && given != s[0]) throw new EdgeException($"{Need()} takes windows of {s[0]} samples, not {given}");
                return ([s[0], s[1]], s[0], s[1]); // (time, features)
            }
            default:
                throw new EdgeException($"{Need()}: a window stream feeds (batch, time, features), (batch, time * features) or (time, features)");
        }
    }
}
