using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using System.Text.Json.Nodes;
using Edge.Runtime.Format;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Tests.Format;

/// <summary>
/// The `.edge` v1 blob: round trips, determinism and refusals. Corrupt files are made by editing a
/// good file with <see cref="Blob"/>, a small independent implementation of docs/format.md's layout
/// (so these tests also check the specification, not only the writer's own constants).
/// </summary>
[TestClass]
public sealed class BlobTests
{
    private const string Name = "model.edge";

    // ── fixtures ─────────────────────────────────────────────────────────────────────────────

    private static Graph SampleGraph()
    {
        var g = new Graph { Name = "tiny-gru" };
        g.Inputs.Add(new ValueInfo("x", DataType.Float32, [-1, 5, 3]));
        g.Inputs.Add(new ValueInfo("ids", DataType.Int64, [-1]));
        g.Outputs.Add(new ValueInfo("y", DataType.Float32, [-1, 2]));
        g.Outputs.Add(new ValueInfo("h", DataType.Float32, [1, -1, 4]));

        g.Constants["W"] = Tensor.FromArray(Enumerable.Range(0, 12 * 3).Select(i => i * 0.25f - 3f).ToArray(), 1, 12, 3);
        g.Constants["R"] = Tensor.FromArray(Enumerable.Range(0, 12 * 4).Select(i => MathF.Sin(i)).ToArray(), 1, 12, 4);
        g.Constants["B"] = Tensor.FromArray(new float[24], 1, 24);
        g.Constants["axes"] = Tensor.FromArray(new long[] { long.MinValue, -1, 0, long.MaxValue }, 4);
        g.Constants["table"] = Tensor.FromArray(new[] { int.MinValue, -7, 0, 7, int.MaxValue, 1 }, 3, 2);
        g.Constants["bytes"] = Tensor.FromArray(new sbyte[] { -128, -1, 0, 1, 127 }, 5);
        g.Constants["scalar"] = Tensor.Scalar(2.5f);
        g.Constants["empty"] = Tensor.Zeros(DataType.Float32, 0, 3);
        g.Constants["empty3"] = Tensor.Zeros(DataType.Int32, 0, 3, 0);
        g.QuantizedConstants["Wq"] = new QuantizedWeight(
            Tensor.FromArray(new sbyte[] { -127, 0, 127, 5, -5, 64, 1, 2, 3, 100, -100, 0 }, 4, 3),
            [0.5f, 0.25f, 1e-3f, 0f], 0);
        g.QuantizedConstants["Lq"] = new QuantizedWeight(
            Tensor.FromArray(Enumerable.Range(0, 2 * 3 * 2).Select(i => (sbyte)(i - 6)).ToArray(), 2, 3, 2),
            [1f, 2f, 3f, 4f, 5f, 6f], 1);

        g.Nodes.Add(new Node(OpKind.Gru, "gru0", ["x", "W", "R", "B", "", ""], ["seq", "h"])
            .Set("hidden_size", 4L)
            .Set("direction", "forward")
            .Set("layout", 1L)
            .Set("linear_before_reset", 1L)
            .Set("clip", float.PositiveInfinity)
            .Set("activations", ["Sigmoid", "Tanh", "ünïcødé \"quoted\" <tag>"])
            .Set("activation_alpha", [float.NaN, -0f, float.Epsilon, float.MaxValue, float.NegativeInfinity, 0.1f, 1f / 3f])
            .Set("pads", [long.MinValue, -1L, 0L, long.MaxValue]));
        g.Nodes.Add(new Node(OpKind.Gather, "last", ["seq", "axes"], ["last_h"]).Set("axis", 1L).Set("scale", -0f));
        g.Nodes.Add(new Node(OpKind.Dense, "head", ["last_h", "Wq", "Lq"], ["y"]).Set("note", ""));
        g.Nodes.Add(new Node(OpKind.Identity, "unused", ["table", "bytes", "scalar", "empty", "empty3", "ids"], ["z"]).Set("empty_ints", Array.Empty<long>()));
        return g;
    }

    private static JsonObject SampleMetadata() => new()
    {
        ["name"] = "tiny forecaster",
        ["features"] = new JsonArray("temperature", "humidity", "pressure"),
        ["normalization"] = new JsonObject { ["mean"] = new JsonArray(1.5, 2.5, 3.5), ["std"] = new JsonArray(1, 2, 3) },
        ["provenance"] = new JsonObject { ["source_sha256"] = "ab12", ["quantizer"] = "0.1.0" },
        ["format_version"] = 99, // overwritten by the writer
    };

    private static byte[] SampleBytes() => EdgeBlob.ToBytes(SampleGraph(), SampleMetadata());

