using Edge.Runtime.Contract;
using System.Diagnostics;
using System.Text;
using System.Threading.Channels;
using Edge.Device.Pipeline;
using Edge.Device.Sources;

namespace Edge.Runtime.Tests.Device;

/// <summary>
/// Line input after junk: an overlong line (10 MB without a newline) costs only itself, never the good
/// line after it; a CSV line with more fields than columns is counted malformed, not half-used.
/// </summary>
[TestClass]
public sealed class LineResyncTests
{
    private const int TenMegabytes = 10 << 20;

    private static readonly ModelSpec Spec = new(
        [new Feature("a", "u"), new Feature("b", "u")], [0, 1], Normalization.Identity(2), TimeSpan.FromSeconds(1), 1);

    /// <summary>A clock that only moves when the stream says the device was silent.</summary>
    private sealed class ManualClock : TimeProvider
    {
        public long Ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Ticks;
    }

    /// <summary>
    /// Serves its parts one read per part (in 4 KB pieces), like a device: a part listed in
    /// <c>silentBefore</c> arrives after the clock moved a second (the read had to wait for it).
    /// </summary>
    private sealed class DeviceStream(ManualClock clock, byte[][] parts, HashSet<int> silentBefore) : Stream
    {
        private int _part;
        private int _offset;

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_part == parts.Length) return 0;
            if (_offset == 0 && silentBefore.Contains(_part)) clock.Ticks += TimeSpan.TicksPerSecond;
            int n = Math.Min(Math.Min(buffer.Length, 4096), parts[_part].Length - _offset);
            parts[_part].AsSpan(_offset, n).CopyTo(buffer);
            _offset += n;
            if (_offset == parts[_part].Length)
            {
                _part++;
                _offset = 0;
            }
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => new(Read(buffer.Span));

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private static async Task<List<LineResult>> ReadAll(BoundedLineReader reader)
    {
        var lines = new List<LineResult>();
        for (int guard = 0; guard < 100_000; guard++)
        {
            var r = await reader.ReadLineAsync();
            if (r.Status == LineStatus.End) return lines;
            lines.Add(r);
        }
        Assert.Fail("reader did not end");
        return lines;
    }

    private static byte[] Junk(int n)
    {
        var b = new byte[n];
        Array.Fill(b, (byte)'7');
        return b;
    }

    [TestMethod]
    public async Task TenMegabytesWithoutNewline_ThenSilence_ThenGoodLines_NoGoodLineLost()
    {
        var clock = new ManualClock();
        var stream = new DeviceStream(clock, ["1,2\n"u8.ToArray(), Junk(TenMegabytes), "3,4\n5,6\n"u8.ToArray()], [2]);
        var lines = await ReadAll(new BoundedLineReader(stream, 1024, partialLastLineIsLine: false, clock));
        CollectionAssert.AreEqual(new[] { "1,2", null, "3,4", "5,6" }, lines.Select(l => l.Text).ToArray());
        Assert.AreEqual(LineStatus.Overlong, lines[1].Status);
    }

    [TestMethod]
    public async Task TenMegabytesThenNewline_ResynchronisesThere_WithoutSilence()
    {
        var clock = new ManualClock();
        var junk = Junk(TenMegabytes + 2);
        junk[^2] = (byte)'\r';
        junk[^1] = (byte)'\n';
        var stream = new DeviceStream(clock, [junk, "3,4\n"u8.ToArray(), Junk(5000), "\n5,6\n"u8.ToArray()], []);
        var lines = await ReadAll(new BoundedLineReader(stream, 1024, partialLastLineIsLine: false, clock));
        CollectionAssert.AreEqual(new[] { LineStatus.Overlong, LineStatus.Line, LineStatus.Overlong, LineStatus.Line }, lines.Select(l => l.Status).ToArray());
        CollectionAssert.AreEqual(new[] { null, "3,4", null, "5,6" }, lines.Select(l => l.Text).ToArray());
    }

    [TestMethod]
    public async Task SilenceInsideANormalLine_DoesNotSplitIt_AndFilesIgnoreSilence()
    {
        var clock = new ManualClock();
        var device = new DeviceStream(clock, ["1,"u8.ToArray(), "2\n"u8.ToArray()], [1]);
        CollectionAssert.AreEqual(new[] { "1,2" }, (await ReadAll(new BoundedLineReader(device, 64, false, clock))).Select(l => l.Text).ToArray());

        // A file has no idle time: a long line glued to the next stays one overlong line there.
        var file = new DeviceStream(clock, [Junk(100), "3,4\n5,6\n"u8.ToArray()], [1]);
        CollectionAssert.AreEqual(new[] { null, "5,6" }, (await ReadAll(new BoundedLineReader(file, 64, true, clock))).Select(l => l.Text).ToArray());
    }

