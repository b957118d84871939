using Edge.Runtime.Kernels;

namespace Edge.Runtime.Tests.Kernels;

[TestClass]
public sealed class KernelApiTests
{
    [TestMethod]
    public void PackedLayout_HasTheDocumentedSizeAndOffsets()
    {
        Assert.AreEqual(8 * 8, PackedInt8Matrix.PackedLength(1, 1));        // K padded to whole k-octets
        Assert.AreEqual(16L * 200, PackedInt8Matrix.PackedLength(9, 200));
        Assert.AreEqual(800L * 200, PackedInt8Matrix.PackedLength(800, 200));
        Assert.AreEqual(8L * 208, PackedInt8Matrix.PackedLength(8, 201));
        // One block (rows 0-7), K = 13 padded to 16: k-octets of 64 bytes follow each other.
        Assert.AreEqual(0, PackedInt8Matrix.OffsetOf(0, 0, 8, 13));
        Assert.AreEqual(4 + 1, PackedInt8Matrix.OffsetOf(1, 1, 8, 13));
        Assert.AreEqual(32 + 2 * 4 + 1, PackedInt8Matrix.OffsetOf(2, 5, 8, 13));     // second k group of octet 0
        // Two blocks (16 rows) form one group: octet 0 of block 0, octet 0 of block 1, octet 1 of block 0, ...
        Assert.AreEqual(64 + 3, PackedInt8Matrix.OffsetOf(8, 3, 16, 13));             // block 1, octet 0
        Assert.AreEqual(128 + 32 + 2 * 4, PackedInt8Matrix.OffsetOf(2, 12, 16, 13)); // block 0, octet 1, group 1
        Assert.AreEqual(128 + 64 + 7 * 4, PackedInt8Matrix.OffsetOf(15, 8, 16, 13));  // block 1, octet 1
        // 40 rows, K 200: blocks 0-3 are a group of four (256 bytes per octet), block 4 a group of its own.
        Assert.AreEqual(3 * 64 + 256 * 2 + 32 + 4 + 1, PackedInt8Matrix.OffsetOf(25, 21, 40, 200));
        Assert.AreEqual(4L * 8 * 200 + 64 * 2 + 5 * 4 + 1, PackedInt8Matrix.OffsetOf(37, 17, 40, 200));
        Assert.AreEqual(((nint)4 * 8 * 200, (nint)64), PackedInt8Matrix.BlockAddress(4, 5, 200));
        Assert.AreEqual(((nint)2 * 64, (nint)256), PackedInt8Matrix.BlockAddress(2, 5, 200));

        var rng = new Random(3);
        var q = KernelReference.RandomInt8(rng, 13 * 21);
        var p = PackedInt8Matrix.Pack(q, new float[13], 13, 21);
        Assert.AreEqual(PackedInt8Matrix.PackedLength(13, 21), p.Data.Length);
        for (int r = 0; r < 13; r++)
        {
            int sum = 0;
            for (int k = 0; k < 21; k++) { Assert.AreEqual(q[r * 21 + k], p[r, k], $"row {r} col {k}"); sum += q[r * 21 + k]; }
            Assert.AreEqual(sum, p.RowSums[r], $"row sum {r}");
        }
        // Round trip through the raw layout (what a blob stores), and its checks.
        var again = PackedInt8Matrix.FromPacked(p.Data.ToArray(), p.RowScales, 13, 21);
        CollectionAssert.AreEqual(p.RowSums.ToArray(), again.RowSums.ToArray());
        Assert.ThrowsExactly<EdgeException>(() => PackedInt8Matrix.FromPacked(new sbyte[p.Data.Length - 1], new float[13], 13, 21));
        var dirty = p.Data.ToArray();
        dirty[PackedInt8Matrix.OffsetOf(2, 21, 13, 21)] = 1; // padding column
        Assert.ThrowsExactly<EdgeException>(() => PackedInt8Matrix.FromPacked(dirty, new float[13], 13, 21));
        var bad = (sbyte[])q.Clone();
        bad[5] = -128;
        Assert.ThrowsExactly<EdgeException>(() => PackedInt8Matrix.Pack(bad, new float[13], 13, 21));
    }

