using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Edge.Runtime.Kernels;

/// <summary>The instruction-set paths the kernels are written for. <see cref="Scalar"/> is the specification.</summary>
public enum Isa
{
    /// <summary>Plain loops: the specification every other path equals bit for bit (integer accumulators).</summary>
    Scalar,
    /// <summary>x64 AVX2: int8 via vpmaddubsw + vpmaddwd with the sign trick; fp32 in Vector256.</summary>
    Avx2,
    /// <summary>
    /// x64 AVX-512 with VNNI: int8 via vpdpbusd (u8 x s8 -> int32, +128 offset with a per-row correction);
    /// fp32 and quantization in Vector512. .NET 10 exposes vpdpbusd only through <see cref="AvxVnni"/>
    /// (VEX, 256-bit; there is no Avx512Vnni class), so this path needs AVX-512BW and AVX-VNNI
    /// (Zen 4/5, Sapphire Rapids and later). On AVX-512 CPUs without AVX-VNNI (Ice Lake, Skylake-X) it is
    /// reported as unsupported and <see cref="Avx2"/> is the best path.
    /// </summary>
    Avx512Vnni,
    /// <summary>arm64 AdvSimd: int8 via smull/smlal(2) + sadalp; fp32 in Vector128 (Cortex-A53/A72: Pi 3, Zero 2, Pi 4).</summary>
    Neon,
    /// <summary>arm64 AdvSimd + dot product (ARMv8.2 sdot; Cortex-A76: Pi 5).</summary>
    NeonDot,
}

/// <summary>
/// Which <see cref="Isa"/> paths this process can run, and the one a session uses.
/// The choice is made once (by <see cref="Gemv.Create"/> / <see cref="Gemv.FromEnvironment"/>) and held
/// by the caller, never re-decided per call. <c>EDGE_ISA=scalar|avx2|avx512|neon|neondot</c> forces one.
/// </summary>
internal static class IsaSelector
{
    /// <summary>The environment variable that forces a path.</summary>
    public const string EnvironmentVariable = "EDGE_ISA";

    private static readonly Isa[] s_supported = Detect();

    /// <summary>The paths this CPU (and this runtime's ISA switches, e.g. DOTNET_EnableAVX2=0) supports, narrowest first.</summary>
    public static IReadOnlyList<Isa> Supported => s_supported;

    /// <summary>The widest supported path.</summary>
    public static Isa Best => s_supported[^1];

    public static bool IsSupported(Isa isa) => Array.IndexOf(s_supported, isa) >= 0;

    /// <summary>The <c>EDGE_ISA</c> spelling of a path.</summary>
    public static string Name(Isa isa) => isa switch
    {
        Isa.Scalar => "scalar",
        Isa.Avx2 => "avx2",
        Isa.Avx512Vnni => "avx512",
        Isa.Neon => "neon",
        Isa.NeonDot => "neondot",
        _ => throw new ArgumentOutOfRangeException(nameof(isa), isa, null),
    };

    /// <summary>Parses an <c>EDGE_ISA</c> value (case-insensitive; "avx512vnni" is accepted for "avx512").</summary>
    public static Isa Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Trim().ToLowerInvariant() switch
        {
            "scalar" => Isa.Scalar,
            "avx2" => Isa.Avx2,
            "avx512" or "avx512vnni" => Isa.Avx512Vnni,
            "neon" => Isa.Neon,
            "neondot" => Isa.NeonDot,
            _ => throw new EdgeException(
                $"{EnvironmentVariable}={name}: unknown instruction set; expected scalar, avx2, avx512, neon or neondot (this CPU supports {SupportedList})"),
        };
    }

    /// <summary>
    /// The path to use: <paramref name="forced"/> if given (an <c>EDGE_ISA</c> spelling), else <see cref="Best"/>.
    /// A forced path this CPU cannot run is an <see cref="EdgeException"/> that says what it can run.
    /// </summary>
    public static Isa Select(string? forced)
    {
        if (string.IsNullOrWhiteSpace(forced)) return Best;
        var isa = Parse(forced);
        if (!IsSupported(isa))
            throw new EdgeException($"{EnvironmentVariable}={forced}: this CPU does not support {Name(isa)}; it supports {SupportedList}");
        return isa;
    }

    /// <summary><see cref="Select"/> with the value of <c>EDGE_ISA</c>.</summary>
    public static Isa FromEnvironment() => Select(Environment.GetEnvironmentVariable(EnvironmentVariable));

    /// <summary>"scalar, avx2, avx512": the supported paths as <c>EDGE_ISA</c> spells them.</summary>
    public static string SupportedList => string.Join(", ", s_supported.Select(Name));

    private static Isa[] Detect()
    {
        var list = new List<Isa> { Isa.Scalar };
        // Each path also needs its float width accelerated: DOTNET_EnableHWIntrinsic=0 leaves the classes
        // unsupported, and then only the scalar path remains.
        if (Avx2.IsSupported && Vector256.IsHardwareAccelerated) list.Add(Isa.Avx2);
        if (Avx512BW.IsSupported && Avx512F.IsSupported && AvxVnni.IsSupported) list.Add(Isa.Avx512Vnni);
        if (AdvSimd.Arm64.IsSupported && Vector128.IsHardwareAccelerated) list.Add(Isa.Neon);
        if (AdvSimd.Arm64.IsSupported && Dp.IsSupported) list.Add(Isa.NeonDot);
        return list.ToArray();
    }
}

