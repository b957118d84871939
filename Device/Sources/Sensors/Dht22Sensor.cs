using Iot.Device.DHTxx;

namespace Edge.Device.Sources.Sensors;

/// <summary>
/// AOSONG DHT22 (AM2302) on one GPIO pin through Iot.Device.Bindings: temperature (°C) and relative
/// humidity (%). The one-wire protocol is timing-sensitive and a read fails now and then (a checksum
/// miss): that is a missing value for the step, not a dead sensor. The chip needs 2 s between reads.
/// </summary>
public sealed class Dht22Sensor : BindingSensor<DhtBase>
{
    private readonly Func<DhtBase> _open;
    private readonly int _temperature;
    private readonly int _humidity;

    /// <param name="open">Creates the binding (hosting: new Dht22(pin, new GpioController())).</param>
    public Dht22Sensor(Func<DhtBase> open, int temperature, int humidity)
    {
        ArgumentNullException.ThrowIfNull(open);
        _open = open;
        _temperature = temperature;
        _humidity = humidity;
    }

    public override string Name => "dht22";

    protected override DhtBase Open() => _open();

    protected override bool Read(DhtBase device, Span<float> values)
    {
        if (_temperature >= 0)
        {
            if (!device.TryReadTemperature(out var t)) return false;
            values[_temperature] = (float)t.DegreesCelsius;
        }
        if (_humidity >= 0)
        {
            if (!device.TryReadHumidity(out var h)) return false;
            values[_humidity] = (float)h.Percent;
        }
        return true;
    }
}
