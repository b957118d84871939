using System.Buffers.Binary;
using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.Quantizer.Import.PyTorch;
using Edge.Runtime.Execution;
using Edge.Runtime.Format;
using Edge.Runtime.Tensors;
using Edge.Runtime.Tests.EndToEnd;

namespace Edge.Runtime.Tests.Import;

/// <summary>
/// PyTorch state_dicts (`.pt` zip and `.safetensors`) made by tools/make_pt_fixtures.py into
/// Runtime.Tests/Fixtures/pt/. The models are the ONNX fixtures' own (same seeds, same weights), so
/// each spec'd import must reproduce PyTorch's outputs in Fixtures/models/&lt;name&gt;/ to 1e-4, as the
/// ONNX exports do. pt/special/ holds the reader's edge cases; expected.json there was written by torch.
/// </summary>
[TestClass]
public sealed class PyTorchImportTests
{
    private static string PtRoot => Path.Combine(TestPaths.Fixtures, "pt");
    private static string Special(string file) => Path.Combine(PtRoot, "special", file);

    /// <summary>(fixture, model file) for every file that a pt/&lt;name&gt;/case.json lists.</summary>
    public static IEnumerable<object[]> ModelFiles =>
        Directory.EnumerateDirectories(PtRoot).Select(Path.GetFileName).Where(n => n is not "special" and not "foreign").Order(StringComparer.Ordinal)
            .SelectMany(n => Case(n!).RootElement.GetProperty("model_files").EnumerateArray().Select(f => new object[] { n!, f.GetString()! }));

    private static JsonDocument Case(string name) => JsonDocument.Parse(File.ReadAllText(Path.Combine(PtRoot, name, "case.json")));

    [TestMethod]
    public void EveryModelKindOfTheOnnxFixtures_HasAPtFixture()
    {
        var expected = new[] { "char_lstm", "dual_encoder", "forecaster", "gru2_batchfirst", "local_linear", "lstm_bidir", "lstm_multilayer", "seed_gru" };
        var files = ModelFiles.Select(r => $"{r[0]}/{r[1]}").ToList();
        CollectionAssert.AreEquivalent(expected, files.Select(f => f.Split('/')[0]).Distinct().ToArray());
        foreach (var must in new[] { "lstm_multilayer/shared_storage.pt", "char_lstm/transposed.pt", "lstm_bidir/cuda.pt", "gru2_batchfirst/checkpoint.pt", "dual_encoder/model.safetensors" })
            CollectionAssert.Contains(files, must);
    }

    [TestMethod]
    [DynamicData(nameof(ModelFiles))]
    public void SpecdModel_ImportsAndMatchesPyTorch(string fixture, string modelFile)
    {
        using var c = Case(fixture);
        string folder = Path.Combine(PtRoot, fixture);
        var log = new StringWriter();
        var graph = PyTorchImporter.Import(Path.Combine(folder, modelFile), Path.Combine(folder, c.RootElement.GetProperty("spec").GetString()!), log);
        var inputs = c.RootElement.GetProperty("inputs").EnumerateObject()
            .ToDictionary(p => p.Name, p => Npy.Read(Path.Combine(TestPaths.Fixtures, p.Value.GetString()!)), StringComparer.Ordinal);
        var expected = c.RootElement.GetProperty("outputs").EnumerateObject()
            .ToDictionary(p => p.Name, p => Npy.Read(Path.Combine(TestPaths.Fixtures, p.Value.GetString()!)), StringComparer.Ordinal);
        CollectionAssert.AreEqual(expected.Keys.ToArray(), graph.Outputs.Select(o => o.Name).ToArray(), "graph outputs, in spec order");

        // Through the .edge blob, as convert + predict would: the graph must also survive serialization.
        var (reloaded, _) = EdgeBlob.Read(EdgeBlob.ToBytes(graph, new JsonObject { ["model_name"] = graph.Name }), fixture + ".edge");
        var result = new Session(reloaded).Run(inputs);
        foreach (var (name, golden) in expected)
        {
            Assertions.AssertClose(golden, result[name], Parity.Tolerance, $"{fixture}/{modelFile} '{name}': Edge vs PyTorch");
            var declared = graph.Outputs.Single(o => o.Name == name).Shape;
            for (int d = 0; d < declared.Length; d++)
                Assert.IsTrue(declared[d] < 0 || declared[d] == golden.Shape[d], $"{fixture} '{name}': declared shape ({string.Join(", ", declared)}) vs PyTorch's {golden.ShapeString}");
        }
        if (modelFile == "checkpoint.pt") StringAssert.Contains(log.ToString(), "using checkpoint['model_state_dict']");
    }

