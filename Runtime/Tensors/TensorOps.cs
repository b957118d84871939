namespace Edge.Runtime.Tensors;

/// <summary>Joining tensors with PyTorch's semantics (<c>torch.cat</c>, <c>torch.stack</c>).</summary>
internal static class TensorOps
{
    /// <summary>
    /// <c>torch.cat(tensors, dim=axis)</c>: all tensors have the same rank and dtype and agree on every
    /// dimension except <paramref name="axis"/>, which is summed.
    /// </summary>
    public static Tensor Concat(IReadOnlyList<Tensor> tensors, int axis)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        return Concat(ToArray(tensors), axis, Execution.NodeBuffers.Fresh, 0);
    }

    /// <summary><see cref="Concat(IReadOnlyList{Tensor}, int)"/> into output <paramref name="index"/> of <paramref name="buffers"/> (no null entries).</summary>
    internal static Tensor Concat(ReadOnlySpan<Tensor?> tensors, int axis, Execution.NodeBuffers buffers, int index)
    {
        if (tensors.Length == 0) throw new EdgeException("concat needs at least one tensor");
        var first = tensors[0]!;
        int rank = first.Rank;
        if (rank == 0) throw new EdgeException("concat cannot join zero-dimensional tensors; use Stack");
        int ax = Tensor.NormalizeAxis(axis, rank);
        int total = 0;
        for (int t = 0; t < tensors.Length; t++)
        {
            var x = tensors[t]!;
            if (x.DataType != first.DataType)
                throw new EdgeException($"concat: tensor {t} is {x.DataType.Name()} but tensor 0 is {first.DataType.Name()}");
            if (x.Rank != rank)
                throw new EdgeException($"concat: tensor {t} has shape {x.ShapeString} but tensor 0 has shape {first.ShapeString} (ranks differ)");
            for (int d = 0; d < rank; d++)
                if (d != ax && x.Shape[d] != first.Shape[d])
                    throw new EdgeException($"concat along axis {ax}: tensor {t} has shape {x.ShapeString} but tensor 0 has shape {first.ShapeString}; they must match except on axis {ax}");
            total += x.Shape[ax];
        }
        if (rank > 16) throw new EdgeException($"concat: rank {rank} exceeds the supported maximum of 16");
        Span<int> shape = stackalloc int[rank];
        first.Shape.CopyTo(shape);
        shape[ax] = total;
        var result = buffers.Output(index, first.DataType, shape);
        int outer = 1;
        for (int d = 0; d < ax; d++) outer *= shape[d];
        int inner = 1;
        for (int d = ax + 1; d < rank; d++) inner *= shape[d];
        var dst = result.WritableBytes();
        int esize = first.DataType.SizeOf();
        int dstRow = total * inner * esize;
        int offset = 0;
        foreach (var x in tensors)
        {
            var src = ContiguousBytes(x!);
            int chunk = x!.Shape[ax] * inner * esize;
            for (int o = 0; o < outer; o++)
                src.Slice(o * chunk, chunk).CopyTo(dst.Slice(o * dstRow + offset, chunk));
            offset += chunk;
        }
        return result;
    }

    /// <summary>
    /// <c>torch.stack(tensors, dim=axis)</c>: all tensors have the same shape and dtype; a new axis of
    /// length <c>tensors.Count</c> is inserted at <paramref name="axis"/> (which may equal the rank).
    /// </summary>
    public static Tensor Stack(IReadOnlyList<Tensor> tensors, int axis = 0)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        return Stack(ToArray(tensors), axis, Execution.NodeBuffers.Fresh, 0);
    }

    /// <summary><see cref="Stack(IReadOnlyList{Tensor}, int)"/> into output <paramref name="index"/> of <paramref name="buffers"/> (no null entries).</summary>
    internal static Tensor Stack(ReadOnlySpan<Tensor?> tensors, int axis, Execution.NodeBuffers buffers, int index)
    {
        if (tensors.Length == 0) throw new EdgeException("stack needs at least one tensor");
        var first = tensors[0]!;
        for (int t = 1; t < tensors.Length; t++)
        {
            var x = tensors[t]!;
            if (x.DataType != first.DataType)
                throw new EdgeException($"stack: tensor {t} is {x.DataType.Name()} but tensor 0 is {first.DataType.Name()}");
            if (!x.Shape.SequenceEqual(first.Shape))
                throw new EdgeException($"stack expects each tensor to be equal size, but got {first.ShapeString} at entry 0 and {x.ShapeString} at entry {t}");
        }
        int ax = Tensor.NormalizeAxis(axis, first.Rank + 1);
        if (first.Rank + 1 > 16) throw new EdgeException($"stack: rank {first.Rank + 1} exceeds the supported maximum of 16");
        Span<int> shape = stackalloc int[first.Rank + 1];
        for (int d = 0, s = 0; d < shape.Length; d++) shape[d] = d == ax ? tensors.Length : first.Shape[s++];
        var result = buffers.Output(index, first.DataType, shape);
        // Each tensor contributes one block of its trailing axes (from ax on) per leading index.
        int outer = 1;
        for (int d = 0; d < ax; d++) outer *= first.Shape[d];
        int esize = first.DataType.SizeOf();
        int chunk = (outer == 0 ? 0 : first.Length / outer) * esize;
        var dst = result.WritableBytes();
        for (int t = 0; t < tensors.Length; t++)
        {
            var src = ContiguousBytes(tensors[t]!);
            for (int o = 0; o < outer; o++)
                src.Slice(o * chunk, chunk).CopyTo(dst.Slice((o * tensors.Length + t) * chunk, chunk));
        }
        return result;
    }

    private static Tensor?[] ToArray(IReadOnlyList<Tensor> tensors)
    {
        var array = new Tensor?[tensors.Count];
        for (int i = 0; i < array.Length; i++) array[i] = tensors[i] ?? throw new ArgumentNullException(nameof(tensors), $"tensor {i} is null");
        return array;
    }

    /// <summary>The bytes of <paramref name="x"/> in C order; a strided tensor is copied (runners only hold contiguous ones, so they never copy).</summary>
    private static ReadOnlySpan<byte> ContiguousBytes(Tensor x) => x.Contiguous().Bytes();

    /// <summary>
    /// The seed's pattern: N lists of M tensors (each e.g. (1, 512)) become one (N, M, 512) tensor,
    /// as <c>torch.stack([torch.cat(row, dim=0) for row in lists], dim=0)</c>.
    /// </summary>
    public static Tensor CatThenStack(IReadOnlyList<IReadOnlyList<Tensor>> lists)
    {
        ArgumentNullException.ThrowIfNull(lists);
        var rows = new Tensor[lists.Count];
        for (int i = 0; i < lists.Count; i++)
        {
            try { rows[i] = Concat(lists[i], 0); }
            catch (EdgeException e) { throw new EdgeException($"list {i}: {e.Message}", e); }
        }
        return Stack(rows, 0);
    }
}
