using System.Reflection;
using System.Runtime.InteropServices;

namespace Edge.Device.Bench;

/// <summary>
/// Which instruction-set build this binary is. NativeAOT fixes the instruction sets at publish (Edge.Device.csproj:
/// linux-x64 is x86-64-v3, or x86-64-v4 + AVX-VNNI with -p:EdgeX64Avx512=true; rpi-deploy.sh --target pi5 builds
/// armv8.2-a + dotprod), so a CPU's flags alone do not say which kernel paths the binary can offer; the build
/// records its IlcInstructionSet in an assembly attribute and this reads it back.
/// </summary>
public static class BuildInfo
{
    private const string MetadataKey = "EdgeIlcInstructionSet";

    /// <summary>The description for this process (<paramref name="runtimeKind"/>: "jit" or "nativeaot", <see cref="MachineInfo.RuntimeKind"/>).</summary>
    public static string Describe(string runtimeKind) =>
        Describe(runtimeKind, RuntimeInformation.ProcessArchitecture, RecordedInstructionSet());

    /// <summary>
    /// "x86-64-v4,avxvnni (avx512 build)", "x86-64-v3 (avx2 build)", "arm64 default (armv8.0-a; dot product detected
    /// at run time)", "armv8.2-a,dotprod", or for the JIT "jit (instruction sets detected at run time)".
    /// </summary>
    public static string Describe(string runtimeKind, Architecture architecture, string? recorded)
    {
        if (runtimeKind != "nativeaot") return "jit (instruction sets detected at run time)";
        recorded = string.IsNullOrWhiteSpace(recorded) ? null : recorded.Trim();
        return (architecture, recorded) switch
        {
            (Architecture.X64, { } v) when v.Contains("x86-64-v4", StringComparison.OrdinalIgnoreCase) => $"{v} (avx512 build)",
            (Architecture.X64, { } v) when v.Contains("x86-64-v3", StringComparison.OrdinalIgnoreCase) => $"{v} (avx2 build)",
            (Architecture.X64, null) => "x86-64 default (x86-64-v2: scalar kernels only)",
            (Architecture.Arm64, null) => "arm64 default (armv8.0-a; dot product detected at run time)",
            (_, { } v) => v,
            _ => "default",
        };
    }

    private static string? RecordedInstructionSet() =>
        typeof(BuildInfo).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == MetadataKey)?.Value;
}
