using System.Runtime.InteropServices;
using Edge.Device.Bench;

namespace Edge.Runtime.Tests.Bench;

/// <summary>Which instruction-set build `edge bench` and `edge selftest` report (<see cref="BuildInfo"/>).</summary>
[TestClass]
public sealed class BuildInfoTests
{
    [TestMethod]
    [DataRow("nativeaot", Architecture.X64, "x86-64-v4,avxvnni", "x86-64-v4,avxvnni (avx512 build)")]
    [DataRow("nativeaot", Architecture.X64, "x86-64-v3", "x86-64-v3 (avx2 build)")]
    [DataRow("nativeaot", Architecture.X64, "", "x86-64 default (x86-64-v2: scalar kernels only)")]
    [DataRow("nativeaot", Architecture.Arm64, "", "arm64 default (armv8.0-a; dot product detected at run time)")]
    [DataRow("nativeaot", Architecture.Arm64, "armv8.2-a,dotprod", "armv8.2-a,dotprod")]
    [DataRow("jit", Architecture.X64, "x86-64-v3", "jit (instruction sets detected at run time)")]
    public void Describes(string runtime, Architecture arch, string recorded, string expected) =>
        Assert.AreEqual(expected, BuildInfo.Describe(runtime, arch, recorded));

    /// <summary>Edge.Device.csproj records the build's IlcInstructionSet (empty for a build without a RID, as this one).</summary>
    [TestMethod]
    public void TheBuildRecordsItsInstructionSet() =>
        Assert.IsTrue(typeof(BuildInfo).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
            .Cast<System.Reflection.AssemblyMetadataAttribute>().Any(a => a.Key == "EdgeIlcInstructionSet"),
            "Edge.Device carries no EdgeIlcInstructionSet metadata: edge bench/selftest cannot say which build it is");
}
