namespace Edge.Runtime.Ir;

internal enum AttributeKind : byte
{
    Int = 1,
    Float = 2,
    String = 3,
    Ints = 4,
    Floats = 5,
    Strings = 6,
}

/// <summary>A node attribute: one of int, float, string, or a list of them.</summary>
internal sealed class Attribute
{
    private Attribute(AttributeKind kind, long i = 0, float f = 0, string? s = null, long[]? ints = null, float[]? floats = null, string[]? strings = null)
    {
        Kind = kind;
        Int = i;
        Float = f;
        String = s;
        Ints = ints;
        Floats = floats;
        Strings = strings;
    }

    public AttributeKind Kind { get; }
    public long Int { get; }
    public float Float { get; }
    public string? String { get; }
    public long[]? Ints { get; }
    public float[]? Floats { get; }
    public string[]? Strings { get; }

    public static Attribute Of(long value) => new(AttributeKind.Int, i: value);
    public static Attribute Of(float value) => new(AttributeKind.Float, f: value);
    public static Attribute Of(string value) => new(AttributeKind.String, s: value);
    public static Attribute Of(long[] value) => new(AttributeKind.Ints, ints: value);
    public static Attribute Of(float[] value) => new(AttributeKind.Floats, floats: value);
    public static Attribute Of(string[] value) => new(AttributeKind.Strings, strings: value);

    public override string ToString() => Kind switch
    {
        AttributeKind.Int => Int.ToString(System.Globalization.CultureInfo.InvariantCulture),
        AttributeKind.Float => Float.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        AttributeKind.String => $"\"{String}\"",
        AttributeKind.Ints => "[" + string.Join(", ", Ints!) + "]",
        AttributeKind.Floats => "[" + string.Join(", ", Floats!.Select(f => f.ToString("R", System.Globalization.CultureInfo.InvariantCulture))) + "]",
        AttributeKind.Strings => "[" + string.Join(", ", Strings!.Select(s => $"\"{s}\"")) + "]",
        _ => "?",
    };
}
