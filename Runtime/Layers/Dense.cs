using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Kernels;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Layers;

/// <summary>
/// Y (..., out) = X (..., in) Wᵀ + B with W (out, in): torch Linear / Keras Dense. W's rows are the
/// contiguous K-vectors <see cref="GemmF32.MultiplyTransposed"/> dots against, so no packing is needed.
/// int8 (W stored per-row quantized): W packed once at prepare; each row of X is quantized (static range
/// from calibration, else dynamic) and all rows go through one small-batch int8 product, dequantized
/// with row scale x row-of-X scale, bias added in fp32.
/// </summary>
internal sealed class Dense : IOperator
{
    private readonly Node _node;
    private readonly Tensor? _w;
    private readonly Tensor? _b;
    private readonly PackedInt8Matrix? _wq;
    private readonly Gemv? _gemv;
    private readonly ActivationQuantization _xRange;

    public Dense(Node node, OperatorContext context)
    {
        _node = node;
        _b = context.Constant(node.Input(2));
        if (context.Quantized(node.Input(1)) is { } q)
        {
            if (q.Values.Rank != 2 || q.Axis != 0)
                throw OpUtil.Error(node, $"int8 W must be (out, in) with one scale per output row, got {q.Values.ShapeString} with row axis {q.Axis}");
            if (_b is not null) CheckBias(_b, q.Values.Dim(0), q.Values.ShapeString);
            _wq = Int8Weights.Pack(q);
            _gemv = context.Gemv;
            _xRange = ActivationQuantization.FromNode(node);
            return;
        }
        _w = context.Constant(node.Input(1));
        if (_w is not null) CheckWeights(_w, _b);
    }

    private void CheckBias(Tensor b, int outF, string wShape)
    {
        OpUtil.RequireFloat(_node, b, "B");
        if (b.Rank != 1 || b.Dim(0) != outF)
            throw OpUtil.Error(_node, $"B must be ({outF},) to match W {wShape}, got {b.ShapeString}");
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
        if (_wq is not null)
        {
            RunInt8(_wq, inputs, outputs, buffers);
            return;
        }
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

    private void RunInt8(PackedInt8Matrix wq, ReadOnlySpan<Tensor?> inputs, Span<Tensor?> outputs, NodeBuffers buffers)
    {
        var x = OpUtil.Required(_node, inputs, 0, "X");
        var b = _b ?? OpUtil.Optional(inputs, 2);
        if (_b is null && b is not null && (b.Rank != 1 || b.Dim(0) != wq.Rows || b.DataType != DataType.Float32))
            CheckBias(b, wq.Rows, $"({wq.Rows}, {wq.Cols})");
        OpUtil.RequireFloat(_node, x, "X");
        int outF = wq.Rows, inF = wq.Cols;
        if (x.Rank < 1 || x.Dim(-1) != inF)
            throw OpUtil.Error(_node, $"X {x.ShapeString} must end in {inF} features to match W ({outF}, {inF})");
        OpUtil.CheckRank(_node, x.Rank);
        int rows = x.Length / inF;
        Span<int> shape = stackalloc int[x.Rank];
        x.Shape.CopyTo(shape);
        shape[^1] = outF;
        var y = buffers.Output(0, DataType.Float32, shape);
        if (rows > 0)
        {
            var xq = buffers.Scratch<sbyte>(0, rows * inF);
            var scales = buffers.Scratch<float>(1, rows);
            _xRange.QuantizeRows(_gemv!, x.Contiguous().ReadOnlySpan<float>(), rows, inF, xq, scales);
            var bias = b is null ? default : b.Contiguous().ReadOnlySpan<float>();
            _gemv!.MultiplyInt8Dequantize(wq, xq, inF, scales, rows, bias, y.Span<float>(), outF, accumulate: false);
        }
        outputs[0] = y;
    }
}
