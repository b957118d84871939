using Edge.Runtime.Tensors;

namespace Edge.Runtime.Ir;

/// <summary>
/// A graph input or output: name, element type and shape. A dimension of -1 is dynamic (typically
/// the batch); every other dimension is checked when a session runs.
/// </summary>
internal sealed record ValueInfo(string Name, DataType DataType, int[] Shape)
{
    public const int Dynamic = -1;

    public string ShapeString => "(" + string.Join(", ", Shape.Select(d => d < 0 ? "?" : d.ToString(System.Globalization.CultureInfo.InvariantCulture))) + (Shape.Length == 1 ? ",)" : ")");

    public override string ToString() => $"{Name}: {DataType.Name()}{ShapeString}";
}
