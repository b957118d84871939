using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Edge.Device.Config;
using Edge.Device.Pipeline;
using Edge.Device.Sinks;
using Edge.Runtime;

namespace Edge.Runtime.Tests.Device;

/// <summary>
/// The CSV sink on a disk that fills up: a real 1 MB tmpfs (root mounts it, as in CI), the real `edge`
/// binary replaying a CSV as fast as it goes, and the file checked row by row against the counters
/// `edge run` logs at exit: every forecast delivered or dropped, every delivered one whole in the file,
/// no torn row.
/// </summary>
[TestClass]
public sealed partial class CsvSinkFullDiskTests
{
    private const int Horizon = 3;
    private const int Fields = 4 + 2; // seq,time,step,target_time,a,b

    [GeneratedRegex(@"\bforecasts=(\d+)")]
    private static partial Regex ForecastsCounter();

    [GeneratedRegex(@"sink csv:[^\n]*?: delivered=(\d+) dropped=(\d+) queued=(\d+) failures=(\d+)")]
    private static partial Regex SinkCounters();

    private sealed record RunCounts(long Forecasts, long Delivered, long Dropped, long Queued, long Failures);

    [TestMethod]
    [Timeout(120_000, CooperativeCancellation = true)]
    public async Task FullTmpfs_EveryRowWhole_DeliveredPlusDroppedIsForecasts_AndAppendingResumesAfterSpaceIsFreed()
    {
        var dir = TestPaths.NewTempDir();
        var mount = Path.Combine(dir, "disk");
        Directory.CreateDirectory(mount);
        if (!OperatingSystem.IsLinux()) Assert.Inconclusive("needs Linux tmpfs");
        var (mrc, mout) = await RunTool("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mount]);
        if (mrc != 0) Assert.Inconclusive($"cannot mount a 1 MB tmpfs (needs root, as in CI): {mout.Trim()}");
        try
        {
            var model = DeviceTestSupport.WriteDenseModel(dir, 2, 2, 2, DeviceTestSupport.MeanOfStepsWeights(2, 2), [0.5f, -0.25f],
                DeviceTestSupport.Metadata(["a", "b"], 1, 2));
            var replay = Path.Combine(dir, "replay.csv");
            await File.WriteAllLinesAsync(replay, ["a,b", .. Enumerable.Range(0, 3000).Select(i => $"{i % 97 * 0.5},{100 + i % 13}")]);
            var csv = Path.Combine(mount, "forecasts.csv");

            // Leave two 4 KB pages free: about 36 forecasts fit. However fast the source, the sink gets at
            // least its buffer (50) plus one to write, so the disk fills whatever the machine's speed.
            var filler = Path.Combine(mount, "filler");
            await using (var f = new FileStream(filler, FileMode.Create))
            {
                var block = new byte[4096];
                try { for (int i = 0; i < 256 - 2; i++) f.Write(block); }
                catch (IOException) { }
            }

            var first = await RunEdge(dir, model, replay, csv, buffer: 50, speed: "1000"); // 1,000 lines/s for 3 s
            Assert.IsGreaterThan(0L, first.Failures, "the disk never filled: the test did not test anything");
            Assert.IsGreaterThan(0L, first.Dropped);
            Assert.IsGreaterThan(0L, first.Delivered);
            Assert.AreEqual(0L, first.Queued, "a finished run holds nothing");
            Assert.AreEqual(first.Forecasts, first.Delivered + first.Dropped + first.Queued, "every forecast delivered or counted dropped");
            var rows1 = CheckFile(csv);
            Assert.AreEqual(first.Delivered * Horizon, rows1.Count, "complete rows == delivered forecasts x horizon");

            // Space comes back: a second run appends to the same file after the last whole row.
            File.Delete(filler);
            var second = await RunEdge(dir, model, replay, csv, buffer: 10_000, speed: "fast", lines: 400);
            Assert.AreEqual(second.Forecasts, second.Delivered + second.Dropped + second.Queued);
            Assert.AreEqual(0L, second.Dropped, "with room on the disk and a big enough buffer nothing is dropped");
            var rows2 = CheckFile(csv);
            Assert.AreEqual((first.Delivered + second.Delivered) * Horizon, rows2.Count);
        }
        finally
        {
            await RunTool("umount", [mount]);
        }
    }

    /// <summary>
    /// A file that ends in a torn row (a crash mid-write, or a rollback that failed) is cut back to its
    /// last whole row before anything is appended.
    /// </summary>
    [TestMethod]
    public async Task TornTail_IsCutWhenTheFileIsOpened()
    {
        var dir = TestPaths.NewTempDir();
        var path = Path.Combine(dir, "f.csv");
        await File.WriteAllTextAsync(path, "seq,time,step,target_time,a,b\n1,2026-01-01T00:00:00.000Z,1,,1,2\n2,2026-01-01T00:0");
        var spec = ModelSpecReader.Read(EdgeModel.Load(DeviceTestSupport.WriteDenseModel(dir, 2, 2, 2, DeviceTestSupport.MeanOfStepsWeights(2, 2), [0f, 0f],
            DeviceTestSupport.Metadata(["a", "b"], null, 2))), new RunConfig()).Spec;
        await using (var sink = new CsvFileSink(path, spec))
        {
            await sink.WriteAsync(new Forecast { Sequence = 7, Time = DateTimeOffset.UnixEpoch, Actual = [1f, 2f], Steps = 1, Values = [3f, 4f] }, CancellationToken.None);
            await sink.FlushAsync(CancellationToken.None);
        }
        var lines = await File.ReadAllLinesAsync(path);
        CollectionAssert.AreEqual(new[] { "seq,time,step,target_time,a,b", "1,2026-01-01T00:00:00.000Z,1,,1,2", "7,1970-01-01T00:00:00.000Z,1,,3,4" }, lines);
    }

    /// <summary>Every line after the header has all fields, parseable; each forecast's steps 1..horizon are together and in order.</summary>
    private static List<string[]> CheckFile(string path)
    {
        var text = File.ReadAllText(path);
        Assert.IsTrue(text.EndsWith('\n'), "the file ends in a whole row");
        var lines = text[..^1].Split('\n');
        Assert.AreEqual("seq,time,step,target_time,a,b", lines[0]);
        Assert.AreEqual(1, lines.Count(l => l.StartsWith("seq,", StringComparison.Ordinal)), "one header");
        var rows = new List<string[]>();
        for (int i = 1; i < lines.Length; i++)
        {
            var f = lines[i].Split(',');
            Assert.HasCount(Fields, f, $"line {i + 1}: '{lines[i]}'");
            Assert.IsTrue(long.TryParse(f[0], CultureInfo.InvariantCulture, out _), $"line {i + 1}: seq '{f[0]}'");
            Assert.IsTrue(DateTimeOffset.TryParse(f[1], CultureInfo.InvariantCulture, out _), $"line {i + 1}: time '{f[1]}'");
            Assert.IsTrue(DateTimeOffset.TryParse(f[3], CultureInfo.InvariantCulture, out _), $"line {i + 1}: target_time '{f[3]}'");
            for (int j = 4; j < Fields; j++)
                Assert.IsTrue(float.TryParse(f[j], CultureInfo.InvariantCulture, out _), $"line {i + 1}: value '{f[j]}'");
            int step = int.Parse(f[2], CultureInfo.InvariantCulture);
            Assert.AreEqual(rows.Count % Horizon + 1, step, $"line {i + 1}: step");
            if (step > 1) Assert.AreEqual(rows[^1][0], f[0], $"line {i + 1}: a forecast's steps stay together");
            rows.Add(f);
        }
        Assert.AreEqual(0, rows.Count % Horizon, "the last forecast has all its steps");
        return rows;
    }

    private static async Task<RunCounts> RunEdge(string dir, string model, string replay, string csv, int buffer, string speed, int? lines = null)
    {
        var input = replay;
        if (lines is { } n)
        {
            input = Path.Combine(dir, $"replay{n}.csv");
            await File.WriteAllLinesAsync(input, File.ReadLines(replay).Take(n + 1));
        }
        var config = new JsonObject
        {
            ["model"] = model,
            ["horizon"] = Horizon,
            ["resample"] = "none",
            ["stats_interval_s"] = 0,
            ["flush_timeout_s"] = 0.5,
            ["source"] = new JsonObject { ["kind"] = "replay", ["path"] = input, ["speed"] = speed },
            ["sinks"] = new JsonArray(new JsonObject
            {
                ["kind"] = "csv", ["path"] = csv, ["buffer"] = buffer, ["reconnect_min_s"] = 0.005, ["reconnect_max_s"] = 0.02,
            }),
        };
        var cfg = Path.Combine(dir, "edge.json");
        await File.WriteAllTextAsync(cfg, config.ToJsonString());
        var (rc, output) = await RunTool(Path.Combine(AppContext.BaseDirectory, "edge"), ["run", "--config", cfg]);
        Assert.AreEqual(0, rc, output);
        var f = ForecastsCounter().Match(output);
        var s = SinkCounters().Match(output);
        Assert.IsTrue(f.Success && s.Success, $"no counters in the output:\n{output}");
        long G(Match m, int i) => long.Parse(m.Groups[i].Value, CultureInfo.InvariantCulture);
        return new RunCounts(G(f, 1), G(s, 1), G(s, 2), G(s, 3), G(s, 4));
    }

    private static async Task<(int ExitCode, string Output)> RunTool(string file, string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        Process p;
        try { p = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception e) { return (-1, e.Message); }
        using (p)
        {
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            try { await p.WaitForExitAsync(cts.Token); }
            catch (OperationCanceledException)
            {
                p.Kill(entireProcessTree: true);
                Assert.Fail($"{file} {string.Join(' ', args)} did not finish within 60 s");
            }
            return (p.ExitCode, await stdout + await stderr);
        }
    }
}
