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
}