    [TestMethod]
    public void Checkpoint_SaysWhichKeyHeldTheStateDict()
    {
        var sd = StateDict.Load(Path.Combine(PtRoot, "gru2_batchfirst", "checkpoint.pt"));
        Assert.AreEqual("model_state_dict", sd.CheckpointKey);
        StringAssert.Contains(string.Join("\n", sd.Notes), "other entries ignored: 'epoch', 'loss', 'optimizer_state_dict', 'note'");
        var plain = StateDict.Load(Path.Combine(PtRoot, "gru2_batchfirst", "model.pt"));
        CollectionAssert.AreEqual(plain.Tensors.Keys.ToArray(), sd.Tensors.Keys.ToArray());

        // an explicit key that is not there names the keys that are
        var e = Assert.ThrowsExactly<EdgeException>(() => StateDict.Load(Path.Combine(PtRoot, "gru2_batchfirst", "checkpoint.pt"), "weights"));
        StringAssert.Contains(e.Message, "state_dict_key 'weights' is not a dict in the file; its top-level keys are: 'epoch', 'model_state_dict'");
    }

    [TestMethod]
    public void PtAndSafetensors_OfOneModel_HoldTheSameTensors()
    {
        foreach (var name in new[] { "gru2_batchfirst", "dual_encoder", "local_linear", "lstm_bidir" })
        {
            var pt = StateDict.Load(Path.Combine(PtRoot, name, "model.pt"));
            var st = StateDict.Load(Path.Combine(PtRoot, name, "model.safetensors"));
            CollectionAssert.AreEqual(pt.Tensors.Keys.ToArray(), st.Tensors.Keys.ToArray(), name);
            foreach (var (k, t) in pt.Tensors)
                Assertions.AssertClose(t, st.Tensors[k], Tolerance.Exact, $"{name} '{k}'");
        }
    }

    [TestMethod]
    public void SharedStorageAndTransposedViews_EqualTheContiguousFile()
    {
        var plain = StateDict.Load(Path.Combine(PtRoot, "lstm_multilayer", "model.pt"));
        var shared = StateDict.Load(Path.Combine(PtRoot, "lstm_multilayer", "shared_storage.pt"));
        foreach (var (k, t) in plain.Tensors) Assertions.AssertClose(t, shared.Tensors[k], Tolerance.Exact, $"shared storage '{k}'");
        var c = StateDict.Load(Path.Combine(PtRoot, "char_lstm", "model.pt"));
        var tr = StateDict.Load(Path.Combine(PtRoot, "char_lstm", "transposed.pt"));
        foreach (var (k, t) in c.Tensors) Assertions.AssertClose(t, tr.Tensors[k], Tolerance.Exact, $"transposed '{k}'");
    }

    // ── dtypes, views and nesting against torch's own numbers ─────────────────────────────────

    [TestMethod]
    [DataRow("dtypes.pt")]
    [DataRow("dtypes.safetensors")]
    public void EveryDtype_ConvertsToTheEdgeTypeWithTorchsValues(string file)
    {
        using var expected = JsonDocument.Parse(File.ReadAllText(Special("expected.json")));
        var sd = StateDict.Load(Special(file));
        var types = new Dictionary<string, DataType>
        {
            ["f32"] = DataType.Float32, ["f16"] = DataType.Float32, ["bf16"] = DataType.Float32, ["f64"] = DataType.Float32,
            ["i64"] = DataType.Int64, ["i32"] = DataType.Int32, ["i16"] = DataType.Int32, ["u8"] = DataType.Int32,
            ["i8"] = DataType.Int8, ["bool"] = DataType.Int8, ["scalar"] = DataType.Float32, ["empty"] = DataType.Float32,
        };
        int checkedCount = 0;
        foreach (var e in expected.RootElement.GetProperty("dtypes").EnumerateObject())
        {
            if (!sd.Tensors.TryGetValue(e.Name, out var t))
            {
                Assert.AreEqual("dtypes.safetensors", file, $"'{e.Name}' missing from {file}");
                continue; // safetensors has no int16 fixture
            }
            Assert.AreEqual(types[e.Name], t.DataType, e.Name);
            CollectionAssert.AreEqual(e.Value.GetProperty("shape").EnumerateArray().Select(x => x.GetInt32()).ToArray(), t.ShapeArray(), e.Name);
            var values = t.ToDoubleArray();
            var want = e.Value.GetProperty("values").EnumerateArray().Select(x => x.GetDouble()).ToArray();
            Assert.AreEqual(want.Length, values.Length, e.Name);
            for (int i = 0; i < want.Length; i++)
            {
                double w = t.DataType == DataType.Float32 ? (float)want[i] : want[i]; // float64 is narrowed to float32
                Assert.AreEqual(w, values[i], $"{file} '{e.Name}'[{i}]");
            }
            checkedCount++;
        }
        Assert.AreEqual(file.EndsWith(".pt", StringComparison.Ordinal) ? 12 : 11, checkedCount);
    }

