using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using Edge.Runtime.Tests.EndToEnd;
using Google.Protobuf;
using Edge.Runtime.Tests.Import;
using static Edge.Runtime.Tests.Hostile.OnnxHostileTests;
using static Edge.Runtime.Tests.Import.OnnxImporterTests;
using OnnxType = Onnx.TensorProto.Types.DataType;

namespace Edge.Runtime.Tests.Hostile;

/// <summary>
/// Issue 15's reproducers, rebuilt from their descriptions, through the command lines users run
/// (<c>edge-quantize convert / inspect</c>, <c>edge predict</c>, in process): each must exit 1 with one
/// printable line on stderr naming the file, never exit 70 with a stack trace.
/// </summary>
[TestClass]
public sealed class CliReproducerTests
{
    private static string SeedGruOnnx => Path.Combine(TestPaths.Fixtures, "models", "seed_gru", "model.onnx");
    private static string PtSpec => Path.Combine(TestPaths.Fixtures, "pt", "seed_gru", "spec.json");

    private static void AssertOneCleanLine(EdgeCli.Result r, string file, string? expect = null)
    {
        Assert.AreEqual(1, r.ExitCode, r.ToString());
        string err = r.Stderr.TrimEnd('\n', '\r');
        Assert.AreEqual(1, err.Split('\n').Length, r.ToString());
        Assert.IsTrue(err.All(c => c is >= ' ' and < (char)0x7f), $"non-printable character in: {err}");
        Assert.DoesNotContain("   at ", err);
        Assert.DoesNotContain("Exception", err);
        StringAssert.Contains(err, Path.GetFileName(file));
        if (expect is not null) StringAssert.Contains(err, expect);
    }

    private static string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(TestPaths.NewTempDir(), name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    // ── edge-quantize on hostile source models ──────────────────────────────────────────────────

    public static IEnumerable<object[]> SourceModels()
    {
        // defect 2: \x80\x02 N + \x85 x 100000 + . (a nested 1-tuple) and N + (2 \x86) x 30 (a tuple paired with itself)
        yield return ["deep.pt", PtHostileTests.Zip(PtHostileTests.Repeat([0x80, 2, (byte)'N'], [0x85], 100_000, [(byte)'.'])), "not a dict of tensors"];
        yield return ["dup.pt", PtHostileTests.Zip(PtHostileTests.Repeat([0x80, 2, (byte)'N'], [(byte)'2', 0x86], 30, [(byte)'.'])), null!];
        // defect 3: a (46340, 46340) stride-(0, 0) view of an 800-byte storage
        yield return ["expand.pt", PtHostileTests.Zip(PtHostileTests.DictPickle(("w", PtHostileTests.TensorPickle("0", 200, 0, [46340, 46340], [0, 0]))),
            ("0", PtHostileTests.Floats(200), false)), "budget"];
        // defect 4: one flipped byte in a stored weight
        var zip = PtHostileTests.Zip(PtHostileTests.DictPickle(("w", PtHostileTests.TensorPickle("0", 3, 0, [3], [1]))), ("0", PtHostileTests.Floats(3), false));
        int weight = zip.AsSpan().IndexOf(PtHostileTests.Floats(3));
        zip[weight + 5] ^= 0x10;
        yield return ["flip.pt", zip, "CRC"];
        // defect 5: safetensors data_offsets of the wrong type
        var header = Encoding.ASCII.GetBytes("""{"w":{"dtype":"F32","shape":[2],"data_offsets":["0","8"]}}""");
        var st = new byte[8 + header.Length + 8];
        BinaryPrimitives.WriteUInt64LittleEndian(st, (ulong)header.Length);
        header.CopyTo(st, 8);
        yield return ["offsets.safetensors", st, "data_offsets"];
        // defect 5: ONNX LSTM hidden_size 2^40; defect 6: Transpose perm [-1, 2, 1, 0]; defect 3: ConstantOfShape (2, 20000, 20000)
        yield return ["hidden.onnx", Model([Input("X", OnnxType.Float, 5, 1, 3)], [Input("Y", OnnxType.Float, 5, 1, 1, 2)],
            [Op("LSTM", "lstm", ["X", "W", "R"], ["Y"], Attr("hidden_size", 1L << 40))],
            OnnxImporterTests.FloatTensor("W", new float[24], 1, 8, 3), OnnxImporterTests.FloatTensor("R", new float[16], 1, 8, 2)).ToByteArray(), "hidden_size"];
        yield return ["perm.onnx", Model([Input("X", OnnxType.Float, 2, 3, 4, 5)], [Input("Y", OnnxType.Float, 5, 4, 3, 2)],
            [Op("Transpose", "t", ["X"], ["Y"], Attr("perm", [-1L, 2, 1, 0]))]).ToByteArray(), "perm"];
        yield return ["zeros.onnx", Model([Input("X", OnnxType.Float, 2, 20000, 20000)], [Input("Y", OnnxType.Float, 2, 20000, 20000)],
            [Op("ConstantOfShape", "zeros", ["S"], ["Z"]), Op("Add", "add", ["X", "Z"], ["Y"])], Int64Tensor("S", [2L, 20000, 20000], 3)).ToByteArray(), "budget"];
        // defect 7: an HDF5 signature of control characters; model.h5 whose config string declares 2 GiB
        yield return ["junk.h5", Encoding.ASCII.GetBytes("\u001b[2J\u0007\r\nnot hdf5 at all"), "not an HDF5 file"];
        var h5 = File.ReadAllBytes(Path.Combine(TestPaths.Fixtures, "keras", "gru_reset_before", "model.h5"));
        int gcol = h5.AsSpan().IndexOf("GCOL"u8);
        BinaryPrimitives.WriteUInt64LittleEndian(h5.AsSpan(gcol + 24), 0x7FFFFFFF);
        yield return ["heap.h5", h5, "global heap"];
        // defect 7: invalid bytes in a .keras config.json
        yield return ["badconfig.keras", KerasWithConfigBytes([0x7B, 0x22, 0xFF, 0x1B, 0x07, 0x22, 0x3A]), "config.json"];
    }

    private static byte[] KerasWithConfigBytes(byte[] config)
    {
        var original = File.ReadAllBytes(Path.Combine(TestPaths.Fixtures, "keras", "hard_sigmoid_k3_keras", "model.keras"));
        var ms = new MemoryStream();
        using (var src = new ZipArchive(new MemoryStream(original), ZipArchiveMode.Read))
        using (var dst = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var e in src.Entries)
            {
                using var s = e.Open();
                using var d = dst.CreateEntry(e.FullName).Open();
                if (e.FullName == "config.json") d.Write(config);
                else s.CopyTo(d);
            }
        }
        return ms.ToArray();
    }

