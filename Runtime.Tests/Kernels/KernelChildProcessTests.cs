using Edge.Runtime.Kernels;

namespace Edge.Runtime.Tests.Kernels;

/// <summary>
/// Runs <see cref="KernelParityTests"/> again in child processes of this test executable (a
/// Microsoft.Testing.Platform exe) with instruction sets switched off, so the narrower paths (and the
/// runtime's own fallbacks) run on this machine too. Each child reports the paths it saw; the test checks
/// the switch really narrowed them, so a renamed runtime knob cannot make the run silently redundant.
/// Note: .NET 10 ignores DOTNET_EnableAVX512F (the knob is now DOTNET_EnableAVX512); both are set.
/// </summary>
[TestClass]
public sealed class KernelChildProcessTests
{
    public static IEnumerable<object[]> Switches =>
    [
        ["DOTNET_EnableAVX512F=0;DOTNET_EnableAVX512=0", "Avx512Vnni"],
        ["DOTNET_EnableAVXVNNI=0", "Avx512Vnni"],
        ["DOTNET_EnableAVX2=0", "Avx2,Avx512Vnni"],
        ["DOTNET_EnableHWIntrinsic=0", "Avx2,Avx512Vnni,Neon,NeonDot"],
    ];

    [TestMethod]
    [DynamicData(nameof(Switches))]
    public void ParityTestsPass_WithIsaSwitchedOff(string environment, string mustBeOff)
    {
        if (Environment.GetEnvironmentVariable("EDGE_KERNEL_REPORT") is not null)
            Assert.Inconclusive("already a child process");
        var report = Path.Combine(TestPaths.NewTempDir(), "paths.txt");
        ChildTestRun.Run($"FullyQualifiedName~{typeof(KernelParityTests).FullName}", environment,
            new Dictionary<string, string> { ["EDGE_KERNEL_REPORT"] = report }, TimeSpan.FromMinutes(3));

        var seen = File.ReadAllText(report).Split(", ").Select(IsaSelector.Parse).ToArray();
        Console.WriteLine($"{environment}: child ran paths {string.Join(", ", seen)}");
        foreach (var off in mustBeOff.Split(','))
            Assert.DoesNotContain(Enum.Parse<Isa>(off), seen, $"{environment}: the child still reported {off}; the switch did not take effect");
        foreach (var isa in seen)
            Assert.IsTrue(IsaSelector.IsSupported(isa), $"{environment}: the child reported {isa}, which the parent does not support");
    }
}
