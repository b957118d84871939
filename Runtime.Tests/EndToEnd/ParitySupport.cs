using System.Globalization;
using System.Text;
using System.Text.Json;
using Edge.Runtime.Tensors;
using Microsoft.ML.OnnxRuntime;
using OrtTensors = Microsoft.ML.OnnxRuntime.Tensors;

namespace Edge.Runtime.Tests.EndToEnd;

/// <summary>
/// One folder of Runtime.Tests/Fixtures/models (made by tools/make_fixtures.py): its case.json,
/// the ONNX exports it holds, and its PyTorch inputs and outputs as .npy.
/// </summary>
internal sealed class FixtureCase
{
    public static string Root => Path.Combine(TestPaths.Fixtures, "models");

    private FixtureCase(string name, string folder, IReadOnlyList<string> modelFiles, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs)
    {
        Name = name;
        Folder = folder;
        ModelFiles = modelFiles;
        InputNames = inputs;
        OutputNames = outputs;
    }

    public string Name { get; }
    public string Folder { get; }
    public IReadOnlyList<string> ModelFiles { get; }
    public IReadOnlyList<string> InputNames { get; }
    public IReadOnlyList<string> OutputNames { get; }

    public static FixtureCase Load(string name)
    {
        string folder = Path.Combine(Root, name);
        string json = Path.Combine(folder, "case.json");
        if (!File.Exists(json))
            Assert.Fail($"{json} is missing: regenerate the fixtures with `/usr/bin/python3 tools/make_fixtures.py`");
        using var doc = JsonDocument.Parse(File.ReadAllBytes(json));
        var root = doc.RootElement;
        static List<string> Names(JsonElement root, string array, string field) =>
            root.TryGetProperty(array, out var a) ? a.EnumerateArray().Select(e => e.GetProperty(field).GetString()!).ToList() : [];
        return new FixtureCase(name, folder, Names(root, "models", "file"), Names(root, "inputs", "name"), Names(root, "outputs", "name"));
    }

    /// <summary>Every (fixture, model file) pair that case.json files declare.</summary>
    public static IEnumerable<(string Fixture, string ModelFile)> AllOnnxModels() =>
        Directory.EnumerateDirectories(Root).Select(Path.GetFileName).Order(StringComparer.Ordinal)
            .Select(n => Load(n!)).SelectMany(c => c.ModelFiles.Select(f => (c.Name, f)));

    public string PathOf(string file) => Path.Combine(Folder, file);

    public string NpyPath(string valueName) => PathOf(valueName + ".npy");

    public Tensor Read(string valueName) => Npy.Read(NpyPath(valueName));

    public Dictionary<string, Tensor> Inputs() => InputNames.ToDictionary(n => n, Read, StringComparer.Ordinal);
}

