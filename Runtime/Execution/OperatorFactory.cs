using Edge.Runtime.Ir;
using Edge.Runtime.Layers;

namespace Edge.Runtime.Execution;

/// <summary>Prepares the operator for a node. Importers use it too, to fold constant glue.</summary>
internal static class OperatorFactory
{
    public static IOperator Create(Node node, OperatorContext context)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(context);
        return node.Kind switch
        {
            OpKind.Lstm => new Lstm(node, context),
            OpKind.Gru => new Gru(node, context),
            OpKind.Rnn => new Rnn(node, context),
            OpKind.Dense => new Dense(node, context),
            OpKind.Gemm => new Gemm(node, context),
            OpKind.MatMul => new MatMul(node, context),
            OpKind.Conv1D => new Conv1D(node, context),
            OpKind.LocallyConnected1D => new LocallyConnected1D(node, context),
            OpKind.Bilinear => new Bilinear(node, context),
            OpKind.Embedding => new Embedding(node, context),
            OpKind.RepeatVector => new RepeatVector(node, context),
            OpKind.Add or OpKind.Sub or OpKind.Mul or OpKind.Div or OpKind.Max or OpKind.Min => new Binary(node, context),
            OpKind.Relu or OpKind.Sigmoid or OpKind.Tanh or OpKind.HardSigmoid or OpKind.LeakyRelu or OpKind.Elu
                or OpKind.Softsign or OpKind.Softplus or OpKind.Exp or OpKind.Neg or OpKind.Abs or OpKind.Sqrt => new Unary(node, context),
            OpKind.Softmax or OpKind.LogSoftmax => new Softmax(node, context),
            OpKind.Identity => new Identity(node, context),
            OpKind.Concat => new Concat(node, context),
            OpKind.Stack => new Stack(node, context),
            OpKind.Reshape => new Reshape(node, context),
            OpKind.Transpose => new Transpose(node, context),
            OpKind.Squeeze => new Squeeze(node, context),
            OpKind.Unsqueeze => new Unsqueeze(node, context),
            OpKind.Flatten => new Flatten(node, context),
            OpKind.Slice => new Slice(node, context),
            OpKind.Gather => new Gather(node, context),
            OpKind.Shape => new ShapeOf(node, context),
            OpKind.Cast => new Cast(node, context),
            OpKind.ConstantOfShape => new ConstantOfShape(node, context),
            OpKind.Expand => new Expand(node, context),
            OpKind.Tile => new Tile(node, context),
            OpKind.ReduceSum or OpKind.ReduceProd or OpKind.ReduceMax => new Reduce(node, context),
            OpKind.Pad => new Pad(node, context),
            OpKind.PRelu => new PRelu(node, context),
            OpKind.Clip => new Clip(node, context),
            _ => throw new EdgeException($"node '{node.Name}': op kind {node.Kind} has no implementation"),
        };
    }
}
