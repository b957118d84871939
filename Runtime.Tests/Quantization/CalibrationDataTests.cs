using System.Text;
using System.Text.Json.Nodes;
using Edge.Quantizer.Calibration;
using Edge.Quantizer.Evaluation;
using Edge.Quantizer.Import;
using Edge.Runtime.Contract;
using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;
using static Edge.Runtime.Tests.Quantization.QuantizationTestData;

namespace Edge.Runtime.Tests.Quantization;

/// <summary>Calibration and evaluation data: CSV recordings, normalization, windows, batches of any size.</summary>
[TestClass]
public sealed class CalibrationDataTests
{
    [TestMethod]
    public void Cut_WindowsAreConsecutiveRowsAndTargetsTheNextOnes()
    {
        // 6 rows x 2 features: row r = (r, 10 r)
        float[] rec = [0, 0, 1, 10, 2, 20, 3, 30, 4, 40, 5, 50];
        var (w, t) = Windowing.Cut(rec, 6, 2, window: 3, horizon: 2);
        CollectionAssert.AreEqual(new[] { 2, 3, 2 }, w.ShapeArray()); // 6 - 3 - 2 + 1 windows
        CollectionAssert.AreEqual(new[] { 2, 2, 2 }, t.ShapeArray());
        CollectionAssert.AreEqual(new float[] { 0, 0, 1, 10, 2, 20, 1, 10, 2, 20, 3, 30 }, w.ReadOnlySpan<float>().ToArray());
        CollectionAssert.AreEqual(new float[] { 3, 30, 4, 40, 4, 40, 5, 50 }, t.ReadOnlySpan<float>().ToArray());
        var e = Assert.ThrowsExactly<EdgeException>(() => Windowing.Cut(rec, 6, 2, window: 6, horizon: 1));
        StringAssert.Contains(e.Message, "at least 7");
    }

    [TestMethod]
    [DataRow(1)]
    [DataRow(3)]
    [DataRow(7)]
    [DataRow(64)]
    public void Batches_CoverEverySampleOnceInOrder_WithAShortLastBatch(int batchSize)
    {
        var batches = Windowing.Batches(50, batchSize).ToList();
        Assert.AreEqual((50 + batchSize - 1) / batchSize, batches.Count);
        Assert.IsTrue(batches.Take(batches.Count - 1).All(b => b.Count == batchSize));
        Assert.AreEqual(50 - (batches.Count - 1) * batchSize, batches[^1].Count);
        CollectionAssert.AreEqual(Enumerable.Range(0, 50).ToArray(), batches.SelectMany(b => Enumerable.Range(b.Start, b.Count)).ToArray());

        string dir = TestPaths.NewTempDir();
        var data = ForecasterData(dir, 60);
        var x = data.Inputs["x"];
        var parts = Windowing.Batches(data.Count, batchSize).Select(b => data.Batch(b.Start, b.Count)["x"]).ToList();
        Assert.IsTrue(parts.All(p => p.Dim(1) == 10 && p.Dim(2) == 6), "every batch keeps the window and feature axes");
        CollectionAssert.AreEqual(x.ReadOnlySpan<float>().ToArray(), Windowing.ConcatRows(parts).ReadOnlySpan<float>().ToArray());
    }

    [TestMethod]
    public void BatchSize_DoesNotChangeCalibrationOrOutputs()
    {
        string dir = TestPaths.NewTempDir();
        var data = ForecasterData(dir, 60);
        var graph = ModelImporter.Import(Fixture("forecaster", "model.onnx"));
        var session = new Session(graph);
        IReadOnlyList<ActivationRange>? first = null;
        float[]? firstOut = null;
        foreach (int bs in new[] { 1, 3, 7, 64 })
        {
            var ranges = Calibrator.Measure(graph, data, bs);
            var (a, _) = Evaluator.RunBoth(session, session, data, ["forecast"], bs);
            var outValues = a["forecast"].ReadOnlySpan<float>().ToArray();
            CollectionAssert.AreEqual(new[] { 50, 1, 6 }, a["forecast"].ShapeArray(), $"batch size {bs}");
            if (first is null) { first = ranges; firstOut = outValues; continue; }
            Assert.AreEqual(first.Count, ranges.Count);
            for (int i = 0; i < ranges.Count; i++)
                Assert.AreEqual(first[i].AbsMax, ranges[i].AbsMax, 1e-6f * first[i].AbsMax, $"batch size {bs}, {ranges[i].Node}");
            for (int i = 0; i < outValues.Length; i++)
                Assert.AreEqual(firstOut![i], outValues[i], 1e-5f, $"batch size {bs}, forecast element {i}");
        }
    }

    [TestMethod]
    public void Csv_SkipsTheTimestamp_NormalizesAndCutsWindows()
    {
        string dir = TestPaths.NewTempDir();
        var data = ForecasterData(dir, 60);
        Assert.AreEqual(60, data.Samples);
        Assert.AreEqual(50, data.Count); // 60 - 10 + 1 - 1 windows with a next sample
        Assert.AreEqual("recording", data.TargetsFile);
        // min-max per feature: the test's own arithmetic on the generating function
        double min = Enumerable.Range(0, 60).Min(r => (double)(float)Value(r, 2)), max = Enumerable.Range(0, 60).Max(r => (double)(float)Value(r, 2));
        var x = data.Inputs["x"];
        Assert.AreEqual((float)Value(13, 2), (float)(x.Get<float>(4, 9, 2) * (max - min) + min), 1e-4f, "window 4 ends at row 13");
        Assert.AreEqual((float)(((float)Value(14, 2) - min) / (max - min)), data.Targets!.Get<float>(4, 0, 2), 1e-6f, "its target is row 14");
    }

