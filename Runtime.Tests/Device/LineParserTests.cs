using System.Text;
using Edge.Device.Pipeline;
using Edge.Device.Sources;
using Edge.Runtime.Contract;

namespace Edge.Runtime.Tests.Device;

[TestClass]
public sealed class LineParserTests
{
    private static readonly ModelSpec Spec = new(
        [new Feature("temperature", "°C"), new Feature("humidity", "%")], [0, 1], Normalization.Identity(2), TimeSpan.FromMinutes(1), 1);

    private static async Task<List<LineResult>> ReadAll(byte[] bytes, int max, bool file = false, int chunk = int.MaxValue)
    {
        var reader = new BoundedLineReader(new TrickleStream(bytes, chunk), max, file);
        var lines = new List<LineResult>();
        for (int guard = 0; guard < 1000; guard++)
        {
            var r = await reader.ReadLineAsync();
            if (r.Status == LineStatus.End) return lines;
            lines.Add(r);
        }
        Assert.Fail("reader did not end");
        return lines;
    }

    [TestMethod]
    public async Task Lines_SplitAcrossReads_WithCrLf()
    {
        var lines = await ReadAll(Encoding.UTF8.GetBytes("21.5,40\r\n22,41\n\n23,42\n"), 64, chunk: 3);
        CollectionAssert.AreEqual(new[] { "21.5,40", "22,41", "", "23,42" }, lines.Select(l => l.Text).ToArray());
    }

    [TestMethod]
    public async Task OverlongLine_IsSkippedToItsNewline_AndReadingGoesOn()
    {
        var text = "1,2\n" + new string('9', 5000) + "\n3,4\n" + new string('x', 100); // the last: overlong and unterminated
        var lines = await ReadAll(Encoding.ASCII.GetBytes(text), 32, chunk: 7);
        CollectionAssert.AreEqual(new[] { LineStatus.Line, LineStatus.Overlong, LineStatus.Line, LineStatus.Overlong }, lines.Select(l => l.Status).ToArray());
        Assert.AreEqual("3,4", lines[2].Text);
    }

    [TestMethod]
    public async Task GarbageBytes_AreReported_NotParsed()
    {
        var bytes = new List<byte>();
        bytes.AddRange("1,2\n"u8.ToArray());
        bytes.AddRange(new byte[] { 0xFF, 0xFE, 0x80, 0x31, (byte)'\n' }); // invalid UTF-8
        bytes.AddRange(new byte[] { 0x31, 0x00, 0x07, 0x32, (byte)'\n' }); // NUL and BEL: line noise
        bytes.AddRange("5,6\n"u8.ToArray());
        var lines = await ReadAll(bytes.ToArray(), 64);
        CollectionAssert.AreEqual(new[] { LineStatus.Line, LineStatus.Garbage, LineStatus.Garbage, LineStatus.Line }, lines.Select(l => l.Status).ToArray());
    }

    [TestMethod]
    public async Task PartialLastLine_IsALineInAFile_ButTruncatedFromADevice()
    {
        var bytes = "1,2\n3,"u8.ToArray();
        Assert.AreEqual("3,", (await ReadAll(bytes, 64, file: true))[1].Text);
        Assert.AreEqual(LineStatus.Truncated, (await ReadAll(bytes, 64, file: false))[1].Status);
    }

    private static (ParseStatus, float[], DateTimeOffset?) Parse(ILineParser p, string line)
    {
        var v = new float[2];
        Array.Fill(v, float.NaN);
        var s = p.Parse(line, v, out var t);
        return (s, v, t);
    }

    [TestMethod]
    public void Csv_HeaderMapAndTime_FromTheThingSpeakExport()
    {
        var map = new FieldMap(Spec, new Dictionary<string, string> { ["field1"] = "temperature", ["field2"] = "humidity" }, "created_at");
        var p = new CsvLineParser(map);
        Assert.AreEqual(ParseStatus.Skip, Parse(p, "created_at,entry_id,field1,field2,field3,field4,field5,field6,latitude,longitude,elevation,status").Item1);
        var (s, v, t) = Parse(p, "2026-03-21T09:53:25+00:00,1,32.4,58.2,855,1430,1474,0,,,,");
        Assert.AreEqual(ParseStatus.Sample, s);
        CollectionAssert.AreEqual(new[] { 32.4f, 58.2f }, v);
        Assert.AreEqual(new DateTimeOffset(2026, 3, 21, 9, 53, 25, TimeSpan.Zero), t);
    }

    [TestMethod]
    public void Csv_Positional_EmptyAndNaN_AreMissing_BadNumberAndShortLine_AreMalformed()
    {
        var p = new CsvLineParser(new FieldMap(Spec, null, null));
        var (s, v, t) = Parse(p, "21.5, 40");
        Assert.AreEqual(ParseStatus.Sample, s);
        CollectionAssert.AreEqual(new[] { 21.5f, 40f }, v);
        Assert.IsNull(t);
        (s, v, _) = Parse(p, "NaN,");
        Assert.AreEqual(ParseStatus.Sample, s);
        Assert.IsTrue(float.IsNaN(v[0]) && float.IsNaN(v[1]));
        Assert.AreEqual(ParseStatus.Malformed, Parse(p, "21.5,4O").Item1); // letter O
        Assert.AreEqual(ParseStatus.Malformed, Parse(p, "21.5").Item1);
        Assert.AreEqual(ParseStatus.Skip, Parse(p, "# comment").Item1);
    }

