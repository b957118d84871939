using Edge.Runtime.Kernels;

namespace Edge.Runtime.Tests.Kernels;

/// <summary>
/// Which NEON int8 variant a CPU runs (<see cref="ArmCores"/>): from MIDR_EL1, else /proc/cpuinfo, else
/// EDGE_NEON_KERNEL. The variants' bit identity is checked where they run: `edge selftest` on arm64
/// (tools/arm64-selftest.sh runs it under qemu on Cortex-A53, A72 and A76, both variants each time).
/// </summary>
[TestClass]
public sealed class ArmCoresTests
{
    private const string Pi3CpuInfo = "processor\t: 0\nBogoMIPS\t: 38.40\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd03\nCPU revision\t: 4\n";
    private const string Pi4CpuInfo = "processor\t: 0\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU implementer\t: 0x41\nCPU part\t: 0xd08\n";

    [TestMethod]
    [DataRow("0x00000000410fd034", true, "in-order (Cortex-A53, CPU part 0xd03)")]
    [DataRow("0x00000000412fd050\n", true, "in-order (Cortex-A55, CPU part 0xd05)")]
    [DataRow("0x00000000410fd083", false, "out-of-order (CPU part 0xd08)")]
    [DataRow("0x00000000414fd0b1", false, "out-of-order (CPU part 0xd0b)")]
    [DataRow("0x00000000510fd034", false, "out-of-order (CPU part 0xd03)")] // not ARM's part numbering (0x51: Qualcomm)
    public void FromMidr(string midr, bool inOrder, string why) =>
        Assert.AreEqual((inOrder, why), ArmCores.Choose(null, midr, Pi4CpuInfo));

    [TestMethod]
    public void FromCpuInfoWithoutMidr()
    {
        Assert.AreEqual((true, "in-order (Cortex-A53, CPU part 0xd03)"), ArmCores.Choose(null, null, Pi3CpuInfo));
        Assert.AreEqual((false, "out-of-order (CPU part 0xd08)"), ArmCores.Choose("auto", null, Pi4CpuInfo));
        // qemu-user and x86: no part anywhere.
        Assert.AreEqual((false, "out-of-order (CPU part unknown)"), ArmCores.Choose(null, null, "processor\t: 0\nflags\t\t: fpu sse2\n"));
        Assert.AreEqual((false, "out-of-order (CPU part unknown)"), ArmCores.Choose(null, "garbage", null));
    }

    [TestMethod]
    public void ForcedByTheEnvironment()
    {
        Assert.AreEqual((true, "in-order (EDGE_NEON_KERNEL=inorder)"), ArmCores.Choose("inorder", "0x00000000414fd0b1", null));
        Assert.AreEqual((false, "out-of-order (EDGE_NEON_KERNEL=OutOfOrder)"), ArmCores.Choose(" OutOfOrder ", null, Pi3CpuInfo));
        var e = Assert.ThrowsExactly<EdgeException>(() => ArmCores.Choose("a53", null, Pi3CpuInfo));
        Assert.AreEqual("EDGE_NEON_KERNEL=a53: expected inorder, outoforder or auto", e.Message);
    }

    /// <summary>On arm64 both variants equal the scalar path; elsewhere asking for the neon path is one clear error.</summary>
    [TestMethod]
    public void BothNeonVariantsEqualScalar()
    {
        if (!IsaSelector.IsSupported(Isa.Neon))
        {
            var e = Assert.ThrowsExactly<EdgeException>(() => Gemv.CreateNeon(inOrder: true));
            StringAssert.Contains(e.Message, "does not support neon");
            return;
        }
        var scalar = Gemv.Create(Isa.Scalar);
        var rng = new Random(18);
        foreach (var (m, k) in new[] { (32, 8), (64, 200), (800, 200), (40, 16), (96, 24), (33, 7) })
        {
            var w = new sbyte[m * k];
            for (int i = 0; i < w.Length; i++) w[i] = (sbyte)rng.Next(-127, 128);
            var x = new sbyte[2 * k];
            for (int i = 0; i < x.Length; i++) x[i] = (sbyte)rng.Next(-127, 128);
            var packed = PackedInt8Matrix.Pack(w, new float[m], m, k);
            var want = new int[2 * m];
            scalar.MultiplyInt8(packed, x, k, 2, want, m);
            foreach (bool inOrder in new[] { false, true })
            {
                var got = new int[2 * m];
                Gemv.CreateNeon(inOrder).MultiplyInt8(packed, x, k, 2, got, m);
                CollectionAssert.AreEqual(want, got, $"{m}x{k}, {(inOrder ? "in-order" : "out-of-order")}");
            }
        }
    }
}