    [TestMethod]
    public void Views_TransposedSlicedExpanded_MatchTorch()
    {
        using var expected = JsonDocument.Parse(File.ReadAllText(Special("expected.json")));
        var sd = StateDict.Load(Special("views.pt"));
        foreach (var e in expected.RootElement.GetProperty("views").EnumerateObject())
        {
            var t = sd.Tensors[e.Name];
            CollectionAssert.AreEqual(e.Value.GetProperty("shape").EnumerateArray().Select(x => x.GetInt32()).ToArray(), t.ShapeArray(), e.Name);
            CollectionAssert.AreEqual(e.Value.GetProperty("values").EnumerateArray().Select(x => x.GetDouble()).ToArray(), t.ToDoubleArray(), e.Name);
        }
        Assert.AreEqual(5, sd.Tensors.Count);
    }

    [TestMethod]
    public void NestedDictsAndParameters_FlattenWithDots()
    {
        using var expected = JsonDocument.Parse(File.ReadAllText(Special("expected.json")));
        var sd = StateDict.Load(Special("nested.pt"));
        CollectionAssert.AreEqual(expected.RootElement.GetProperty("nested").GetProperty("keys").EnumerateArray().Select(k => k.GetString()).ToArray(),
            sd.Tensors.Keys.ToArray());
        CollectionAssert.AreEqual(new[] { 4.0, 5.0 }, sd.Tensors["scale"].ToDoubleArray(), "an nn.Parameter is its data");
    }

    // ── refusals ──────────────────────────────────────────────────────────────────────────────

    [TestMethod]
    public void HostilePickle_KeepsOsSystemAsAnInertPlaceholder_NamedInTheLog_AndNeverRuns()
    {
        using var expected = JsonDocument.Parse(File.ReadAllText(Special("expected.json")));
        string sideEffect = expected.RootElement.GetProperty("hostile").GetProperty("side_effect").GetString()!;
        if (File.Exists(sideEffect)) File.Delete(sideEffect);

        // {'weight': tensor, 'payload': <os.system('touch ...') on unpickling>}: the tensor is read, the
        // payload is a placeholder that recorded its arguments and was never called
        var sd = StateDict.Load(Special("hostile.pt"));
        CollectionAssert.AreEqual(new[] { "weight" }, sd.Tensors.Keys.ToArray());
        Assert.AreEqual(1, sd.Notes.Count(n => n.Contains("inert placeholders and never called: posix.system", StringComparison.Ordinal)), string.Join(" | ", sd.Notes));
        Assert.IsTrue(sd.Notes.Any(n => n.Contains("ignored non-tensor entry 'payload' = placeholder posix.system", StringComparison.Ordinal)), string.Join(" | ", sd.Notes));

        // a file whose only content is the call is refused, naming the global
        var payload = new MemoryStream();
        using (var zip = new ZipArchive(payload, ZipArchiveMode.Create, leaveOpen: true))
        using (var w = zip.CreateEntry("p/data.pkl").Open())
            w.Write([0x80, 0x02, .. "cposix\nsystem\n"u8, .. "X\u000c\0\0\0touch /tmp/x"u8, 0x85, (byte)'R', (byte)'.']);
        var e = Assert.ThrowsExactly<EdgeFormatException>(() => StateDict.ReadPt(new MemoryStream(payload.ToArray()), "p.pt"));
        StringAssert.Contains(e.Message, "refusing to load global 'posix.system' from p.pt:p/data.pkl: Edge only loads tensors");

        Thread.Sleep(200); // a spawned shell would have had time to run `touch`
        Assert.IsFalse(File.Exists(sideEffect), $"{sideEffect} exists: the pickle's payload ran");
    }

