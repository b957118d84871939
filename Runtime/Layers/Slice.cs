using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Layers;

/// <summary>
/// ONNX Slice: inputs X, starts, ends, axes?, steps? (int64; opset &lt; 10 attributes starts, ends,
/// axes accepted too). Negative starts/ends count from the end; then, for step &gt; 0, both clamp to
/// [0, dim]; for step &lt; 0, start clamps to [0, dim-1] and end to [-1, dim-1] (so INT64_MIN/MAX
/// mean "to the edge"). The result is one strided copy (negative strides for negative steps).
/// </summary>
internal sealed class Slice : IOperator
{
    private readonly Node _node;

    public Slice(Node node, OperatorContext context)
    {
        _ = context;
        _node = node;
    }

    public void Run(ReadOnlySpan<Tensor?> inputs, Span<Tensor?> outputs, NodeBuffers buffers)
    {
        var x = OpUtil.Required(_node, inputs, 0, "X");
        var starts = OpUtil.IntsFromInputOrAttribute(_node, inputs, 1, "starts", buffers, 1, out bool hasStarts);
        if (!hasStarts) throw OpUtil.Error(_node, "starts are missing");
        var ends = OpUtil.IntsFromInputOrAttribute(_node, inputs, 2, "ends", buffers, 2, out bool hasEnds);
        if (!hasEnds) throw OpUtil.Error(_node, "ends are missing");
        var axesRaw = OpUtil.IntsFromInputOrAttribute(_node, inputs, 3, "axes", buffers, 3, out bool hasAxes);
        var steps = OpUtil.IntsFromInputOrAttribute(_node, inputs, 4, "steps", buffers, 4, out bool hasSteps);
        if (ends.Length != starts.Length)
            throw OpUtil.Error(_node, $"starts has {starts.Length} entries but ends has {ends.Length}");
        if (hasAxes && axesRaw.Length != starts.Length)
            throw OpUtil.Error(_node, $"starts has {starts.Length} entries but axes has {axesRaw.Length}");
        if (hasSteps && steps.Length != starts.Length)
            throw OpUtil.Error(_node, $"starts has {starts.Length} entries but steps has {steps.Length}");
        int rank = x.Rank;
        OpUtil.CheckRank(_node, rank);
        if (starts.Length > rank && !hasAxes) throw OpUtil.Error(_node, $"{starts.Length} starts for X {x.ShapeString} of rank {rank}");
        // More entries than axes must repeat an axis, which OpUtil.Axes reports; the buffer holds them for that check.
        Span<int> axes = stackalloc int[Math.Min(starts.Length, OpUtil.MaxRank + 1)];
        if (starts.Length > axes.Length) throw OpUtil.Error(_node, $"{starts.Length} starts for X {x.ShapeString} of rank {rank}");
        if (!hasAxes)
        {
            for (int i = 0; i < axes.Length; i++) axes[i] = i;
        }
        else OpUtil.Axes(_node, axesRaw, rank, axes);

        Span<int> shape = stackalloc int[rank];
        x.Shape.CopyTo(shape);
        Span<int> own = stackalloc int[rank];
        Tensor.ContiguousStrides(x.Shape, own);
        Span<int> strides = stackalloc int[rank];
        own.CopyTo(strides);
        long offset = 0;
        for (int i = 0; i < axes.Length; i++)
        {
            int ax = axes[i];
            long dim = shape[ax];
            long step = hasSteps ? steps[i] : 1;
            if (step == 0) throw OpUtil.Error(_node, $"step for axis {ax} is 0");
            long start = starts[i], end = ends[i];
            if (start < 0) start += dim;
            if (end < 0) end += dim;
            long len;
            if (dim == 0) { start = 0; len = 0; }
            else if (step > 0)
            {
                start = Math.Clamp(start, 0, dim);
                end = Math.Clamp(end, 0, dim);
                len = end > start ? (end - start + step - 1) / step : 0;
            }
            else
            {
                start = Math.Clamp(start, 0, dim - 1);
                end = Math.Clamp(end, -1, dim - 1);
                len = start > end ? (start - end + (-step) - 1) / -step : 0;
            }
            shape[ax] = (int)len;
            // |step| > dim only ever reads one element, so cap it to keep the stride in int range.
            long effStep = Math.Clamp(step, -dim, dim);
            strides[ax] = (int)(own[ax] * effStep);
            if (len > 0) offset += start * own[ax];
        }
        outputs[0] = Broadcast.Materialize(x, (int)offset, strides, shape, buffers, 0);
    }
}
