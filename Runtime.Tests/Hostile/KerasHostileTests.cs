using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using Edge.Quantizer.Import;
using Edge.Quantizer.Import.Keras;

namespace Edge.Runtime.Tests.Hostile;

/// <summary>
/// Hostile `.h5`/`.keras` files built from the repo's fixtures by the mutations that broke the HDF5 reader
/// (issue 15): heap sizes that made PureHDF allocate gigabytes, a B-tree that points back at itself, and
/// names in config.json that would put control characters into a message. Each must end in one
/// <see cref="EdgeException"/> within a memory cap.
/// </summary>
[TestClass]
public sealed class KerasHostileTests
{
    /// <summary>The files are about 20 KB; every budget of the reader allows far less than this for them.</summary>
    private const long MemoryCapBytes = 64L << 20;

    private static byte[] ModelH5() => File.ReadAllBytes(Path.Combine(TestPaths.Fixtures, "keras", "gru_reset_before", "model.h5"));

    private static int Find(byte[] bytes, string signature, int occurrence = 0)
    {
        var sig = Encoding.ASCII.GetBytes(signature);
        int at = -1;
        for (int k = 0; k <= occurrence; k++)
        {
            at = bytes.AsSpan(at + 1).IndexOf(sig) is var i and >= 0 ? at + 1 + i : throw new AssertFailedException($"no {signature} #{occurrence} in the fixture");
        }
        return at;
    }

