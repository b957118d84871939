using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Edge.Quantizer.Calibration;
using Edge.Quantizer.Evaluation;
using Edge.Quantizer.Import;
using Edge.Quantizer.Report;
using Edge.Runtime;
using Edge.Runtime.Ir;
using Edge.Cli;

namespace Edge.Quantizer;

/// <summary>
/// The `edge-quantize` command line (desktop):
///   edge-quantize convert MODEL --output FILE.edge [--precision int8|fp32] [--freeze NAME=FILE.npy ...]
///   edge-quantize inspect MODEL|FILE.edge
///   edge-quantize evaluate --model MODEL --quantized FILE.edge --data FILE [--targets FILE.npy] [--json FILE] [--html FILE]
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
        var precision = new Option<string>("--precision") { Description = "weight precision: int8 (the default: per-row symmetric matrix weights; biases and the rest stay fp32), or fp32", DefaultValueFactory = _ => "int8" };
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
        var calibration = new Option<string[]>("--calibration")
        {
            Description = "calibration data: a recording (.csv with a header, or .npy (T, features)) cut into windows, or ready model inputs (.npy (N, ...)); NAME=FILE per input for a model with several inputs. Stores static activation ranges and, with int8, writes FILE.report.json/.html",
            HelpName = "FILE|NAME=FILE",
            AllowMultipleArgumentsPerToken = false,
        };
        var evalData = new Option<string[]>("--eval-data")
        {
            Description = "data for the int8 accuracy report (default: the calibration data); same forms as --calibration",
            HelpName = "FILE|NAME=FILE",
            AllowMultipleArgumentsPerToken = false,
        };
        var evalTargets = new Option<string?>("--eval-targets") { Description = "targets for ready-made --eval-data inputs: class ids (N, D) or next values (N, H, F)", HelpName = "FILE.npy" };
        var allowNonFinite = new Option<bool>("--allow-nonfinite") { Description = "keep NaN or infinite weights in an fp32 blob (with a warning) instead of refusing the model; int8 always refuses them" };
        var batchSize = BatchSizeOption();
        var convert = new Command("convert", "convert a model into an .edge blob") { model, output, precision, freeze, spec, metadataFile, name, calibration, evalData, evalTargets, batchSize, allowNonFinite, quiet };
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
                r.GetValue(metadataFile))
            {
                Calibration = r.GetValue(calibration) ?? [],
                EvalData = r.GetValue(evalData) ?? [],
                EvalTargets = r.GetValue(evalTargets),
                BatchSize = r.GetValue(batchSize),
                AllowNonFinite = r.GetValue(allowNonFinite),
            };
            if (options.EvalTargets is not null && options.EvalData.Count == 0)
                throw new EdgeException("--eval-targets needs --eval-data (the inputs the targets belong to)");
            Converter.Convert(options, r.GetValue(quiet) ? null : stdout, r.GetValue(quiet) ? null : stderr);
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
        root.Subcommands.Add(EvaluateCommand(stdout, stderr));
        return root.Parse(args).Invoke(new InvocationConfiguration { Output = stdout, Error = stderr });
    }

    private static Option<int> BatchSizeOption()
    {
        var o = new Option<int>("--batch-size") { Description = "samples per model run during calibration and evaluation (any size gives the same result)", DefaultValueFactory = _ => 64 };
        o.Validators.Add(r => { if (r.GetValueOrDefault<int>() < 1) r.AddError("--batch-size must be at least 1"); });
        return o;
    }

    /// <summary>`evaluate`: the accuracy report of an int8 blob against its fp32 model, on data.</summary>
    private static Command EvaluateCommand(TextWriter stdout, TextWriter stderr)
    {
        var model = new Option<string>("--model") { Description = "the fp32 model: the source file (.onnx; .pt/.pth/.safetensors with --spec; .h5/.keras) or an fp32 .edge blob", Required = true, HelpName = "MODEL" };
        var quantized = new Option<string>("--quantized") { Description = "the int8 .edge blob made from it", Required = true, HelpName = "FILE.edge" };
        var data = new Option<string[]>("--data")
        {
            Description = "evaluation data: a recording (.csv with a header, or .npy (T, features)) cut into windows, or ready model inputs (.npy (N, ...)); NAME=FILE per input for a model with several inputs",
            Required = true,
            HelpName = "FILE|NAME=FILE",
            AllowMultipleArgumentsPerToken = false,
        };
        var targets = new Option<string?>("--targets") { Description = "targets for ready-made inputs: class ids (N, D) or (N,), or next values (N, H, F), normalized like the inputs", HelpName = "FILE.npy" };
        var json = new Option<string?>("--json") { Description = "also write the report as JSON", HelpName = "FILE" };
        var html = new Option<string?>("--html") { Description = "also write the report as a self-contained HTML page with plots", HelpName = "FILE" };
        var spec = new Option<string?>("--spec") { Description = "the architecture of a PyTorch state_dict MODEL (see docs/spec.md)", HelpName = "FILE.json" };
        var batchSize = BatchSizeOption();
        var evaluate = new Command("evaluate", "compare an int8 blob with its fp32 model on data: weight SQNR, output errors, and the task's own measures") { model, quantized, data, targets, json, html, spec, batchSize };
        evaluate.SetAction(r => CliSupport.Guard(Tool, stderr, () =>
        {
            string modelPath = r.GetValue(model)!, int8Path = r.GetValue(quantized)!;
            foreach (var (option, path) in new[] { ("--model", modelPath), ("--quantized", int8Path) })
                if (!File.Exists(path)) throw new EdgeException($"{option}: no such file '{path}'");
            if (!Path.GetExtension(int8Path).Equals(".edge", StringComparison.OrdinalIgnoreCase))
                throw new EdgeException($"--quantized {int8Path}: expected an .edge blob");
            var int8 = EdgeModel.Load(int8Path);
            Graph fp32 = Path.GetExtension(modelPath).Equals(".edge", StringComparison.OrdinalIgnoreCase)
                ? EdgeModel.Load(modelPath).Graph
                : ModelImporter.Import(modelPath, specPath: r.GetValue(spec));
            if (fp32.QuantizedConstants.Count > 0)
                throw new EdgeException($"--model {modelPath}: holds int8 weights; give the fp32 model (its source file or an fp32 .edge)");
            var set = ModelData.Load(r.GetValue(data) ?? [], r.GetValue(targets), int8.Graph.Inputs, int8.Graph.Outputs, int8.Metadata, graph: fp32);
            foreach (var w in set.Warnings) stderr.WriteLine($"warning: {w}");
            var report = Evaluator.Evaluate(new EvaluationInput(fp32, int8.Graph, int8.Metadata, set, Path.GetFileName(modelPath), Path.GetFileName(int8Path))
            {
                BatchSize = r.GetValue(batchSize),
            }, stderr);
            report.Int8Bytes = new FileInfo(int8Path).Length;
            TextReport.Write(report, stdout);
            if (r.GetValue(json) is { } jsonPath) { ReportFiles.WriteJson(report, jsonPath); stdout.WriteLine($"wrote {jsonPath}"); }
            if (r.GetValue(html) is { } htmlPath) { ReportFiles.WriteHtml(report, htmlPath); stdout.WriteLine($"wrote {htmlPath}"); }
            return 0;
        }));
        return evaluate;
    }
}
