using System.Diagnostics;
using Edge.Fuzz;
using SharpFuzz;

// edge-fuzz afl TARGET            under afl-fuzz (SharpFuzz's fork server; reads stdin when run alone)
// edge-fuzz libfuzzer TARGET      under libfuzzer-dotnet
// edge-fuzz run TARGET PATH...    each file (or each file of a directory) once: a corpus, a crash to reproduce
//                                 (EDGE_FUZZ_VERBOSE=1 also prints each clean refusal)
// edge-fuzz list                  the targets and where their seed corpus comes from
// See docs/fuzzing.md.
if (args.Length >= 1 && args[0] == "list")
{
    foreach (var t in Targets.All) Console.WriteLine($"{t.Name,-12} {t.Seeds}");
    return 0;
}
if (args.Length < 2 || Targets.Find(args[1]) is not { } target || args[0] is not ("afl" or "libfuzzer" or "run"))
{
    Console.Error.WriteLine("usage: edge-fuzz afl|libfuzzer TARGET | edge-fuzz run TARGET PATH... | edge-fuzz list");
    Console.Error.WriteLine("targets: " + string.Join(", ", Targets.All.Select(t => t.Name)));
    return 2;
}

switch (args[0])
{
    case "afl":
        Fuzzer.OutOfProcess.Run(stream =>
        {
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            Guarded(target, copy.ToArray());
        });
        return 0;
    case "libfuzzer":
        Fuzzer.LibFuzzer.Run(span => Guarded(target, span.ToArray()));
        return 0;
}

bool verbose = Environment.GetEnvironmentVariable("EDGE_FUZZ_VERBOSE") == "1";
var files = args.Skip(2).SelectMany(p => Directory.Exists(p) ? Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal) : new[] { p }.AsEnumerable()).ToList();
int findings = 0, refused = 0;
foreach (var file in files)
{
    var data = File.ReadAllBytes(file);
    var clock = Stopwatch.StartNew();
    try
    {
        target.Run(data);
    }
    catch (Exception e) when (Targets.IsClean(e))
    {
        refused++;
        if (verbose) Console.WriteLine($"refused {file}: {Shorten(e.Message)}");
    }
    catch (Exception e)
    {
        findings++;
        Console.WriteLine($"FINDING {file}: {e.GetType().FullName}: {Shorten(e.Message)}");
        Console.WriteLine("  at " + Shorten(e.StackTrace?.Split('\n').FirstOrDefault(l => l.Contains("Edge.", StringComparison.Ordinal))?.Trim() ?? "?"));
    }
    if (clock.Elapsed > TimeSpan.FromSeconds(1)) Console.WriteLine($"SLOW {file}: {clock.Elapsed.TotalSeconds:F1} s");
}
Console.WriteLine($"{target.Name}: {files.Count} input(s), {files.Count - refused - findings} accepted, {refused} refused cleanly, {findings} finding(s)");
return findings == 0 ? 0 : 1;

// Under a fuzzer a clean refusal returns normally; anything else propagates and is reported as a crash.
static void Guarded(Targets.Target target, byte[] data)
{
    try { target.Run(data); }
    catch (Exception e) when (Targets.IsClean(e)) { }
}

static string Shorten(string s)
{
    s = new string(s.Select(c => char.IsControl(c) ? '?' : c).ToArray());
    return s.Length <= 200 ? s : s[..197] + "...";
}