/// <summary>The two CLIs, called in-process the way their Program.cs calls them.</summary>
internal static class EdgeCli
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public override string ToString() => $"exit code {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
    }

    public static Result Quantize(params string[] args)
    {
        using var stdout = new StringWriter(CultureInfo.InvariantCulture);
        using var stderr = new StringWriter(CultureInfo.InvariantCulture);
        int code = Edge.Quantizer.QuantizerCli.Run(args, stdout, stderr);
        return new Result(code, stdout.ToString(), stderr.ToString());
    }

    public static Result Device(params string[] args)
    {
        using var stdout = new StringWriter(CultureInfo.InvariantCulture);
        using var stderr = new StringWriter(CultureInfo.InvariantCulture);
        int code = Edge.Device.DeviceCli.Run(args, stdout, stderr);
        return new Result(code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>`edge-quantize convert MODEL --output DIR/NAME.edge --precision fp32`; fails the test unless it succeeds.</summary>
    public static string Convert(string onnxPath, string dir)
    {
        string edge = Path.Combine(dir, Path.GetFileNameWithoutExtension(onnxPath) + ".edge");
        var r = Quantize("convert", onnxPath, "--output", edge, "--precision", "fp32");
        Assert.AreEqual(0, r.ExitCode, $"edge-quantize convert {onnxPath} failed: {r}");
        Assert.IsTrue(File.Exists(edge), $"edge-quantize convert reported success but wrote no {edge}: {r}");
        return edge;
    }

    /// <summary>`edge predict --model M --input NAME=FILE ... --output-dir DIR`; returns DIR/&lt;output&gt;.npy read back.</summary>
    public static Dictionary<string, Tensor> Predict(string edgePath, IReadOnlyDictionary<string, string> inputFiles,
        IReadOnlyList<string> outputNames, string outDir)
    {
        var args = new List<string> { "predict", "--model", edgePath };
        foreach (var (name, file) in inputFiles) args.AddRange(["--input", $"{name}={file}"]);
        args.AddRange(["--output-dir", outDir]);
        var r = Device([.. args]);
        Assert.AreEqual(0, r.ExitCode, $"edge {string.Join(' ', args)} failed: {r}");
        var outputs = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var name in outputNames)
        {
            string file = Path.Combine(outDir, Edge.Device.DeviceCli.OutputFileName(name));
            Assert.IsTrue(File.Exists(file), $"edge predict wrote no {file}: {r}");
            outputs[name] = Npy.Read(file);
        }
        return outputs;
    }
}

/// <summary>The peer: Microsoft's ONNX Runtime on the same model.onnx.</summary>
internal static class OnnxRuntimePeer
{
    public static Dictionary<string, Tensor> Run(string onnxPath, IReadOnlyDictionary<string, Tensor> inputs)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
        using var session = new InferenceSession(onnxPath, options);
        var feeds = new List<NamedOnnxValue>();
        foreach (var (name, t) in inputs)
        {
            var c = t.Contiguous();
            int[] dims = c.ShapeArray();
            feeds.Add(c.DataType switch
            {
                DataType.Float32 => NamedOnnxValue.CreateFromTensor(name, new OrtTensors.DenseTensor<float>(c.ReadOnlySpan<float>().ToArray(), dims)),
                DataType.Int64 => NamedOnnxValue.CreateFromTensor(name, new OrtTensors.DenseTensor<long>(c.ReadOnlySpan<long>().ToArray(), dims)),
                _ => throw new AssertFailedException($"input '{name}': {c.DataType.Name()} is not fed to ONNX Runtime by these tests"),
            });
        }
        using var results = session.Run(feeds);
        var outputs = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var r in results)
        {
            outputs[r.Name] = r.Value switch
            {
                OrtTensors.Tensor<float> f => Tensor.FromArray(f.ToArray(), f.Dimensions.ToArray()),
                OrtTensors.Tensor<long> l => Tensor.FromArray(l.ToArray(), l.Dimensions.ToArray()),
                _ => throw new AssertFailedException($"ONNX Runtime output '{r.Name}' has an element type these tests do not read"),
            };
        }
        return outputs;
    }
}

/// <summary>The end-to-end tests' tolerance, |a - e| &lt;= atol + rtol·|e|, and their row slicing.</summary>
internal static class Parity
{
    public const double Atol = 1e-4;
    public const double Rtol = 1e-4;
    public static readonly Tolerance Tolerance = new(Atol, Rtol);

    /// <summary>Rows [start, start + count) of axis 0, as a new contiguous tensor.</summary>
    public static Tensor Rows(Tensor t, int start, int count)
    {
        var c = t.Contiguous();
        int[] shape = c.ShapeArray();
        int row = c.Length / shape[0];
        shape[0] = count;
        return c.DataType switch
        {
            DataType.Float32 => Tensor.FromArray(c.ReadOnlySpan<float>().Slice(start * row, count * row).ToArray(), shape),
            DataType.Int64 => Tensor.FromArray(c.ReadOnlySpan<long>().Slice(start * row, count * row).ToArray(), shape),
            _ => throw new AssertFailedException($"Rows: {c.DataType.Name()} is not used by these tests"),
        };
    }
}