    /// <summary>Imports <paramref name="bytes"/> expecting a refusal, and returns its message; fails if it allocates more than the cap.</summary>
    private static string Refused(byte[] bytes, string name = "hostile.h5")
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<EdgeException>(() => KerasImporter.Import(bytes, name));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.IsLessThan(MemoryCapBytes, allocated, $"allocated {allocated} bytes before refusing: {e.Message}");
        Assert.DoesNotContain("\n", e.Message);
        Assert.IsTrue(e.Message.All(c => c is >= ' ' and < (char)0x7f), e.Message);
        return e.Message;
    }

    [TestMethod]
    public void TheSeedLoads() => Assert.IsNotEmpty(KerasImporter.Import(ModelH5(), "model.h5").Nodes);

    [TestMethod]
    [DataRow(0x7FFFFFFFUL)] // PureHDF allocated 2 GiB for it before reading
    [DataRow(0x60000000UL)]
    [DataRow(20377UL)] // one byte more than the whole file
    public void GlobalHeapObjectLargerThanItsCollection(ulong size)
    {
        var b = ModelH5();
        int gcol = Find(b, "GCOL");
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(gcol + 24), size); // the first object's size (the model_config string)
        StringAssert.Contains(Refused(b), "global heap collection at byte 2048");
    }

    [TestMethod]
    [DataRow(1UL << 40)]
    [DataRow(16UL)] // below HDF5's minimum of 4096: PureHDF's walk would run past it
    public void GlobalHeapCollectionSizeOutsideTheFile(ulong size)
    {
        var b = ModelH5();
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(Find(b, "GCOL") + 8), size);
        StringAssert.Contains(Refused(b), "global heap collection at byte 2048 declares");
    }

    [TestMethod]
    public void OverlappingGlobalHeapCollectionsAreRefused()
    {
        // Two collections of 8192 bytes, the second starting inside the first, in a 12288-byte file: each lies
        // inside the file, but together they declare more than it holds. PureHDF opens a collection by seeking
        // to it and reading its signature, which is when the stream checks it.
        var b = new byte[12288];
        foreach (int at in new[] { 0, 4096 })
        {
            "GCOL"u8.CopyTo(b.AsSpan(at));
            b[at + 4] = 1;
            BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(at + 8), 8192);
        }
        var stream = new BoundedHdf5Stream(b, "two.h5", 0, 8, 8);
        var sig = new byte[4];
        stream.Seek(0, SeekOrigin.Begin);
        stream.ReadExactly(sig);
        stream.Seek(4096, SeekOrigin.Begin);
        var e = Assert.Throws<EdgeException>(() => stream.ReadExactly(sig));
        StringAssert.Contains(e.Message, "global heap collection at byte 4096 overlaps others");
        // the first one again (PureHDF caches it, but a second decode must not be charged twice)
        stream.Seek(0, SeekOrigin.Begin);
        stream.ReadExactly(sig);
    }

    [TestMethod]
    [DataRow(0x7FFFFFF0UL)]
    [DataRow(ulong.MaxValue)]
    public void LocalHeapDataSegmentOutsideTheFile(ulong size)
    {
        var b = ModelH5();
        int heap = Find(b, "HEAP");
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(heap + 8), size);
        StringAssert.Contains(Refused(b), $"local heap at byte {heap}");
    }

    [TestMethod]
    public void LocalHeapDataSegmentAddressPastTheEnd()
    {
        var b = ModelH5();
        int heap = Find(b, "HEAP");
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(heap + 24), (ulong)b.Length - 8);
        StringAssert.Contains(Refused(b), $"local heap at byte {heap}");
    }

    [TestMethod]
    public void GroupBTreeThatPointsAtItself()
    {
        // The root group's B-tree node made an internal node (level 1) whose first child is the node itself:
        // PureHDF recurses into it for ever. The stream's stack check and read budget stop it.
        var b = ModelH5();
        int tree = Find(b, "TREE");
        b[tree + 5] = 1;
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(tree + 32), (ulong)tree);
        Refused(b);
    }

    [TestMethod]
    public void ReadBudgetIsNotReachedByARealFile()
    {
        // The budget (64 MiB + 64 x the file) must leave room: a real import reads its file a few times over.
        var b = ModelH5();
        var stream = new BoundedHdf5Stream(b, "model.h5", 0, 8, 8);
        using (var file = PureHDF.H5File.Open(stream, leaveOpen: true))
        {
            foreach (var c in ((PureHDF.IH5Group)file.Get("model_weights")).Children()) _ = c.Name;
        }
        Assert.IsGreaterThan(0, stream.BytesRead);
        Assert.IsLessThan(BoundedHdf5Stream.ReadBudget(b.Length), stream.BytesRead * 8);
    }

    /// <summary>
    /// Mutants of the mutation suite (seed, index: MutationSuite.MutantRandom) that made PureHDF allocate
    /// 0.5-2 GB before BoundedHdf5Stream: a global heap object's size (15/40 repeat24x7@2627, 15/223), an attribute's data size (15/423 set@7115,repeat50x836@7672), a fill
    /// value's size (7/533 u32=21027@19233, in a .keras file's weights).
    /// </summary>
    [TestMethod]
    [DataRow(15, 40)]
    [DataRow(15, 223)]
    [DataRow(15, 423)]
    [DataRow(7, 533)]
    public void SuiteMutants(int seed, int index)
    {
        var seeds = MutationSuite.KerasSeeds();
        var rng = MutationSuite.MutantRandom(seed, "h5/keras", index);
        var original = seeds[rng.Next(seeds.Length)];
        var (mutant, how) = MutationSuite.Mutate(original, rng);
        long before = GC.GetAllocatedBytesForCurrentThread();
        try { KerasImporter.Import(mutant, mutant[0] == 'P' ? "mutant.keras" : "mutant.h5"); }
        catch (EdgeException e) { Assert.IsTrue(e.Message.All(c => c is >= ' ' and < (char)0x7f), e.Message); }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.IsLessThan(MemoryCapBytes, allocated, $"mutant {index} ({how}) allocated {allocated} bytes");
    }

    // ── names from config.json in messages ─────────────────────────────────────────────────────

    private static byte[] KerasWithConfig(Action<JsonObject> edit)
    {
        var original = File.ReadAllBytes(Path.Combine(TestPaths.Fixtures, "keras", "hard_sigmoid_k3_keras", "model.keras"));
        var ms = new MemoryStream();
        using (var src = new ZipArchive(new MemoryStream(original), ZipArchiveMode.Read))
        using (var dst = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var e in src.Entries)
            {
                var m = new MemoryStream();
                using (var s = e.Open()) s.CopyTo(m);
                byte[] bytes = m.ToArray();
                if (e.FullName == "config.json")
                {
                    var config = JsonNode.Parse(bytes)!.AsObject();
                    edit(config);
                    bytes = Encoding.UTF8.GetBytes(config.ToJsonString());
                }
                using var d = dst.CreateEntry(e.FullName).Open();
                d.Write(bytes);
            }
        }
        return ms.ToArray();
    }

    private static JsonObject LastLayer(JsonObject config) => config["config"]!["layers"]!.AsArray().Last()!.AsObject();

    [TestMethod]
    public void LayerClassWithControlCharactersIsEscaped()
    {
        var b = KerasWithConfig(c => LastLayer(c)["class_name"] = "Evil\u001b[2J\u0007\r\nLayer");
        var e = Assert.Throws<UnsupportedModelException>(() => KerasImporter.Import(b, "model.keras"));
        StringAssert.Contains(e.Message, "'Evil?[2J???Layer'");
        Assert.IsTrue(e.Message.All(c => c is >= ' ' and < (char)0x7f), e.Message);
    }

    [TestMethod]
    public void LongLayerNameIsCut()
    {
        string name = "x\u0000" + new string('n', 100_000);
        var b = KerasWithConfig(c =>
        {
            var layer = LastLayer(c);
            layer["class_name"] = "Lambda";
            layer["config"]!["name"] = name;
        });
        var e = Assert.Throws<UnsupportedModelException>(() => KerasImporter.Import(b, "model.keras"));
        StringAssert.Contains(e.Message, "x?nnn");
        Assert.IsLessThan(400, e.Message.Length, e.Message[..Math.Min(400, e.Message.Length)]);
    }

    [TestMethod]
    public void ModelClassWithControlCharactersIsEscaped()
    {
        var b = KerasWithConfig(c => c["class_name"] = "Model\u001b]0;owned\u0007");
        var e = Assert.Throws<UnsupportedModelException>(() => KerasImporter.Import(b, "model.keras"));
        StringAssert.Contains(e.Message, "'Model?]0;owned?'");
    }
}