    private static EdgeFormatException Refused(byte[] file) =>
        Assert.ThrowsExactly<EdgeFormatException>(() => EdgeBlob.Read(file, Name));

    private static void AssertNames(EdgeFormatException e, string section, params string[] fragments)
    {
        StringAssert.StartsWith(e.Message, $"{Name}: {section}: ", $"message: {e.Message}");
        foreach (var f in fragments) StringAssert.Contains(e.Message, f, $"message: {e.Message}");
    }

    // ── round trip ───────────────────────────────────────────────────────────────────────────

    [TestMethod]
    public void RoundTrip_ThroughAFile_KeepsEveryNodeAttributeConstantAndQuantizedWeight()
    {
        var dir = TestPaths.NewTempDir();
        var path = Path.Combine(dir, "m.edge");
        var original = SampleGraph();
        EdgeBlob.Write(path, original, SampleMetadata());

        var (g, meta) = EdgeBlob.Read(path);

        Assert.AreEqual("tiny-gru", g.Name);
        AssertValues(original.Inputs, g.Inputs);
        AssertValues(original.Outputs, g.Outputs);
        Assert.HasCount(original.Nodes.Count, g.Nodes);
        for (int i = 0; i < original.Nodes.Count; i++)
        {
            var (a, b) = (original.Nodes[i], g.Nodes[i]);
            Assert.AreEqual(a.Kind, b.Kind);
            Assert.AreEqual(a.Name, b.Name);
            CollectionAssert.AreEqual(a.Inputs, b.Inputs);
            CollectionAssert.AreEqual(a.Outputs, b.Outputs);
            CollectionAssert.AreEquivalent(a.Attributes.Keys.ToList(), b.Attributes.Keys.ToList());
            foreach (var (key, attr) in a.Attributes) AssertAttribute(attr, b.Attributes[key], $"{a.Name}.{key}");
        }

        CollectionAssert.AreEquivalent(original.Constants.Keys.ToList(), g.Constants.Keys.ToList());
        foreach (var (name, t) in original.Constants)
        {
            var r = g.Constants[name];
            Assert.AreEqual(t.DataType, r.DataType, name);
            CollectionAssert.AreEqual(t.ShapeArray(), r.ShapeArray(), name);
            if (t.Length > 0) CollectionAssert.AreEqual(t.Bytes().ToArray(), r.Bytes().ToArray(), name);
        }
        Assert.AreEqual(DataType.Int64, g.Constants["axes"].DataType);
        Assert.AreEqual(long.MinValue, g.Constants["axes"].Get<long>(0));
        Assert.AreEqual(int.MaxValue, g.Constants["table"].Get<int>(2, 0));
        Assert.AreEqual((sbyte)-128, g.Constants["bytes"].Get<sbyte>(0));
        Assert.AreEqual(0, g.Constants["scalar"].Rank);
        CollectionAssert.AreEqual(new[] { 0, 3 }, g.Constants["empty"].ShapeArray());
        CollectionAssert.AreEqual(new[] { 0, 3, 0 }, g.Constants["empty3"].ShapeArray());

        Assert.HasCount(2, g.QuantizedConstants);
        foreach (var (name, q) in original.QuantizedConstants)
        {
            var r = g.QuantizedConstants[name];
            Assert.AreEqual(q.Axis, r.Axis, name);
            Assert.AreEqual(DataType.Int8, r.Values.DataType);
            CollectionAssert.AreEqual(q.Values.ShapeArray(), r.Values.ShapeArray(), name);
            CollectionAssert.AreEqual(q.Values.Bytes().ToArray(), r.Values.Bytes().ToArray(), name);
            CollectionAssert.AreEqual(q.Scales, r.Scales, name);
        }
        Assert.AreEqual(1e-3f, g.QuantizedConstants["Wq"].Scales[2]);
        Assert.AreEqual(1, g.QuantizedConstants["Lq"].Axis);

        Assert.AreEqual(1, (int)meta["format_version"]!);
        Assert.AreEqual("tiny forecaster", (string)meta["name"]!);
        Assert.AreEqual("humidity", (string)meta["features"]![1]!);
        Assert.AreEqual(2.5, (double)meta["normalization"]!["mean"]![1]!);
        Assert.AreEqual("ab12", (string)meta["provenance"]!["source_sha256"]!);
        // inputs/outputs were not given, so the writer describes them from the graph
        Assert.AreEqual("x", (string)meta["inputs"]![0]!["name"]!);
        Assert.AreEqual("float32", (string)meta["inputs"]![0]!["dtype"]!);
        Assert.AreEqual(-1, (int)meta["inputs"]![0]!["shape"]![0]!);
        Assert.AreEqual(4, (int)meta["outputs"]![1]!["shape"]![2]!);

        Assert.AreEqual("tiny-gru", Edge.Runtime.EdgeModel.Load(path).Graph.Name);
    }

