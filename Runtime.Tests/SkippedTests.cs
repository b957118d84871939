using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;

namespace Edge.Runtime.Tests;

/// <summary>
/// Tests that need something outside the repository (a Debian package, the third-party models next to the
/// checkout) are skipped without it. Each such skip goes through <see cref="Inconclusive"/>, and the run ends
/// with one line saying what was skipped and the command that enables it (<see cref="ZzSummaryOfSkippedTests"/>),
/// so a skipped integration test is noticed in a plain `dotnet test`.
/// </summary>
[TestClass]
public sealed class SkippedTests
{
    public const string Socat = "socat";
    public const string Mosquitto = "mosquitto";
    public const string OnnxTestData = "libonnx-testdata";
    public const string SharedModels = "shared";

    /// <summary>What each kind of skipped test checks, and what enables it.</summary>
    private static readonly Dictionary<string, (string What, string Enable)> s_kinds = new(StringComparer.Ordinal)
    {
        [Socat] = ("serial through socat pseudo-terminals", "apt-get install -y socat"),
        [Mosquitto] = ("MQTT through a real mosquitto broker", "apt-get install -y mosquitto"),
        [OnnxTestData] = ("ONNX's node conformance tests", "apt-get install -y libonnx-testdata"),
        [SharedModels] = ("extra checks on third-party Keras models", "a checkout next to the project's ../shared/models"),
    };

    private static readonly ConcurrentDictionary<string, int> s_skipped = new(StringComparer.Ordinal);

    /// <summary>Skips the calling test (Inconclusive) for lack of <paramref name="kind"/>, and counts it for the summary.</summary>
    [DoesNotReturn]
    public static void Inconclusive(string kind, string message)
    {
        if (!s_kinds.TryGetValue(kind, out var k)) throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a kind of skipped test");
        s_skipped.AddOrUpdate(kind, 1, (_, n) => n + 1);
        Assert.Inconclusive($"{message}; enable with: {k.Enable}");
        throw new UnreachableException();
    }

    /// <summary>The summary line, or null when nothing was skipped for lack of something.</summary>
    internal static string? Summary(IReadOnlyDictionary<string, int> skipped)
    {
        var kinds = s_kinds.Keys.Where(k => skipped.GetValueOrDefault(k) > 0).ToList();
        if (kinds.Count == 0) return null;
        int total = kinds.Sum(k => skipped[k]);
        var packages = kinds.Where(k => k != SharedModels).ToList();
        string enable = (packages.Count > 0 ? $"; enable them with: sudo apt-get install -y {string.Join(' ', packages)}" : "") +
                        (kinds.Contains(SharedModels) ? "; the third-party model checks run in a checkout next to ../shared/models" : "");
        return $"SKIPPED {total} test{(total == 1 ? "" : "s")} for lack of what they need: " +
               string.Join(", ", kinds.Select(k => $"{skipped[k]} {s_kinds[k].What} ({(k == SharedModels ? "no ../shared/models" : k + " missing")})")) + enable;
    }

    [TestMethod]
    public void Summary_NamesEachKindWithItsCount_AndOneCommandForThePackages()
    {
        Assert.IsNull(Summary(new Dictionary<string, int>()));
        string line = Summary(new Dictionary<string, int> { [Mosquitto] = 1, [Socat] = 2, [SharedModels] = 3 })!;
        Assert.AreEqual("SKIPPED 6 tests for lack of what they need: 2 serial through socat pseudo-terminals (socat missing), " +
                        "1 MQTT through a real mosquitto broker (mosquitto missing), 3 extra checks on third-party Keras models (no ../shared/models); " +
                        "enable them with: sudo apt-get install -y socat mosquitto; the third-party model checks run in a checkout next to ../shared/models", line);
        Assert.AreEqual("SKIPPED 1 test for lack of what they need: 1 ONNX's node conformance tests (libonnx-testdata missing); " +
                        "enable them with: sudo apt-get install -y libonnx-testdata", Summary(new Dictionary<string, int> { [OnnxTestData] = 1 }));
    }

    /// <summary>
    /// The run's last line about tests: MSTest runs [DoNotParallelize] tests after all the parallel ones, and
    /// this is the only one, so it sees every skip above. It is itself skipped, with the summary as its reason
    /// (a plain `dotnet test` shows skip reasons; the test process's own stdout is not shown), and passes when
    /// nothing was skipped.
    /// </summary>
    [TestMethod]
    [DoNotParallelize]
    public void ZzSummaryOfSkippedTests()
    {
        if (Summary(s_skipped) is { } line) Assert.Inconclusive(line);
    }
}