    [TestMethod]
    public void Csv_MoreFieldsThanColumns_IsMalformed_OneTrailingDelimiterIsNot()
    {
        var positional = new CsvLineParser(new FieldMap(Spec, null, null));
        var v = new float[2];
        Assert.AreEqual(ParseStatus.Sample, positional.Parse("1,2", v, out _));
        Assert.AreEqual(ParseStatus.Sample, positional.Parse("1,2,", v, out _), "a trailing delimiter");
        Assert.AreEqual(ParseStatus.Malformed, positional.Parse("1,2,3", v, out _));
        Assert.AreEqual(ParseStatus.Malformed, positional.Parse("1,2,,", v, out _));
        Assert.AreEqual(ParseStatus.Malformed, positional.Parse("1,21,2", v, out _), "a torn line glued to the next");

        var configured = new CsvLineParser(new FieldMap(Spec, null, "t"), ["t", "b", "skip", "a"]);
        Assert.AreEqual(ParseStatus.Sample, configured.Parse("1700000000,2,x,1", v, out _));
        Assert.AreEqual(ParseStatus.Malformed, configured.Parse("1700000000,2,x,1,9", v, out _));

        var header = new CsvLineParser(new FieldMap(Spec, null, null));
        Assert.AreEqual(ParseStatus.Skip, header.Parse("b,a", v, out _));
        Assert.AreEqual(ParseStatus.Sample, header.Parse("2,1", v, out _));
        Assert.AreEqual(ParseStatus.Malformed, header.Parse("2,1,0", v, out _));
    }

    [TestMethod]
    public void LineSampleReader_CountsExtraColumnsAsMalformed_AndKeepsNoneOfTheLine()
    {
        var counters = new DeviceCounters();
        var reader = new LineSampleReader(new CsvLineParser(new FieldMap(Spec, null, null)), 2, counters, DeviceTestSupport.Limiter, "test");
        Assert.IsFalse(reader.TryConvert(new LineResult(LineStatus.Line, "1,2,1,2,1,2"), out _));
        Assert.IsTrue(reader.TryConvert(new LineResult(LineStatus.Line, "3,4"), out var s));
        CollectionAssert.AreEqual(new[] { 3f, 4f }, s.Values);
        Assert.AreEqual((2L, 1L, 1L), (counters.Lines, counters.Samples, counters.Malformed));
    }

    /// <summary>The reproducer on a real serial line: socat's pty pair, System.IO.Ports on one end.</summary>
    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task Serial_TenMegabytesWithoutNewline_ThenAPause_TheGoodLinesAfterItAllArrive()
    {
        if (!DeviceTestSupport.HasBinary("socat")) Assert.Inconclusive("socat is not installed (apt-get install socat)");
        var dir = TestPaths.NewTempDir();
        var device = Path.Combine(dir, "ttyEDGE");
        var peer = Path.Combine(dir, "ttyPEER");
        using var socat = DeviceTestSupport.Start("socat", "-d", "-d", $"pty,raw,echo=0,link={device}", $"pty,raw,echo=0,link={peer}");
        try
        {
            Assert.IsTrue(await DeviceTestSupport.WaitUntil(() => File.Exists(device) && File.Exists(peer), TimeSpan.FromSeconds(5)), "socat did not make its ptys");
            var counters = new DeviceCounters();
            var reader = new LineSampleReader(new CsvLineParser(new FieldMap(Spec, null, null)), 2, counters, DeviceTestSupport.Limiter, "pty");
            var source = new SerialPortSource(new SerialSettings(device, 115200), reader, 1024,
                new Backoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(400)), counters, DeviceTestSupport.Log);
            var channel = Channel.CreateUnbounded<Sample>();
            using var stop = new CancellationTokenSource();
            var run = source.RunAsync(channel.Writer, stop.Token);
            try
            {
                Assert.IsTrue(await DeviceTestSupport.WaitUntil(() => source.Connected, TimeSpan.FromSeconds(5)), "the port did not open");
                await using (var w = new FileStream(peer, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
                {
                    w.Write("1,2\n"u8);
                    // Not digits: if the loaded machine stalls the writer for 100 ms mid-junk, the junk is
                    // cut there into more overlong lines, and a short tail of it would be a malformed
                    // line, never a number.
                    var junk = new byte[1 << 16];
                    Array.Fill(junk, (byte)'x');
                    for (int i = 0; i < TenMegabytes / junk.Length; i++) w.Write(junk);
                    w.Flush();
                    // The writes block while the pty is full, so the reader has all but the last few KB of
                    // the junk by now; the pause is the device falling silent before its good lines.
                    await Task.Delay(500);
                    w.Write("3,4\n5,6\n"u8);
                    w.Flush();
                    Assert.IsTrue(await DeviceTestSupport.WaitUntil(() => counters.Samples >= 3, TimeSpan.FromSeconds(10)),
                        $"samples={counters.Samples} overlong={counters.Overlong} malformed={counters.Malformed}");
                }
            }
            finally
            {
                await stop.CancelAsync();
                await run.WaitAsync(TimeSpan.FromSeconds(10));
            }
            channel.Writer.TryComplete();
            var got = new List<float[]>();
            await foreach (var s in channel.Reader.ReadAllAsync()) got.Add(s.Values);
            CollectionAssert.AreEqual(new[] { 1f, 2f, 3f, 4f, 5f, 6f }, got.SelectMany(x => x).ToArray());
            Assert.IsGreaterThanOrEqualTo(1L, counters.Overlong);
        }
        finally
        {
            DeviceTestSupport.Terminate(socat);
        }
    }
}
