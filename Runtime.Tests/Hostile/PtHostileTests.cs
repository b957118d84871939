using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Edge.Quantizer.Import.PyTorch;

namespace Edge.Runtime.Tests.Hostile;

/// <summary>
/// Issue 15's reproducers for the PyTorch and safetensors readers, rebuilt from their descriptions:
/// tiny pickles whose description would recurse or explode, views and members that amplify memory,
/// a zip member whose bytes or size do not match its header, and safetensors fields of the wrong type.
/// Each must end in one <see cref="EdgeFormatException"/> (or load), within a memory cap.
/// </summary>
[TestClass]
public sealed class PtHostileTests
{
    // ── pickles and zips assembled by hand ──────────────────────────────────────────────────────

    private static byte[] Ascii(string s) => Encoding.ASCII.GetBytes(s);

    private static byte[] Int4(int v)
    {
        var b = new byte[5];
        b[0] = (byte)'J';
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(1), v);
        return b;
    }

    private static byte[] Str(string s)
    {
        var u = Encoding.UTF8.GetBytes(s);
        var b = new byte[5 + u.Length];
        b[0] = (byte)'X';
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(1), u.Length);
        u.CopyTo(b, 5);
        return b;
    }

    /// <summary>_rebuild_tensor_v2(('storage', torch.FloatStorage, key, 'cpu', numel), offset, size, stride, False, {})</summary>
    internal static byte[] TensorPickle(string key, int numel, int offset, int[] size, int[] stride)
    {
        var p = new List<byte>();
        p.AddRange(Ascii("ctorch._utils\n_rebuild_tensor_v2\n(("));
        p.AddRange(Str("storage"));
        p.AddRange(Ascii("ctorch\nFloatStorage\n"));
        p.AddRange(Str(key));
        p.AddRange(Str("cpu"));
        p.AddRange(Int4(numel));
        p.AddRange(Ascii("tQ"));
        p.AddRange(Int4(offset));
        p.Add((byte)'(');
        foreach (int s in size) p.AddRange(Int4(s));
        p.Add((byte)'t');
        p.Add((byte)'(');
        foreach (int s in stride) p.AddRange(Int4(s));
        p.Add((byte)'t');
        p.Add(0x89); // False
        p.Add((byte)'}');
        p.AddRange(Ascii("tR"));
        return p.ToArray();
    }

    /// <summary>A dict pickle: {name: value-opcodes, ...}.</summary>
    internal static byte[] DictPickle(params (string Key, byte[] Value)[] entries)
    {
        var p = new List<byte> { 0x80, 2, (byte)'}' };
        foreach (var (k, v) in entries)
        {
            p.AddRange(Str(k));
            p.AddRange(v);
            p.Add((byte)'s');
        }
        p.Add((byte)'.');
        return p.ToArray();
    }

    /// <summary>A torch.save-style zip: prefix/data.pkl, prefix/data/&lt;key&gt; (stored unless said), prefix/version.</summary>
    internal static byte[] Zip(byte[] pickle, params (string Key, byte[] Bytes, bool Deflate)[] storages)
    {
        var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
        {
            void Add(string name, byte[] bytes, bool deflate)
            {
                using var s = zip.CreateEntry(name, deflate ? CompressionLevel.Optimal : CompressionLevel.NoCompression).Open();
                s.Write(bytes);
            }
            Add("m/data.pkl", pickle, false);
            foreach (var (key, bytes, deflate) in storages) Add($"m/data/{key}", bytes, deflate);
            Add("m/version", Ascii("3\n"), false);
        }
        return ms.ToArray();
    }

    internal static byte[] Floats(int n)
    {
        var b = new byte[n * 4];
        for (int i = 0; i < n; i++) BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(i * 4), i + 0.5f);
        return b;
    }

    private static string WriteTemp(string name, byte[] bytes)
    {
        string path = Path.Combine(TestPaths.NewTempDir(), name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>Runs <paramref name="load"/>, which must end in an EdgeFormatException or succeed, allocating at most <paramref name="capBytes"/>.</summary>
    private static (EdgeFormatException? Error, StateDict? Result) Bounded(Func<StateDict> load, long capBytes)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        EdgeFormatException? error = null;
        StateDict? result = null;
        try { result = load(); }
        catch (EdgeFormatException e) { error = e; }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.IsLessThan(capBytes, allocated, $"{allocated} bytes allocated (cap {capBytes})");
        if (error is not null)
        {
            Assert.IsLessThan(2000, error.Message.Length, error.Message);
            Assert.IsFalse(error.Message.Any(c => c < ' ' || c >= (char)0x7f), $"non-printable character in: {error.Message}");
        }
        return (error, result);
    }

    internal static byte[] Repeat(byte[] head, byte[] unit, int times, byte[] tail)
    {
        var b = new byte[head.Length + unit.Length * times + tail.Length];
        head.CopyTo(b, 0);
        for (int i = 0; i < times; i++) unit.CopyTo(b, head.Length + i * unit.Length);
        tail.CopyTo(b, head.Length + unit.Length * times);
        return b;
    }

    private static readonly byte[] Weight = TensorPickle("0", 3, 0, [3], [1]);

    // ── defect 2: values whose description recursed or exploded ─────────────────────────────────

    [TestMethod]
    public void NestedOneTuples_100000Deep_AsRootOrValue_AreDescribedBoundedly()
    {
        // \x80\x02 N + \x85 x 100000 + . : a 100 KB nested 1-tuple
        var root = Repeat([0x80, 2, (byte)'N'], [0x85], 100_000, [(byte)'.']);
        var (e, _) = Bounded(() => StateDict.ReadPt(new MemoryStream(Zip(root)), "deep.pt"), 64L << 20);
        Assert.IsNotNull(e);
        StringAssert.Contains(e.Message, "not a dict of tensors");

        // the same value under a key of a valid state_dict: loads, the value is noted and cut
        var value = Repeat([(byte)'N'], [0x85], 100_000, []);
        var (e2, sd) = Bounded(() => StateDict.ReadPt(new MemoryStream(Zip(DictPickle(("w", Weight), ("x", value)), ("0", Floats(3), false))), "deep.pt"), 64L << 20);
        Assert.IsNull(e2, e2?.Message);
        CollectionAssert.AreEqual(new[] { 0.5f, 1.5f, 2.5f }, sd!.Tensors["w"].ReadOnlySpan<float>().ToArray());
        var note = sd.Notes.Single(n => n.Contains("'x'", StringComparison.Ordinal));
        Assert.IsLessThan(400, note.Length, note);
    }

    [TestMethod]
    public void TupleDoubledBy30Dups_AsRootOrValue_IsDescribedBoundedly()
    {
        // \x80\x02 N + (2 \x86) x 30 + . : each level pairs the tuple with itself (2^30 leaves)
        var root = Repeat([0x80, 2, (byte)'N'], [(byte)'2', 0x86], 30, [(byte)'.']);
        var (e, _) = Bounded(() => StateDict.ReadPt(new MemoryStream(Zip(root)), "dup.pt"), 64L << 20);
        Assert.IsNotNull(e);
        var value = Repeat([(byte)'N'], [(byte)'2', 0x86], 30, []);
        var (e2, sd) = Bounded(() => StateDict.ReadPt(new MemoryStream(Zip(DictPickle(("w", Weight), ("x", value)), ("0", Floats(3), false))), "dup.pt"), 64L << 20);
        Assert.IsNull(e2, e2?.Message);
        Assert.AreEqual(1, sd!.Tensors.Count);
    }

    // ── defect 3: memory amplification ──────────────────────────────────────────────────────────

    [TestMethod]
    [DataRow(46340)]
    [DataRow(16384)]
    public void StrideZeroViewOfATinyStorage_IsRefusedBeforeItIsBuilt(int side)
    {
        // a (side, side) view with stride (0, 0) of an 800-byte storage
        var pkl = DictPickle(("w", TensorPickle("0", 200, 0, [side, side], [0, 0])));
        var (e, _) = Bounded(() => StateDict.ReadPt(new MemoryStream(Zip(pkl, ("0", Floats(200), false))), "expand.pt"), 8L << 20);
        Assert.IsNotNull(e);
        StringAssert.Contains(e.Message, "budget");
        StringAssert.Contains(e.Message, $"'w' ({side}, {side})");
    }

    [TestMethod]
    public void SmallStrideZeroView_StillLoads()
    {
        // expand(4, 3) of a 3-element storage: within the budget, materialised
        var pkl = DictPickle(("w", TensorPickle("0", 3, 0, [4, 3], [0, 1])));
        var sd = StateDict.ReadPt(new MemoryStream(Zip(pkl, ("0", Floats(3), false))), "expand.pt");
        CollectionAssert.AreEqual(new[] { 0.5f, 1.5f, 2.5f, 0.5f, 1.5f, 2.5f, 0.5f, 1.5f, 2.5f, 0.5f, 1.5f, 2.5f },
            sd.Tensors["w"].ReadOnlySpan<float>().ToArray());
    }

    [TestMethod]
    public void ManyViewsOfOneStorage_AreChargedToTheBudget()
    {
        // 40 full views of one 4 MiB storage: 160 MiB of tensors from a 4 MiB file (budget 64 MiB + 16 MiB)
        const int n = 1 << 20;
        var entries = Enumerable.Range(0, 40).Select(i => ($"w{i}", TensorPickle("0", n, 0, [n], [1]))).ToArray();
        var (e, _) = Bounded(() => StateDict.ReadPt(new MemoryStream(Zip(DictPickle(entries), ("0", new byte[n * 4], false))), "shared.pt"), 120L << 20);
        Assert.IsNotNull(e);
        StringAssert.Contains(e.Message, "budget");
    }

    [TestMethod]
    public void DeflatedStorageFarBeyondTheFile_IsRefusedBeforeItIsInflated()
    {
        // The storage is declared 200 MB and deflated 100:1 (2 MB in a 2 MB file): within the zip-bomb
        // ratio, far beyond the budget (64 MiB + 4 x 2 MB). Headers are patched; nothing is inflated.
        const int numel = 50_000_000;
        var pkl = DictPickle(("w", TensorPickle("0", numel, 0, [numel], [1])));
        var zip = Zip(pkl, ("0", new byte[4096], true), ("pad", new byte[2_100_000], false));
        int central = FindCentral(zip, "m/data/0");
        BinaryPrimitives.WriteUInt32LittleEndian(zip.AsSpan(central + 20), 2_000_000);     // compressed size
        BinaryPrimitives.WriteUInt32LittleEndian(zip.AsSpan(central + 24), numel * 4);     // uncompressed size
        var (e, _) = Bounded(() => StateDict.ReadPt(new MemoryStream(zip), "inflate.pt"), 16L << 20);
        Assert.IsNotNull(e);
        StringAssert.Contains(e.Message, "storage '0' (200000000 bytes)");
        StringAssert.Contains(e.Message, "budget");
    }

    // ── defect 4: zip integrity ─────────────────────────────────────────────────────────────────

    [TestMethod]
    public void FlippedByteInAStoredStorage_IsRefusedByItsCrc()
    {
        var data = Floats(3);
        var zip = Zip(DictPickle(("w", Weight)), ("0", data, false));
        Assert.AreEqual(3, StateDict.ReadPt(new MemoryStream(zip), "ok.pt").Tensors["w"].Length);
        int at = zip.AsSpan().IndexOf(data);
        zip[at + 5] ^= 0x10;
        var e = Assert.ThrowsExactly<EdgeFormatException>(() => StateDict.ReadPt(new MemoryStream(zip), "flip.pt"));
        StringAssert.Contains(e.Message, "m/data/0 is damaged: its CRC-32");
    }

    [TestMethod]
    public void DeflatedMemberThatInflatesBeyondItsDeclaredSize_IsRefused()
    {
        // declares 800 bytes (the pickle's 200 floats) but inflates to 1 MiB: never cut silently
        var zip = Zip(DictPickle(("w", TensorPickle("0", 200, 0, [200], [1]))), ("0", new byte[1 << 20], true));
        int central = FindCentral(zip, "m/data/0");
        BinaryPrimitives.WriteUInt32LittleEndian(zip.AsSpan(central + 24), 800);
        int local = FindLocal(zip, "m/data/0");
        BinaryPrimitives.WriteUInt32LittleEndian(zip.AsSpan(local + 22), 800);
        var (e, _) = Bounded(() => StateDict.ReadPt(new MemoryStream(zip), "cut.pt"), 16L << 20);
        Assert.IsNotNull(e);
        StringAssert.Contains(e.Message, "m/data/0");
    }

    [TestMethod]
    public void DeflatedMemberThatInflatesShort_IsRefused()
    {
        var zip = Zip(DictPickle(("w", TensorPickle("0", 200, 0, [200], [1]))), ("0", new byte[400], true));
        int central = FindCentral(zip, "m/data/0");
        BinaryPrimitives.WriteUInt32LittleEndian(zip.AsSpan(central + 24), 800);
        int local = FindLocal(zip, "m/data/0");
        BinaryPrimitives.WriteUInt32LittleEndian(zip.AsSpan(local + 22), 800);
        var e = Assert.ThrowsExactly<EdgeFormatException>(() => StateDict.ReadPt(new MemoryStream(zip), "short.pt"));
        StringAssert.Contains(e.Message, "m/data/0");
    }

    private static int FindCentral(byte[] zip, string name) => Find(zip, name, [(byte)'P', (byte)'K', 1, 2], 28, 46);

    private static int FindLocal(byte[] zip, string name) => Find(zip, name, [(byte)'P', (byte)'K', 3, 4], 26, 30);

    private static int Find(byte[] zip, string name, byte[] signature, int nameLengthAt, int nameAt)
    {
        var want = Ascii(name);
        for (int i = 0; i + nameAt < zip.Length; i++)
        {
            if (!zip.AsSpan(i, 4).SequenceEqual(signature)) continue;
            int len = BinaryPrimitives.ReadUInt16LittleEndian(zip.AsSpan(i + nameLengthAt));
            if (len == want.Length && zip.AsSpan(i + nameAt, len).SequenceEqual(want)) return i;
        }
        throw new AssertFailedException($"no zip header for {name}");
    }

    // ── defect 5: safetensors fields of the wrong JSON type ─────────────────────────────────────

    [TestMethod]
    [DataRow("""["0","800"]""")]
    [DataRow("[0, true]")]
    [DataRow("[0, null]")]
    [DataRow("[0, [1]]")]
    [DataRow("""{"a": 1}""")]
    [DataRow("[0, 800.5]")]
    [DataRow("[0, 1e300]")]
    public void SafetensorsDataOffsetsOfTheWrongType_AreRefused(string offsets)
    {
        var header = Encoding.UTF8.GetBytes("""{"w": {"dtype": "F32", "shape": [200], "data_offsets": """ + offsets + "}}");
        var file = new byte[8 + header.Length + 800];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)header.Length);
        header.CopyTo(file, 8);
        var e = Assert.ThrowsExactly<EdgeFormatException>(() => SafeTensorsReader.Read(new MemoryStream(file), "bad.safetensors"));
        StringAssert.Contains(e.Message, "'w': data_offsets");
    }

    [TestMethod]
    [DataRow("""{"__metadata__": [1], "w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}""", "__metadata__")]
    [DataRow("""{"__metadata__": {"a": 1}, "w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}""", "__metadata__")]
    [DataRow("""{"w\u0007\u001b[31m": {"dtype": "F\u001b32", "shape": [1], "data_offsets": [0, 4]}}""", "'w??[31m': dtype F?32")]
    public void SafetensorsMetadataAndControlCharacters_AreRefusedPrintably(string header, string expect)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var file = new byte[8 + h.Length + 4];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)h.Length);
        h.CopyTo(file, 8);
        var e = Assert.Throws<EdgeException>(() => SafeTensorsReader.Read(new MemoryStream(file), "bad.safetensors"));
        StringAssert.Contains(e.Message, expect);
        Assert.IsFalse(e.Message.Any(c => c < ' ' || c >= (char)0x7f), e.Message);
    }
}
