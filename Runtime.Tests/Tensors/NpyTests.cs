using Edge.Runtime.Tensors;

namespace Edge.Runtime.Tests.Tensors;

/// <summary>Files made by numpy itself (tools/make_npy_cases.py) read back, and Edge's writer byte-equal to numpy's.</summary>
[TestClass]
public sealed class NpyTests
{
    private static string Case(string name) => Path.Combine(TestPaths.Fixtures, "npy", name);

    [TestMethod]
    [DataRow("f32.npy")]
    [DataRow("f64.npy")]
    [DataRow("v2.npy")]
    public void Read_FloatFiles_ValuesAreArangeOverSeven(string file)
    {
        var t = Npy.Read(Case(file));
        Assert.AreEqual(DataType.Float32, t.DataType);
        CollectionAssert.AreEqual(new[] { 2, 3, 4 }, t.ShapeArray());
        var s = t.ReadOnlySpan<float>();
        for (int i = 0; i < 24; i++) Assert.AreEqual((float)(i / 7.0), s[i], $"element {i}");
    }

    [TestMethod]
    [DataRow("i64.npy", DataType.Int64)]
    [DataRow("i32.npy", DataType.Int32)]
    [DataRow("i8.npy", DataType.Int8)]
    public void Read_IntegerFiles_KeepTheirType(string file, DataType type)
    {
        var t = Npy.Read(Case(file));
        Assert.AreEqual(type, t.DataType);
        CollectionAssert.AreEqual(new[] { 2, 3, 4 }, t.ShapeArray());
        var values = t.ToInt64Array();
        for (int i = 0; i < 24; i++) Assert.AreEqual(i - 12L, values[i], $"element {i}");
    }

    [TestMethod]
    public void Read_ScalarEmptyAndVector()
    {
        var scalar = Npy.Read(Case("scalar.npy"));
        Assert.AreEqual(0, scalar.Rank);
        Assert.AreEqual(2.5f, scalar.ReadOnlySpan<float>()[0]);
        var empty = Npy.Read(Case("empty.npy"));
        CollectionAssert.AreEqual(new[] { 0, 3 }, empty.ShapeArray());
        var vector = Npy.Read(Case("vector.npy"));
        CollectionAssert.AreEqual(new[] { 3 }, vector.ShapeArray());
        CollectionAssert.AreEqual(new[] { 1.5f, -2.0f, 3.25f }, vector.ReadOnlySpan<float>().ToArray());
    }

    [TestMethod]
    [DataRow("fortran.npy", "Fortran")]
    [DataRow("bool.npy", "'|b1'")]
    [DataRow("f16.npy", "'<f2'")]
    [DataRow("bigendian.npy", "'>f4'")]
    [DataRow("truncated.npy", "truncated")]
    public void Read_Unsupported_RefusedNamingFileAndProblem(string file, string problem)
    {
        var e = Assert.ThrowsExactly<EdgeException>(() => Npy.Read(Case(file)));
        StringAssert.Contains(e.Message, file);
        StringAssert.Contains(e.Message, problem);
    }

    [TestMethod]
    public void Read_NotNpyAndMissing_Refused()
    {
        var dir = TestPaths.NewTempDir();
        var bogus = Path.Combine(dir, "bogus.npy");
        File.WriteAllText(bogus, "hello, world");
        StringAssert.Contains(Assert.ThrowsExactly<EdgeException>(() => Npy.Read(bogus)).Message, "not a .npy file");
        StringAssert.Contains(Assert.ThrowsExactly<EdgeException>(() => Npy.Read(Path.Combine(dir, "missing.npy"))).Message, "missing.npy");
        // every truncation of a valid file is refused with an EdgeException, never another exception
        var good = File.ReadAllBytes(Case("i32.npy"));
        for (int cut = 0; cut < good.Length; cut++)
            Assert.ThrowsExactly<EdgeException>(() => Npy.Read(good.AsSpan(0, cut), "cut.npy"), $"cut at {cut}");
    }

    [TestMethod]
    [DataRow("f32.npy")]
    [DataRow("i64.npy")]
    [DataRow("i32.npy")]
    [DataRow("i8.npy")]
    [DataRow("vector.npy")]
    [DataRow("scalar.npy")]
    public void Write_IsByteIdenticalToNumpy(string file)
    {
        var expected = File.ReadAllBytes(Case(file));
        using var ms = new MemoryStream();
        Npy.Write(ms, Npy.Read(Case(file)));
        CollectionAssert.AreEqual(expected, ms.ToArray());
    }
}
