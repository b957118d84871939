using System.Diagnostics;
using Edge.Runtime.Kernels;

namespace Edge.Runtime.Tests;

/// <summary>
/// Runs some of this test assembly's tests again in a child process with environment switches (an ISA
/// switched off: DOTNET_EnableAVX2=0, ...), the ImageSharp way of exercising every SIMD path on one machine.
/// </summary>
internal static class ChildTestRun
{
    /// <param name="filter">a Microsoft.Testing.Platform --filter expression</param>
    /// <param name="environment">"NAME=VALUE;NAME=VALUE" set in the child (EDGE_ISA is always removed)</param>
    /// <param name="extra">more variables for the child (e.g. a marker that it is a child)</param>
    /// <returns>the child's stdout and stderr; the test fails unless the child ran tests and all passed</returns>
    public static string Run(string filter, string environment, IReadOnlyDictionary<string, string> extra, TimeSpan timeout)
    {
        var dll = typeof(ChildTestRun).Assembly.Location;
        var apphost = Path.ChangeExtension(dll, null);
        var psi = File.Exists(apphost) ? new ProcessStartInfo(apphost) : new ProcessStartInfo("dotnet") { ArgumentList = { "exec", dll } };
        foreach (var a in new[] { "--filter", filter, "--no-ansi", "--no-progress" }) psi.ArgumentList.Add(a);
        psi.Environment.Remove(IsaSelector.EnvironmentVariable);
        foreach (var (k, v) in extra) psi.Environment[k] = v;
        foreach (var kv in environment.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = kv.Split('=', 2);
            psi.Environment[parts[0]] = parts[1];
        }
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        Assert.IsTrue(p.WaitForExit(timeout), $"{environment}: child did not finish within {timeout}");
        string log = stdout + stderr.Result;
        // Microsoft.Testing.Platform exits 0 only when tests ran and all passed (8 = none ran).
        Assert.AreEqual(0, p.ExitCode, $"{environment}: child test run failed:\n{log}");
        StringAssert.Contains(log, "succeeded", $"{environment}:\n{log}");
        return log;
    }
}