/// <summary>
/// Whether this arm64 CPU is an in-order core (Cortex-A53: Pi 3, Zero 2 W; Cortex-A55), whose NEON path runs the
/// in-order schedule of the int8 product (<see cref="Gemv"/>'s Int8NeonGroupInOrder); mature ARM libraries choose
/// per-core kernels the same way, from the CPU's part number. Read once: MIDR_EL1 from sysfs, else /proc/cpuinfo's
/// "CPU implementer"/"CPU part" of the first core (a Pi's cores are all alike). qemu-user shows neither (its
/// /proc/cpuinfo is the host's), so <c>EDGE_NEON_KERNEL=inorder|outoforder</c> forces the variant (tests, and a
/// comparison on a Pi); <c>auto</c> or unset decides from the part.
/// </summary>
internal static class ArmCores
{
    /// <summary>The environment variable that forces the NEON variant.</summary>
    public const string EnvironmentVariable = "EDGE_NEON_KERNEL";

    private static readonly Lazy<(bool InOrder, string Why)> s_choice = new(() =>
        Choose(Environment.GetEnvironmentVariable(EnvironmentVariable), ReadOrNull(MidrPath), ReadOrNull("/proc/cpuinfo")));

    private const string MidrPath = "/sys/devices/system/cpu/cpu0/regs/identification/midr_el1";

    /// <summary>True when the NEON path runs the in-order variant on this CPU (or <c>EDGE_NEON_KERNEL</c> says so).</summary>
    public static bool InOrder => s_choice.Value.InOrder;

    /// <summary>"in-order (Cortex-A53, CPU part 0xd03)", "out-of-order (CPU part 0xd08)", "in-order (EDGE_NEON_KERNEL=inorder)", ...</summary>
    public static string Description => s_choice.Value.Why;

    /// <summary>The variant's name: "in-order" or "out-of-order".</summary>
    public static string VariantName(bool inOrder) => inOrder ? "in-order" : "out-of-order";

    /// <summary>
    /// The choice from an <c>EDGE_NEON_KERNEL</c> value, the text of midr_el1 (e.g. "0x00000000410fd034") and of
    /// /proc/cpuinfo (either may be null). A bad <c>EDGE_NEON_KERNEL</c> is an <see cref="EdgeException"/>.
    /// </summary>
    public static (bool InOrder, string Why) Choose(string? forced, string? midr, string? cpuinfo)
    {
        if (!string.IsNullOrWhiteSpace(forced) && !forced.Trim().Equals("auto", StringComparison.OrdinalIgnoreCase))
        {
            bool inOrder = forced.Trim().ToLowerInvariant() switch
            {
                "inorder" or "in-order" => true,
                "outoforder" or "out-of-order" => false,
                _ => throw new EdgeException($"{EnvironmentVariable}={forced}: expected inorder, outoforder or auto"),
            };
            return (inOrder, $"{VariantName(inOrder)} ({EnvironmentVariable}={forced.Trim()})");
        }
        var (implementer, part) = PartOf(midr, cpuinfo);
        if (part is null) return (false, "out-of-order (CPU part unknown)");
        string? core = implementer == 0x41 ? part switch { 0xd03 => "Cortex-A53", 0xd05 => "Cortex-A55", _ => null } : null;
        return core is not null
            ? (true, $"in-order ({core}, CPU part 0x{part:x3})")
            : (false, $"out-of-order (CPU part 0x{part:x3})");
    }

    /// <summary>Implementer and part: MIDR_EL1 bits 31-24 and 15-4, else the cpuinfo fields; nulls when neither says.</summary>
    private static (int? Implementer, int? Part) PartOf(string? midr, string? cpuinfo)
    {
        if (midr is not null && TryHex(midr, out long m))
            return ((int)((m >> 24) & 0xff), (int)((m >> 4) & 0xfff));
        if (cpuinfo is null) return (null, null);
        int? implementer = null, part = null;
        foreach (var line in cpuinfo.Split('\n'))
        {
            int colon = line.IndexOf(':');
            if (colon < 0) continue;
            var key = line[..colon].Trim();
            if (key == "CPU implementer" && implementer is null && TryHex(line[(colon + 1)..], out long i)) implementer = (int)i;
            else if (key == "CPU part" && part is null && TryHex(line[(colon + 1)..], out long p)) part = (int)p;
        }
        return (implementer, part);
    }

    private static bool TryHex(string text, out long value)
    {
        var t = text.Trim();
        if (t.StartsWith("0x", StringComparison.OrdinalIgnoreCase)) t = t[2..];
        return long.TryParse(t, System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out value);
    }

    private static string? ReadOrNull(string path)
    {
        try { return File.Exists(path) ? File.ReadAllText(path) : null; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }
}
