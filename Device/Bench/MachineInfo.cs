using System.Globalization;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Edge.Runtime;

namespace Edge.Device.Bench;

/// <summary>
/// What a benchmark result must say about the machine it ran on, so that two result files can be put side by
/// side honestly: CPU (x86 "model name"; ARM "CPU part" mapped to the Cortex name), board, cores, frequency,
/// OS, .NET and Edge versions, and whether the process runs under emulation (qemu-user), when it can tell.
/// Everything is read from /proc and /sys; a file that is missing (macOS, Windows, a locked-down container)
/// leaves its field null, never an exception.
/// </summary>
public sealed record MachineInfo
{
    public required string Architecture { get; init; }
    public required string CpuModel { get; init; }
    /// <summary>ARM "CPU implementer"/"CPU part" as read (e.g. "0x41/0xd0b"), null on x86.</summary>
    public string? CpuPart { get; init; }
    public string? Board { get; init; }
    public required int Cores { get; init; }
    public double? FrequencyMhz { get; init; }
    public double? MaxFrequencyMhz { get; init; }
    public string? Governor { get; init; }
    public required string Os { get; init; }
    public required string Kernel { get; init; }
    public required string Dotnet { get; init; }
    /// <summary>"nativeaot" or "jit": the JIT honours DOTNET_EnableAVX2=0 and friends, NativeAOT fixes its baseline at publish.</summary>
    public required string RuntimeKind { get; init; }
    /// <summary>The instruction-set build of this binary (<see cref="BuildInfo.Describe(string)"/>).</summary>
    public required string Build { get; init; }
    public required string EdgeVersion { get; init; }
    /// <summary>"yes", "no" or "unknown".</summary>
    public required string Emulated { get; init; }
    /// <summary>How <see cref="Emulated"/> was decided (which hint fired), and the emulated CPU when qemu's command line names it.</summary>
    public required string EmulationDetail { get; init; }
    public string? EmulatedCpu { get; init; }
    /// <summary>A hypervisor (VM) was reported by the CPU (x86 "hypervisor" flag): timings are real but cores may be shared.</summary>
    public bool? Hypervisor { get; init; }
    public string? Flags { get; init; }

    /// <summary>Reads everything from the live system.</summary>
    public static MachineInfo Collect() => Collect(new LiveSystem());