    private static void AssertValues(List<ValueInfo> expected, List<ValueInfo> actual)
    {
        Assert.HasCount(expected.Count, actual);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.AreEqual(expected[i].Name, actual[i].Name);
            Assert.AreEqual(expected[i].DataType, actual[i].DataType);
            CollectionAssert.AreEqual(expected[i].Shape, actual[i].Shape);
        }
    }

    private static void AssertAttribute(Ir.Attribute a, Ir.Attribute b, string what)
    {
        Assert.AreEqual(a.Kind, b.Kind, what);
        switch (a.Kind)
        {
            case AttributeKind.Int: Assert.AreEqual(a.Int, b.Int, what); break;
            case AttributeKind.Float: Assert.AreEqual(BitConverter.SingleToInt32Bits(a.Float), BitConverter.SingleToInt32Bits(b.Float), what); break;
            case AttributeKind.String: Assert.AreEqual(a.String, b.String, what); break;
            case AttributeKind.Ints: CollectionAssert.AreEqual(a.Ints, b.Ints, what); break;
            case AttributeKind.Strings: CollectionAssert.AreEqual(a.Strings, b.Strings, what); break;
            case AttributeKind.Floats:
                // bit patterns: -0 must stay -0, NaN stays NaN, Epsilon and MaxValue exact
                CollectionAssert.AreEqual(a.Floats!.Select(BitConverter.SingleToInt32Bits).ToArray(), b.Floats!.Select(BitConverter.SingleToInt32Bits).ToArray(), what);
                break;
            default: Assert.Fail($"{what}: kind {a.Kind}"); break;
        }
    }

    [TestMethod]
    public void Write_SameInputsTwice_GivesIdenticalBytes_WhateverTheDictionaryOrder()
    {
        var first = SampleBytes();
        var second = SampleBytes();
        CollectionAssert.AreEqual(first, second);

        // Same content, constants and attributes inserted in reverse order.
        var g = SampleGraph();
        var reordered = new Graph { Name = g.Name };
        reordered.Inputs.AddRange(g.Inputs);
        reordered.Outputs.AddRange(g.Outputs);
        foreach (var (k, v) in g.Constants.Reverse()) reordered.Constants[k] = v;
        foreach (var (k, v) in g.QuantizedConstants.Reverse()) reordered.QuantizedConstants[k] = v;
        foreach (var n in g.Nodes)
        {
            var copy = new Node(n.Kind, n.Name, n.Inputs, n.Outputs);
            foreach (var (k, v) in n.Attributes.Reverse()) copy.Attributes[k] = v;
            reordered.Nodes.Add(copy);
        }
        CollectionAssert.AreEqual(first, EdgeBlob.ToBytes(reordered, SampleMetadata()));

        var dir = TestPaths.NewTempDir();
        var path = Path.Combine(dir, "a.edge");
        File.WriteAllText(path, "an older file that the atomic write replaces");
        EdgeBlob.Write(path, SampleGraph(), SampleMetadata());
        CollectionAssert.AreEqual(first, File.ReadAllBytes(path));
        CollectionAssert.AreEqual(new[] { "a.edge" }, Directory.GetFiles(dir).Select(Path.GetFileName).ToArray(), "no temporary file is left behind");
    }

    [TestMethod]
    public void Layout_MatchesTheSpecification()
    {
        var file = SampleBytes();
        CollectionAssert.AreEqual("EDGE\r\n\x1a\n"u8.ToArray(), file[..8]);
        Assert.AreEqual(1, BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(8)));
        var sections = Blob.Sections(file);
        CollectionAssert.AreEqual(new[] { "META", "GRPH", "TENS", "DATA" }, sections.Select(s => s.Kind).ToArray());
        var data = sections.Single(s => s.Kind == "DATA");
        Assert.AreEqual(0, data.Offset % 64);
        Assert.AreEqual(file.Length, data.Offset + data.Length);
        var records = Blob.Records(file);
        CollectionAssert.AreEqual(new[] { "B", "Lq", "R", "W", "Wq", "axes", "bytes", "empty", "empty3", "scalar", "table" }, records.Select(r => r.Name).ToArray());
        foreach (var r in records)
        {
            Assert.AreEqual(0, (data.Offset + r.DataOffset) % 64, $"{r.Name} data is 64-byte aligned in the file");
            Assert.AreEqual(0, (data.Offset + r.ScalesOffset) % 64, $"{r.Name} scales are 64-byte aligned in the file");
        }
        var wq = records.Single(r => r.Name == "Wq");
        Assert.AreEqual(1, wq.Scheme);
        Assert.AreEqual(16, wq.ScalesLength);
        Assert.AreEqual(0.25f, BinaryPrimitives.ReadSingleLittleEndian(file.AsSpan((int)(data.Offset + wq.ScalesOffset + 4))));
        var meta = JsonNode.Parse(file.AsSpan((int)sections[0].Offset, (int)sections[0].Length))!;
        Assert.AreEqual(1, (int)meta["format_version"]!);
    }

    // ── refusals: header and section table ───────────────────────────────────────────────────

    [TestMethod]
    public void Read_BadMagic_IsRefusedAsNotAnEdgeFile()
    {
        var file = SampleBytes();
        file[0] = (byte)'P';
        AssertNames(Refused(file), "header", "not a .edge file");
        AssertNames(Refused("PK\x03\x04 a zip file, not a model"u8.ToArray()), "header", "not a .edge file", "50 4B 03 04");
        AssertNames(Refused([]), "header", "empty");
    }

    [TestMethod]
    public void Read_UnknownVersion_SaysWhichVersionThisBuildReads()
    {
        var file = SampleBytes();
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(8), 2);
        AssertNames(Refused(file), "header", "unsupported .edge format version 2 (this build reads 1)");
    }

    [TestMethod]
    public void Read_FileThroughATextModeTransfer_IsRefusedAsLineEndingDamage()
    {
        var file = SampleBytes();
        var crlfToLf = Encoding.Latin1.GetBytes(Encoding.Latin1.GetString(file).Replace("\r\n", "\n"));
        AssertNames(Refused(crlfToLf), "header", "text-mode");
        var lfToCrlf = Encoding.Latin1.GetBytes(Encoding.Latin1.GetString(file).Replace("\n", "\r\n"));
        AssertNames(Refused(lfToCrlf), "header", "text-mode");
    }

    [TestMethod]
    public void Read_EveryTruncation_IsAnEdgeFormatExceptionNamingTheSection()
    {
        var file = SampleBytes();
        var sections = Blob.Sections(file);
        var data = sections.Single(s => s.Kind == "DATA");
        for (int cut = 0; cut < file.Length; cut++)
        {
            EdgeFormatException e;
            try
            {
                EdgeBlob.Read(file.AsSpan(0, cut), Name);
                Assert.Fail($"a file cut to {cut} of {file.Length} bytes was accepted");
                return;
            }
            catch (EdgeFormatException x) { e = x; }
            catch (Exception x) { Assert.Fail($"cut at {cut}: {x.GetType().Name}: {x.Message}"); return; }

            if (cut < 32) AssertNames(e, "header");
            else if (cut < 32 + 4 * 32) AssertNames(e, "section table", "runs past the end");
            else AssertNames(e, sections.First(s => s.Offset + s.Length > cut).Kind, "runs past the end", "truncated");
        }
        Assert.IsGreaterThan(64, (int)data.Length, "the sample has enough DATA for the sweep to cut inside it");
    }

    [TestMethod]
    [DataRow("META")]
    [DataRow("GRPH")]
    [DataRow("TENS")]
    [DataRow("DATA")]
    public void Read_FlippedByteInASection_IsAChecksumErrorNamingIt(string kind)
    {
        var clean = SampleBytes();
        var s = Blob.Sections(clean).Single(x => x.Kind == kind);
        foreach (long at in new[] { s.Offset, s.Offset + s.Length / 2, s.Offset + s.Length - 1 })
        {
            var file = (byte[])clean.Clone();
            file[at] ^= 0x10;
            AssertNames(Refused(file), kind, "checksum mismatch");
        }
    }

    [TestMethod]
    public void Read_FlippedByteInTheSectionTable_IsAChecksumError()
    {
        var file = SampleBytes();
        file[32 + 32 + 9] ^= 0x01; // GRPH offset
        AssertNames(Refused(file), "section table", "checksum mismatch");
    }

    [TestMethod]
    public void Read_SectionOffsetPastTheEnd_NamesTheSection()
    {
        var file = SampleBytes();
        Blob.SetEntry(file, "DATA", offset: file.Length + 64);
        AssertNames(Refused(file), "DATA", "runs past the end");

        file = SampleBytes();
        Blob.SetEntry(file, "TENS", length: long.MaxValue); // offset + length overflows a signed 64-bit sum
        AssertNames(Refused(file), "TENS", "runs past the end");
    }

    [TestMethod]
    public void Read_OverlappingSections_AreRefused()
    {
        var file = SampleBytes();
        var meta = Blob.Sections(file).Single(x => x.Kind == "META");
        Blob.SetEntry(file, "GRPH", offset: meta.Offset + 8);
        AssertNames(Refused(file), "GRPH", "overlaps META");
    }

    [TestMethod]
    public void Read_MissingOrUnknownSections_AreRefused()
    {
        var file = SampleBytes();
        Blob.SetEntry(file, "TENS", newKind: "TENZ");
        AssertNames(Refused(file), "TENZ", "unknown section kind");

        file = SampleBytes();
        Blob.SetEntry(file, "TENS", newKind: "tenz"); // optional kinds are skipped, so TENS is now missing
        AssertNames(Refused(file), "section table", "no TENS section");
    }

    [TestMethod]
    public void Read_StrayBytesAfterTheLastSection_AreRefused()
    {
        var file = SampleBytes().Append((byte)0).ToArray();
        AssertNames(Refused(file), "section table", "stray bytes");
    }

    // ── refusals: tensor table and data ──────────────────────────────────────────────────────

    [TestMethod]
    public void Read_TensorLengthMismatch_NamesTheTensor()
    {
        var file = SampleBytes();
        Blob.EditRecord(file, "W", (rec, _) => BinaryPrimitives.WriteUInt64LittleEndian(rec[56..], 4 * 36 - 4));
        AssertNames(Refused(file), "TENS", "tensor 'W'", "data length is 140 bytes", "needs 144");
    }

    [TestMethod]
    public void Read_HugeShape_IsRefusedWithoutOverflow()
    {
        var file = SampleBytes();
        Blob.EditRecord(file, "W", (rec, _) =>
        {
            for (int d = 0; d < 3; d++) BinaryPrimitives.WriteUInt32LittleEndian(rec[(16 + 4 * d)..], int.MaxValue);
        });
        AssertNames(Refused(file), "TENS", "tensor 'W'", "shape (2147483647, 2147483647, 2147483647)", "more than");

        file = SampleBytes();
        Blob.EditRecord(file, "W", (rec, _) => BinaryPrimitives.WriteUInt32LittleEndian(rec[16..], uint.MaxValue));
        AssertNames(Refused(file), "TENS", "tensor 'W'", "dims[0] is 4294967295");

        file = SampleBytes();
        Blob.EditRecord(file, "W", (rec, _) => BinaryPrimitives.WriteUInt64LittleEndian(rec[48..], ulong.MaxValue - 63));
        AssertNames(Refused(file), "TENS", "tensor 'W'", "outside");
    }

    [TestMethod]
    public void Read_BadTensorRecordFields_AreEachNamed()
    {
        (Blob.SpanEdit, string)[] cases =
        [
            (r => r[8] = 9, "unknown dtype 9"),
            (r => r[9] = 9, "rank 9"),
            (r => r[10] = 7, "unknown quantization scheme 7"),
            (r => r[10] = 1, "int8 per-row quantization on a float32 tensor"),
            (r => BinaryPrimitives.WriteUInt64LittleEndian(r[48..], BinaryPrimitives.ReadUInt64LittleEndian(r[48..]) + 4), "not a multiple of 64"),
        ];
        foreach (var (edit, expected) in cases)
        {
            var file = SampleBytes();
            Blob.EditRecord(file, "W", (rec, _) => edit(rec));
            AssertNames(Refused(file), "TENS", "tensor 'W'", expected);
        }

        var overlapping = SampleBytes();
        var b = Blob.Records(overlapping).Single(r => r.Name == "B");
        Blob.EditRecord(overlapping, "W", (rec, _) => BinaryPrimitives.WriteUInt64LittleEndian(rec[48..], (ulong)b.DataOffset));
        AssertNames(Refused(overlapping), "TENS", "overlaps");
    }

    [TestMethod]
    public void Read_QuantizedWeightOutOfRange_IsRefused()
    {
        var file = SampleBytes();
        var wq = Blob.Records(file).Single(r => r.Name == "Wq");
        var data = Blob.Sections(file).Single(s => s.Kind == "DATA");
        file[data.Offset + wq.DataOffset + 1] = 0x80;
        Blob.Reseal(file);
        AssertNames(Refused(file), "DATA", "tensor 'Wq'", "element 1 is -128");

        file = SampleBytes();
        BinaryPrimitives.WriteSingleLittleEndian(file.AsSpan((int)(data.Offset + wq.ScalesOffset + 8)), float.NaN);
        Blob.Reseal(file);
        AssertNames(Refused(file), "DATA", "tensor 'Wq'", "scale of row 2 is NaN");

        file = SampleBytes();
        Blob.EditRecord(file, "Wq", (rec, _) => BinaryPrimitives.WriteUInt64LittleEndian(rec[72..], 12));
        AssertNames(Refused(file), "TENS", "tensor 'Wq'", "scales length is 12 bytes but 4 rows need 16");
    }

    // ── refusals: graph ──────────────────────────────────────────────────────────────────────

    [TestMethod]
    public void Read_UnknownOpKind_IsRefusedNamingKindAndNode()
    {
        var file = Blob.EditGraph(SampleBytes(), g => g["nodes"]![2]!["kind"] = "Transformer");
        AssertNames(Refused(file), "GRPH", "node 2 ('head')", "unknown op kind 'Transformer'");

        // Enum.TryParse would accept these; the reader does not.
        foreach (var sneaky in new[] { "2", "Dense, Gru", "dense" })
        {
            file = Blob.EditGraph(SampleBytes(), g => g["nodes"]![2]!["kind"] = sneaky);
            AssertNames(Refused(file), "GRPH", $"unknown op kind '{sneaky}'");
        }
    }

    [TestMethod]
    public void Read_MalformedGraphJson_NamesTheFieldAndNode()
    {
        (Action<JsonNode>, string[])[] cases =
        [
            (g => g["nodes"]![1]!.AsObject().Remove("outputs"), ["node 1 ('last')", "missing field 'outputs'"]),
            (g => g["nodes"]![0]!["inputs"] = 3, ["node 0 ('gru0')", "field 'inputs' should be an array, not a number"]),
            (g => g["nodes"]![0]!["attributes"]!["hidden_size"] = new JsonObject { ["int"] = 1.5 }, ["attribute 'hidden_size'", "1.5 is not a 64-bit integer"]),
            (g => g["nodes"]![0]!["attributes"]!["clip"] = new JsonObject { ["float"] = "Inf" }, ["attribute 'clip'", "\"Inf\" is not a float"]),
            (g => g["nodes"]![0]!["attributes"]!["clip"] = new JsonObject { ["float"] = 1e300 }, ["attribute 'clip'", "is not a finite float32"]),
            (g => g["nodes"]![0]!["attributes"]!["clip"] = new JsonObject { ["double"] = 1 }, ["attribute 'clip'", "unknown attribute type 'double'"]),
            (g => g["inputs"]![0]!["shape"]![0] = -2, ["input 0 ('x')", "shape[0] is -2"]),
            (g => g["inputs"]![0]!["dtype"] = "float16", ["input 0 ('x')", "unknown dtype 'float16'"]),
            (g => g.AsObject().Remove("constants"), ["the graph", "missing field 'constants'"]),
            (g => g["extra"] = 1, ["the graph", "unknown field 'extra'"]),
            (g => g["constants"]!.AsArray().RemoveAt(0), ["TENS holds tensor 'B'"]),
            (g => g["nodes"]![2]!["inputs"]![0] = "nope", ["node 'head' (Dense) reads 'nope'"]),
        ];
        foreach (var (edit, fragments) in cases)
            AssertNames(Refused(Blob.EditGraph(SampleBytes(), edit)), "GRPH", fragments);

        AssertNames(Refused(Blob.ReplaceSection(SampleBytes(), "GRPH", "{\"name\": \"x\", "u8.ToArray())), "GRPH", "malformed JSON");
        AssertNames(Refused(Blob.ReplaceSection(SampleBytes(), "GRPH", "{\"name\":\"a\",\"name\":\"b\"}"u8.ToArray())), "GRPH", "malformed JSON");
        AssertNames(Refused(Blob.ReplaceSection(SampleBytes(), "GRPH", [0x7B, 0x22, 0xC3, 0x28, 0x22, 0x3A, 0x31, 0x7D])), "GRPH", "not valid UTF-8");
        AssertNames(Refused(Blob.ReplaceSection(SampleBytes(), "META", "[1, 2]"u8.ToArray())), "META", "should be a JSON object");
        AssertNames(Refused(Blob.ReplaceSection(SampleBytes(), "META", "{\"format_version\": 2}"u8.ToArray())), "META", "format_version is 2");
    }

    [TestMethod]
    [DataRow("GRPH")]
    [DataRow("TENS")]
    [DataRow("META")]
    public void Read_AnyByteChangedAndResealed_IsAcceptedOrAnEdgeFormatException(string kind)
    {
        // Checksums catch accidents; this checks the validation behind them against deliberate edits.
        var clean = SampleBytes();
        var s = Blob.Sections(clean).Single(x => x.Kind == kind);
        int refused = 0;
        foreach (byte mask in new byte[] { 0x01, 0x80, 0xFF })
        {
            for (long at = s.Offset; at < s.Offset + s.Length; at++)
            {
                var file = (byte[])clean.Clone();
                file[at] ^= mask;
                Blob.Reseal(file);
                try { EdgeBlob.Read(file, Name); }
                catch (EdgeFormatException e) { refused++; StringAssert.StartsWith(e.Message, Name + ": "); }
                catch (Exception e) { Assert.Fail($"{kind} byte {at - s.Offset} ^ 0x{mask:X2}: {e.GetType().Name}: {e.Message}"); }
            }
        }
        Assert.IsGreaterThan(0, refused);
    }

    [TestMethod]
    public void Read_AnyHeaderOrTableByteChangedAndResealed_IsAcceptedOrAnEdgeFormatException()
    {
        var clean = SampleBytes();
        int tableEnd = 32 + 32 * Blob.Sections(clean).Count;
        foreach (byte mask in new byte[] { 0x01, 0x40, 0xFF })
        {
            for (int at = 0; at < tableEnd; at++)
            {
                if (at is >= 24 and < 32) continue; // the header checksum itself
                var file = (byte[])clean.Clone();
                file[at] ^= mask;
                if (at >= 32 || at is >= 12 and < 24) Blob.ResealHeader(file, sectionCount: 4);
                try { EdgeBlob.Read(file, Name); }
                catch (EdgeFormatException e) { StringAssert.StartsWith(e.Message, Name + ": "); }
                catch (Exception e) { Assert.Fail($"header byte {at} ^ 0x{mask:X2}: {e.GetType().Name}: {e.Message}"); }
            }
        }
    }

    // ── writer refusals and IO ───────────────────────────────────────────────────────────────

    [TestMethod]
    public void Write_RefusesWhatTheReaderWouldRefuse()
    {
        var g = SampleGraph();
        g.Nodes.Add(new Node((OpKind)999, "future", ["x"], ["f"]));
        StringAssert.Contains(Assert.ThrowsExactly<EdgeException>(() => EdgeBlob.ToBytes(g, new JsonObject())).Message, "kind 999");

        g = SampleGraph();
        g.QuantizedConstants["Wq"].Values.Span<sbyte>()[0] = -128;
        StringAssert.Contains(Assert.ThrowsExactly<EdgeException>(() => EdgeBlob.ToBytes(g, new JsonObject())).Message, "-128");

        g = SampleGraph();
        g.QuantizedConstants["bad"] = new QuantizedWeight(Tensor.Zeros(DataType.Int8, 2, 3), [1f], 0);
        StringAssert.Contains(Assert.ThrowsExactly<EdgeException>(() => EdgeBlob.ToBytes(g, new JsonObject())).Message, "2 rows but 1 scales");

        g = SampleGraph();
        g.QuantizedConstants["W"] = g.QuantizedConstants["Wq"];
        StringAssert.Contains(Assert.ThrowsExactly<EdgeException>(() => EdgeBlob.ToBytes(g, new JsonObject())).Message, "quantized constant 'W'");

        var dir = TestPaths.NewTempDir();
        var path = Path.Combine(dir, "never.edge");
        Assert.ThrowsExactly<EdgeException>(() => EdgeBlob.Write(path, g, new JsonObject()));
        Assert.IsEmpty(Directory.GetFiles(dir), "a refused write leaves no file");
    }

    [TestMethod]
    public void Read_MissingFile_IsAnEdgeExceptionNamingThePath()
    {
        var path = Path.Combine(TestPaths.NewTempDir(), "absent.edge");
        var e = Assert.ThrowsExactly<EdgeException>(() => EdgeBlob.Read(path));
        StringAssert.StartsWith(e.Message, path + ": cannot read");
    }
}

