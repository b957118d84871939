using System.IO.Ports;
using Edge.Device.Pipeline;
using Edge.Device.Sources;

namespace Edge.Device.Sinks;

/// <summary>
/// Forecasts as JSON lines out of a serial port (to a display or a microcontroller). The port is
/// opened on first use and reopened after a failure (the retry comes from <see cref="BufferedSink"/>).
/// </summary>
public sealed class SerialLineSink : IForecastSink
{
    private readonly SerialSettings _settings;
    private readonly ModelSpec _spec;
    private readonly string _device;
    private SerialPort? _port;

    public SerialLineSink(SerialSettings settings, ModelSpec spec, string device)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(spec);
        _settings = settings;
        _spec = spec;
        _device = device;
    }

    public string Name => "serial:" + _settings.Port;

    public async ValueTask WriteAsync(Forecast forecast, CancellationToken cancellationToken)
    {
        var bytes = ForecastJson.Serialize(forecast, _spec, _device, newline: true);
        try
        {
            if (_port is null)
            {
                var port = new SerialPort(_settings.Port, _settings.Baud, _settings.Parity, _settings.DataBits, _settings.StopBits) { WriteTimeout = 5000 };
                try { port.Open(); }
                catch { port.Dispose(); throw; }
                _port = port;
            }
            await _port.BaseStream.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or TimeoutException)
        {
            Close();
            throw;
        }
    }

    public async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        if (_port is { IsOpen: true } p) await p.BaseStream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private void Close()
    {
        var p = _port;
        _port = null;
        try { p?.Dispose(); }
        catch (IOException) { }
    }

    public ValueTask DisposeAsync()
    {
        Close();
        return ValueTask.CompletedTask;
    }
}
