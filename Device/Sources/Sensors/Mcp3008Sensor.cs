using System.Device.Spi;
using Iot.Device.Adc;

namespace Edge.Device.Sources.Sensors;

/// <summary>
/// Microchip MCP3008 10-bit ADC on SPI through Iot.Device.Bindings, for analog sensors such as the
/// MQ-7 (CO) and MQ-135 (air quality) gas sensors: each configured channel's single-ended reading
/// (0..1023) becomes raw * scale + offset in its feature slot. The raw counts are what the air-sensor
/// model was trained on (an Arduino's analogRead), so scale 1, offset 0 is the default.
/// </summary>
public sealed class Mcp3008Sensor : BindingSensor<Mcp3008>
{
    private readonly Func<SpiDevice> _open;
    private readonly (int Channel, int Feature)[] _channels;
    private readonly double _scale;
    private readonly double _offset;

    public Mcp3008Sensor(Func<SpiDevice> open, IEnumerable<(int Channel, int Feature)> channels, double scale = 1, double offset = 0)
    {
        ArgumentNullException.ThrowIfNull(open);
        ArgumentNullException.ThrowIfNull(channels);
        _open = open;
        _channels = channels.ToArray();
        foreach (var (c, _) in _channels)
            if (c is < 0 or > 7) throw new ArgumentOutOfRangeException(nameof(channels), c, "MCP3008 channels are 0..7");
        _scale = scale;
        _offset = offset;
    }

    public override string Name => "mcp3008";

    protected override Mcp3008 Open() => new(_open());

    protected override bool Read(Mcp3008 device, Span<float> values)
    {
        foreach (var (channel, feature) in _channels)
            values[feature] = (float)(device.Read(channel) * _scale + _offset);
        return true;
    }
}
