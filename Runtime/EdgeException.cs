namespace Edge.Runtime;

/// <summary>
/// An error caused by the user's input (a file, a model, an option), as opposed to a bug in Edge.
/// Command-line front ends print its message on one line and exit non-zero, without a stack trace,
/// so the message must name the file, field, node or line at fault.
/// </summary>
public class EdgeException : Exception
{
    /// <summary>A user error; <paramref name="message"/> is one line naming the culprit.</summary>
    public EdgeException(string message) : base(message) { }

    /// <summary>A user error found while handling <paramref name="inner"/>.</summary>
    public EdgeException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>A `.edge` blob (or another file format) that is malformed; the message names the section.</summary>
public sealed class EdgeFormatException : EdgeException
{
    /// <summary>A malformed file; <paramref name="message"/> reads "&lt;file&gt;: &lt;section&gt;: &lt;problem&gt;".</summary>
    public EdgeFormatException(string message) : base(message) { }

    /// <summary>A malformed file, found while handling <paramref name="inner"/>.</summary>
    public EdgeFormatException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// Several independent user errors found together (every mistake in a spec, every missing key), so the
/// user fixes them in one round. Command-line front ends print <see cref="Header"/> and then each problem
/// on its own line (each names its field or key); <see cref="Exception.Message"/> holds the same lines.
/// </summary>
public sealed class EdgeProblemsException : EdgeException
{
    /// <summary>
    /// <paramref name="header"/> and one line per entry of <paramref name="problems"/>. Throws
    /// <see cref="ArgumentNullException"/> when either is null.
    /// </summary>
    public EdgeProblemsException(string header, IReadOnlyList<string> problems)
        : base(Format(header, problems))
    {
        Header = header;
        Problems = problems;
    }

    /// <summary>What does not fit, e.g. "model.pt does not match spec.json (2 problems):".</summary>
    public string Header { get; }

    /// <summary>The problems, one line each, in the order they were found.</summary>
    public IReadOnlyList<string> Problems { get; }

    private static string Format(string header, IReadOnlyList<string> problems)
    {
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(problems);
        return header + string.Concat(problems.Select(p => "\n  - " + p));
    }
}
