using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Kernels;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Layers;

/// <summary>
/// ONNX Gemm: Y = alpha A' B' + beta C, A' (M, K), B' (K, N), C unidirectionally broadcast to (M, N).
/// transB = 1 (what exporters emit for a Linear) uses B's rows directly as dot-product operands; a
/// constant B with transB = 0 is transposed once here so the run path is always the dot kernel.
/// </summary>
internal sealed class Gemm : IOperator
{
    private readonly Node _node;
    private readonly float _alpha, _beta;
    private readonly bool _transA, _transB;
    private readonly Tensor? _bNk; // constant B prepared as (N, K)

    public Gemm(Node node, OperatorContext context)
    {
        _node = node;
        _alpha = node.GetFloat("alpha", 1f);
        _beta = node.GetFloat("beta", 1f);
        _transA = node.GetInt("transA", 0) != 0;
        _transB = node.GetInt("transB", 0) != 0;
        if (context.Constant(node.Input(1)) is { } b)
        {
            CheckB(b);
            _bNk = _transB ? b.Contiguous() : b.Permute(1, 0).Contiguous();
        }
    }

    private void CheckB(Tensor b)
    {
        OpUtil.RequireFloat(_node, b, "B");
        if (b.Rank != 2) throw OpUtil.Error(_node, $"B must be 2-D, got {b.ShapeString}");
    }

    public void Run(ReadOnlySpan<Tensor?> inputs, Span<Tensor?> outputs, NodeBuffers buffers)
    {
        var a = OpUtil.Required(_node, inputs, 0, "A");
        OpUtil.RequireFloat(_node, a, "A");
        if (a.Rank != 2) throw OpUtil.Error(_node, $"A must be 2-D, got {a.ShapeString}");
        var bNk = _bNk;
        if (bNk is null)
        {
            var b = OpUtil.Required(_node, inputs, 1, "B");
            CheckB(b);
            bNk = _transB ? Contiguous(b, buffers, 0) : Transposed(b, buffers, 0);
        }
        var aMk = _transA ? Transposed(a, buffers, 1) : Contiguous(a, buffers, 1);
        int m = aMk.Dim(0), k = aMk.Dim(1), n = bNk.Dim(0);
        if (bNk.Dim(1) != k)
            throw OpUtil.Error(_node, $"A {a.ShapeString} (transA={(_transA ? 1 : 0)}) and B (transB={(_transB ? 1 : 0)}) give inner sizes {k} and {bNk.Dim(1)}");
        Span<int> mn = stackalloc int[] { m, n };
        var y = buffers.Output(0, DataType.Float32, mn);
        var dst = y.Span<float>();
        GemmF32.MultiplyTransposed(aMk.ReadOnlySpan<float>(), bNk.ReadOnlySpan<float>(), dst, m, n, k);
        if (_alpha != 1f) TensorPrimitives.Multiply(dst, _alpha, dst);
        if (OpUtil.Optional(inputs, 2) is { } c && _beta != 0f)
        {
            OpUtil.RequireFloat(_node, c, "C");
            Span<int> s = stackalloc int[2];
            if (c.Rank > 2 || !Broadcast.TryShape(c.Shape, mn, s) || s[0] != m || s[1] != n)
                throw OpUtil.Error(_node, $"C {c.ShapeString} cannot be broadcast to ({m}, {n})");
            Span<int> strides = stackalloc int[2];
            Broadcast.Strides(c.Shape, mn, strides);
            var cs = Contiguous(c, buffers, 2).ReadOnlySpan<float>();
            for (int i = 0; i < m; i++)
            {
                var row = dst.Slice(i * n, n);
                int off = i * strides[0];
                if (strides[1] == 1) TensorPrimitives.MultiplyAdd(cs.Slice(off, n), _beta, row, row);
                else TensorPrimitives.Add(row, _beta * cs[off], row);
            }
        }
        outputs[0] = y;
    }

    /// <summary><paramref name="t"/> itself when contiguous, else a contiguous copy in temporary <paramref name="slot"/>.</summary>
    private static Tensor Contiguous(Tensor t, NodeBuffers buffers, int slot)
    {
        if (t.IsContiguous) return t;
        var c = buffers.Temporary(slot, t.DataType, t.Shape);
        t.CopyTo(c);
        return c;
    }

    /// <summary>The transpose of 2-D <paramref name="t"/> as a contiguous tensor in temporary <paramref name="slot"/>.</summary>
    private static Tensor Transposed(Tensor t, NodeBuffers buffers, int slot)
    {
        int rows = t.Dim(0), cols = t.Dim(1);
        Span<int> shape = stackalloc int[] { cols, rows };
        var dst = buffers.Temporary(slot, DataType.Float32, shape);
        var d = dst.Span<float>();
        var src = Contiguous(t, buffers, 3 + slot).ReadOnlySpan<float>();
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                d[j * rows + i] = src[i * cols + j];
        return dst;
    }
}