/// <summary>
/// Test-side reading and editing of `.edge` v1 bytes, written from docs/format.md independently of
/// Runtime/Format. Edits keep checksums valid (<see cref="Reseal"/>) so the reader's deeper checks run.
/// </summary>
internal static class Blob
{
    public sealed record Section(int Index, string Kind, long Offset, long Length);

    public sealed record Record(int Index, string Name, int Scheme, long DataOffset, long DataLength, long ScalesOffset, long ScalesLength);

    public static List<Section> Sections(byte[] file)
    {
        int count = (int)BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(16));
        var list = new List<Section>();
        for (int i = 0; i < count; i++)
        {
            var e = file.AsSpan(32 + 32 * i, 32);
            list.Add(new Section(i, Encoding.ASCII.GetString(e[..4]), (long)BinaryPrimitives.ReadUInt64LittleEndian(e[8..]), (long)BinaryPrimitives.ReadUInt64LittleEndian(e[16..])));
        }
        return list;
    }

    public static List<Record> Records(byte[] file)
    {
        var tens = Sections(file).Single(s => s.Kind == "TENS");
        var t = file.AsSpan((int)tens.Offset, (int)tens.Length);
        int count = (int)BinaryPrimitives.ReadUInt32LittleEndian(t);
        int names = 16 + 80 * count;
        var list = new List<Record>();
        for (int i = 0; i < count; i++)
        {
            var r = t.Slice(16 + 80 * i, 80);
            string name = Encoding.UTF8.GetString(t.Slice(names + (int)BinaryPrimitives.ReadUInt32LittleEndian(r), (int)BinaryPrimitives.ReadUInt32LittleEndian(r[4..])));
            list.Add(new Record(i, name, r[10], (long)BinaryPrimitives.ReadUInt64LittleEndian(r[48..]), (long)BinaryPrimitives.ReadUInt64LittleEndian(r[56..]),
                (long)BinaryPrimitives.ReadUInt64LittleEndian(r[64..]), (long)BinaryPrimitives.ReadUInt64LittleEndian(r[72..])));
        }
        return list;
    }

    /// <summary>Recomputes every section checksum, then the header checksum.</summary>
    public static void Reseal(byte[] file)
    {
        foreach (var s in Sections(file))
        {
            if (s.Offset < 0 || s.Length < 0 || s.Offset + s.Length > file.Length) continue;
            BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(32 + 32 * s.Index + 24), XxHash64.HashToUInt64(file.AsSpan((int)s.Offset, (int)s.Length)));
        }
        ResealHeader(file);
    }

    public static void ResealHeader(byte[] file, int? sectionCount = null)
    {
        int count = sectionCount ?? (int)BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(16));
        var h = new XxHash64();
        h.Append(file.AsSpan(0, 24));
        h.Append(file.AsSpan(32, 32 * count));
        BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(24), h.GetCurrentHashAsUInt64());
    }

    public static void SetEntry(byte[] file, string kind, long? offset = null, long? length = null, string? newKind = null)
    {
        var s = Sections(file).Single(x => x.Kind == kind);
        var e = file.AsSpan(32 + 32 * s.Index, 32);
        if (offset is long o) BinaryPrimitives.WriteUInt64LittleEndian(e[8..], (ulong)o);
        if (length is long l) BinaryPrimitives.WriteUInt64LittleEndian(e[16..], (ulong)l);
        if (newKind is not null) Encoding.ASCII.GetBytes(newKind).CopyTo(e);
        ResealHeader(file);
    }

    public delegate void SpanEdit(Span<byte> bytes);

    public delegate void RecordEdit(Span<byte> record, Record info);

    public static void EditRecord(byte[] file, string name, RecordEdit edit)
    {
        var tens = Sections(file).Single(s => s.Kind == "TENS");
        var r = Records(file).Single(x => x.Name == name);
        edit(file.AsSpan((int)tens.Offset + 16 + 80 * r.Index, 80), r);
        Reseal(file);
    }

    /// <summary>Parses GRPH, edits it, and rebuilds the file around the new section.</summary>
    public static byte[] EditGraph(byte[] file, Action<JsonNode> edit)
    {
        var s = Sections(file).Single(x => x.Kind == "GRPH");
        var g = JsonNode.Parse(file.AsSpan((int)s.Offset, (int)s.Length))!;
        edit(g);
        return ReplaceSection(file, "GRPH", Encoding.UTF8.GetBytes(g.ToJsonString()));
    }

    /// <summary>A new file with one section's bytes replaced; sections laid out again as the spec says (8-aligned, DATA 64-aligned).</summary>
    public static byte[] ReplaceSection(byte[] file, string kind, byte[] bytes)
    {
        var sections = Sections(file);
        int tableEnd = 32 + 32 * sections.Count;
        var output = new MemoryStream();
        output.Write(file, 0, tableEnd);
        foreach (var s in sections.OrderBy(x => x.Offset))
        {
            int align = s.Kind == "DATA" ? 64 : 8;
            while (output.Length % align != 0) output.WriteByte(0);
            long offset = output.Length;
            var content = s.Kind == kind ? bytes : file.AsSpan((int)s.Offset, (int)s.Length).ToArray();
            output.Write(content);
            var buffer = output.GetBuffer();
            BinaryPrimitives.WriteUInt64LittleEndian(buffer.AsSpan(32 + 32 * s.Index + 8), (ulong)offset);
            BinaryPrimitives.WriteUInt64LittleEndian(buffer.AsSpan(32 + 32 * s.Index + 16), (ulong)content.Length);
        }
        var result = output.ToArray();
        Reseal(result);
        return result;
    }
}
