using Edge.Runtime;

namespace Edge.Cli;

// Command-line plumbing is not part of the Runtime library: this one file is compiled into each front end
// (Device/Edge.Device.csproj and Quantizer/Edge.Quantizer.csproj link it), so both report errors the same way
// without a third assembly in the NativeAOT build and the tool packages.

/// <summary>What both command-line front ends (edge-quantize, edge) share: user errors as one line, NAME=FILE options.</summary>
internal static class CliSupport
{
    /// <summary>
    /// Runs a command body. A user error (bad file, bad model, bad option value) becomes one line on
    /// <paramref name="stderr"/> and exit code 1; no stack trace. Anything else is a bug in Edge and
    /// keeps its stack trace (exit code 70, EX_SOFTWARE). A list of problems (<see cref="EdgeProblemsException"/>)
    /// prints its header line and then one line per problem.
    /// </summary>
    public static int Guard(string tool, TextWriter stderr, Func<int> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(stderr);
        try
        {
            return body();
        }
        catch (EdgeProblemsException e)
        {
            // A list of problems: the header, then one line per problem, as docs/spec.md shows.
            stderr.WriteLine($"{tool}: error: {OneLine(e.Header)}");
            foreach (var p in e.Problems) stderr.WriteLine($"  - {OneLine(p)}");
            return 1;
        }
        catch (Exception e) when (e is EdgeException or IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"{tool}: error: {OneLine(e.Message)}");
            return 1;
        }
        catch (Exception e)
        {
            stderr.WriteLine($"{tool}: internal error (please report): {e}");
            return 70;
        }
    }

    /// <summary>Splits "NAME=FILE" (FILE may itself contain '='); a bare FILE gives a null name.</summary>
    public static (string? Name, string File) ParseNamedFile(string spec, string option)
    {
        ArgumentNullException.ThrowIfNull(spec);
        int eq = spec.IndexOf('=', StringComparison.Ordinal);
        if (eq < 0) return (null, spec);
        if (eq == 0) throw new EdgeException($"{option} '{spec}': expected NAME=FILE");
        var file = spec[(eq + 1)..];
        if (file.Length == 0) throw new EdgeException($"{option} '{spec}': the file after '=' is missing");
        return (spec[..eq], file);
    }

    private static string OneLine(string s) => s.ReplaceLineEndings(" ").Trim();
}
