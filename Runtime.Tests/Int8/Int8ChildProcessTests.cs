using System.Diagnostics;
using Edge.Runtime.Kernels;

namespace Edge.Runtime.Tests.Int8;

/// <summary>
/// Runs <see cref="Int8LayerTests"/> and the models' cross-path bit-identity test again in child processes
/// with instruction sets switched off (as Kernels/KernelChildProcessTests does for the kernels): the int8
/// layers then run on the narrower paths and on the runtime's non-accelerated fallbacks (TensorPrimitives
/// without AVX2, or without any hardware intrinsic), and must still match the reference and agree bit for
/// bit across the paths that remain.
/// </summary>
[TestClass]
public sealed class Int8ChildProcessTests
{
    private const string ChildVariable = "EDGE_INT8_CHILD";

    public static IEnumerable<object[]> Switches =>
    [
        ["DOTNET_EnableAVX512F=0;DOTNET_EnableAVX512=0"],
        ["DOTNET_EnableAVX2=0"],
        ["DOTNET_EnableHWIntrinsic=0"],
    ];

    [TestMethod]
    [DynamicData(nameof(Switches))]
    public void Int8LayerAndModelTestsPass_WithIsaSwitchedOff(string environment)
    {
        if (Environment.GetEnvironmentVariable(ChildVariable) is not null) Assert.Inconclusive("already a child process");
        var dll = typeof(Int8LayerTests).Assembly.Location;
        var apphost = Path.ChangeExtension(dll, null);
        var psi = File.Exists(apphost) ? new ProcessStartInfo(apphost) : new ProcessStartInfo("dotnet") { ArgumentList = { "exec", dll } };
        string filter = $"FullyQualifiedName~{typeof(Int8LayerTests).FullName}|FullyQualifiedName~{nameof(Int8ModelTests.Int8Model_TakesEveryInt8WeightAsInt8_AndIsBitIdenticalOnEveryIsa)}";
        foreach (var a in new[] { "--filter", filter, "--no-ansi", "--no-progress" }) psi.ArgumentList.Add(a);
        psi.Environment[ChildVariable] = "1";
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
        Assert.IsTrue(p.WaitForExit(TimeSpan.FromMinutes(5)), $"{environment}: child did not finish");
        string log = stdout + stderr.Result;
        // Microsoft.Testing.Platform exits 0 only when tests ran and all passed (8 = none ran).
        Assert.AreEqual(0, p.ExitCode, $"{environment}: child test run failed:\n{log}");
        StringAssert.Contains(log, "succeeded", $"{environment}:\n{log}");
    }
}