    /// <summary>Reads everything through <paramref name="fs"/> (tests pass recorded /proc files).</summary>
    public static MachineInfo Collect(ISystemFiles fs)
    {
        ArgumentNullException.ThrowIfNull(fs);
        var arch = RuntimeInformation.ProcessArchitecture;
        var runtimeKind = RuntimeKindOf(fs);
        var cpuinfo = CpuInfo.Parse(fs.Read("/proc/cpuinfo"));
        bool cpuinfoIsArm = cpuinfo.First("CPU implementer") is not null;
        bool cpuinfoIsX86 = cpuinfo.First("vendor_id") is not null || cpuinfo.First("flags") is not null;

        string model;
        string? part = null;
        if (cpuinfoIsArm)
        {
            var implementer = cpuinfo.First("CPU implementer");
            var partValue = cpuinfo.First("CPU part");
            part = $"{implementer}/{partValue}";
            model = ArmCpuName(implementer, partValue) ?? $"ARM implementer {implementer} part {partValue}";
            // Heterogeneous ARM (big.LITTLE): list every distinct part.
            var parts = cpuinfo.All("CPU part").Distinct(StringComparer.OrdinalIgnoreCase).ToList();
            if (parts.Count > 1)
                model = string.Join(" + ", parts.Select(p => ArmCpuName(implementer, p) ?? p));
        }
        else
        {
            model = cpuinfo.First("model name") ?? cpuinfo.First("Processor") ?? "unknown";
        }

        var (emulated, detail, emulatedCpu) = DetectEmulation(fs, arch, cpuinfoIsArm, cpuinfoIsX86, cpuinfo.First("model name"));
        if (emulated == "yes") model = $"emulated {(emulatedCpu ?? arch.ToString().ToLowerInvariant())} (host: {model})";

        string? flags = cpuinfo.First("flags") ?? cpuinfo.First("Features");
        double? cur = Khz(fs.Read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq"));
        double? max = Khz(fs.Read("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")) ?? Khz(fs.Read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_max_freq"));
        if (cur is null && double.TryParse(cpuinfo.First("cpu MHz"), NumberStyles.Float, CultureInfo.InvariantCulture, out var mhz)) cur = mhz;

        return new MachineInfo
        {
            Architecture = arch.ToString().ToLowerInvariant(),
            CpuModel = model,
            CpuPart = part,
            Board = Clean(fs.Read("/proc/device-tree/model")) ?? cpuinfo.First("Model"),
            Cores = Environment.ProcessorCount,
            FrequencyMhz = cur,
            MaxFrequencyMhz = max,
            Governor = Clean(fs.Read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")),
            Os = OsName(fs.Read("/etc/os-release")) ?? RuntimeInformation.OSDescription,
            Kernel = Clean(fs.Read("/proc/sys/kernel/osrelease")) is { } release ? $"Linux {release}" : RuntimeInformation.OSDescription,
            Dotnet = RuntimeInformation.FrameworkDescription,
            RuntimeKind = runtimeKind,
            Build = BuildInfo.Describe(runtimeKind),
            EdgeVersion = EdgeVersionString(),
            Emulated = emulated,
            EmulationDetail = detail,
            EmulatedCpu = emulatedCpu,
            Hypervisor = cpuinfoIsX86 && flags is not null ? flags.Split(' ').Contains("hypervisor") : null,
            Flags = flags,
        };
    }

    /// <summary>
    /// "jit" or "nativeaot". RuntimeFeature.IsDynamicCodeSupported cannot tell: a project with PublishAot=true
    /// turns that switch off in its JIT builds too (so that they behave like the AOT build). A JIT process has
    /// the JIT library mapped; a NativeAOT one has no libclrjit/libcoreclr at all.
    /// </summary>
    internal static string RuntimeKindOf(ISystemFiles fs)
    {
        var maps = fs.Read("/proc/self/maps");
        if (maps is not null) return maps.Contains("libclrjit", StringComparison.Ordinal) || maps.Contains("libcoreclr", StringComparison.Ordinal) ? "jit" : "nativeaot";
        return RuntimeFeature.IsDynamicCodeCompiled ? "jit" : "nativeaot";
    }

    /// <summary>Edge.Runtime's informational version (0.1.0, plus +commit when the build knew it).</summary>
    public static string EdgeVersionString() =>
        typeof(EdgeModel).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(EdgeModel).Assembly.GetName().Version?.ToString() ?? "unknown";

    /// <summary>
    /// qemu-user runs the guest inside the qemu process, and (qemu 7.2, Debian 12) hides itself only from some
    /// files: /proc/self/maps, stat, auxv, cmdline and exe are faked, but /proc/self/status still names the
    /// process "qemu-aarch64-st(atic)", /proc/thread-self/cmdline is the real qemu command line (with the
    /// "-cpu cortex-a76" it was given), and /proc/cpuinfo is the host's, so an arm64 process that reads an x86
    /// cpuinfo is emulated. None of these hints means "not emulated" for certain (a newer qemu may hide more;
    /// Rosetta or box64 are other stories), so absence of every hint on a consistent cpuinfo gives "no", and a
    /// system without /proc gives "unknown".
    /// </summary>
    private static (string Emulated, string Detail, string? Cpu) DetectEmulation(ISystemFiles fs, Architecture arch, bool cpuinfoIsArm, bool cpuinfoIsX86, string? hostModel)
    {
        string? status = fs.Read("/proc/self/status");
        string? name = status?.Split('\n').FirstOrDefault(l => l.StartsWith("Name:", StringComparison.Ordinal))?[5..].Trim();
        string? cmdline = fs.Read("/proc/thread-self/cmdline")?.Replace('\0', ' ').Trim();
        string? cpu = null;
        if (cmdline is not null && cmdline.Contains("qemu-", StringComparison.Ordinal))
        {
            var words = cmdline.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            int i = Array.IndexOf(words, "-cpu");
            cpu = i >= 0 && i + 1 < words.Length ? words[i + 1] : Environment.GetEnvironmentVariable("QEMU_CPU");
        }
        if (name is not null && name.StartsWith("qemu-", StringComparison.Ordinal))
            return ("yes", $"qemu-user: the process is named '{name}' in /proc/self/status" + (cpu is null ? "" : $"; qemu was started with -cpu {cpu}"), cpu);
        if (cmdline is not null && cmdline.StartsWith("qemu-", StringComparison.Ordinal) || cmdline?.Contains("/qemu-", StringComparison.Ordinal) == true)
            return ("yes", "qemu-user: /proc/thread-self/cmdline is a qemu command line" + (cpu is null ? "" : $" with -cpu {cpu}"), cpu);
        bool isArm = arch is System.Runtime.InteropServices.Architecture.Arm64 or System.Runtime.InteropServices.Architecture.Arm;
        bool isX86 = arch is System.Runtime.InteropServices.Architecture.X64 or System.Runtime.InteropServices.Architecture.X86;
        if (isArm && cpuinfoIsX86 && !cpuinfoIsArm)
            return ("yes", $"an {arch.ToString().ToLowerInvariant()} process reading an x86 /proc/cpuinfo ({hostModel ?? "x86"}): a user-mode emulator passes the host's through", cpu);
        if (isX86 && cpuinfoIsArm)
            return ("yes", "an x64 process reading an ARM /proc/cpuinfo (Rosetta, box64 or qemu-user)", cpu);
        if (status is null && !cpuinfoIsArm && !cpuinfoIsX86)
            return ("unknown", "no /proc/self/status or /proc/cpuinfo to tell from", null);
        return ("no", "no emulator hint: process name, qemu command line and /proc/cpuinfo match the native architecture", null);
    }

    /// <summary>The ARM "CPU part" numbers of the cores an Edge user meets (ARM Ltd., implementer 0x41).</summary>
    public static string? ArmCpuName(string? implementer, string? part)
    {
        if (part is null) return null;
        if (implementer is not null && !implementer.Equals("0x41", StringComparison.OrdinalIgnoreCase)) return null;
        return part.ToLowerInvariant() switch
        {
            "0xd03" => "Cortex-A53",
            "0xd04" => "Cortex-A35",
            "0xd05" => "Cortex-A55",
            "0xd07" => "Cortex-A57",
            "0xd08" => "Cortex-A72",
            "0xd09" => "Cortex-A73",
            "0xd0a" => "Cortex-A75",
            "0xd0b" => "Cortex-A76",
            "0xd0c" => "Neoverse-N1",
            "0xd0d" => "Cortex-A77",
            "0xd40" => "Neoverse-V1",
            "0xd41" => "Cortex-A78",
            "0xd44" => "Cortex-X1",
            "0xd46" => "Cortex-A510",
            "0xd47" => "Cortex-A710",
            "0xd48" => "Cortex-X2",
            "0xd49" => "Neoverse-N2",
            "0xd4b" => "Cortex-A78C",
            "0xd4f" => "Neoverse-V2",
            _ => null,
        };
    }

    private static double? Khz(string? text) =>
        double.TryParse(text?.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var khz) && khz > 0 ? khz / 1000.0 : null;

    private static string? Clean(string? s)
    {
        var t = s?.Replace("\0", "", StringComparison.Ordinal).Trim();
        return string.IsNullOrEmpty(t) ? null : t;
    }

    private static string? OsName(string? osRelease)
    {
        if (osRelease is null) return null;
        foreach (var line in osRelease.Split('\n'))
            if (line.StartsWith("PRETTY_NAME=", StringComparison.Ordinal))
                return line[12..].Trim().Trim('"');
        return null;
    }

    public JsonObject ToJson() => new()
    {
        ["architecture"] = Architecture,
        ["cpu_model"] = CpuModel,
        ["cpu_part"] = CpuPart,
        ["board"] = Board,
        ["cores"] = Cores,
        ["frequency_mhz"] = FrequencyMhz,
        ["max_frequency_mhz"] = MaxFrequencyMhz,
        ["governor"] = Governor,
        ["os"] = Os,
        ["kernel"] = Kernel,
        ["dotnet"] = Dotnet,
        ["runtime"] = RuntimeKind,
        ["build"] = Build,
        ["edge_version"] = EdgeVersion,
        ["emulated"] = Emulated,
        ["emulation_detail"] = EmulationDetail,
        ["emulated_cpu"] = EmulatedCpu,
        ["hypervisor"] = Hypervisor,
    };

    /// <summary>"key : value" lines of /proc/cpuinfo (several processors repeat the keys).</summary>
    private sealed class CpuInfo
    {
        private readonly List<(string Key, string Value)> _lines = [];

        public static CpuInfo Parse(string? text)
        {
            var info = new CpuInfo();
            if (text is null) return info;
            foreach (var line in text.Split('\n'))
            {
                int colon = line.IndexOf(':', StringComparison.Ordinal);
                if (colon <= 0) continue;
                info._lines.Add((line[..colon].Trim(), line[(colon + 1)..].Trim()));
            }
            return info;
        }

        public string? First(string key)
        {
            foreach (var (k, v) in _lines) if (k == key) return v.Length == 0 ? null : v;
            return null;
        }

        public IEnumerable<string> All(string key) => _lines.Where(l => l.Key == key && l.Value.Length > 0).Select(l => l.Value);
    }
}

/// <summary>Where <see cref="MachineInfo"/> reads /proc and /sys: the live system, or recorded files in tests.</summary>
public interface ISystemFiles
{
    /// <summary>The file's text, or null when it does not exist or cannot be read.</summary>
    string? Read(string path);
}

/// <summary>The live /proc and /sys.</summary>
public sealed class LiveSystem : ISystemFiles
{
    public string? Read(string path)
    {
        try { return File.Exists(path) ? File.ReadAllText(path) : null; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }
}
