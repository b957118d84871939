using System.Diagnostics;
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
        var dll = typeof(KernelParityTests).Assembly.Location;
        var apphost = Path.ChangeExtension(dll, null);
        var psi = File.Exists(apphost) ? new ProcessStartInfo(apphost) : new ProcessStartInfo("dotnet") { ArgumentList = { "exec", dll } };
        foreach (var a in new[] { "--filter", $"FullyQualifiedName~{typeof(KernelParityTests).FullName}", "--no-ansi", "--no-progress" })
            psi.ArgumentList.Add(a);
        var report = Path.Combine(TestPaths.NewTempDir(), "paths.txt");
        psi.Environment["EDGE_KERNEL_REPORT"] = report;
        psi.Environment.Remove(IsaSelector.EnvironmentVariable);
        foreach (var kv in environment.Split(';'))
        {
            var parts = kv.Split('=');
            psi.Environment[parts[0]] = parts[1];
        }
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        Assert.IsTrue(p.WaitForExit(TimeSpan.FromMinutes(3)), $"{environment}: child did not finish");
        string log = stdout + stderr.Result;
        // Microsoft.Testing.Platform exits 0 only when tests ran and all passed (8 = none ran).
        Assert.AreEqual(0, p.ExitCode, $"{environment}: child test run failed:\n{log}");
        StringAssert.Contains(log, "succeeded", $"{environment}:\n{log}");

        var seen = File.ReadAllText(report).Split(", ").Select(IsaSelector.Parse).ToArray();
        Console.WriteLine($"{environment}: child ran paths {string.Join(", ", seen)}");
        foreach (var off in mustBeOff.Split(','))
            Assert.DoesNotContain(Enum.Parse<Isa>(off), seen, $"{environment}: the child still reported {off}; the switch did not take effect");
        foreach (var isa in seen)
            Assert.IsTrue(IsaSelector.IsSupported(isa), $"{environment}: the child reported {isa}, which the parent does not support");
    }
}
