using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Layers;

/// <summary>
/// ONNX Pad (opset 18): inputs X, pads ([begin per axis..., end per axis...], may be negative =
/// crop), constant_value? (scalar), axes? (which axes pads refers to); attribute mode "constant" |
/// "reflect" | "edge" (opset &lt; 11 attributes pads and value accepted too). Every output index
/// maps per axis to a source index (or "constant"); reflect mirrors repeatedly without repeating the
/// edge element, as numpy.pad does.
/// </summary>
internal sealed class Pad : IOperator
{
    private readonly Node _node;
    private readonly string _mode;

    public Pad(Node node, OperatorContext context)
    {
        _ = context;
        _node = node;
        _mode = node.GetString("mode", "constant");
        if (_mode is not ("constant" or "reflect" or "edge"))
            throw OpUtil.Error(node, $"mode '{_mode}' is not one of constant, reflect, edge");
    }

    public void Run(ReadOnlySpan<Tensor?> inputs, Span<Tensor?> outputs, NodeBuffers buffers)
    {
        var x = OpUtil.Required(_node, inputs, 0, "X");
        OpUtil.RequireType(_node, x, "X", DataType.Float32, DataType.Int64, DataType.Int32, DataType.Int8);
        int rank = x.Rank;
        OpUtil.CheckRank(_node, rank);
        var pads = OpUtil.IntsFromInputOrAttribute(_node, inputs, 1, "pads", buffers, 0, out bool hasPads);
        if (!hasPads) throw OpUtil.Error(_node, "pads are missing");
        var axesRaw = OpUtil.IntsFromInputOrAttribute(_node, inputs, 3, "axes", buffers, 1, out bool hasAxes);
        Span<int> axes = stackalloc int[hasAxes ? Math.Min(axesRaw.Length, OpUtil.MaxRank + 1) : rank];
        if (!hasAxes)
        {
            for (int i = 0; i < rank; i++) axes[i] = i;
        }
        else
        {
            // More axes than the rank must repeat one, which OpUtil.Axes reports.
            if (axesRaw.Length > axes.Length) throw OpUtil.Error(_node, $"{axesRaw.Length} axes for X {x.ShapeString} of rank {rank}");
            OpUtil.Axes(_node, axesRaw, rank, axes);
        }
        if (pads.Length != 2 * axes.Length)
            throw OpUtil.Error(_node, $"pads [{string.Join(", ", pads.ToArray())}] must have {2 * axes.Length} entries (begin and end for each of {axes.Length} axes) for X {x.ShapeString}");

        Span<long> begin = stackalloc long[rank];
        begin.Clear();
        Span<int> shape = stackalloc int[rank];
        x.Shape.CopyTo(shape);
        for (int i = 0; i < axes.Length; i++)
        {
            int ax = axes[i];
            begin[ax] = pads[i];
            long outDim = x.Shape[ax] + pads[i] + pads[i + axes.Length];
            if (outDim < 0) throw OpUtil.Error(_node, $"pads [{string.Join(", ", pads.ToArray())}] crop axis {ax} of X {x.ShapeString} below zero");
            if (Math.Abs(pads[i]) > Array.MaxLength || outDim > Array.MaxLength) throw OpUtil.Error(_node, $"pads [{string.Join(", ", pads.ToArray())}] are too large");
            shape[ax] = (int)outDim;
        }
        Tensor.ElementCount(shape);

        // Per axis: output index -> source index along that axis, or -1 for the constant. The maps of
        // all axes lie end to end in one scratch array; mapStart[ax] is where axis ax's begins.
        Span<int> mapStart = stackalloc int[rank + 1];
        long total = 0;
        for (int ax = 0; ax < rank; ax++)
        {
            mapStart[ax] = (int)Math.Min(total, int.MaxValue);
            total += shape[ax];
        }
        if (total > Array.MaxLength) throw OpUtil.Error(_node, $"pads [{string.Join(", ", pads.ToArray())}] are too large");
        mapStart[rank] = (int)total;
        var maps = buffers.Scratch<int>(2, (int)total);
        for (int ax = 0; ax < rank; ax++)
        {
            int dim = x.Shape[ax];
            var map = maps[mapStart[ax]..mapStart[ax + 1]];
            for (int o = 0; o < map.Length; o++)
            {
                long i = o - begin[ax];
                if (i >= 0 && i < dim) { map[o] = (int)i; continue; }
                if (_mode == "constant") { map[o] = -1; continue; }
                if (dim == 0) throw OpUtil.Error(_node, $"cannot {_mode}-pad axis {ax} of X {x.ShapeString}: it is empty");
                if (_mode == "edge") map[o] = i < 0 ? 0 : dim - 1;
                else if (dim == 1) map[o] = 0;
                else
                {
                    long period = 2L * (dim - 1);
                    long r = ((i % period) + period) % period;
                    map[o] = (int)(r < dim ? r : period - r);
                }
            }
        }

        var y = buffers.Output(0, x.DataType, shape);
        var cv = OpUtil.Optional(inputs, 2);
        double value = cv is not null && cv.Length > 0 ? First(cv) : _node.GetFloat("value", 0f);
        var src = x;
        if (!src.IsContiguous)
        {
            src = buffers.Temporary(0, x.DataType, x.Shape);
            x.CopyTo(src);
        }
        switch (x.DataType)
        {
            case DataType.Float32: Fill(src.ReadOnlySpan<float>(), x.Shape, maps, mapStart, y.Span<float>(), (float)value); break;
            case DataType.Int64: Fill(src.ReadOnlySpan<long>(), x.Shape, maps, mapStart, y.Span<long>(), (long)value); break;
            case DataType.Int32: Fill(src.ReadOnlySpan<int>(), x.Shape, maps, mapStart, y.Span<int>(), (int)value); break;
            case DataType.Int8: Fill(src.ReadOnlySpan<sbyte>(), x.Shape, maps, mapStart, y.Span<sbyte>(), (sbyte)value); break;
        }
        outputs[0] = y;
    }