    [TestMethod]
    public void LegacyFile_IsRead_AndOtherPicklesAreRefusedWithHowToResave()
    {
        var legacy = StateDict.Load(Special("legacy.pt"));
        CollectionAssert.AreEqual(new[] { 1.0 }, legacy.Tensors["w"].ToDoubleArray());

        var plainPickle = WriteTemp("plain.pt", [0x80, 0x02, (byte)'N', (byte)'.']);
        StringAssert.Contains(Assert.ThrowsExactly<EdgeFormatException>(() => StateDict.Load(plainPickle)).Message, "plain Python pickle");
        var text = WriteTemp("notes.pt", "hello world"u8.ToArray());
        StringAssert.Contains(Assert.ThrowsExactly<EdgeFormatException>(() => StateDict.Load(text)).Message, "not a PyTorch file");
    }

    [TestMethod]
    [DataRow("small.pt")]
    [DataRow("dtypes.safetensors")]
    public void EveryTruncation_IsAnEdgeException(string file)
    {
        var bytes = File.ReadAllBytes(Special(file));
        Assert.IsGreaterThan(0, StateDict.Load(Special(file)).Tensors.Count);
        string dir = TestPaths.NewTempDir();
        for (int cut = 0; cut < bytes.Length; cut++)
        {
            string path = Path.Combine(dir, $"cut{Path.GetExtension(file)}");
            File.WriteAllBytes(path, bytes[..cut]);
            try
            {
                StateDict.Load(path);
                Assert.Fail($"{file} cut at {cut} of {bytes.Length} bytes loaded without an error");
            }
            catch (EdgeException) { }
            catch (Exception e)
            {
                Assert.Fail($"{file} cut at {cut} of {bytes.Length}: {e.GetType().Name} instead of an EdgeException: {e.Message}");
            }
        }
    }

    [TestMethod]
    public void CorruptedBytes_GiveEdgeExceptionsOrTheSameValues()
    {
        // Every single-byte change of small.pt either still loads (a byte nobody checks, such as a
        // timestamp) or fails with an EdgeException; never another exception type.
        var bytes = File.ReadAllBytes(Special("small.pt"));
        string path = Path.Combine(TestPaths.NewTempDir(), "bad.pt");
        for (int i = 0; i < bytes.Length; i++)
        {
            var copy = (byte[])bytes.Clone();
            copy[i] ^= 0x5a;
            File.WriteAllBytes(path, copy);
            try { StateDict.Load(path); }
            catch (EdgeException) { }
            catch (Exception e) { Assert.Fail($"byte {i} changed: {e.GetType().Name}: {e.Message}"); }
        }
    }

