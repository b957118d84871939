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
