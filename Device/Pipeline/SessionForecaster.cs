using Edge.Runtime;
using Edge.Runtime.Streaming;

namespace Edge.Device.Pipeline;

/// <summary>
/// <see cref="IForecaster"/> over the Runtime's streaming session (<see cref="ForecastStream"/>): window
/// models (the last n normalized samples in a ring; the first recurrent layer's input projections cached per
/// sample when the graph allows) and stateful models (state carried from sample to sample). The pipeline
/// pushes samples through <see cref="OpenStream"/>; <see cref="Forecast"/> (a whole window at once) replays
/// the window through a stream of its own. The input may be (batch, time, features), (batch, time * features)
/// or (time, features); the output must hold steps x output features floats.
/// </summary>
public sealed class SessionForecaster : IStreamingForecaster
{
    private readonly EdgeModel _model;
    private readonly StreamOptions _options;
    private ForecastStream? _spare;  // made to learn the shapes; handed out by the first OpenStream that fits it
    private ForecastStream? _window; // Forecast(window)'s own stream

    public SessionForecaster(EdgeModel model, int window, int inputFeatures, int outputFeatures, string? inputName = null, string? outputName = null,
        NonFinitePolicy nonFinite = NonFinitePolicy.Reject)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (window < 1 || inputFeatures < 1 || outputFeatures < 1) throw new ArgumentOutOfRangeException(nameof(window), "window and feature counts must be positive");
        _model = model;
        _options = new StreamOptions { Window = window, Input = inputName, Output = outputName, OutputFeatures = outputFeatures, NonFinite = nonFinite, Horizon = 1 };
        // Made now, so that shape errors show before the first sample arrives (the stream runs the model once on zeros).
        var probe = model.CreateStream(_options);
        if (probe.InputFeatures != inputFeatures)
            throw new EdgeException($"input '{probe.InputName}' takes {probe.InputFeatures} feature(s) per sample, but the model spec has {inputFeatures}");
        _spare = probe;
        Window = window;
        InputFeatures = inputFeatures;
        OutputFeatures = outputFeatures;
        OutputSteps = probe.ModelSteps;
        InputName = probe.InputName;
        OutputName = probe.OutputName;
        Style = probe.Style;
        ProjectionCacheNote = probe.ProjectionCacheNote;
    }

    public int Window { get; }

    public int InputFeatures { get; }

    public int OutputFeatures { get; }

    public int OutputSteps { get; }

    public string InputName { get; }

    public string OutputName { get; }

    public StreamStyle Style { get; }

    /// <summary>Whether (and where) input projections are cached, for the startup log.</summary>
    public string ProjectionCacheNote { get; }

    public ForecastStream OpenStream(int horizon)
    {
        if (_spare is { } s && s.Horizon == horizon)
        {
            _spare = null;
            return s;
        }
        return _model.CreateStream(With(horizon));
    }

    private StreamOptions With(int horizon) => new()
    {
        Window = _options.Window, Input = _options.Input, Output = _options.Output, OutputFeatures = _options.OutputFeatures,
        NonFinite = _options.NonFinite, Horizon = horizon,
    };

    public void Forecast(ReadOnlySpan<float> window, Span<float> next)
    {
        int f = InputFeatures;
        if (window.Length != Window * f) throw new ArgumentException($"window must hold {Window * f} values, got {window.Length}", nameof(window));
        if (next.Length != OutputSteps * OutputFeatures) throw new ArgumentException($"next must hold {OutputSteps * OutputFeatures} values, got {next.Length}", nameof(next));
        var stream = _window ??= _model.CreateStream(With(OutputSteps));
        stream.Reset();
        for (int k = 0; k < Window - 1; k++) stream.Push(window.Slice(k * f, f));
        if (!stream.TryPush(window[((Window - 1) * f)..], next))
            throw new InvalidOperationException($"the stream gave no forecast after a whole window of {Window} samples");
    }
}
