using System.CommandLine;
using System.Globalization;
using Edge.Runtime;
using Edge.Cli;

namespace Edge.Device.Bench;

/// <summary>
/// `edge bench` (docs/benchmarks.md):
/// <code>
/// edge bench --model FILE.edge [--steps N] [--warmup N] [--batch B] [--isa scalar|avx2|avx512|neon|neondot|all]
///            [--time-steps T] [--json FILE]
/// edge bench --compare A.json B.json [...] [--html FILE]
/// </code>
/// Values are parsed here rather than by System.CommandLine so that every bad argument is one line on stderr
/// and exit code 1, like the other commands' user errors (a parse error would print the whole help).
/// </summary>
public static class BenchCommand
{
    private const string Tool = "edge";

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var model = Value("--model", "the .edge model to measure", "FILE.edge");
        var steps = Value("--steps", "measured steps at batch 1 (default 1000)", "N");
        var warmup = Value("--warmup", "warm-up steps before measuring (default 100)", "N");
        var batch = Value("--batch", "also time forecasts at this batch size (default 1)", "B");
        var isa = Value("--isa", "kernel path: scalar|avx2|avx512|neon|neondot, or all (every path this CPU supports); default EDGE_ISA, else the best", "ISA");
        var timeSteps = Value("--time-steps", "length of a dynamic time axis (default: the blob's window, else 1)", "T");
        var json = Value("--json", "write the result as JSON (schema: docs/benchmarks.md)", "FILE");
        var compare = new Option<string[]>("--compare")
        {
            Description = "print two or more result files side by side, with ratios to the first",
            HelpName = "A.json B.json",
            AllowMultipleArgumentsPerToken = true,
            Arity = ArgumentArity.ZeroOrMore,
        };
        var html = Value("--html", "with --compare: also write a self-contained HTML page with a bar chart", "FILE");

        var cmd = new Command("bench", "measure a model's step and forecast latency, throughput, allocations and memory on this machine, per kernel path; or compare result files")
        {
            model, steps, warmup, batch, isa, timeSteps, json, compare, html,
        };
        cmd.TreatUnmatchedTokensAsErrors = false;
        cmd.SetAction(r => CliSupport.Guard(Tool, stderr, () =>
        {
            if (r.UnmatchedTokens.Count > 0)
                throw new EdgeException($"bench: unexpected argument '{r.UnmatchedTokens[0]}' (see edge bench --help)");
            string? Get(Option<string> o)
            {
                var result = r.GetResult(o);
                if (result is null) return null;
                var v = r.GetValue(o);
                if (string.IsNullOrWhiteSpace(v)) throw new EdgeException($"{o.Name} needs a value ({o.HelpName})");
                return v;
            }

            var comparePaths = r.GetResult(compare) is null ? null : r.GetValue(compare) ?? [];
            if (comparePaths is not null)
            {
                foreach (var o in new[] { model, steps, warmup, batch, isa, timeSteps, json })
                    if (r.GetResult(o) is not null) throw new EdgeException($"--compare reads result files; {o.Name} belongs to a measurement run");
                var files = BenchReport.LoadForCompare(comparePaths);
                stdout.Write(BenchReport.Compare(files));
                if (Get(html) is { } htmlPath)
                {
                    File.WriteAllText(htmlPath, BenchReport.Html(files));
                    stdout.WriteLine($"wrote {htmlPath}");
                }
                return 0;
            }
            if (r.GetResult(html) is not null) throw new EdgeException("--html goes with --compare");
            var modelPath = Get(model) ?? throw new EdgeException("bench: --model FILE.edge (or --compare A.json B.json) is required");
            var options = new BenchOptions
            {
                ModelPath = modelPath,
                Steps = Positive(steps, Get(steps), 1000, max: 100_000_000),
                Warmup = NonNegative(warmup, Get(warmup), 100),
                Batch = Positive(batch, Get(batch), 1, max: 65536),
                Isa = Get(isa),
                TimeSteps = Get(timeSteps) is { } t ? Positive(timeSteps, t, 1, max: 1_000_000) : null,
            };
            BenchRunner.ResolveIsas(options.Isa); // a bad --isa fails before the model loads
            string? jsonPath = Get(json);
            var command = "edge " + string.Join(' ', r.Tokens.Select(t => t.Value.Contains(' ', StringComparison.Ordinal) ? $"\"{t.Value}\"" : t.Value));
            var result = BenchRunner.Run(options, command);
            stdout.Write(BenchReport.Single(result));
            if (jsonPath is not null)
            {
                File.WriteAllText(jsonPath, result.ToJsonText());
                stdout.WriteLine($"wrote {jsonPath}");
            }
            return 0;
        }));
        return cmd;
    }

    private static Option<string> Value(string name, string description, string helpName) =>
        new(name) { Description = description, HelpName = helpName, Arity = ArgumentArity.ZeroOrOne };

    private static int Positive(Option<string> o, string? text, int fallback, int max)
    {
        if (text is null) return fallback;
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) || v < 1 || v > max)
            throw new EdgeException($"{o.Name} {text}: expected a whole number from 1 to {max}");
        return v;
    }

    private static int NonNegative(Option<string> o, string? text, int fallback)
    {
        if (text is null) return fallback;
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) || v < 0)
            throw new EdgeException($"{o.Name} {text}: expected a whole number, 0 or more");
        return v;
    }
}
