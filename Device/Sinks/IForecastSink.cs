using Edge.Device.Pipeline;

namespace Edge.Device.Sinks;

/// <summary>
/// A destination for forecasts. <see cref="WriteAsync"/> either delivers the forecast or throws (the
/// destination is down); the <see cref="BufferedSink"/> around it keeps the forecast and retries.
/// </summary>
public interface IForecastSink : IAsyncDisposable
{
    string Name { get; }

    ValueTask WriteAsync(Forecast forecast, CancellationToken cancellationToken);

    /// <summary>Called when the buffer runs empty and at stop: push out anything the sink batches.</summary>
    ValueTask FlushAsync(CancellationToken cancellationToken);
}