    [TestMethod]
    public void Csv_StandardNormalization_AndFeatureOrderFromMetadata()
    {
        const string csv = "time,b,label,a\n2024-01-01,1,x,10\n2024-01-02,3,y,20\n";
        var rec = CsvRecording.Read(new MemoryStream(Encoding.UTF8.GetBytes(csv)), "r.csv", ["a", "b"]);
        CollectionAssert.AreEqual(new[] { "a", "b" }, rec.Columns);
        CollectionAssert.AreEqual(new float[] { 10, 1, 20, 3 }, rec.Values);
        Assert.AreEqual("time", rec.TimestampColumn);
        var all = CsvRecording.Read(new MemoryStream(Encoding.UTF8.GetBytes(csv)), "r.csv", null);
        CollectionAssert.AreEqual(new[] { "b", "a" }, all.Columns, "without metadata: every numeric column; the label column is left out");

        var norm = ModelContract.Parse(JsonNode.Parse("""{"normalization": {"kind": "standard", "mean": [15, 2], "std": [5, 0.5]}}""")!.AsObject()).Normalization!;
        var v = rec.Values.ToArray();
        norm.NormalizeRows(v);
        CollectionAssert.AreEqual(new float[] { -1, -2, 1, 2 }, v);
        Assert.AreEqual(20f, norm.Denormalize(0, 1));
    }

    [TestMethod]
    [DataRow("timestamp,a,b\n2024-01-01,1,2\n2024-01-02,3,oops\n", "line 3, column 3 ('b'): 'oops' is not a finite number")]
    [DataRow("timestamp,a,b\n2024-01-01,1,2\n2024-01-02,,4\n", "line 3, column 2 ('a'): empty cell")]
    [DataRow("timestamp,a,b\n2024-01-01,1,2\n\n2024-01-03,1,2,3\n", "line 4: 4 cells, but the header has 3 columns")]
    [DataRow("timestamp,a,b\n2024-01-01,1,2\n2024-01-02,nan,4\n", "line 3, column 2 ('a'): 'nan' is not a finite number")]
    [DataRow("timestamp,a,a\n1,2,3\n", "line 1: column name 'a' appears twice")]
    [DataRow("", "empty file")]
    public void Csv_BadInput_NamesLineAndColumn(string csv, string message)
    {
        var e = Assert.ThrowsExactly<EdgeException>(() => CsvRecording.Read(new MemoryStream(Encoding.UTF8.GetBytes(csv)), "rec.csv", ["a", "b"]));
        StringAssert.StartsWith(e.Message, "rec.csv");
        StringAssert.Contains(e.Message, message);
    }

    [TestMethod]
    public void Csv_MissingFeatureColumn_IsNamed()
    {
        var e = Assert.ThrowsExactly<EdgeException>(() => CsvRecording.Read(new MemoryStream("t,a\n1,2\n"u8.ToArray()), "rec.csv", ["a", "humidity"]));
        StringAssert.Contains(e.Message, "no column 'humidity'");
    }

    [TestMethod]
    public void Npy_ReadyInputsAndRecordingsAreToldApartByRank()
    {
        string dir = TestPaths.NewTempDir();
        var graph = ModelImporter.Import(Fixture("forecaster", "model.onnx"));
        var meta = new JsonObject();
        var ready = ModelData.Load([Fixture("forecaster", "x.npy")], null, graph.Inputs, graph.Outputs, meta);
        Assert.AreEqual(4, ready.Count);
        Assert.IsNull(ready.Targets, "ready windows have no targets unless --targets gives them");

        var rec = new float[30 * 6];
        for (int i = 0; i < rec.Length; i++) rec[i] = i;
        string path = Path.Combine(dir, "rec.npy");
        Npy.Write(path, Tensor.FromArray(rec, 30, 6));
        var cut = ModelData.Load([path], null, graph.Inputs, graph.Outputs, meta);
        Assert.AreEqual(20, cut.Count); // window 10 from the input's static time axis, horizon 1 from the output's
        Assert.AreEqual(6 * 10f, cut.Targets!.Get<float>(0, 0, 0), "no normalization in the metadata: values as recorded");

        Npy.Write(path, Tensor.FromArray(new float[5 * 6], 5, 6));
        var e = Assert.ThrowsExactly<EdgeException>(() => ModelData.Load([path], null, graph.Inputs, graph.Outputs, meta));
        StringAssert.Contains(e.Message, "at least 11");
        Npy.Write(path, Tensor.FromArray(new float[6], 6));
        e = Assert.ThrowsExactly<EdgeException>(() => ModelData.Load([path], null, graph.Inputs, graph.Outputs, meta));
        StringAssert.Contains(e.Message, "does not fit input 'x'");
    }

    internal static ModelData ForecasterData(string dir, int rows)
    {
        string csv = WriteRecordingCsv(dir, rows);
        var meta = JsonNode.Parse(File.ReadAllText(WriteForecasterMetadata(dir, rows)))!.AsObject();
        var graph = ModelImporter.Import(Fixture("forecaster", "model.onnx"));
        return ModelData.Load([csv], null, graph.Inputs, graph.Outputs, meta);
    }
}
