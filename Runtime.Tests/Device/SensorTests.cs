using System.Buffers.Binary;
using System.Device.I2c;
using System.Device.Spi;
using System.Threading.Channels;
using Edge.Device.Pipeline;
using Edge.Device.Sources;
using Edge.Device.Sources.Sensors;
using Iot.Device.Adc;
using Iot.Device.Bmxx80;

namespace Edge.Runtime.Tests.Device;

/// <summary>
/// The real Iot.Device.Bindings code driven through simulated buses: register files seeded with the
/// datasheets' example values, checked against the datasheets' results.
/// </summary>
[TestClass]
public sealed class SensorTests
{
    /// <summary>
    /// BME280 register file (datasheet BST-BME280-DS002, section 5.3 memory map). Writes set the
    /// register pointer and then registers; reads auto-increment from the pointer, as the chip does
    /// over I2C.
    /// </summary>
    internal sealed class SimulatedBme280 : I2cDevice
    {
        public readonly byte[] Registers = new byte[256];
        private byte _pointer;

        public int Transactions;

        /// <summary>Shared by every bus object opened on the same simulated chip: pulling the plug fails them all.</summary>
        public System.Runtime.CompilerServices.StrongBox<bool> Unplugged { get; init; } = new(false);

        // Compensation example of the Bosch datasheet (BMP280 DS001 section 3.12; the BME280 shares the
        // temperature and pressure formulas and trimming layout): these trimming values with
        // adc_T = 519888 and adc_P = 415148 give T = 25.08 °C (t_fine = 128422) and p = 100653.27 Pa.
        public static SimulatedBme280 DatasheetExample(ushort adcHumidity, System.Runtime.CompilerServices.StrongBox<bool>? plug = null)
        {
            var d = new SimulatedBme280 { Unplugged = plug ?? new(false) };
            var r = d.Registers;
            r[0xD0] = 0x60; // chip id
            BinaryPrimitives.WriteUInt16LittleEndian(r.AsSpan(0x88), 27504);
            BinaryPrimitives.WriteInt16LittleEndian(r.AsSpan(0x8A), 26435);
            BinaryPrimitives.WriteInt16LittleEndian(r.AsSpan(0x8C), -1000);
            BinaryPrimitives.WriteUInt16LittleEndian(r.AsSpan(0x8E), 36477);
            short[] p = [-10685, 3024, 2855, 140, -7, 15500, -14600, 6000];
            for (int i = 0; i < p.Length; i++) BinaryPrimitives.WriteInt16LittleEndian(r.AsSpan(0x90 + 2 * i), p[i]);
            // Humidity trimming (the datasheet gives the formula but no worked example; typical chip values).
            r[0xA1] = H1;
            BinaryPrimitives.WriteInt16LittleEndian(r.AsSpan(0xE1), H2);
            r[0xE3] = H3;
            r[0xE4] = (byte)(H4 >> 4);
            r[0xE5] = (byte)((H4 & 0x0F) | ((H5 & 0x0F) << 4));
            r[0xE6] = (byte)(H5 >> 4);
            r[0xE7] = unchecked((byte)H6);
            // Raw readings, 20-bit left-aligned in msb/lsb/xlsb: press 0xF7.., temp 0xFA.., hum 0xFD.. (16 bit)
            Put20(r, 0xF7, 415148);
            Put20(r, 0xFA, 519888);
            BinaryPrimitives.WriteUInt16BigEndian(r.AsSpan(0xFD), adcHumidity);
            return d;
        }

        public const byte H1 = 75;
        public const short H2 = 362;
        public const byte H3 = 0;
        public const short H4 = 313;
        public const short H5 = 50;
        public const sbyte H6 = 30;

        private static void Put20(byte[] r, int at, int value)
        {
            int v = value << 4;
            r[at] = (byte)(v >> 16);
            r[at + 1] = (byte)(v >> 8);
            r[at + 2] = (byte)v;
        }

        public override I2cConnectionSettings ConnectionSettings { get; } = new(1, 0x76);

        private void Check()
        {
            Transactions++;
            if (Unplugged.Value) throw new IOException("Error 121 performing I2C data transfer (simulated unplug)");
        }

        public override byte ReadByte()
        {
            Check();
            return Registers[_pointer++];
        }

        public override void Read(Span<byte> buffer)
        {
            Check();
            for (int i = 0; i < buffer.Length; i++) buffer[i] = Registers[_pointer++];
        }

