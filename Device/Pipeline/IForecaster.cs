namespace Edge.Device.Pipeline;

/// <summary>
/// One forecast from one window, in model (normalized) units. The window holds
/// <see cref="Window"/> x <see cref="InputFeatures"/> values, oldest step first, features innermost;
/// <c>next</c> receives <see cref="OutputSteps"/> x <see cref="OutputFeatures"/> values.
/// The batch-session implementation runs the whole window each call; a streaming session can
/// implement the same interface later.
/// </summary>
public interface IForecaster
{
    int Window { get; }

    int InputFeatures { get; }

    int OutputFeatures { get; }

    int OutputSteps { get; }

    void Forecast(ReadOnlySpan<float> window, Span<float> next);
}
