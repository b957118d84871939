using System.Diagnostics;
using System.IO.Compression;
using Edge.Quantizer.Import.Keras;

namespace Edge.Runtime.Tests.Hostile;

/// <summary>
/// HDF5 layouts Keras never writes, made by tools/make_hdf5_hostile.py from keras/gru_reset_before/model.h5
/// (issue 15): a deflate chunk that inflates far past its declared size, a deflated chunk whose declared size is
/// 1 GiB, a dense-storage group whose fractal heap declares 2^40 bytes, a v2 object header whose
/// continuation chain loops. Each must end in one clean <see cref="EdgeException"/> naming the file within a
/// memory cap (and a time cap that only a hang breaks). The same layouts written honestly (deflated and
/// shuffled chunks, one-element chunks, groups nested 2,000 deep, v2 headers with 300 attributes) load to
/// the seed's weights, also within the caps.
/// </summary>
[TestClass]
public sealed class Hdf5LayoutHostileTests
{
    private const long MemoryCapBytes = 64L << 20;
    private static readonly TimeSpan TimeCap = TimeSpan.FromSeconds(60);

    private static byte[] Reproducer(string name)
    {
        using var gz = new GZipStream(File.OpenRead(Path.Combine(TestPaths.Fixtures, "keras", "hostile", name + ".h5.gz")), CompressionMode.Decompress);
        var ms = new MemoryStream();
        gz.CopyTo(ms);
        return ms.ToArray();
    }

    private static T Capped<T>(string name, Func<T> run)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var sw = Stopwatch.StartNew();
        var result = run();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.IsLessThan(MemoryCapBytes, allocated, $"{name}: allocated {allocated} bytes");
        Assert.IsLessThan(TimeCap, sw.Elapsed, $"{name}: took {sw.Elapsed}");
        return result;
    }

    [TestMethod]
    [DataRow("deflate_bomb", "cannot read dataset 'model_weights/head/head/bias:0'", "inflates to more than its declared 8 bytes")]
    [DataRow("huge_chunk", "corrupt HDF5 file", "declares chunks larger than the file")]
    [DataRow("dense_fractal", "cannot read group", "corrupt file")]
    [DataRow("v2_loop", "cannot read group", "corrupt file")]
    public void HostileLayoutIsRefusedInOneLine(string name, string where, string why)
    {
        var bytes = Reproducer(name);
        var e = Capped(name, () => Assert.Throws<EdgeException>(() => KerasImporter.Import(bytes, name + ".h5")));
        StringAssert.StartsWith(e.Message, name + ".h5: ");
        StringAssert.Contains(e.Message, where);
        StringAssert.Contains(e.Message, why);
        Assert.DoesNotContain("\n", e.Message);
        Assert.IsTrue(e.Message.All(c => c is >= ' ' and < (char)0x7f), e.Message);
    }

    [TestMethod]
    [DataRow("deflate_valid")]
    [DataRow("tiny_chunks")]
    [DataRow("deep_groups")]
    [DataRow("v2_continuations")]
    public void HonestLayoutLoadsTheSeedsWeights(string name)
    {
        var seed = KerasImporter.Import(File.ReadAllBytes(Path.Combine(TestPaths.Fixtures, "keras", "gru_reset_before", "model.h5")), "model.h5");
        var bytes = Reproducer(name);
        var graph = Capped(name, () => KerasImporter.Import(bytes, name + ".h5"));
        CollectionAssert.AreEquivalent(seed.Constants.Keys.ToList(), graph.Constants.Keys.ToList());
        foreach (var (key, t) in seed.Constants)
            {
            CollectionAssert.AreEqual(t.Shape.ToArray(), graph.Constants[key].Shape.ToArray(), $"{name}: {key}");
            CollectionAssert.AreEqual(t.Contiguous().Bytes().ToArray(), graph.Constants[key].Contiguous().Bytes().ToArray(), $"{name}: {key}");
        }
    }
}
