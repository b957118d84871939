using System.Globalization;
using Edge.Runtime;
using Onnx;

namespace Edge.Quantizer.Import.Onnx;

/// <summary>
/// Read access to one ONNX NodeProto: inputs, outputs and typed attributes, with errors that name the
/// node, its op and the file.
/// </summary>
internal sealed class OnnxNode
{
    private readonly NodeProto _proto;
    private readonly string _file;

    public OnnxNode(NodeProto proto, string name, string file)
    {
        _proto = proto;
        _file = file;
        Name = name;
    }

    public string Name { get; }
    public string OpType => _proto.OpType;
    public IList<string> Inputs => _proto.Input;
    public IList<string> Outputs => _proto.Output;

    /// <summary>The i-th input name, or "" when absent (ONNX marks skipped optional inputs with "").</summary>
    public string Input(int i) => i < _proto.Input.Count ? _proto.Input[i] : "";

    public string Output(int i) => i < _proto.Output.Count ? _proto.Output[i] : "";

    public bool Has(string attribute) => Find(attribute) is not null;

    /// <summary>
    /// Refuses attributes outside <paramref name="known"/>: an attribute Edge would silently ignore could
    /// change the result. consumed_inputs (opset &lt; 6 bookkeeping, no effect on values) is always allowed.
    /// </summary>
    public void Allow(params string[] known)
    {
        foreach (var a in _proto.Attribute)
            if (a.Name != "consumed_inputs" && Array.IndexOf(known, a.Name) < 0)
                throw Unsupported($"attribute '{a.Name}' is not supported" +
                    (known.Length == 0 ? "" : $" (supported: {string.Join(", ", known)})"));
    }

    public long Int(string name, long fallback)
    {
        var a = Find(name);
        if (a is null) return fallback;
        if (!a.HasI) throw Bad(name, "an int");
        return a.I;
    }

    public float Float(string name, float fallback)
    {
        var a = Find(name);
        if (a is null) return fallback;
        if (a.HasF) return a.F;
        if (a.HasI) return a.I;
        throw Bad(name, "a float");
    }

    public string String(string name, string fallback)
    {
        var a = Find(name);
        if (a is null) return fallback;
        if (!a.HasS) throw Bad(name, "a string");
        return a.S.ToStringUtf8();
    }

    public long[]? Ints(string name) => Find(name, AttributeProto.Types.AttributeType.Ints, "a list of ints") is { } a ? a.Ints.ToArray() : null;

    public float[]? Floats(string name) => Find(name, AttributeProto.Types.AttributeType.Floats, "a list of floats") is { } a ? a.Floats.ToArray() : null;

    public string[]? Strings(string name) => Find(name, AttributeProto.Types.AttributeType.Strings, "a list of strings") is { } a ? a.Strings.Select(s => s.ToStringUtf8()).ToArray() : null;

    /// <summary>The attribute, refused when its declared type is another one (an undeclared type is taken as the expected one, as old exporters wrote).</summary>
    private AttributeProto? Find(string name, AttributeProto.Types.AttributeType type, string expected)
    {
        var a = Find(name);
        if (a is not null && a.Type != AttributeProto.Types.AttributeType.Undefined && a.Type != type) throw Bad(name, expected);
        return a;
    }

    public TensorProto? Tensor(string name)
    {
        var a = Find(name);
        if (a is null) return null;
        return a.T ?? throw Bad(name, "a tensor");
    }

    public string Describe => $"ONNX node '{Printable(Name)}' ({Printable(OpType)}) in {_file}";

    /// <summary>A name from the file for a message: at most 80 characters, anything but printable ASCII as '?'.</summary>
    internal static string Printable(string s)
    {
        var sb = new System.Text.StringBuilder(Math.Min(s.Length, 80) + 3);
        for (int i = 0; i < s.Length && i < 80; i++) sb.Append(s[i] is >= ' ' and < (char)0x7f ? s[i] : '?');
        if (s.Length > 80) sb.Append("...");
        return sb.ToString();
    }

    public UnsupportedModelException Unsupported(string message) => new($"{Describe}: {message}");

    public EdgeException Error(string message) => new($"{Describe}: {message}");

    private AttributeProto? Find(string name)
    {
        foreach (var a in _proto.Attribute)
            if (a.Name == name) return a;
        return null;
    }

    private EdgeException Bad(string attribute, string expected) =>
        Error(string.Create(CultureInfo.InvariantCulture, $"attribute '{attribute}' should be {expected}"));
}
