using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Layers;

/// <summary>Input shape (int64, 1-D; empty → a scalar); attributes value (0) and dtype (Float32). Y filled with value.</summary>
internal sealed class ConstantOfShape : IOperator
{
    private readonly Node _node;
    private readonly float _value;
    private readonly DataType _dtype;

    public ConstantOfShape(Node node, OperatorContext context)
    {
        _ = context;
        _node = node;
        _value = node.GetFloat("value", 0f);
        long dt = node.GetInt("dtype", (long)DataType.Float32);
        if (dt is not ((long)DataType.Float32 or (long)DataType.Int64 or (long)DataType.Int32 or (long)DataType.Int8))
            throw OpUtil.Error(node, $"attribute dtype = {dt} is not a supported data type");
        _dtype = (DataType)dt;
    }

    public void Run(ReadOnlySpan<Tensor?> inputs, Span<Tensor?> outputs, NodeBuffers buffers)
    {
        var dims = OpUtil.Ints(_node, OpUtil.Required(_node, inputs, 0, "shape"), "shape", buffers, 0);
        OpUtil.CheckRank(_node, dims.Length);
        Span<int> shape = stackalloc int[dims.Length];
        for (int i = 0; i < dims.Length; i++) shape[i] = OpUtil.Dim(_node, dims[i], "shape", i);
        Tensor.ElementCount(shape);
        var y = buffers.Output(0, _dtype, shape);
        switch (_dtype)
        {
            case DataType.Float32: y.Span<float>().Fill(_value); break;
            case DataType.Int64: y.Span<long>().Fill((long)_value); break;
            case DataType.Int32: y.Span<int>().Fill((int)_value); break;
            case DataType.Int8: y.Span<sbyte>().Fill((sbyte)_value); break;
        }
        outputs[0] = y;
    }
}
