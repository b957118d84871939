using Edge.Runtime;

namespace Edge.Quantizer.Import;

/// <summary>
/// A model that is well-formed but uses something Edge does not implement (an op, an attribute value,
/// a data type). Distinct from a malformed file so that callers (and the conformance run) can tell
/// "not supported" from "wrong".
/// </summary>
public sealed class UnsupportedModelException : EdgeException
{
    public UnsupportedModelException(string message) : base(message) { }
    public UnsupportedModelException(string message, Exception inner) : base(message, inner) { }
}