    [TestMethod]
    public void Csv_ConfiguredColumns_IgnoreUnknownOnes()
    {
        var p = new CsvLineParser(new FieldMap(Spec, new Dictionary<string, string> { ["h"] = "humidity" }, "ts"), ["ts", "junk", "h", "temperature"], ';');
        var (s, v, t) = Parse(p, "1774086805;x;55.5;20.25");
        Assert.AreEqual(ParseStatus.Sample, s);
        CollectionAssert.AreEqual(new[] { 20.25f, 55.5f }, v);
        Assert.AreEqual(DateTimeOffset.FromUnixTimeSeconds(1774086805), t);
        Assert.AreEqual(ParseStatus.Malformed, Parse(p, "yesterday;x;55.5;20.25").Item1);
    }

    [TestMethod]
    public void Csv_UnixSecondsOutsideYears1To9999_AreMalformed_NotAnException()
    {
        // Found by the second long AFL++ run (lines target): a time column of -1900001111111 seconds (before year 1)
        // threw ArgumentOutOfRangeException from DateTimeOffset.AddTicks inside the parser.
        var p = new CsvLineParser(new FieldMap(Spec, new Dictionary<string, string> { ["h"] = "humidity" }, "ts"), ["ts", "h", "temperature"], ';');
        foreach (var ts in new[] { "-1900001111111", "-62135596801", "253402300800", "1e300" })
            Assert.AreEqual(ParseStatus.Malformed, Parse(p, $"{ts};55.5;20.25").Item1, ts);
        Assert.AreEqual(DateTimeOffset.MinValue, Parse(p, "-62135596800;55.5;20.25").Item3);
        Assert.AreEqual(ParseStatus.Sample, Parse(p, "253402300799;55.5;20.25").Item1);
    }

    [TestMethod]
    public void Csv_ColumnsOrHeaderThatNameNoFeature_AreRefused()
    {
        var map = new FieldMap(Spec, null, null);
        Assert.ThrowsExactly<ArgumentException>(() => new CsvLineParser(map, ["t", "rh"]));
        var p = new CsvLineParser(map);
        Assert.AreEqual(ParseStatus.Malformed, Parse(p, "t,rh").Item1);
    }

    [TestMethod]
    public void JsonLines()
    {
        var p = new JsonLineParser(new FieldMap(Spec, new Dictionary<string, string> { ["t"] = "temperature" }, "time"));
        var (s, v, t) = Parse(p, """{"t": 21.5, "humidity": null, "other": "x", "time": "2026-03-21T09:53:25Z"}""");
        Assert.AreEqual(ParseStatus.Sample, s);
        Assert.AreEqual(21.5f, v[0]);
        Assert.IsTrue(float.IsNaN(v[1]));
        Assert.AreEqual(new DateTimeOffset(2026, 3, 21, 9, 53, 25, TimeSpan.Zero), t);
        Assert.AreEqual(1774086805L, Parse(p, """{"t": 1, "time": 1774086805}""").Item3!.Value.ToUnixTimeSeconds());
        Assert.AreEqual(ParseStatus.Sample, Parse(p, """{"t": "NaN"}""").Item1);
        foreach (var bad in new[] { "{\"t\": 21.5", "[1,2]", "21.5", "{\"t\": true}", "{\"t\": 1, \"time\": \"soon\"}", "\u00ff\u00fe{" })
            Assert.AreEqual(ParseStatus.Malformed, Parse(p, bad).Item1, bad);
    }

    [TestMethod]
    public void KeyValue()
    {
        var p = new KeyValueLineParser(new FieldMap(Spec, new Dictionary<string, string> { ["T"] = "temperature", ["RH"] = "humidity" }, null));
        var (s, v, _) = Parse(p, "T=21.5 RH:40;extra=1");
        Assert.AreEqual(ParseStatus.Sample, s);
        CollectionAssert.AreEqual(new[] { 21.5f, 40f }, v);
        Assert.AreEqual(ParseStatus.Malformed, Parse(p, "T=21.5 garbage").Item1);
        Assert.AreEqual(ParseStatus.Malformed, Parse(p, "T=abc").Item1);
        Assert.AreEqual(ParseStatus.Malformed, Parse(p, ",,,").Item1);
    }

    [TestMethod]
    public async Task LineSampleReader_CountsEveryKindOfBadLine()
    {
        var counters = new DeviceCounters();
        var reader = new LineSampleReader(new CsvLineParser(new FieldMap(Spec, null, null)), 2, counters, DeviceTestSupport.Limiter, "test");
        var bytes = Encoding.UTF8.GetBytes("1,2\nnope,2\n" + new string('1', 300) + "\n\u0001\n3,NaN\n").Concat(new byte[] { 0xC3, 0x28, 10 }).ToArray();
        var lines = new BoundedLineReader(new MemoryStream(bytes), 64);
        var samples = new List<Sample>();
        for (var r = await lines.ReadLineAsync(); r.Status != LineStatus.End; r = await lines.ReadLineAsync())
            if (reader.TryConvert(r, out var s)) samples.Add(s);
        Assert.HasCount(2, samples);
        Assert.IsTrue(float.IsNaN(samples[1].Values[1]));
        Assert.AreEqual(2, counters.Samples);
        Assert.AreEqual(1, counters.Malformed);
        Assert.AreEqual(1, counters.Overlong);
        Assert.AreEqual(2, counters.Garbage);
    }

    /// <summary>A stream that returns at most <c>chunk</c> bytes per read, as a serial port does.</summary>
    private sealed class TrickleStream(byte[] data, int chunk) : MemoryStream(data)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, chunk));

        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, chunk)]);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, chunk)], cancellationToken);
    }
}
