using Edge.Quantizer.Import.Onnx;
using Edge.Runtime.Tensors;
using Edge.Runtime.Tests.EndToEnd;
using Google.Protobuf;
using Onnx;

namespace Edge.Runtime.Tests.Import;

/// <summary>
/// ONNX external data (issue 17): Fixtures/onnx_external/lstm_multilayer is the lstm_multilayer fixture saved
/// by onnx with every tensor in model.onnx.data (tools/make_onnx_external.py). It must convert to the same
/// blob as the inline model; a location outside the model's folder (absolute, "..", a symlink leaving it) or
/// a range past the end of the data file is refused in one line naming the model and tensor.
/// </summary>
[TestClass]
public sealed class OnnxExternalDataTests
{
    private static string ExternalFolder => Path.Combine(TestPaths.Fixtures, "onnx_external", "lstm_multilayer");

    /// <summary>A copy of the external fixture in a fresh folder, its first external tensor's entries edited.</summary>
    private static string Variant(Action<TensorProto> edit, string? subfolder = null)
    {
        string dir = TestPaths.NewTempDir();
        string folder = subfolder is null ? dir : Directory.CreateDirectory(Path.Combine(dir, subfolder)).FullName;
        File.Copy(Path.Combine(ExternalFolder, "model.onnx.data"), Path.Combine(folder, "model.onnx.data"));
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(ExternalFolder, "model.onnx")));
        edit(model.Graph.Initializer.First(t => t.DataLocation == TensorProto.Types.DataLocation.External));
        string path = Path.Combine(folder, "model.onnx");
        File.WriteAllBytes(path, model.ToByteArray());
        return path;
    }

    private static void Set(TensorProto t, string key, string value)
    {
        var e = t.ExternalData.FirstOrDefault(x => x.Key == key);
        if (e is null) t.ExternalData.Add(new StringStringEntryProto { Key = key, Value = value });
        else e.Value = value;
    }

    private static string Refused(string path)
    {
        var e = Assert.Throws<EdgeException>(() => OnnxImporter.Import(path));
        StringAssert.StartsWith(e.Message, "model.onnx: tensor 'onnx::LSTM_175'");
        Assert.DoesNotContain("\n", e.Message);
        return e.Message;
    }

    [TestMethod]
    public void TheFixtureKeepsItsWeightsOutside()
    {
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(ExternalFolder, "model.onnx")));
        Assert.AreEqual(6, model.Graph.Initializer.Count(t => t.DataLocation == TensorProto.Types.DataLocation.External));
        Assert.IsTrue(model.Graph.Initializer.All(t => t.RawData.IsEmpty));
    }

    [TestMethod]
    public void ExternalModel_ConvertsToABlobWithTheSameOutputsAsTheInlineModel()
    {
        // the blobs differ only where they record the source file; their outputs must be bit-identical
        string models = Path.Combine(TestPaths.Fixtures, "models", "lstm_multilayer");
        var inputs = new[] { "x", "h0", "c0" }.ToDictionary(n => n, n => Npy.Read(Path.Combine(models, n + ".npy")));
        string dir = TestPaths.NewTempDir();
        foreach (var precision in new[] { "fp32", "int8" })
        {
            string inline = Path.Combine(dir, $"inline-{precision}.edge"), external = Path.Combine(dir, $"external-{precision}.edge");
            var a = EdgeCli.Quantize("convert", Path.Combine(TestPaths.Fixtures, "models", "lstm_multilayer", "model.onnx"), "--output", inline, "--precision", precision, "--quiet");
            var b = EdgeCli.Quantize("convert", Path.Combine(ExternalFolder, "model.onnx"), "--output", external, "--precision", precision, "--quiet");
            Assert.AreEqual(0, a.ExitCode, a.ToString());
            Assert.AreEqual(0, b.ExitCode, b.ToString());
            var want = EdgeModel.Load(inline).CreateSession().Run(inputs);
            var got = EdgeModel.Load(external).CreateSession().Run(inputs);
            CollectionAssert.AreEquivalent(want.Keys.ToList(), got.Keys.ToList());
            foreach (var (name, t) in want)
                CollectionAssert.AreEqual(t.Bytes().ToArray(), got[name].Bytes().ToArray(), $"{precision} {name}");
            Assert.AreEqual(File.ReadAllBytes(inline).Length, File.ReadAllBytes(external).Length, precision);
        }
    }

    [TestMethod]
    public void RangePastTheEndOfTheDataFile_IsRefused()
    {
        StringAssert.Contains(Refused(Variant(t => Set(t, "offset", "4000"))), "offset 4000 + length 640 runs past the end of 'model.onnx.data' (4224 bytes)");
        StringAssert.Contains(Refused(Variant(t => Set(t, "length", "9223372036854775807"))), "runs past the end");
        StringAssert.Contains(Refused(Variant(t => Set(t, "offset", "-1"))), "'offset' is '-1', not a non-negative integer");
        StringAssert.Contains(Refused(Variant(t => Set(t, "length", "644"))), "holds 644 bytes, but its shape and type need 640");
    }

    [TestMethod]
    public void LocationOutsideTheModelsFolder_IsRefused()
    {
        StringAssert.Contains(Refused(Variant(t => Set(t, "location", "/etc/passwd"))), "'/etc/passwd' is not a path relative to the model's folder");
        // the data file exists one level up, but ".." is never followed
        StringAssert.Contains(Refused(Variant(t => Set(t, "location", "../model.onnx.data"), subfolder: "inner")), "leaves the model's folder");
        StringAssert.Contains(Refused(Variant(t => Set(t, "location", "sub/../../model.onnx.data"), subfolder: "inner")), "leaves the model's folder");
        StringAssert.Contains(Refused(Variant(t => Set(t, "location", "missing.data"))), "'missing.data' is not in the model's folder");
    }

    [TestMethod]
    public void SymlinkLeavingTheFolder_IsRefused_OneInsideIsFollowed()
    {
        string path = Variant(t => Set(t, "location", "link.data"), subfolder: "inner");
        string folder = Path.GetDirectoryName(path)!;
        File.Move(Path.Combine(folder, "model.onnx.data"), Path.Combine(folder, "..", "outside.data"));
        File.CreateSymbolicLink(Path.Combine(folder, "link.data"), Path.Combine(folder, "..", "outside.data"));
        StringAssert.Contains(Refused(path), "'link.data' is a symlink that leaves the model's folder");

        // a symlinked folder pointing outside is refused the same way
        string viaDir = Variant(t => Set(t, "location", "d/model.onnx.data"), subfolder: "inner");
        string dirFolder = Path.GetDirectoryName(viaDir)!;
        Directory.CreateSymbolicLink(Path.Combine(dirFolder, "d"), Path.Combine(dirFolder, ".."));
        File.Copy(Path.Combine(ExternalFolder, "model.onnx.data"), Path.Combine(dirFolder, "..", "model.onnx.data"), overwrite: true);
        StringAssert.Contains(Refused(viaDir), "is a symlink that leaves the model's folder");

        // inside the folder, a symlink is just another name for the file
        string inside = Variant(t => Set(t, "location", "alias.data"));
        File.CreateSymbolicLink(Path.Combine(Path.GetDirectoryName(inside)!, "alias.data"), Path.Combine(Path.GetDirectoryName(inside)!, "model.onnx.data"));
        Assert.IsNotEmpty(OnnxImporter.Import(inside).Nodes);
    }

    [TestMethod]
    public void CliRefusal_IsOneLineExit1()
    {
        var r = EdgeCli.Quantize("convert", Variant(t => Set(t, "location", "../x.data"), subfolder: "inner"), "--output", Path.Combine(TestPaths.NewTempDir(), "m.edge"));
        Assert.AreEqual(1, r.ExitCode, r.ToString());
        Assert.AreEqual(1, r.Stderr.TrimEnd().Split('\n').Length, r.ToString());
        StringAssert.Contains(r.Stderr, "model.onnx: tensor 'onnx::LSTM_175': external data location '../x.data' leaves the model's folder");
    }
}
