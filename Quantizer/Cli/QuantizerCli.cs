using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Edge.Quantizer.Import;
using Edge.Runtime;
using Edge.Runtime.Ir;
using Edge.Runtime.Tooling;

namespace Edge.Quantizer;

/// <summary>
/// The `edge-quantize` command line (desktop):
///   edge-quantize convert MODEL --output FILE.edge [--precision fp32] [--freeze NAME=FILE.npy ...]
///   edge-quantize inspect MODEL|FILE.edge
/// </summary>
public static class QuantizerCli
{
    private const string Tool = "edge-quantize";

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(args);
        var root = new RootCommand("edge-quantize: convert PyTorch/ONNX/Keras models into Edge's .edge blobs, and inspect them.");

        var model = new Argument<string>("MODEL") { Description = "the model file: .onnx, or a PyTorch state_dict (.pt, .pth, .safetensors) with --spec" };
        var output = new Option<string>("--output", "-o") { Description = "the .edge file to write", Required = true };
        var precision = new Option<string>("--precision") { Description = "weight precision: fp32, or int8 (per-row symmetric matrix weights; biases and the rest stay fp32)", DefaultValueFactory = _ => "fp32" };
        precision.AcceptOnlyFromAmong("fp32", "int8");
        var freeze = new Option<string[]>("--freeze")
        {
            Description = "turn graph input NAME into a constant read from FILE.npy (repeatable), for graphs that take weights as inputs",
            HelpName = "NAME=FILE.npy",
            AllowMultipleArgumentsPerToken = false,
        };
        var name = new Option<string?>("--name") { Description = "model name stored in the blob (default: the file name)" };
        var spec = new Option<string?>("--spec") { Description = "the architecture of a PyTorch state_dict as JSON (see docs/spec.md)", HelpName = "FILE.json" };
        var metadataFile = new Option<string?>("--metadata")
        {
            Description = "a JSON object stored in the blob's metadata for the device pipeline: features and units, normalization, sample period, window, horizon (docs/config.md)",
            HelpName = "FILE.json",
        };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "print nothing on success" };
        var convert = new Command("convert", "convert a model into an .edge blob") { model, output, precision, freeze, spec, metadataFile, name, quiet };
        convert.SetAction(r => CliSupport.Guard(Tool, stderr, () =>
        {
            var frozen = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var spec in r.GetValue(freeze) ?? [])
            {
                var (n, f) = CliSupport.ParseNamedFile(spec, "--freeze");
                if (n is null) throw new EdgeException($"--freeze '{spec}': expected NAME=FILE.npy");
                if (!frozen.TryAdd(n, f)) throw new EdgeException($"--freeze: input '{n}' is given twice");
            }
            var options = new ConvertOptions(
                r.GetValue(model)!,
                r.GetValue(output)!,
                r.GetValue(precision) == "int8" ? Precision.Int8 : Precision.Fp32,
                frozen,
                r.GetValue(name),
                r.GetValue(spec),
                r.GetValue(metadataFile));
            Converter.Convert(options, r.GetValue(quiet) ? null : stdout);
            return 0;
        }));

        var target = new Argument<string>("FILE") { Description = "a model file (.onnx; .pt/.pth/.safetensors with --spec) or an .edge blob" };
        var inspectSpec = new Option<string?>("--spec") { Description = "the architecture of a PyTorch state_dict (see docs/spec.md)", HelpName = "FILE.json" };
        var inspect = new Command("inspect", "show a model's graph, shapes, parameter count and sizes") { target, inspectSpec };
        inspect.SetAction(r => CliSupport.Guard(Tool, stderr, () =>
        {
            string path = r.GetValue(target)!;
            if (Path.GetExtension(path).Equals(".edge", StringComparison.OrdinalIgnoreCase))
            {
                var m = EdgeModel.Load(path);
                stdout.WriteLine($"{path}: .edge blob, {new FileInfo(path).Length.ToString("N0", CultureInfo.InvariantCulture)} bytes");
                stdout.WriteLine("metadata:");
                stdout.WriteLine(m.Metadata.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
                GraphPrinter.Print(m.Graph, stdout);
            }
            else
            {
                var g = ModelImporter.Import(path, specPath: r.GetValue(inspectSpec));
                stdout.WriteLine($"{path}: imported into Edge IR");
                GraphPrinter.Print(g, stdout);
            }
            return 0;
        }));

        root.Subcommands.Add(convert);
        root.Subcommands.Add(inspect);
        return root.Parse(args).Invoke(new InvocationConfiguration { Output = stdout, Error = stderr });
    }
}