    [TestMethod]
    public void AbsurdZipEntrySizes_AreRefusedBeforeAllocating()
    {
        var bytes = File.ReadAllBytes(Special("small.pt"));
        // The central directory record of small/data/0 (the storage): sizes at +20 (compressed) and +24.
        int cd = FindCentralEntry(bytes, "small/data/0");
        (uint Compressed, uint Uncompressed, string Expect)[] cases =
        [
            (0xF0000000, 0xF0000000, "more than Edge reads from one entry"),
            (1_900_000_000, 1_900_000_000, "but the file has only"),
            (100, 300_000_000, "possible zip bomb"),
        ];
        foreach (var (compressed, uncompressed, expect) in cases)
        {
            var copy = (byte[])bytes.Clone();
            BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(cd + 20), compressed);
            BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(cd + 24), uncompressed);
            string path = WriteTemp("absurd.pt", copy);
            long before = GC.GetAllocatedBytesForCurrentThread();
            var e = Assert.ThrowsExactly<EdgeFormatException>(() => StateDict.Load(path), expect);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            StringAssert.Contains(e.Message, expect);
            StringAssert.Contains(e.Message, "small/data/0");
            Assert.IsLessThan(4L << 20, allocated, $"{allocated} bytes allocated before refusing {uncompressed} declared bytes");
        }
    }

    [TestMethod]
    public void DeflateBomb_IsRefusedByItsRatio()
    {
        var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
        {
            using (var s = zip.CreateEntry("bomb/data.pkl", CompressionLevel.Optimal).Open())
            {
                var zeros = new byte[1 << 20];
                for (int i = 0; i < 8; i++) s.Write(zeros);
            }
        }
        string path = WriteTemp("bomb.pt", ms.ToArray());
        Assert.IsLessThan(200_000, new FileInfo(path).Length, "the bomb should be small on disk");
        var e = Assert.ThrowsExactly<EdgeFormatException>(() => StateDict.Load(path));
        StringAssert.Contains(e.Message, "bomb/data.pkl would expand");
    }

    [TestMethod]
    public void ZipWithoutDataPkl_OrWithAMissingStorage_IsRefused()
    {
        var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true)) zip.CreateEntry("x/version").Open().Dispose();
        var e = Assert.ThrowsExactly<EdgeFormatException>(() => StateDict.Load(WriteTemp("nopkl.pt", ms.ToArray())));
        StringAssert.Contains(e.Message, "has 0");

        // small.pt with its storage entry renamed
        var bytes = File.ReadAllBytes(Special("small.pt"));
        ReplaceAll(bytes, "small/data/0"u8, "small/data/9"u8);
        e = Assert.ThrowsExactly<EdgeFormatException>(() => StateDict.Load(WriteTemp("nostorage.pt", bytes)));
        StringAssert.Contains(e.Message, "no small/data/0");
    }

    [TestMethod]
    public void Safetensors_BadHeaders_AreRefusedByName()
    {
        static byte[] File(string header, int dataBytes)
        {
            var h = System.Text.Encoding.UTF8.GetBytes(header);
            var b = new byte[8 + h.Length + dataBytes];
            BinaryPrimitives.WriteUInt64LittleEndian(b, (ulong)h.Length);
            h.CopyTo(b, 8);
            return b;
        }
        (string Header, int Data, string Expect)[] cases =
        [
            ("""{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}""", 12, "'b' [4, 12) overlaps 'a' [0, 8)"),
            ("""{"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}""", 8, "needs 12 bytes but data_offsets [0, 8] hold 8"),
            ("""{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}""", 4, "run past the data (4 bytes)"),
            ("""{"a": {"dtype": "C64", "shape": [2], "data_offsets": [0, 16]}}""", 16, "dtype C64 is not supported"),
            ("""{"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}""", 4, "must hold non-negative integers"),
            ("""{"a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}}""", 8, "must be 0 <= begin <= end"),
            ("""{"a": {"dtype": "F32", "shape": [2]""", 8, "not valid JSON"),
            ("""{"__metadata__": {"format": "pt"}}""", 0, "holds no tensors"),
        ];
        foreach (var (header, data, expect) in cases)
        {
            string path = WriteTemp("bad.safetensors", File(header, data));
            var e = Assert.Throws<EdgeException>(() => StateDict.Load(path), header); // a format error, or unsupported for C64
            StringAssert.Contains(e.Message, expect);
        }
        var huge = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(huge, ulong.MaxValue - 3);
        StringAssert.Contains(Assert.ThrowsExactly<EdgeFormatException>(() => StateDict.Load(WriteTemp("huge.safetensors", huge))).Message, "runs past the end of the file");
    }

    // ── helpers ───────────────────────────────────────────────────────────────────────────────

    private static string WriteTemp(string name, byte[] bytes)
    {
        string path = Path.Combine(TestPaths.NewTempDir(), name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static int FindCentralEntry(byte[] zip, string name)
    {
        for (int i = 0; i + 46 < zip.Length; i++)
        {
            if (zip[i] != 'P' || zip[i + 1] != 'K' || zip[i + 2] != 1 || zip[i + 3] != 2) continue;
            int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(zip.AsSpan(i + 28));
            if (System.Text.Encoding.ASCII.GetString(zip, i + 46, nameLength) == name) return i;
        }
        throw new AssertFailedException($"no central directory entry {name}");
    }

    private static void ReplaceAll(byte[] data, ReadOnlySpan<byte> from, ReadOnlySpan<byte> to)
    {
        for (int i = data.AsSpan().IndexOf(from); i >= 0; i = data.AsSpan().IndexOf(from))
            to.CopyTo(data.AsSpan(i));
    }
}
