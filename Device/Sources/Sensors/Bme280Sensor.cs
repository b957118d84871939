using System.Device.I2c;
using Iot.Device.Bmxx80;
using Iot.Device.Bmxx80.PowerMode;

namespace Edge.Device.Sources.Sensors;

/// <summary>
/// Bosch BME280 on I2C through Iot.Device.Bindings: temperature (°C), relative humidity (%) and
/// pressure (hPa); the binding applies the datasheet's compensation formulas with the chip's own
/// trimming values. Run in normal mode (the chip measures continuously, reads return the latest result)
/// with 1x oversampling, the datasheet's "weather monitoring" setting.
/// </summary>
public sealed class Bme280Sensor : BindingSensor<Bme280>
{
    private readonly Func<I2cDevice> _open;
    private readonly int _temperature;
    private readonly int _humidity;
    private readonly int _pressure;

    /// <param name="open">Opens the bus device (hosting: I2cDevice.Create; tests: a simulated register file).</param>
    /// <param name="temperature">Feature index for °C, or -1.</param>
    /// <param name="humidity">Feature index for % relative humidity, or -1.</param>
    /// <param name="pressure">Feature index for hPa, or -1.</param>
    public Bme280Sensor(Func<I2cDevice> open, int temperature, int humidity, int pressure)
    {
        ArgumentNullException.ThrowIfNull(open);
        _open = open;
        _temperature = temperature;
        _humidity = humidity;
        _pressure = pressure;
    }

    public override string Name => "bme280";

    protected override Bme280 Open()
    {
        var bus = _open();
        try
        {
            var device = new Bme280(bus)
            {
                TemperatureSampling = Sampling.UltraLowPower,
                PressureSampling = Sampling.UltraLowPower,
                HumiditySampling = Sampling.UltraLowPower,
            };
            device.SetPowerMode(Bmx280PowerMode.Normal);
            return device;
        }
        catch
        {
            bus.Dispose();
            throw;
        }
    }

    protected override bool Read(Bme280 device, Span<float> values)
    {
        if (_temperature >= 0)
        {
            if (!device.TryReadTemperature(out var t)) return false;
            values[_temperature] = (float)t.DegreesCelsius;
        }
        if (_pressure >= 0)
        {
            if (!device.TryReadPressure(out var p)) return false;
            values[_pressure] = (float)p.Hectopascals;
        }
        if (_humidity >= 0)
        {
            if (!device.TryReadHumidity(out var h)) return false;
            values[_humidity] = (float)h.Percent;
        }
        return true;
    }
}
