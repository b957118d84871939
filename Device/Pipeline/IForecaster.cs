using Edge.Runtime.Streaming;

namespace Edge.Device.Pipeline;

/// <summary>
/// One forecast from one window, in model (normalized) units. The window holds
/// <see cref="Window"/> x <see cref="InputFeatures"/> values, oldest step first, features innermost;
/// <c>next</c> receives <see cref="OutputSteps"/> x <see cref="OutputFeatures"/> values.
/// </summary>
public interface IForecaster
{
    int Window { get; }

    int InputFeatures { get; }

    int OutputFeatures { get; }

    int OutputSteps { get; }

    void Forecast(ReadOnlySpan<float> window, Span<float> next);
}

/// <summary>
/// A forecaster that can also take samples one at a time (<see cref="ForecastStream"/>): the pipeline then
/// pushes each normalized step into the stream instead of handing over whole windows, and the stream keeps
/// the window (or the state) and rolls out to the horizon itself.
/// </summary>
public interface IStreamingForecaster : IForecaster
{
    /// <summary>A new stream that forecasts <paramref name="horizon"/> steps per sample.</summary>
    ForecastStream OpenStream(int horizon);
}
