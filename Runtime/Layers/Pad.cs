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

    public void Run(ReadOnlySpan<Tensor?> inputs, Span<Tensor?> outputs)
    {
        var x = OpUtil.Required(_node, inputs, 0, "X");
        OpUtil.RequireType(_node, x, "X", DataType.Float32, DataType.Int64, DataType.Int32, DataType.Int8);
        int rank = x.Rank;
        var pads = OpUtil.IntsFromInputOrAttribute(_node, inputs, 1, "pads") ?? throw OpUtil.Error(_node, "pads are missing");
        var axesRaw = OpUtil.IntsFromInputOrAttribute(_node, inputs, 3, "axes");
        int[] axes;
        if (axesRaw is null)
        {
            axes = new int[rank];
            for (int i = 0; i < rank; i++) axes[i] = i;
        }
        else axes = OpUtil.Axes(_node, axesRaw, rank);
        if (pads.Length != 2 * axes.Length)
            throw OpUtil.Error(_node, $"pads [{string.Join(", ", pads)}] must have {2 * axes.Length} entries (begin and end for each of {axes.Length} axes) for X {x.ShapeString}");

        var begin = new long[rank];
        var shape = x.ShapeArray();
        for (int i = 0; i < axes.Length; i++)
        {
            int ax = axes[i];
            begin[ax] = pads[i];
            long outDim = x.Shape[ax] + pads[i] + pads[i + axes.Length];
            if (outDim < 0) throw OpUtil.Error(_node, $"pads [{string.Join(", ", pads)}] crop axis {ax} of X {x.ShapeString} below zero");
            if (Math.Abs(pads[i]) > Array.MaxLength || outDim > Array.MaxLength) throw OpUtil.Error(_node, $"pads [{string.Join(", ", pads)}] are too large");
            shape[ax] = (int)outDim;
        }
        Tensor.ElementCount(shape);

        // Per axis: output index -> source index along that axis, or -1 for the constant.
        var maps = new int[rank][];
        for (int ax = 0; ax < rank; ax++)
        {
            int dim = x.Shape[ax];
            var map = new int[shape[ax]];
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
            maps[ax] = map;
        }

        var y = Tensor.Zeros(x.DataType, shape);
        var cv = OpUtil.Optional(inputs, 2);
        double value = cv is not null && cv.Length > 0 ? cv.ToDoubleArray()[0] : _node.GetFloat("value", 0f);
        switch (x.DataType)
        {
            case DataType.Float32: Fill(x.Contiguous().ReadOnlySpan<float>(), x.Shape, maps, y.Span<float>(), (float)value); break;
            case DataType.Int64: Fill(x.Contiguous().ReadOnlySpan<long>(), x.Shape, maps, y.Span<long>(), (long)value); break;
            case DataType.Int32: Fill(x.Contiguous().ReadOnlySpan<int>(), x.Shape, maps, y.Span<int>(), (int)value); break;
            case DataType.Int8: Fill(x.Contiguous().ReadOnlySpan<sbyte>(), x.Shape, maps, y.Span<sbyte>(), (sbyte)value); break;
        }
        outputs[0] = y;
    }

    private static void Fill<T>(ReadOnlySpan<T> src, ReadOnlySpan<int> inShape, int[][] maps, Span<T> dst, T constant) where T : unmanaged
    {
        int rank = inShape.Length;
        if (dst.Length == 0) return;
        if (rank == 0) { dst[0] = src[0]; return; }
        var strides = Tensor.ContiguousStrides(inShape);
        var inner = maps[rank - 1];
        Span<int> idx = stackalloc int[rank];
        idx.Clear();
        for (int o = 0; o < dst.Length; o += inner.Length)
        {
            // Offset of the row's source, or -1 when an outer axis lands in the constant border.
            int rowBase = 0;
            for (int ax = 0; ax < rank - 1 && rowBase >= 0; ax++)
            {
                int s = maps[ax][idx[ax]];
                rowBase = s < 0 ? -1 : rowBase + s * strides[ax];
            }
            var row = dst.Slice(o, inner.Length);
            if (rowBase < 0) row.Fill(constant);
            else
                for (int i = 0; i < row.Length; i++) row[i] = inner[i] < 0 ? constant : src[rowBase + inner[i]];
            for (int ax = rank - 2; ax >= 0; ax--)
            {
                if (++idx[ax] < maps[ax].Length) break;
                idx[ax] = 0;
            }
        }
    }
}