        public override void WriteByte(byte value)
        {
            Check();
            _pointer = value;
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            Check();
            if (buffer.Length == 1)
            {
                _pointer = buffer[0];
                return;
            }
            // Writes are register/value pairs (datasheet 6.2.1); only the control registers take them.
            for (int i = 0; i + 1 < buffer.Length; i += 2)
                if (buffer[i] is 0xF2 or 0xF4 or 0xF5) Registers[buffer[i]] = buffer[i + 1];
        }

        public override void WriteRead(ReadOnlySpan<byte> writeBuffer, Span<byte> readBuffer)
        {
            Write(writeBuffer);
            Read(readBuffer);
        }
    }

    /// <summary>The datasheet's floating-point humidity compensation (BME280 DS002 section 8.1), for the expected value.</summary>
    private static double DatasheetHumidity(int adcH, int tFine)
    {
        double h = tFine - 76800.0;
        h = (adcH - (SimulatedBme280.H4 * 64.0 + SimulatedBme280.H5 / 16384.0 * h)) *
            (SimulatedBme280.H2 / 65536.0 * (1.0 + SimulatedBme280.H6 / 67108864.0 * h * (1.0 + SimulatedBme280.H3 / 67108864.0 * h)));
        h *= 1.0 - SimulatedBme280.H1 * h / 524288.0;
        return Math.Clamp(h, 0, 100);
    }

    [TestMethod]
    public void Bme280_Binding_GivesTheDatasheetCompensatedValues()
    {
        using var bme = new Bme280(SimulatedBme280.DatasheetExample(30000));
        Assert.IsTrue(bme.TryReadTemperature(out var t));
        Assert.AreEqual(25.08, t.DegreesCelsius, 0.005);
        Assert.IsTrue(bme.TryReadPressure(out var p));
        Assert.AreEqual(100653.27, p.Pascals, 0.01);
        Assert.IsTrue(bme.TryReadHumidity(out var h));
        double expected = DatasheetHumidity(30000, 128422);
        Assert.IsTrue(expected is > 20 and < 90, $"the example should be a plausible humidity, got {expected}");
        Assert.AreEqual(expected, h.Percent, 1e-3);
    }

    [TestMethod]
    public void Bme280Sensor_FillsItsFeatureSlots_InUnitsOfTheDocs()
    {
        var bus = SimulatedBme280.DatasheetExample(30000);
        using var sensor = new Bme280Sensor(() => bus, temperature: 2, humidity: 0, pressure: 1);
        var values = new float[4];
        Array.Fill(values, float.NaN);
        Assert.IsTrue(sensor.TryRead(values));
        Assert.AreEqual(25.08f, values[2], 0.005f);
        Assert.AreEqual(1006.5327f, values[1], 0.001f); // hPa
        Assert.AreEqual((float)DatasheetHumidity(30000, 128422), values[0], 1e-3f);
        Assert.IsTrue(float.IsNaN(values[3]), "slots of other sensors are left alone");
        Assert.AreEqual(0x03, bus.Registers[0xF4] & 0x03, "normal mode was set");
    }

    /// <summary>
    /// MCP3008 over SPI (datasheet DS21295, figure 6-1, 8-bit segments):
    /// <code>
    /// MOSI  0000 0001 | SGL D2 D1 D0 xxxx | xxxx xxxx
    /// MISO  xxxx xxxx | xxxx x 0 B9 B8    | B7 ... B0      (0 = null bit)
    /// </code>
    /// </summary>
    internal sealed class SimulatedMcp3008 : SpiDevice
    {
        public readonly int[] Channels = new int[8];

        public List<byte[]> Requests { get; } = new();

        public override SpiConnectionSettings ConnectionSettings { get; } = new(0, 0);

        public override void TransferFullDuplex(ReadOnlySpan<byte> writeBuffer, Span<byte> readBuffer)
        {
            Requests.Add(writeBuffer.ToArray());
            Assert.AreEqual(3, writeBuffer.Length);
            Assert.AreEqual(0x01, writeBuffer[0] & 0x01, "start bit");
            Assert.AreEqual(0x80, writeBuffer[1] & 0x80, "single-ended");
            int value = Channels[(writeBuffer[1] >> 4) & 0x07];
            readBuffer[0] = 0xFF; // don't care: the chip drives nothing yet
            readBuffer[1] = (byte)((value >> 8) & 0x03);
            readBuffer[2] = (byte)value;
        }

        public override byte ReadByte() => throw new NotSupportedException();

        public override void Read(Span<byte> buffer) => throw new NotSupportedException();

        public override void WriteByte(byte value) => throw new NotSupportedException();