    [TestMethod]
    [DynamicData(nameof(SourceModels))]
    public void ConvertAndInspect_ExitOneWithOneLine(string name, byte[] bytes, string? expect)
    {
        string path = Write(name, bytes);
        bool pytorch = name.EndsWith(".pt", StringComparison.Ordinal) || name.EndsWith(".safetensors", StringComparison.Ordinal);
        string[] spec = pytorch ? ["--spec", PtSpec] : [];
        string output = Path.Combine(Path.GetDirectoryName(path)!, "out.edge");
        AssertOneCleanLine(EdgeCli.Quantize(["convert", path, "--output", output, .. spec]), path, expect);
        Assert.IsFalse(File.Exists(output), "a refused conversion must not leave a blob");
        AssertOneCleanLine(EdgeCli.Quantize(["inspect", path, .. spec]), path, expect);
    }

    // ── edge predict and inspect on a hostile .edge and .npy ────────────────────────────────────

    private static (string Edge, string Dir) ConvertedSeedGru()
    {
        string dir = TestPaths.NewTempDir();
        return (EdgeCli.Convert(SeedGruOnnx, dir), dir);
    }

    [TestMethod]
    public void EdgeWithAChangedOutputShape_ExitsOneWithOneLine()
    {
        var (edge, dir) = ConvertedSeedGru();
        var b = File.ReadAllBytes(edge);
        // the last fixed dimension of the first declared output, its last digit changed, checksums recomputed
        string text = Encoding.Latin1.GetString(b);
        int open = text.IndexOf("\"shape\":[", text.IndexOf("\"outputs\":[", StringComparison.Ordinal), StringComparison.Ordinal) + 9;
        int close = text.IndexOf(']', open);
        int digit = -1, p = open;
        foreach (var d in text[open..close].Split(','))
        {
            if (!d.StartsWith('-')) digit = p + d.Length - 1;
            p += d.Length + 1;
        }
        Assert.IsGreaterThan(0, digit, "the seed's output has no fixed dimension");
        b[digit] = b[digit] == (byte)'9' ? (byte)'8' : (byte)(b[digit] + 1);
        string bad = Write("shape.edge", MutationSuite.RewriteChecksums(b));
        AssertOneCleanLine(EdgeCli.Quantize("inspect", bad), bad, "but the graph declares");
        var args = new List<string> { "predict", "--model", bad, "--output-dir", Path.Combine(dir, "out") };
        foreach (var i in EdgeModel.Load(edge).Graph.Inputs)
        {
            string f = Path.Combine(TestPaths.Fixtures, "models", "seed_gru", i.Name + ".npy");
            args.AddRange(["--input", $"{i.Name}={(File.Exists(f) ? f : Path.Combine(TestPaths.Fixtures, "models", "seed_gru", "x.npy"))}"]);
        }
        AssertOneCleanLine(EdgeCli.Device([.. args]), bad, "but the graph declares");
    }

