using Edge.Quantizer;
using Edge.Quantizer.Import.Onnx;

namespace Edge.Runtime.Tests.Hostile;

/// <summary>
/// Inputs found by the long AFL++ runs (docs/fuzzing.md), kept as regression tests. Each file is a mutation of
/// one of Edge's own fixtures, committed under Runtime.Tests/Fixtures/hostile.
/// </summary>
[TestClass]
public sealed class FuzzFindingsTests
{
    private static string Hostile(string file) => Path.Combine(TestPaths.Fixtures, "hostile", file);

    [TestMethod]
    public void FixedBatchOnnxWhoseTileGrowsWithItsInput_IsRefusedWithinTheBudget()
    {
        // A 32 KB mutation of the seed forecaster: a fixed-batch export whose Tile repeats come out of a
        // corrupted constant, so the batch check's made-up run (batch + 1) asked for a 3.2 GB tensor before any
        // load check bounded it (OutOfMemoryException under a 1 GB heap, exit 70 in edge-quantize).
        string file = Hostile("fuzz_tile_batch_relaxation.onnx");
        long before = GC.GetAllocatedBytesForCurrentThread();
        var graph = OnnxImporter.Import(file);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.IsLessThan(512L << 20, allocated, $"import allocated {allocated} bytes");

        string dir = Directory.CreateTempSubdirectory("edge-fuzz-finding-").FullName;
        try
        {
            var e = Assert.Throws<EdgeException>(() =>
                Converter.Convert(new ConvertOptions(file, Path.Combine(dir, "m.edge")), TextWriter.Null));
            StringAssert.Contains(e.Message, "budget");
            Assert.IsFalse(File.Exists(Path.Combine(dir, "m.edge")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
        Assert.IsNotNull(graph);
    }
    [TestMethod]
    [DataRow("fuzz_initializer_shape_without_data_1.onnx", "onnx::LSTM_109")]
    [DataRow("fuzz_initializer_shape_without_data_2.onnx", "onnx::GRU_98")]
    public void InitializerWhoseShapeHasNoBytesBehindIt_IsRefusedBeforeAllocating(string file, string initializer)
    {
        // Mutations of the seed forecaster found by the second long run: one byte of an initializer's dims
        // became 1,342,177,279 (5.4 GB of float) with 768 bytes of raw_data; the importer allocated the declared
        // shape before comparing it with the bytes (OutOfMemoryException under a 1 GB heap).
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<EdgeException>(() => OnnxImporter.Import(Hostile(file)));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.IsLessThan(64L << 20, allocated, $"import allocated {allocated} bytes");
        StringAssert.Contains(e.Message, initializer);
        StringAssert.Contains(e.Message, "raw_data holds");
    }
}