    /// <summary>The first element (in C order) of a non-empty tensor of any type, as a double.</summary>
    private static double First(Tensor t)
    {
        return t.DataType switch
        {
            DataType.Float32 => t.Contiguous().ReadOnlySpan<float>()[0],
            DataType.Int64 => t.Contiguous().ReadOnlySpan<long>()[0],
            DataType.Int32 => t.Contiguous().ReadOnlySpan<int>()[0],
            DataType.Int8 => t.Contiguous().ReadOnlySpan<sbyte>()[0],
            _ => throw new EdgeException($"unsupported data type {t.DataType.Name()}"),
        };
    }

    private static void Fill<T>(ReadOnlySpan<T> src, ReadOnlySpan<int> inShape, ReadOnlySpan<int> maps, ReadOnlySpan<int> mapStart, Span<T> dst, T constant)
        where T : unmanaged
    {
        int rank = inShape.Length;
        if (dst.Length == 0) return;
        if (rank == 0) { dst[0] = src[0]; return; }
        Span<int> strides = stackalloc int[rank];
        Tensor.ContiguousStrides(inShape, strides);
        var inner = maps[mapStart[rank - 1]..mapStart[rank]];
        Span<int> idx = stackalloc int[rank];
        idx.Clear();
        for (int o = 0; o < dst.Length; o += inner.Length)
        {
            // Offset of the row's source, or -1 when an outer axis lands in the constant border.
            int rowBase = 0;
            for (int ax = 0; ax < rank - 1 && rowBase >= 0; ax++)
            {
                int s = maps[mapStart[ax] + idx[ax]];
                rowBase = s < 0 ? -1 : rowBase + s * strides[ax];
            }
            var row = dst.Slice(o, inner.Length);
            if (rowBase < 0) row.Fill(constant);
            else
                for (int i = 0; i < row.Length; i++) row[i] = inner[i] < 0 ? constant : src[rowBase + inner[i]];
            for (int ax = rank - 2; ax >= 0; ax--)
            {
                if (++idx[ax] < mapStart[ax + 1] - mapStart[ax]) break;
                idx[ax] = 0;
            }
        }
    }
}