    [TestMethod]
    public void NpyHeaderGarbage_IsPrintableInOneLine()
    {
        // defect 7: control characters and non-ASCII in the dtype of a .npy header
        string header = "{'descr': '<f4\u001b[2J\u0007\u00e9\r', 'fortran_order': False, 'shape': (3,), }";
        var h = Encoding.Latin1.GetBytes(header);
        int total = 10 + h.Length + 1;
        int pad = (64 - total % 64) % 64;
        var b = new byte[total + pad + 12];
        b[0] = 0x93;
        "NUMPY"u8.CopyTo(b.AsSpan(1));
        b[6] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(8), (ushort)(h.Length + pad + 1));
        h.CopyTo(b, 10);
        b.AsSpan(10 + h.Length, pad).Fill((byte)' ');
        b[10 + h.Length + pad] = (byte)'\n';
        string npy = Write("garbage.npy", b);

        var e = Assert.Throws<EdgeException>(() => Edge.Runtime.Tensors.Npy.Read(npy));
        StringAssert.Contains(e.Message, "dtype '<f4?[2J???'");
        Assert.IsTrue(e.Message.All(c => c is >= ' ' and < (char)0x7f), e.Message);

        var (edge, dir) = ConvertedSeedGru();
        var inputs = EdgeModel.Load(edge).Graph.Inputs.Select(i => i.Name).ToArray();
        var args = new List<string> { "predict", "--model", edge, "--output-dir", Path.Combine(dir, "out") };
        foreach (var n in inputs) args.AddRange(["--input", $"{n}={npy}"]);
        AssertOneCleanLine(EdgeCli.Device([.. args]), npy, "dtype '<f4?[2J???'");
    }
    [TestMethod]
    public void MetadataWithAKeyWrittenTwice_ExitsOneWithOneLine()
    {
        // Found by the long AFL++ run of the metadata target: JsonObject threw ArgumentException ("An item with
        // the same key has already been added") on first use, an exit 70 from convert --metadata.
        string dir = TestPaths.NewTempDir();
        string meta = Path.Combine(dir, "meta.json");
        File.WriteAllText(meta, """{"features": ["a", "b", "c"], "normalization": 80, "normalization": 80}""");
        AssertOneCleanLine(EdgeCli.Quantize("convert", SeedGruOnnx, "--output", Path.Combine(dir, "m.edge"), "--metadata", meta), meta, "normalization");
        Assert.IsFalse(File.Exists(Path.Combine(dir, "m.edge")));
    }

    [TestMethod]
    public void SpecWithAKeyWrittenTwice_ExitsOneWithOneLine()
    {
        string dir = TestPaths.NewTempDir();
        string spec = Path.Combine(dir, "spec.json");
        string text = File.ReadAllText(PtSpec);
        int brace = text.IndexOf('{', StringComparison.Ordinal);
        File.WriteAllText(spec, text[..(brace + 1)] + "\"inputs\": [], " + text[(brace + 1)..]);
        string pt = Path.Combine(TestPaths.Fixtures, "pt", "seed_gru", "model.pt");
        AssertOneCleanLine(EdgeCli.Quantize("convert", pt, "--spec", spec, "--output", Path.Combine(dir, "m.edge")), spec);
    }
}
