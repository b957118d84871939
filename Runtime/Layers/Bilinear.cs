using System.Buffers;
using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Kernels;
using Edge.Runtime.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace Edge.Runtime.Layers;

/// <summary>
/// Bilinear score of a dual encoder: Y (N, 1) = Σ_ij C[n, i] M[i, j] R[n, j] + B, with C (Nc, D1),
/// R (N, D2), M (D1, D2), B? (scalar or (1,)). The whole batch is one matrix product T = C·M
/// (Nc, D2) followed by one dot product per row, T[n]·R[n]. With Nc = 1 (one context ranked against
/// N candidates) cᵀM is computed once and every candidate costs a single dot product: see <see cref="Rank"/>.
/// The sigmoid is a separate node.
/// </summary>
public sealed class Bilinear : IOperator
{
    private readonly Node _node;

    public Bilinear(Node node, OperatorContext context)
    {
        ArgumentNullException.ThrowIfNull(node);
        _node = node;
        if (context?.Constant(node.Input(2)) is { } m && (m.DataType != DataType.Float32 || m.Rank != 2))
            throw OpUtil.Error(node, $"M must be float32 (D1, D2), got {m.DataType.Name()}{m.ShapeString}");
    }

    public void Run(ReadOnlySpan<Tensor?> inputs, Span<Tensor?> outputs, NodeBuffers buffers)
    {
        var c = OpUtil.Required(_node, inputs, 0, "C");
        var r = OpUtil.Required(_node, inputs, 1, "R");
        var m = OpUtil.Required(_node, inputs, 2, "M");
        var b = OpUtil.Optional(inputs, 3);
        float bias = 0f;
        if (b is not null)
        {
            OpUtil.RequireFloat(_node, b, "B");
            if (b.Length != 1) throw OpUtil.Error(_node, $"B must be a scalar or (1,), got {b.ShapeString}");
            bias = b.Contiguous().ReadOnlySpan<float>()[0];
        }
        Span<int> shape = stackalloc int[] { r.Rank == 2 ? r.Dim(0) : 0, 1 };
        var y = buffers.Output(0, DataType.Float32, shape);
        try
        {
            Score(c, r, m, y.Span<float>(), bias, buffers);
        }
        catch (EdgeException e)
        {
            throw OpUtil.Error(_node, e.Message);
        }
        outputs[0] = y;
    }

    /// <summary>
    /// scores[n] = C[n or 0] · M · R[n] + bias for C (Nc, D1) with Nc = N or 1, R (N, D2), M (D1, D2).
    /// Allocates only the (Nc, D2) intermediate.
    /// </summary>
    public static void Score(Tensor contexts, Tensor candidates, Tensor m, Span<float> scores, float bias = 0f) =>
        Score(contexts, candidates, m, scores, bias, NodeBuffers.Fresh);

    /// <summary><see cref="Score(Tensor, Tensor, Tensor, Span{float}, float)"/> with the (Nc, D2) intermediate in scratch of <paramref name="buffers"/>.</summary>
    internal static void Score(Tensor contexts, Tensor candidates, Tensor m, Span<float> scores, float bias, NodeBuffers buffers)
    {
        ArgumentNullException.ThrowIfNull(contexts);
        CheckShapes(contexts, candidates, m, scores.Length);
        int nc = contexts.Dim(0), n = candidates.Dim(0), d1 = m.Dim(0), d2 = m.Dim(1);
        if (nc != n && nc != 1)
            throw new EdgeException($"C {contexts.ShapeString} must have one row or as many rows as R {candidates.ShapeString}");
        if (contexts.Dim(1) != d1)
            throw new EdgeException($"C {contexts.ShapeString} must have {d1} columns to match M {m.ShapeString}");
        if (nc == 1 && n != 1)
        {
            Rank(contexts.Contiguous().ReadOnlySpan<float>(), candidates, m, scores, bias);
            return;
        }
        var t = buffers.Scratch<float>(0, nc * d2);
        GemmF32.Multiply(contexts.Contiguous().ReadOnlySpan<float>(), m.Contiguous().ReadOnlySpan<float>(), t, nc, d2, d1);
        var rs = candidates.Contiguous().ReadOnlySpan<float>();
        for (int i = 0; i < n; i++)
            scores[i] = TensorPrimitives.Dot(t.Slice(i * d2, d2), rs.Slice(i * d2, d2)) + bias;
    }

    /// <summary>
    /// Ranks N candidates (R (N, D2)) against one context (D1): scores[n] = cᵀ M R[n] + bias.
    /// cᵀM is computed once (D1 axpys of length D2); each candidate is then one dot product.
    /// </summary>
    public static void Rank(ReadOnlySpan<float> context, Tensor candidates, Tensor m, Span<float> scores, float bias = 0f)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(m);
        CheckShapes(null, candidates, m, scores.Length);
        int n = candidates.Dim(0), d1 = m.Dim(0), d2 = m.Dim(1);
        if (context.Length != d1)
            throw new EdgeException($"context of length {context.Length} does not match M {m.ShapeString} (needs {d1})");
        float[]? rented = null;
        Span<float> cm = d2 <= 512 ? stackalloc float[d2] : (rented = ArrayPool<float>.Shared.Rent(d2)).AsSpan(0, d2);
        try
        {
            GemmF32.Multiply(context, m.Contiguous().ReadOnlySpan<float>(), cm, 1, d2, d1);
            var rs = candidates.Contiguous().ReadOnlySpan<float>();
            for (int i = 0; i < n; i++)
                scores[i] = TensorPrimitives.Dot(cm, rs.Slice(i * d2, d2)) + bias;
        }
        finally
        {
            if (rented is not null) ArrayPool<float>.Shared.Return(rented);
        }
    }

    private static void CheckShapes(Tensor? contexts, Tensor candidates, Tensor m, int scores)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(m);
        if (contexts is not null) Matrix(contexts, "C");
        Matrix(candidates, "R");
        Matrix(m, "M");
        if (candidates.Dim(1) != m.Dim(1))
            throw new EdgeException($"R {candidates.ShapeString} must have {m.Dim(1)} columns to match M {m.ShapeString}");
        if (scores < candidates.Dim(0))
            throw new EdgeException($"scores holds {scores} values but R {candidates.ShapeString} has {candidates.Dim(0)} rows");

        static void Matrix(Tensor t, string what)
        {
            if (t.DataType != DataType.Float32 || t.Rank != 2)
                throw new EdgeException($"{what} must be a 2-D float32 tensor, got {t.DataType.Name()}{t.ShapeString}");
        }
    }
}
