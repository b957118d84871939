using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Layers;

// SCAFFOLD: not implemented yet.
internal sealed class RepeatVector : IOperator
{
    public RepeatVector(Node node, OperatorContext context) { _ = node; _ = context; }

    public void Run(ReadOnlySpan<Tensor?> inputs, Span<Tensor?> outputs) => throw new NotImplementedException("RepeatVector");
}