        public override void Write(ReadOnlySpan<byte> buffer) => throw new NotSupportedException();
    }

    [TestMethod]
    public void Mcp3008_Binding_ReadsEachChannel_AndTheSensorScales()
    {
        var bus = new SimulatedMcp3008();
        bus.Channels[0] = 855;  // the first MQ-7 reading of the air-sensor log
        bus.Channels[5] = 1023; // full scale
        using (var adc = new Mcp3008(bus))
        {
            Assert.AreEqual(855, adc.Read(0));
            Assert.AreEqual(1023, adc.Read(5));
            Assert.AreEqual(0, adc.Read(3));
        }
        CollectionAssert.AreEqual(new byte[] { 0x01, 0xD0, 0x00 }, bus.Requests[1], "channel 5 request: start, SGL|101");

        var bus2 = new SimulatedMcp3008();
        bus2.Channels[0] = 855;
        bus2.Channels[1] = 512;
        using var sensor = new Mcp3008Sensor(() => bus2, [(0, 1), (1, 0)], scale: 3.3 / 1024);
        var values = new float[2];
        Assert.IsTrue(sensor.TryRead(values));
        Assert.AreEqual(1.65f, values[0], 1e-6f);
        Assert.AreEqual(855 * 3.3f / 1024, values[1], 1e-5f);
    }

    private sealed class ManualClock : TimeProvider
    {
        public long Now;

        public override long TimestampFrequency => 1000;

        public override long GetTimestamp() => Now;
    }

    [TestMethod]
    public void SensorThatStopsAnswering_IsCounted_RetriedWithBackoff_AndReopened()
    {
        var buses = new List<SimulatedBme280>();
        var clock = new ManualClock();
        var unplugged = new System.Runtime.CompilerServices.StrongBox<bool>(false);
        var bme = new Bme280Sensor(() => { var b = SimulatedBme280.DatasheetExample(30000, unplugged); buses.Add(b); return b; }, 0, -1, -1);
        var adcBus = new SimulatedMcp3008();
        adcBus.Channels[2] = 300;
        var adc = new Mcp3008Sensor(() => adcBus, [(2, 1)]);
        var counters = new DeviceCounters();
        var source = new PeriodicSensorSource([bme, adc], 2, TimeSpan.FromSeconds(1), counters, DeviceTestSupport.Log,
            TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(4), clock);
        var v = new float[2];

        source.ReadAll(v);
        Assert.AreEqual(25.08f, v[0], 0.005f);
        unplugged.Value = true;
        var results = new List<string>();
        for (int s = 1; s <= 12; s++)
        {
            clock.Now = s * 1000;
            Array.Fill(v, float.NaN);
            source.ReadAll(v);
            results.Add(float.IsNaN(v[0]) ? "-" : "T");
            Assert.AreEqual(300f, v[1], "the other sensor keeps sampling");
        }
        // Fails at t=1 (retry after 1 s), t=2 (after 2 s), t=4 (after 4 s), t=8 (after 4 s, the cap), t=12.
        Assert.AreEqual(5, counters.SensorErrors);
        Assert.HasCount(5, buses, "each retry reopens the sensor (a re-plugged chip comes back unconfigured)");
        unplugged.Value = false;
        clock.Now = 16_000;
        source.ReadAll(v);
        Assert.HasCount(6, buses);
        Assert.AreEqual(25.08f, v[0], 0.005f, "answers again after the back-off");
        Assert.AreEqual(5, counters.SensorErrors);
        Assert.AreEqual("------------", string.Concat(results));
    }

    [TestMethod]
    public async Task PeriodicSampling_IsStampedOnDeadlines_WithoutDrift()
    {
        var bus = new SimulatedMcp3008();
        var sensor = new Mcp3008Sensor(() => bus, [(0, 0)]);
        var counters = new DeviceCounters();
        var source = new PeriodicSensorSource([sensor], 1, TimeSpan.FromMilliseconds(40), counters, DeviceTestSupport.Log);
        var channel = Channel.CreateUnbounded<Sample>();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(600));
        await source.RunAsync(channel.Writer, cts.Token);
        var got = new List<Sample>();
        while (channel.Reader.TryRead(out var s)) got.Add(s);
        Assert.IsTrue(got.Count is >= 8 and <= 16, $"{got.Count} samples in 600 ms at 40 ms");
        for (int i = 1; i < got.Count; i++)
            Assert.AreEqual(TimeSpan.FromMilliseconds(40), got[i].Time - got[i - 1].Time, "stamps are start + k x period");
    }
}
