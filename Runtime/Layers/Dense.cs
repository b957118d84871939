using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Kernels;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Layers;

/// <summary>
/// Y (..., out) = X (..., in) Wᵀ + B with W (out, in): torch Linear / Keras Dense. W's rows are the
/// contiguous K-vectors <see cref="GemmF32.MultiplyTransposed"/> dots against, so no packing is needed.
/// </summary>
internal sealed class Dense : IOperator
{
    private readonly Node _node;
    private readonly Tensor? _w;
    private readonly Tensor? _b;

    public Dense(Node node, OperatorContext context)
    {
        _node = node;
        _w = context.Constant(node.Input(1));
        _b = context.Constant(node.Input(2));
        if (_w is not null) CheckWeights(_w, _b);
    }

    private void CheckWeights(Tensor w, Tensor? b)
    {
        OpUtil.RequireFloat(_node, w, "W");
        if (w.Rank != 2) throw OpUtil.Error(_node, $"W must be (out, in), got {w.ShapeString}");
        if (b is null) return;
        OpUtil.RequireFloat(_node, b, "B");
        if (b.Rank != 1 || b.Dim(0) != w.Dim(0))
            throw OpUtil.Error(_node, $"B must be ({w.Dim(0)},) to match W {w.ShapeString}, got {b.ShapeString}");
    }

    public void Run(ReadOnlySpan<Tensor?> inputs, Span<Tensor?> outputs, NodeBuffers buffers)
    {
        var x = OpUtil.Required(_node, inputs, 0, "X");
        var w = _w ?? OpUtil.Required(_node, inputs, 1, "W");
        var b = _b ?? OpUtil.Optional(inputs, 2);
        if (_w is null) CheckWeights(w, b);
        OpUtil.RequireFloat(_node, x, "X");
        int outF = w.Dim(0), inF = w.Dim(1);
        if (x.Rank < 1 || x.Dim(-1) != inF)
            throw OpUtil.Error(_node, $"X {x.ShapeString} must end in {inF} features to match W {w.ShapeString}");
        int rows = x.Length / Math.Max(inF, 1);
        if (inF == 0) rows = OpUtil.Product(x.Shape, 0, x.Rank - 1);
        OpUtil.CheckRank(_node, x.Rank);
        Span<int> shape = stackalloc int[x.Rank];
        x.Shape.CopyTo(shape);
        shape[^1] = outF;
        var y = buffers.Output(0, DataType.Float32, shape);
        var dst = y.Span<float>();
        GemmF32.MultiplyTransposed(x.Contiguous().ReadOnlySpan<float>(), w.Contiguous().ReadOnlySpan<float>(), dst, rows, outF, inF);
        if (b is not null)
        {
            var bias = b.Contiguous().ReadOnlySpan<float>();
            for (int r = 0; r < rows; r++)
            {
                var row = dst.Slice(r * outF, outF);
                TensorPrimitives.Add(row, bias, row);
            }
        }
        outputs[0] = y;
    }
}
