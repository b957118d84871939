using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Edge.Quantizer.Import;
using Edge.Quantizer.Import.Onnx;
using Edge.Runtime.Format;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;
using Onnx;

namespace Edge.Runtime.Tests.Import;

/// <summary>
/// ONNX's own backend node tests (Debian libonnx-testdata): every model is imported, written to a
/// `.edge` blob, loaded back and run on the test's inputs; the outputs ONNX ships are the golden values.
/// </summary>
[TestClass]
public sealed partial class OnnxConformanceTests
{
    private const double RelativeTolerance = 1e-4;
    private const double AbsoluteTolerance = 1e-5;

    public TestContext TestContext { get; set; } = null!;

    private enum Outcome { Pass, Skip, Fail }

    [TestMethod]
    [Timeout(120_000, CooperativeCancellation = true)]
    public void AllNodeTests_PassOrAreRefusedAsUnsupported()
    {
        if (!Directory.Exists(TestPaths.OnnxNodeTests))
            SkippedTests.Inconclusive(SkippedTests.OnnxTestData, $"{TestPaths.OnnxNodeTests} is missing (Debian package libonnx-testdata)");

        var temp = TestPaths.NewTempDir();
        var results = new List<(string Test, Outcome Outcome, string Reason)>();
        var clock = Stopwatch.StartNew();
        try
        {
            foreach (var dir in Directory.GetDirectories(TestPaths.OnnxNodeTests).Order(StringComparer.Ordinal))
            {
                string test = Path.GetFileName(dir);
                var (outcome, reason) = RunOne(dir, Path.Combine(temp, test + ".edge"));
                results.Add((test, outcome, reason));
            }
        }
        finally
        {
            Directory.Delete(temp, recursive: true);
        }

        int passed = results.Count(r => r.Outcome == Outcome.Pass);
        int failed = results.Count(r => r.Outcome == Outcome.Fail);
        int skipped = results.Count(r => r.Outcome == Outcome.Skip);
        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"onnx node tests: {passed} passed, {failed} failed, {skipped} skipped ({clock.Elapsed.TotalSeconds:F1} s)");
        report.AppendLine("skipped, by reason:");
        foreach (var g in results.Where(r => r.Outcome == Outcome.Skip).GroupBy(r => SkipGroup(r.Reason)).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal))
            report.AppendLine(CultureInfo.InvariantCulture, $"  {g.Count(),4}  {g.Key}: {string.Join(" ", g.Select(r => r.Test))}");
        report.AppendLine("failed:");
        foreach (var r in results.Where(r => r.Outcome == Outcome.Fail))
            report.AppendLine(CultureInfo.InvariantCulture, $"  {r.Test}: {r.Reason}");
        report.AppendLine("passed:");
        report.AppendLine("  " + string.Join(" ", results.Where(r => r.Outcome == Outcome.Pass).Select(r => r.Test)));
        Console.WriteLine(report.ToString());
        TestContext.WriteLine(report.ToString());
        var reportPath = Environment.GetEnvironmentVariable("EDGE_ONNX_REPORT");
        if (!string.IsNullOrEmpty(reportPath)) File.WriteAllText(reportPath, report.ToString());

        var recurrent = results.Where(r => r.Test.StartsWith("test_lstm_", StringComparison.Ordinal) || r.Test.StartsWith("test_gru_", StringComparison.Ordinal)
            || r.Test.StartsWith("test_rnn_", StringComparison.Ordinal) || r.Test.StartsWith("test_simple_rnn_", StringComparison.Ordinal)).ToList();
        Assert.HasCount(12, recurrent, "the ONNX test data should hold 12 test_lstm_*/test_gru_*/test_rnn_*/test_simple_rnn_* tests");
        foreach (var r in recurrent)
            Assert.AreEqual(Outcome.Pass, r.Outcome, $"{r.Test} must pass: {r.Reason}");
        Assert.IsGreaterThan(100, passed, "suspiciously few node tests passed");
        Assert.AreEqual(0, failed, $"{failed} ONNX node tests failed (see the test output)");
    }

    private static (Outcome, string) RunOne(string dir, string blobPath)
    {
        Graph graph;
        try
        {
            graph = OnnxImporter.Import(Path.Combine(dir, "model.onnx"));
        }
        catch (UnsupportedModelException e)
        {
            return (Outcome.Skip, e.Message);
        }
        catch (Exception e)
        {
            return (Outcome.Fail, $"import: {e.GetType().Name}: {e.Message}");
        }

        var data = Path.Combine(dir, "test_data_set_0");
        var inputFiles = Directory.GetFiles(data, "input_*.pb").OrderBy(IndexOf).ToArray();
        var outputFiles = Directory.GetFiles(data, "output_*.pb").OrderBy(IndexOf).ToArray();
        var inputs = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var expected = new List<(string Name, TensorProto Proto)>();
        try
        {
            if (inputFiles.Length != graph.Inputs.Count)
                return (Outcome.Fail, $"the test has {inputFiles.Length} inputs, the imported graph {graph.Inputs.Count}");
            for (int i = 0; i < inputFiles.Length; i++)
            {
                var proto = TensorProto.Parser.ParseFrom(File.ReadAllBytes(inputFiles[i]));
                if (LackedType(proto.DataType) is { } lacked) return (Outcome.Skip, $"test data type {lacked}");
                inputs[graph.Inputs[i].Name] = OnnxTensors.FromProto(proto, Path.GetFileName(inputFiles[i]));
            }
            if (outputFiles.Length != graph.Outputs.Count)
                return (Outcome.Fail, $"the test has {outputFiles.Length} outputs, the imported graph {graph.Outputs.Count}");
            for (int i = 0; i < outputFiles.Length; i++)
            {
                var proto = TensorProto.Parser.ParseFrom(File.ReadAllBytes(outputFiles[i]));
                if (LackedType(proto.DataType) is { } lacked) return (Outcome.Skip, $"test data type {lacked}");
                expected.Add((graph.Outputs[i].Name, proto));
            }
        }
        catch (UnsupportedModelException e)
        {
            return (Outcome.Skip, e.Message);
        }

        try
        {
            EdgeBlob.Write(blobPath, graph, new JsonObject { ["name"] = Path.GetFileName(dir) });
            var model = EdgeModel.Load(blobPath);
            var actual = model.CreateSession().Run(inputs);
            foreach (var (name, proto) in expected)
            {
                var want = OnnxTensors.FromProto(proto, name);
                if (Compare(name, actual[name], want) is { } mismatch) return (Outcome.Fail, mismatch);
            }
            return (Outcome.Pass, "");
        }
        catch (Exception e)
        {
            return (Outcome.Fail, $"{e.GetType().Name}: {FirstLine(e.Message)}");
        }
    }

    /// <summary>The ONNX type name when Edge has no type for it (DOUBLE is read as float32 only for weights).</summary>
    private static string? LackedType(int onnxType) =>
        OnnxTensors.ToDataType(onnxType) is null ? OnnxTensors.TypeName(onnxType) : null;

    private static string? Compare(string name, Tensor actual, Tensor expected)
    {
        if (!actual.Shape.SequenceEqual(expected.Shape))
            return $"output '{name}': shape {actual.ShapeString}, expected {expected.ShapeString}";
        bool integer = expected.DataType != DataType.Float32;
        if (integer != (actual.DataType != DataType.Float32))
            return $"output '{name}': type {actual.DataType.Name()}, expected {expected.DataType.Name()}";
        double[] a = actual.ToDoubleArray(), e = expected.ToDoubleArray();
        for (int i = 0; i < a.Length; i++)
        {
            bool ok = integer ? a[i] == e[i]
                : (double.IsNaN(e[i]) && double.IsNaN(a[i])) || a[i] == e[i]
                  || Math.Abs(a[i] - e[i]) <= AbsoluteTolerance + RelativeTolerance * Math.Abs(e[i]);
            if (!ok)
                return string.Create(CultureInfo.InvariantCulture, $"output '{name}' {actual.ShapeString}: element {i} is {a[i]:R}, expected {e[i]:R}");
        }
        return null;
    }

    private static int IndexOf(string file)
    {
        var stem = Path.GetFileNameWithoutExtension(file);
        return int.Parse(stem[(stem.IndexOf('_', StringComparison.Ordinal) + 1)..], CultureInfo.InvariantCulture);
    }

    private static string FirstLine(string s) => s.Split('\n')[0];

    /// <summary>One line per kind of skip: the op for unsupported ops, else the message with names elided.</summary>
    private static string SkipGroup(string reason)
    {
        var op = UnsupportedOp().Match(reason);
        if (op.Success) return $"unsupported op {op.Groups[1].Value}";
        var s = NodePrefix().Replace(reason, "$1: ");
        s = OnnxPath().Replace(s.Split(';')[0], "model.onnx");
        return Quoted().Replace(s, "'…'");
    }

    [GeneratedRegex(@"^unsupported ONNX op '([^']*)'")]
    private static partial Regex UnsupportedOp();

    [GeneratedRegex(@"^ONNX node '[^']*' \(([^)]*)\) in \S+: ")]
    private static partial Regex NodePrefix();

    [GeneratedRegex(@"/\S+\.onnx")]
    private static partial Regex OnnxPath();

    [GeneratedRegex(@"'[^']*'")]
    private static partial Regex Quoted();
}
