using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Layers;

/// <summary>Inputs X, repeats (int64, one per axis): Y[i] = X[i mod dims] (ONNX Tile, numpy tile with equal ranks).</summary>
internal sealed class Tile : IOperator
{
    private readonly Node _node;

    public Tile(Node node, OperatorContext context)
    {
        _ = context;
        _node = node;
    }

    public void Run(ReadOnlySpan<Tensor?> inputs, Span<Tensor?> outputs)
    {
        var x = OpUtil.Required(_node, inputs, 0, "X");
        var repeats = OpUtil.Ints(_node, OpUtil.Required(_node, inputs, 1, "repeats"), "repeats");
        if (repeats.Length != x.Rank)
            throw OpUtil.Error(_node, $"repeats has {repeats.Length} entries but X {x.ShapeString} has rank {x.Rank}");
        var shape = x.ShapeArray();
        for (int a = 0; a < repeats.Length; a++)
            shape[a] = checked(shape[a] * OpUtil.Dim(_node, repeats[a], $"repeats[{a}]"));
        Tensor.ElementCount(shape);
        var y = x;
        for (int a = 0; a < repeats.Length; a++)
        {
            int r = (int)repeats[a];
            if (r == 1) continue;
            if (r == 0)
            {
                var s = y.ShapeArray();
                s[a] = 0;
                y = Tensor.Zeros(x.DataType, s);
                continue;
            }
            var copies = new Tensor[r];
            Array.Fill(copies, y);
            y = TensorOps.Concat(copies, a);
        }
        outputs[0] = ReferenceEquals(y, x) ? x.Clone() : y;
    }
}
