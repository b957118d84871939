using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Kernels;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Layers;

/// <summary>
/// numpy matmul: 1-D operands are promoted ((K) → (1, K) for A, (K, 1) for B) and the added axis is
/// removed from Y; leading batch axes broadcast. A constant 2-D B (the usual weight) is transposed
/// once here so each product is a row of dot products.
/// </summary>
internal sealed class MatMul : IOperator
{
    private readonly Node _node;
    private readonly Tensor? _bNk; // constant 2-D B as (N, K)

    public MatMul(Node node, OperatorContext context)
    {
        _node = node;
        if (context.Constant(node.Input(1)) is { } b && b.Rank == 2 && b.DataType == DataType.Float32)
            _bNk = b.Permute(1, 0).Contiguous();
    }

    public void Run(ReadOnlySpan<Tensor?> inputs, Span<Tensor?> outputs, NodeBuffers buffers)
    {
        var a = OpUtil.Required(_node, inputs, 0, "A");
        var b = OpUtil.Required(_node, inputs, 1, "B");
        OpUtil.RequireFloat(_node, a, "A");
        OpUtil.RequireFloat(_node, b, "B");
        if (a.Rank == 0 || b.Rank == 0) throw OpUtil.Error(_node, $"operands must have rank >= 1, got {a.ShapeString} and {b.ShapeString}");
        OpUtil.CheckRank(_node, a.Rank + 1);
        OpUtil.CheckRank(_node, b.Rank + 1);

        Span<int> aShape = stackalloc int[Math.Max(a.Rank, 2)];
        Span<int> bShape = stackalloc int[Math.Max(b.Rank, 2)];
        if (a.Rank == 1) { aShape[0] = 1; aShape[1] = a.Dim(0); } else a.Shape.CopyTo(aShape);
        if (b.Rank == 1) { bShape[0] = b.Dim(0); bShape[1] = 1; } else b.Shape.CopyTo(bShape);
        int m = aShape[^2], k = aShape[^1], n = bShape[^1];
        if (bShape[^2] != k)
            throw OpUtil.Error(_node, $"A {a.ShapeString} and B {b.ShapeString}: inner sizes {k} and {bShape[^2]} differ");
        var aBatch = aShape[..^2];
        var bBatch = bShape[..^2];
        Span<int> batch = stackalloc int[Math.Max(aBatch.Length, bBatch.Length)];
        if (!Broadcast.TryShape(aBatch, bBatch, batch))
            throw OpUtil.Error(_node, $"batch axes of A {a.ShapeString} and B {b.ShapeString} do not broadcast");

        Span<int> outShape = stackalloc int[batch.Length + 2];
        batch.CopyTo(outShape);
        int rank = batch.Length;
        if (a.Rank > 1) outShape[rank++] = m;
        if (b.Rank > 1) outShape[rank++] = n;
        var y = buffers.Output(0, DataType.Float32, outShape[..rank]);
        var dst = y.Span<float>();
        var av = a.Contiguous().ReadOnlySpan<float>();
        var bv = b.Contiguous().ReadOnlySpan<float>();
        int count = OpUtil.Product(batch, 0, batch.Length);
        if (count == 0 || m * n == 0) { outputs[0] = y; return; }

        // Batch strides in whole matrices (0 on broadcast axes).
        Span<int> aStr = stackalloc int[batch.Length];
        Span<int> bStr = stackalloc int[batch.Length];
        Broadcast.Strides(aBatch, batch, aStr);
        Broadcast.Strides(bBatch, batch, bStr);
        Span<int> idx = stackalloc int[batch.Length];
        idx.Clear();
        int aPos = 0, bPos = 0;
        bool useConst = _bNk is not null && b.Rank == 2;
        for (int i = 0; i < count; i++)
        {
            var c = dst.Slice(i * m * n, m * n);
            var am = av.Slice(aPos * m * k, m * k);
            if (useConst) GemmF32.MultiplyTransposed(am, _bNk!.ReadOnlySpan<float>(), c, m, n, k);
            else GemmF32.Multiply(am, bv.Slice(bPos * k * n, k * n), c, m, n, k);
            for (int ax = batch.Length - 1; ax >= 0; ax--)
            {
                aPos += aStr[ax];
                bPos += bStr[ax];
                if (++idx[ax] < batch[ax]) break;
                aPos -= aStr[ax] * batch[ax];
                bPos -= bStr[ax] * batch[ax];
                idx[ax] = 0;
            }
        }
        outputs[0] = y;
    }
}
