using System.Buffers.Binary;
using System.Text.Json;
using Edge.Quantizer.Import.PyTorch;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Tests.Import;

/// <summary>
/// Files that hold more than a state_dict, and the legacy torch.save format (issue 17), made by
/// tools/make_pt_fixtures.py (pt_foreign) into Fixtures/pt/foreign/: torch.save(model) of an nn.Module
/// subclass, a checkpoint whose model_state_dict sits next to a pickled scaler object, and the legacy
/// (non-zip) format of the same tensors. Each must give the tensors of the zip-format state_dict.pt,
/// key for key and bit for bit; foreign classes are placeholders, named once in the notes.
/// </summary>
[TestClass]
public sealed class PyTorchForeignTests
{
    private static string Foreign(string file) => Path.Combine(TestPaths.Fixtures, "pt", "foreign", file);

    private static JsonElement Expected => JsonDocument.Parse(File.ReadAllText(Foreign("expected.json"))).RootElement;

    private static void AssertSameTensors(StateDict expected, StateDict actual)
    {
        CollectionAssert.AreEqual(expected.Tensors.Keys.ToArray(), actual.Tensors.Keys.ToArray(), "keys and their order");
        foreach (var (key, t) in expected.Tensors)
        {
            var a = actual.Tensors[key];
            CollectionAssert.AreEqual(t.ShapeArray(), a.ShapeArray(), key);
            CollectionAssert.AreEqual(t.Contiguous().Bytes().ToArray(), a.Contiguous().Bytes().ToArray(), key);
        }
    }

    [TestMethod]
    public void TheReferenceHoldsTheModulesStateDictKeys()
    {
        var reference = StateDict.Load(Foreign("state_dict.pt"));
        CollectionAssert.AreEqual(Expected.GetProperty("keys").EnumerateArray().Select(k => k.GetString()).ToArray(), reference.Tensors.Keys.ToArray());
        Assert.IsEmpty(reference.Notes);
    }

    [TestMethod]
    public void WholePickledModule_GivesItsStateDict_AndNamesEachPlaceholderOnce()
    {
        var sd = StateDict.Load(Foreign("whole_module.pt"));
        AssertSameTensors(StateDict.Load(Foreign("state_dict.pt")), sd);
        var placeholderNote = sd.Notes.Single(n => n.Contains("inert placeholders", StringComparison.Ordinal));
        foreach (var name in Expected.GetProperty("placeholders").EnumerateArray().Select(e => e.GetString()!))
        {
            int first = placeholderNote.IndexOf(name, StringComparison.Ordinal);
            Assert.IsGreaterThanOrEqualTo(0, first, placeholderNote);
            Assert.AreEqual(-1, placeholderNote.IndexOf(name + ",", first + name.Length, StringComparison.Ordinal), $"{name} named twice: {placeholderNote}");
        }
        Assert.IsTrue(sd.Notes.Any(n => n.Contains("whole pickled module (__main__.TinyForecaster)", StringComparison.Ordinal)), string.Join(" | ", sd.Notes));
    }

    [TestMethod]
    public void CheckpointWithAPickledScaler_UsesModelStateDict_AndKeepsTheScalerAsAPlaceholder()
    {
        var sd = StateDict.Load(Foreign("checkpoint_scaler.pt"));
        Assert.AreEqual("model_state_dict", sd.CheckpointKey);
        AssertSameTensors(StateDict.Load(Foreign("state_dict.pt")), sd);
        string scaler = Expected.GetProperty("scaler_placeholder").GetString()!;
        Assert.IsTrue(sd.Notes.Any(n => n.Contains("inert placeholders", StringComparison.Ordinal) && n.Contains(scaler, StringComparison.Ordinal)), string.Join(" | ", sd.Notes));
    }

    [TestMethod]
    [DataRow("legacy_state_dict.pt", null)]
    [DataRow("legacy_checkpoint.pt", "model_state_dict")]
    public void LegacyFormat_GivesTheSameTensorsAsTheZipFormat(string file, string? checkpointKey)
    {
        var sd = StateDict.Load(Foreign(file));
        Assert.AreEqual(checkpointKey, sd.CheckpointKey);
        AssertSameTensors(StateDict.Load(Foreign("state_dict.pt")), sd);
        Assert.IsTrue(sd.Notes.Contains("legacy (non-zip) torch.save format"), string.Join(" | ", sd.Notes));
    }

    [TestMethod]
    public void LegacyFormat_EveryTruncationIsAFormatError()
    {
        var bytes = File.ReadAllBytes(Foreign("legacy_state_dict.pt"));
        for (int cut = 0; cut < bytes.Length; cut++)
        {
            var e = Assert.Throws<EdgeException>(() => StateDict.ReadPt(new MemoryStream(bytes[..cut]), "cut.pt"), $"cut at {cut}");
            Assert.DoesNotContain("\n", e.Message);
        }
    }

    [TestMethod]
    public void LegacyFormat_ElementCountPastTheEnd_IsRefusedWithoutAllocating()
    {
        var bytes = File.ReadAllBytes(Foreign("legacy_state_dict.pt"));
        // the last storage is its int64 element count followed by exactly count x 4 bytes up to the end of the
        // file: find that count by its position, then declare 2^40 elements, and one more than the pickle says
        int patched = 0;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int at = bytes.Length - 16; at > 0 && patched == 0; at--)
        {
            long count = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(at));
            if (count > 0 && at + 8 + count * 4 == bytes.Length)
            {
                var b = (byte[])bytes.Clone();
                BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(at), 1L << 40);
                var e = Assert.ThrowsExactly<EdgeFormatException>(() => StateDict.ReadPt(new MemoryStream(b), "big.pt"));
                StringAssert.Contains(e.Message, "holds 1099511627776 elements but the pickle declares");
                BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(at), count + 1);
                StringAssert.Contains(Assert.ThrowsExactly<EdgeFormatException>(() => StateDict.ReadPt(new MemoryStream(b), "big.pt")).Message, "elements but the pickle declares");
                patched++;
            }
        }
        Assert.AreEqual(1, patched, "found the last storage's element count");
        Assert.IsLessThan(16L << 20, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
