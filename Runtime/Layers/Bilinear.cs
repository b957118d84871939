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
/// int8 (M stored with one scale per row, D1 rows): score = c · (M r), so M multiplies each candidate:
/// every R[n] is quantized (dynamic: calibration measures C, which meets M only in fp32 here) and all N
/// go through one small-batch int8 product T = M R[n] (N, D1), dequantized with row scale x R[n]'s
/// scale; then one fp32 dot product per row with C[n] (or C[0]).
/// </summary>
internal sealed class Bilinear : IOperator
{
    private readonly Node _node;
    private readonly PackedInt8Matrix? _mq;
    private readonly Gemv? _gemv;

    public Bilinear(Node node, OperatorContext context)
    {
        ArgumentNullException.ThrowIfNull(node);
        _node = node;
        if (context?.Quantized(node.Input(2)) is { } q)
        {
            if (q.Values.Rank != 2 || q.Axis != 0)
                throw OpUtil.Error(node, $"int8 M must be (D1, D2) with one scale per row, got {q.Values.ShapeString} with row axis {q.Axis}");
            _mq = Int8Weights.Pack(q);
            _gemv = context.Gemv;
            return;
        }
        if (context?.Constant(node.Input(2)) is { } m && (m.DataType != DataType.Float32 || m.Rank != 2))
            throw OpUtil.Error(node, $"M must be float32 (D1, D2), got {m.DataType.Name()}{m.ShapeString}");
    }

    public void Run(ReadOnlySpan<Tensor?> inputs, Span<Tensor?> outputs, NodeBuffers buffers)
    {
        var c = OpUtil.Required(_node, inputs, 0, "C");
        var r = OpUtil.Required(_node, inputs, 1, "R");
        var m = _mq is null ? OpUtil.Required(_node, inputs, 2, "M") : null;
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
            if (_mq is not null) ScoreInt8(_mq, c, r, y.Span<float>(), bias, buffers);
            else Score(c, r, m!, y.Span<float>(), bias, buffers);
        }
        catch (EdgeException e)
        {
            throw OpUtil.Error(_node, e.Message);
        }
        outputs[0] = y;
    }

    private void ScoreInt8(PackedInt8Matrix mq, Tensor contexts, Tensor candidates, Span<float> scores, float bias, NodeBuffers buffers)
    {
        int d1 = mq.Rows, d2 = mq.Cols;
        if (contexts.DataType != DataType.Float32 || contexts.Rank != 2)
            throw new EdgeException($"C must be a 2-D float32 tensor, got {contexts.DataType.Name()}{contexts.ShapeString}");
        if (candidates.DataType != DataType.Float32 || candidates.Rank != 2)
            throw new EdgeException($"R must be a 2-D float32 tensor, got {candidates.DataType.Name()}{candidates.ShapeString}");
        int nc = contexts.Dim(0), n = candidates.Dim(0);
        if (candidates.Dim(1) != d2)
            throw new EdgeException($"R {candidates.ShapeString} must have {d2} columns to match M ({d1}, {d2})");
        if (contexts.Dim(1) != d1)
            throw new EdgeException($"C {contexts.ShapeString} must have {d1} columns to match M ({d1}, {d2})");
        if (nc != n && nc != 1)
            throw new EdgeException($"C {contexts.ShapeString} must have one row or as many rows as R {candidates.ShapeString}");
        if (n == 0) return;
        var rq = buffers.Scratch<sbyte>(1, n * d2);
        var rScales = buffers.Scratch<float>(2, n);
        var t = buffers.Scratch<float>(3, n * d1);
        ActivationQuantization.Dynamic.QuantizeRows(_gemv!, candidates.Contiguous().ReadOnlySpan<float>(), n, d2, rq, rScales);
        _gemv!.MultiplyInt8Dequantize(mq, rq, d2, rScales, n, default, t, d1, accumulate: false);
        var cs = contexts.Contiguous().ReadOnlySpan<float>();
        for (int i = 0; i < n; i++)
            scores[i] = TensorPrimitives.Dot(cs.Slice(nc == 1 ? 0 : i * d1, d1), t.Slice(i * d1, d1)) + bias;
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