    [TestMethod]
    public void Quantize_IsSymmetricPerRow()
    {
        float[] w = [0.5f, -1f, 0.25f, 0, 0, 0, 2f, 1f, -0.01f];
        var p = PackedInt8Matrix.Quantize(w, 3, 3);
        Assert.AreEqual(1f / 127, p.RowScales[0]);
        Assert.AreEqual(0f, p.RowScales[1]);
        Assert.AreEqual(2f / 127, p.RowScales[2]);
        sbyte[] expected = [64, -127, 32, 0, 0, 0, 127, 64, -1]; // 63.5 -> 64 (half to even), 31.75 -> 32, -0.635 -> -1
        for (int i = 0; i < 9; i++) Assert.AreEqual(expected[i], p[i / 3, i % 3], $"element {i}");
    }

    [TestMethod]
    public void IsaSelection_ForcesAndRefuses()
    {
        Assert.AreEqual(Isa.Scalar, IsaSelector.Supported[0]);
        Assert.AreEqual(IsaSelector.Best, IsaSelector.Select(null));
        Assert.AreEqual(Isa.Scalar, IsaSelector.Select("SCALAR"));
        foreach (var isa in Enum.GetValues<Isa>())
        {
            Assert.AreEqual(isa, IsaSelector.Parse(IsaSelector.Name(isa)));
            if (IsaSelector.IsSupported(isa)) Assert.AreEqual(isa, Gemv.Create(isa).Isa);
            else
            {
                var e = Assert.ThrowsExactly<EdgeException>(() => IsaSelector.Select(IsaSelector.Name(isa)));
                StringAssert.Contains(e.Message, IsaSelector.SupportedList);
                Assert.ThrowsExactly<EdgeException>(() => Gemv.Create(isa));
            }
        }
        var unknown = Assert.ThrowsExactly<EdgeException>(() => IsaSelector.Select("sse9"));
        StringAssert.Contains(unknown.Message, "EDGE_ISA=sse9");
    }

    [TestMethod]
    public void ArgumentChecks_NameTheShape()
    {
        var g = Gemv.Create(Isa.Scalar);
        var p = PackedInt8Matrix.Pack(new sbyte[6], new float[2], 2, 3);
        Assert.ThrowsExactly<ArgumentException>(() => g.MultiplyInt8(p, new sbyte[2], 3, 1, new int[2], 2));
        Assert.ThrowsExactly<ArgumentException>(() => g.MultiplyInt8(p, new sbyte[3], 3, 1, new int[1], 2));
        Assert.ThrowsExactly<ArgumentException>(() => g.MultiplyInt8(p, new sbyte[5], 3, 2, new int[4], 2));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => g.MultiplyInt8(p, new sbyte[3], 2, 1, new int[2], 2));
    }

    [TestMethod]
    public void RecurrentCell_MatchesDoubleReference()
    {
        var rng = new Random(11);
        foreach (int n in new[] { 1, 7, 33, 200 })
        {
            var gates = KernelReference.RandomFloats(rng, 4 * n, 4f);
            var c = KernelReference.RandomFloats(rng, n);
            var h = new float[n];
            var g0 = (float[])gates.Clone();
            var c0 = (float[])c.Clone();
            RecurrentCell.Lstm(gates, c, h);
            for (int j = 0; j < n; j++)
            {
                double cc = KernelReference.Sigmoid(g0[n + j]) * c0[j] + KernelReference.Sigmoid(g0[j]) * Math.Tanh(g0[2 * n + j]);
                double hh = KernelReference.Sigmoid(g0[3 * n + j]) * Math.Tanh(cc);
                Assert.AreEqual(cc, c[j], 1e-5, $"LSTM n={n} c[{j}]");
                Assert.AreEqual(hh, h[j], 1e-5, $"LSTM n={n} h[{j}]");
            }
        }
    }
}
