using System.Runtime.InteropServices;
using Edge.Device.Bench;

namespace Edge.Runtime.Tests.Bench;

/// <summary>CPU naming and emulation detection from recorded /proc files; latency statistics.</summary>
[TestClass]
public sealed class MachineInfoTests
{
    private sealed class Files(Dictionary<string, string> files) : ISystemFiles
    {
        public string? Read(string path) => files.TryGetValue(path, out var s) ? s : null;
    }

    private const string X86CpuInfo = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\ncpu MHz\t\t: 2595.124\nflags\t\t: fpu sse2 avx2 hypervisor\n\n";

    // A Raspberry Pi 4's /proc/cpuinfo (one core shown).
    private const string Pi4CpuInfo = "processor\t: 0\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n";

    private static bool Arm => RuntimeInformation.ProcessArchitecture is Architecture.Arm64;

    [TestMethod]
    [DataRow("0x41", "0xd03", "Cortex-A53")]
    [DataRow("0x41", "0xd08", "Cortex-A72")]
    [DataRow("0x41", "0xd0b", "Cortex-A76")]
    [DataRow("0x41", "0xD0B", "Cortex-A76")]
    [DataRow("0x51", "0xd0b", null)]
    [DataRow("0x41", "0x123", null)]
    public void ArmPartNames(string implementer, string part, string? expected) =>
        Assert.AreEqual(expected, MachineInfo.ArmCpuName(implementer, part));

    [TestMethod]
    public void QemuUserIsDetectedFromTheProcessNameAndItsCommandLine()
    {
        var info = MachineInfo.Collect(new Files(new()
        {
            ["/proc/cpuinfo"] = X86CpuInfo,
            ["/proc/self/status"] = "Name:\tqemu-aarch64-st\nVmHWM:\t  51200 kB\n",
            ["/proc/thread-self/cmdline"] = "qemu-aarch64-static\0-L\0/usr/aarch64-linux-gnu\0-cpu\0cortex-a76\0./edge\0bench\0",
        }));
        Assert.AreEqual("yes", info.Emulated);
        Assert.AreEqual("cortex-a76", info.EmulatedCpu);
        StringAssert.Contains(info.EmulationDetail, "qemu-aarch64-st");
        StringAssert.StartsWith(info.CpuModel, "emulated cortex-a76 (host: AMD EPYC)");
    }

    [TestMethod]
    public void NativeMachineIsNotEmulated()
    {
        var info = MachineInfo.Collect(new Files(new()
        {
            ["/proc/cpuinfo"] = Arm ? Pi4CpuInfo : X86CpuInfo,
            ["/proc/self/status"] = "Name:\tedge\n",
            ["/proc/thread-self/cmdline"] = "./edge\0bench\0",
            ["/sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq"] = "1800000\n",
            ["/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq"] = "2400000\n",
            ["/etc/os-release"] = "NAME=\"Debian\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n",
        }));
        Assert.AreEqual("no", info.Emulated);
        Assert.AreEqual(Arm ? "Cortex-A72" : "AMD EPYC", info.CpuModel);
        Assert.AreEqual(1800.0, info.FrequencyMhz);
        Assert.AreEqual(2400.0, info.MaxFrequencyMhz);
        Assert.AreEqual("Debian GNU/Linux 12 (bookworm)", info.Os);
        if (!Arm) Assert.IsTrue(info.Hypervisor);
    }

    [TestMethod]
    public void ArchitectureMismatchMeansEmulation()
    {
        // An x64 process reading an ARM cpuinfo, or an arm64 one reading an x86 cpuinfo, with no qemu hint left.
        var info = MachineInfo.Collect(new Files(new()
        {
            ["/proc/cpuinfo"] = Arm ? X86CpuInfo : Pi4CpuInfo,
            ["/proc/self/status"] = "Name:\tedge\n",
        }));
        Assert.AreEqual("yes", info.Emulated);
    }

    [TestMethod]
    public void NoProcMeansUnknown()
    {
        var info = MachineInfo.Collect(new Files([]));
        Assert.AreEqual("unknown", info.Emulated);
        Assert.IsNull(info.FrequencyMhz);
        Assert.AreEqual("unknown", info.CpuModel);
    }

    [TestMethod]
    public void LatencyStatsUseNearestRank()
    {
        var samples = Enumerable.Range(1, 1000).Select(i => (double)(1001 - i)).ToArray();
        var s = LatencyStats.From(samples);
        Assert.AreEqual(1000, s.Count);
        Assert.AreEqual(1.0, s.MinUs);
        Assert.AreEqual(500.0, s.MedianUs);
        Assert.AreEqual(990.0, s.P99Us);
        Assert.AreEqual(1000.0, s.MaxUs);
        Assert.AreEqual(500.5, s.MeanUs, 1e-9);
        var one = LatencyStats.From(new[] { 7.0 });
        Assert.AreEqual(7.0, one.P99Us);
        Assert.AreEqual(0.0, one.StdevUs);
        Assert.AreEqual(250.0, s.Per(2).MedianUs);
    }
}

/// <summary>The managed SHA-256 the result files record (no OpenSSL on a minimal device) equals the platform's.</summary>
[TestClass]
public sealed class Sha256Tests
{
    [TestMethod]
    public void MatchesTheFrameworkOnEveryPaddingLength()
    {
        var rng = new Random(3);
        foreach (int n in Enumerable.Range(0, 200).Concat([1000, 4096, 100_003]))
        {
            var data = new byte[n];
            rng.NextBytes(data);
            CollectionAssert.AreEqual(System.Security.Cryptography.SHA256.HashData(data), Edge.Device.Bench.Sha256.Hash(data), $"length {n}");
        }
    }
}
