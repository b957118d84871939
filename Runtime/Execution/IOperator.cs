using Edge.Runtime.Ir;
using Edge.Runtime.Kernels;
using Edge.Runtime.Quantization;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Execution;

/// <summary>
/// A node prepared for execution (tflite-micro's prepare/invoke split): the constructor validates
/// attributes and constant inputs and pre-computes what it can (packed or transposed weights);
/// <c>Run</c> does only the per-call work.
/// </summary>
internal interface IOperator
{
    /// <summary>
    /// <paramref name="inputs"/> line up with <see cref="Node.Inputs"/> (null where the input is absent,
    /// and for an int8 weight the operator took through <see cref="OperatorContext.Quantized"/>);
    /// the operator assigns <paramref name="outputs"/>, which line up with <see cref="Node.Outputs"/>
    /// (it may leave null an output whose name is ""). The outputs are new tensors the caller owns
    /// (views share their input's storage, as <see cref="Tensor.Reshape"/> does).
    /// </summary>
    void Run(ReadOnlySpan<Tensor?> inputs, Span<Tensor?> outputs) => Run(inputs, outputs, NodeBuffers.Fresh);

    /// <summary>
    /// As <see cref="Run(ReadOnlySpan{Tensor?}, Span{Tensor?})"/>, with every output tensor, view and
    /// scratch array taken from <paramref name="buffers"/>: with a reusing <see cref="NodeBuffers"/> a
    /// call whose input shapes equal the previous call's allocates nothing. The operator never keeps
    /// per-call state itself, so one prepared operator may run with several buffers on several threads.
    /// </summary>
    void Run(ReadOnlySpan<Tensor?> inputs, Span<Tensor?> outputs, NodeBuffers buffers);
}

/// <summary>
/// What an operator may know when it is prepared: its node and the graph's constants.
/// An int8 weight is offered two ways: <see cref="Quantized"/> to operators with int8 kernels, and
/// <see cref="Constant"/> (dequantized to float32 on first request) to every other operator, so each
/// layer keeps an fp32 path. Only weights some operator asked for in fp32 are ever dequantized.
/// The kernel set (<see cref="Gemv"/>) is the session's, chosen once (<see cref="SessionOptions.Isa"/>).
/// </summary>
internal sealed class OperatorContext
{
    private readonly IReadOnlyDictionary<string, Tensor> _constants;
    private readonly IReadOnlyDictionary<string, QuantizedWeight> _quantized;
    private readonly Dictionary<string, Tensor> _dequantized = new(StringComparer.Ordinal);
    private readonly IReadOnlySet<string>? _read;
    private Gemv? _gemv;

    /// <param name="constants">The graph's fp32 (and int64) constants by name.</param>
    /// <param name="quantized">Its int8 weights by name; an operator without an int8 path gets them dequantized.</param>
    /// <param name="gemv">The session's kernel set; null: chosen from <c>EDGE_ISA</c> or the CPU when first needed.</param>
    /// <param name="readValues">The values the graph reads (node inputs and graph outputs), when known: an
    /// operator may skip an output no one reads (<see cref="IsRead"/>). Null: every output counts as read.</param>
    public OperatorContext(IReadOnlyDictionary<string, Tensor> constants, IReadOnlyDictionary<string, QuantizedWeight>? quantized = null, Gemv? gemv = null,
        IReadOnlySet<string>? readValues = null)
    {
        _constants = constants;
        _quantized = quantized ?? new Dictionary<string, QuantizedWeight>();
        _gemv = gemv;
        _read = readValues;
    }

    /// <summary>
    /// Whether value <paramref name="name"/> is read by a node or is a graph output. An operator may leave an
    /// unread output unmade (an LSTM's Y when only Y_h is used); the session then expects nothing there.
    /// </summary>
    public bool IsRead(string name) => name.Length > 0 && (_read is null || _read.Contains(name));

    /// <summary>
    /// The kernels every int8 (and fp32 gemv) product of the session runs on. Without one given to the
    /// constructor (importers folding constants), <see cref="Gemv.FromEnvironment"/> on first use.
    /// </summary>
    public Gemv Gemv => _gemv ??= Gemv.FromEnvironment();

    /// <summary>The constant value of a node input as a plain tensor, or null when it is computed at run time or absent.</summary>
    public Tensor? Constant(string name)
    {
        if (name.Length == 0) return null;
        if (_constants.TryGetValue(name, out var t)) return t;
        if (_dequantized.TryGetValue(name, out t)) return t;
        if (!_quantized.TryGetValue(name, out var q)) return null;
        t = WeightQuantizer.Dequantize(q);
        _dequantized[name] = t;
        return t;
    }

    /// <summary>The int8 form of a constant weight, or null when the weight is not quantized.</summary>
    public QuantizedWeight? Quantized(string name) => name.Length > 0 && _quantized.TryGetValue(name, out var q) ? q : null;

    /// <summary>Quantized weights that some operator asked for in float32 (the session feeds these at run time).</summary>
    internal IReadOnlyDictionary<string, Tensor> Dequantized => _dequantized;
}
