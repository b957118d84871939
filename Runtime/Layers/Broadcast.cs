using Edge.Runtime.Tensors;

namespace Edge.Runtime.Layers;

/// <summary>numpy broadcasting and strided copies shared by the elementwise and glue operators.</summary>
internal static class Broadcast
{
    /// <summary>The numpy broadcast of two shapes, or null when they are incompatible.</summary>
    public static int[]? Shape(ReadOnlySpan<int> a, ReadOnlySpan<int> b)
    {
        int rank = Math.Max(a.Length, b.Length);
        var result = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i < rank - a.Length ? 1 : a[i - (rank - a.Length)];
            int db = i < rank - b.Length ? 1 : b[i - (rank - b.Length)];
            if (da == db || db == 1) result[i] = da;
            else if (da == 1) result[i] = db;
            else return null;
        }
        return result;
    }

    /// <summary>The numpy broadcast of two shapes into <paramref name="result"/> (length max(rank a, rank b)); false when incompatible.</summary>
    public static bool TryShape(ReadOnlySpan<int> a, ReadOnlySpan<int> b, Span<int> result)
    {
        int rank = result.Length;
        for (int i = 0; i < rank; i++)
        {
            int da = i < rank - a.Length ? 1 : a[i - (rank - a.Length)];
            int db = i < rank - b.Length ? 1 : b[i - (rank - b.Length)];
            if (da == db || db == 1) result[i] = da;
            else if (da == 1) result[i] = db;
            else return false;
        }
        return true;
    }

    /// <summary><see cref="Strides(ReadOnlySpan{int}, ReadOnlySpan{int})"/> into <paramref name="result"/> (length of outShape).</summary>
    public static void Strides(ReadOnlySpan<int> shape, ReadOnlySpan<int> outShape, Span<int> result)
    {
        result.Clear();
        int lead = outShape.Length - shape.Length;
        int own = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            result[lead + i] = shape[i] == 1 && outShape[lead + i] != 1 ? 0 : own;
            own *= Math.Max(shape[i], 1);
        }
    }

    /// <summary>
    /// Element strides that read a contiguous tensor of <paramref name="shape"/> as if it had
    /// <paramref name="outShape"/> (right-aligned; 0 on broadcast axes). The caller has checked compatibility.
    /// </summary>
    public static int[] Strides(ReadOnlySpan<int> shape, ReadOnlySpan<int> outShape)
    {
        var own = Tensor.ContiguousStrides(shape);
        var result = new int[outShape.Length];
        int lead = outShape.Length - shape.Length;
        for (int i = 0; i < shape.Length; i++)
            result[lead + i] = shape[i] == 1 && outShape[lead + i] != 1 ? 0 : own[i];
        return result;
    }

    /// <summary>
    /// Copies the strided view (<paramref name="offset"/>, <paramref name="strides"/>, <paramref name="shape"/>)
    /// of <paramref name="src"/> into the contiguous <paramref name="dst"/>. Strides may be 0 (broadcast) or
    /// negative (reversed slices). The innermost axis is copied as a block when its stride is 1.
    /// </summary>
    public static void CopyStrided<T>(ReadOnlySpan<T> src, int offset, ReadOnlySpan<int> strides, ReadOnlySpan<int> shape, Span<T> dst)
        where T : unmanaged
    {
        int rank = shape.Length;
        if (dst.Length == 0) return;
        if (rank == 0) { dst[0] = src[offset]; return; }
        int inner = shape[rank - 1];
        int innerStride = strides[rank - 1];
        Span<int> idx = stackalloc int[rank];
        idx.Clear();
        int pos = offset;
        for (int o = 0; o < dst.Length; o += inner)
        {
            var d = dst.Slice(o, inner);
            if (innerStride == 1) src.Slice(pos, inner).CopyTo(d);
            else if (innerStride == 0) d.Fill(src[pos]);
            else
            {
                int p = pos;
                for (int i = 0; i < inner; i++, p += innerStride) d[i] = src[p];
            }
            for (int ax = rank - 2; ax >= 0; ax--)
            {
                pos += strides[ax];
                if (++idx[ax] < shape[ax]) break;
                pos -= strides[ax] * shape[ax];
                idx[ax] = 0;
            }
        }
    }

    /// <summary><see cref="CopyStrided{T}"/> for a contiguous tensor of any element type; returns a new contiguous tensor.</summary>
    public static Tensor Materialize(Tensor source, int offset, ReadOnlySpan<int> strides, int[] shape) =>
        Materialize(source, offset, strides, shape, Execution.NodeBuffers.Fresh, 0);

    /// <summary><see cref="CopyStrided{T}"/> of a tensor of any element type into output <paramref name="index"/> of <paramref name="buffers"/>.</summary>
    public static Tensor Materialize(Tensor source, int offset, ReadOnlySpan<int> strides, ReadOnlySpan<int> shape, Execution.NodeBuffers buffers, int index)
    {
        // A strided source is first made contiguous, since the strides address its dense layout.
        var src = source;
        if (!src.IsContiguous)
        {
            src = buffers.Temporary(index, source.DataType, source.Shape);
            source.CopyTo(src);
        }
        var result = buffers.Output(index, src.DataType, shape);
        switch (src.DataType)
        {
            case DataType.Float32: CopyStrided(src.ReadOnlySpan<float>(), offset, strides, shape, result.Span<float>()); break;
            case DataType.Int64: CopyStrided(src.ReadOnlySpan<long>(), offset, strides, shape, result.Span<long>()); break;
            case DataType.Int32: CopyStrided(src.ReadOnlySpan<int>(), offset, strides, shape, result.Span<int>()); break;
            case DataType.Int8: CopyStrided(src.ReadOnlySpan<sbyte>(), offset, strides, shape, result.Span<sbyte>()); break;
            default: throw new EdgeException($"unsupported data type {src.DataType.Name()}");
        }
        return result;
    }

    /// <summary>Broadcasts a tensor to <paramref name="outShape"/> (caller checked compatibility) as a new contiguous tensor.</summary>
    public static Tensor To(Tensor source, int[] outShape) => Materialize(source, 0, Strides(source.Shape, outShape), outShape);

    /// <summary>Broadcasts a tensor to <paramref name="outShape"/> (caller checked compatibility) into output <paramref name="index"/> of <paramref name="buffers"/>.</summary>
    public static Tensor To(Tensor source, ReadOnlySpan<int> outShape, Execution.NodeBuffers buffers, int index)
    {
        Span<int> strides = stackalloc int[outShape.Length];
        Strides(source.Shape, outShape, strides);
        return Materialize(source, 0, strides, outShape, buffers, index);
    }
}
