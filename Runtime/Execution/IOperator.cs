using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Execution;

/// <summary>
/// A node prepared for execution (tflite-micro's prepare/invoke split): the constructor validates
/// attributes and constant inputs and pre-computes what it can (packed or transposed weights);
/// <see cref="Run"/> does only the per-call work.
/// </summary>
public interface IOperator
{
    /// <summary>
    /// <paramref name="inputs"/> line up with <see cref="Node.Inputs"/> (null where the input is absent);
    /// the operator assigns <paramref name="outputs"/>, which line up with <see cref="Node.Outputs"/>
    /// (it may leave null an output whose name is "").
    /// </summary>
    void Run(ReadOnlySpan<Tensor?> inputs, Span<Tensor?> outputs);
}

/// <summary>What an operator may know when it is prepared: its node and the graph's constants.</summary>
public sealed class OperatorContext
{
    private readonly IReadOnlyDictionary<string, Tensor> _constants;

    public OperatorContext(IReadOnlyDictionary<string, Tensor> constants) => _constants = constants;

    /// <summary>The constant value of a node input, or null when it is computed at run time or absent.</summary>
    public Tensor? Constant(string name) => name.Length > 0 && _constants.TryGetValue(name, out var t) ? t : null;
}
