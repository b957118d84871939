namespace Edge.Runtime;

/// <summary>
/// An error caused by the user's input (a file, a model, an option), as opposed to a bug in Edge.
/// Command-line front ends print its message on one line and exit non-zero, without a stack trace,
/// so the message must name the file, field, node or line at fault.
/// </summary>
public class EdgeException : Exception
{
    public EdgeException(string message) : base(message) { }
    public EdgeException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>A `.edge` blob (or another file format) that is malformed; the message names the section.</summary>
public sealed class EdgeFormatException : EdgeException
{
    public EdgeFormatException(string message) : base(message) { }
    public EdgeFormatException(string message, Exception inner) : base(message, inner) { }
}
