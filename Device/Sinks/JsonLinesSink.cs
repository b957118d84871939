using System.Text;
using Edge.Device.Pipeline;

namespace Edge.Device.Sinks;

/// <summary>One JSON object per forecast per line (<see cref="ForecastJson"/>) to a text writer: stdout by default.</summary>
public sealed class JsonLinesSink : IForecastSink
{
    private readonly TextWriter _writer;
    private readonly ModelSpec _spec;
    private readonly string _device;

    public JsonLinesSink(TextWriter writer, ModelSpec spec, string device, string name = "stdout")
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(spec);
        _writer = writer;
        _spec = spec;
        _device = device;
        Name = name;
    }

    public string Name { get; }

    public async ValueTask WriteAsync(Forecast forecast, CancellationToken cancellationToken)
    {
        var line = Encoding.UTF8.GetString(ForecastJson.Serialize(forecast, _spec, _device));
        await _writer.WriteLineAsync(line.AsMemory(), cancellationToken).ConfigureAwait(false);
        // Live output: a person or a pipe is waiting for each forecast.
        await _writer.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken) => new(_writer.FlushAsync(cancellationToken));

    public ValueTask DisposeAsync() => ValueTask.CompletedTask; // stdout is not ours to close
}
