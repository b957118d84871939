using System.CommandLine;
using Edge.Runtime;
using Edge.Runtime.Tensors;
using Edge.Cli;

namespace Edge.Device;

/// <summary>
/// The on-device `edge` command line:
///   edge predict --model FILE.edge --input NAME=FILE.npy [...] --output-dir DIR
///   edge selftest
/// </summary>
public static class DeviceCli
{
    private const string Tool = "edge";

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(args);
        var root = new RootCommand("edge: run .edge models on the device.");

        var model = new Option<string>("--model", "-m") { Description = "the .edge model", Required = true };
        var inputs = new Option<string[]>("--input", "-i")
        {
            Description = "a graph input as NAME=FILE.npy (repeatable); FILE.npy alone when the model has one input",
            HelpName = "NAME=FILE.npy",
            Required = true,
        };
        var outDir = new Option<string>("--output-dir", "-o") { Description = "directory for <output name>.npy files", Required = true };
        var predict = new Command("predict", "run a model once on .npy inputs and write every graph output as .npy") { model, inputs, outDir };
        predict.SetAction(r => CliSupport.Guard(Tool, stderr, () =>
        {
            var m = LoadModel(r.GetValue(model)!, "--model");
            var feeds = ReadInputs(r.GetValue(inputs) ?? [], m);
            var results = m.CreateSession().Run(feeds);
            string dir = r.GetValue(outDir)!;
            Directory.CreateDirectory(dir);
            foreach (var o in m.Graph.Outputs)
            {
                var path = Path.Combine(dir, OutputFileName(o.Name));
                Npy.Write(path, results[o.Name]);
                stdout.WriteLine($"{o.Name}: {results[o.Name].DataType.Name()}{results[o.Name].ShapeString} -> {path}");
            }
            return 0;
        }));

        root.Subcommands.Add(predict);

        var selftest = new Command("selftest", "check every kernel path this CPU supports against the scalar reference and run a small model on each; exit 1 on any failure");
        selftest.SetAction(_ => CliSupport.Guard(Tool, stderr, () => SelfTest.KernelSelfTest.Run(stdout)));
        root.Subcommands.Add(selftest);
        root.Subcommands.Add(Hosting.RunCommand.Create(stdout, stderr));
        root.Subcommands.Add(Hosting.ModelCheckCommand.Create(stdout, stderr));
        root.Subcommands.Add(Bench.BenchCommand.Create(stdout, stderr));
        return root.Parse(args).Invoke(new InvocationConfiguration { Output = stdout, Error = stderr });
    }

    /// <summary>Output names come from the source model and may hold characters a file name cannot ('/', ':' on some systems).</summary>
    public static string OutputFileName(string outputName)
    {
        ArgumentNullException.ThrowIfNull(outputName);
        var chars = outputName.ToCharArray();
        for (int i = 0; i < chars.Length; i++)
            if (chars[i] is '/' or '\\' or '\0') chars[i] = '_';
        var s = new string(chars);
        return (s is "." or ".." ? "_" + s : s) + ".npy";
    }

    /// <summary>Loads a model named by <paramref name="option"/>; a missing or unreadable file is named with the option.</summary>
    public static EdgeModel LoadModel(string path, string option)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Hosting.RunCheck.FileProblem(path, option, "model") is { } problem) throw new EdgeException(problem);
        return EdgeModel.Load(path);
    }

    private static Dictionary<string, Tensor> ReadInputs(string[] specs, EdgeModel model)
    {
        var feeds = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var spec in specs)
        {
            var (name, file) = CliSupport.ParseNamedFile(spec, "--input");
            if (name is null)
            {
                if (model.Graph.Inputs.Count != 1)
                    throw new EdgeException($"--input {spec}: the model has {model.Graph.Inputs.Count} inputs ({string.Join(", ", model.Graph.Inputs.Select(i => i.Name))}); use NAME=FILE.npy");
                name = model.Graph.Inputs[0].Name;
            }
            if (!model.Graph.Inputs.Any(i => i.Name == name))
                throw new EdgeException($"--input {spec}: the model has no input '{name}'; its inputs are: {string.Join(", ", model.Graph.Inputs)}");
            if (Hosting.RunCheck.FileProblem(file, "--input", "npy", shown: spec) is { } problem) throw new EdgeException(problem);
            if (!feeds.TryAdd(name, Npy.Read(file)))
                throw new EdgeException($"--input: '{name}' is given twice");
        }
        return feeds;
    }
}
