using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Execution;

/// <summary>
/// Runs a <see cref="Session"/>'s graph again and again without allocating: every node keeps its
/// output tensors, views and scratch arrays from one <see cref="Invoke"/> to the next and reuses them
/// while the shapes stay the same (the first call with new input shapes makes them, once).
/// <code>
/// var run = session.CreateRunner();
/// var x = run.Input(0, 1, 50, 6);   // the runner's own input tensor of that shape: fill it
/// x.Span&lt;float&gt;()...;
/// run.Invoke();
/// var y = run.Output(0);            // valid until the next Invoke
/// </code>
/// In a Debug build a literal shape (<c>Input(0, 1, 50, 6)</c>) may allocate at the call site (the
/// unoptimized JIT does not expand <c>RuntimeHelpers.CreateSpan</c>); pass a shape array made once there.
/// Memory: every node keeps its outputs, so a runner holds all intermediate values of the graph at once
/// (Session.Run frees each after its last reader).
/// Buffer lifetimes:
/// <list type="bullet">
/// <item><see cref="Input(int)"/> tensors belong to the runner and keep their values between calls; one
///   is replaced (and the old one no longer read) when <see cref="Input(int, ReadOnlySpan{int})"/> asks for another shape.</item>
/// <item>A tensor given to <see cref="Bind"/> belongs to the caller; it is read (not copied, when it is
///   contiguous and of the declared type) by every later <see cref="Invoke"/>, until the input is bound
///   again or <see cref="Input(int)"/> / <see cref="Input(int, ReadOnlySpan{int})"/> switches it back to the runner's tensor.</item>
/// <item><see cref="Output"/> tensors belong to the runner: their values are overwritten by the next
///   <see cref="Invoke"/>, and a new input shape may replace them. An output that is a view (a Reshape
///   or Squeeze of an input) shares that input's storage. Copy (<see cref="Tensor.Clone"/>) to keep one.</item>
/// </list>
/// A runner is used by one thread at a time; runners of one session may run on different threads
/// (operators are immutable once prepared). For results the caller owns, use <see cref="Session.Run(IReadOnlyDictionary{string, Tensor})"/>.
/// </summary>
public sealed class SessionRunner
{
    private readonly Session _session;
    private readonly Tensor?[] _values;
    private readonly NodeBuffers[] _buffers;
    private readonly Tensor?[] _inBuf, _outBuf;
    private readonly Tensor?[] _owned; // per graph input: the runner's own tensor
    private readonly Tensor?[] _bound; // per graph input: a caller's tensor, when bound
    private readonly NodeBuffers _conversions = new(); // int32 <-> int64 and strided inputs, made contiguous in the declared type

    internal SessionRunner(Session session)
    {
        _session = session;
        _values = new Tensor?[session.ValueCount];
        foreach (var (index, value) in session.ConstantValues) _values[index] = value;
        _buffers = new NodeBuffers[session.NodeCount];
        for (int i = 0; i < _buffers.Length; i++) _buffers[i] = new NodeBuffers();
        _inBuf = new Tensor?[session.MaxNodeInputs];
        _outBuf = new Tensor?[session.MaxNodeOutputs];
        var inputs = session.Inputs;
        _owned = new Tensor?[inputs.Count];
        _bound = new Tensor?[inputs.Count];
        for (int i = 0; i < inputs.Count; i++)
        {
            var info = inputs[i];
            if (Array.IndexOf(info.Shape, ValueInfo.Dynamic) < 0) _owned[i] = Tensor.Zeros(info.DataType, info.Shape);
        }
    }

    /// <summary>The session whose graph this runner runs.</summary>
    public Session Session => _session;

    /// <summary>The position of the graph input named <paramref name="name"/> (as in <see cref="Session.InputNames"/>).</summary>
    public int InputIndex(string name)
    {
        var inputs = _session.Inputs;
        for (int i = 0; i < inputs.Count; i++) if (inputs[i].Name == name) return i;
        throw new EdgeException($"'{name}' is not an input of the model; inputs are: {string.Join(", ", inputs)}");
    }

    /// <summary>The position of the graph output named <paramref name="name"/> (as in <see cref="Session.OutputNames"/>).</summary>
    public int OutputIndex(string name)
    {
        var outputs = _session.Outputs;
        for (int i = 0; i < outputs.Count; i++) if (outputs[i].Name == name) return i;
        throw new EdgeException($"'{name}' is not an output of the model; outputs are: {string.Join(", ", outputs)}");
    }

    /// <summary>
    /// The runner's tensor for input <paramref name="index"/>, to fill before <see cref="Invoke"/>: of the
    /// declared shape when it has no dynamic dimension, else of the shape last asked for.
    /// </summary>
    public Tensor Input(int index)
    {
        var info = Info(index);
        _bound[index] = null;
        return _owned[index] ?? throw new EdgeException(
            $"input '{info.Name}' {info.DataType.Name()}{info.ShapeString} has a dynamic dimension: give its shape with Input({index}, shape) or bind a tensor");
    }

    /// <summary>
    /// The runner's tensor for input <paramref name="index"/> with <paramref name="shape"/> (which must fit
    /// the declared shape). The same tensor as last time when the shape is unchanged; else a new one, once.
    /// </summary>
    public Tensor Input(int index, params ReadOnlySpan<int> shape)
    {
        var info = Info(index);
        if (!Session.ShapeFits(info, shape)) throw new EdgeException($"input '{info.Name}' must have shape {info.ShapeString}, got {Tensor.FormatShape(shape)}");
        _bound[index] = null;
        if (_owned[index] is { } t && t.Shape.SequenceEqual(shape)) return t;
        return _owned[index] = Tensor.Zeros(info.DataType, shape);
    }

    /// <summary>
    /// Reads input <paramref name="index"/> from the caller's <paramref name="tensor"/> on every later
    /// <see cref="Invoke"/> (no copy when its type is the declared one and it is contiguous). Checked at each Invoke.
    /// </summary>
    public void Bind(int index, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        Info(index);
        _bound[index] = tensor;
    }

    /// <summary>Runs the graph on the current inputs. Allocates nothing when every input shape equals the previous call's.</summary>
    public void Invoke()
    {
        var inputs = _session.Inputs;
        var slots = _session.InputValues;
        for (int i = 0; i < slots.Length; i++) _values[slots[i]] = Feed(i, inputs[i]);
        _session.Execute(_values, _buffers, _inBuf, _outBuf);
    }

    /// <summary>Output <paramref name="index"/> of the last <see cref="Invoke"/>; owned by the runner, valid until the next one.</summary>
    public Tensor Output(int index)
    {
        var slots = _session.OutputValues;
        if ((uint)index >= (uint)slots.Length)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"the model has {slots.Length} output(s)");
        return _values[slots[index]] ?? throw new InvalidOperationException("Invoke has not run yet");
    }

    private ValueInfo Info(int index)
    {
        var inputs = _session.Inputs;
        if ((uint)index >= (uint)inputs.Count)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"the model has {inputs.Count} input(s)");
        return inputs[index];
    }

    private Tensor Feed(int i, ValueInfo info)
    {
        if (_bound[i] is not { } t)
            return _owned[i] ?? throw new EdgeException(
                $"input '{info.Name}' {info.DataType.Name()}{info.ShapeString} was not given: fill Input({i}, shape) or Bind({i}, tensor)");
        if (!Session.ShapeFits(info, t.Shape))
            throw new EdgeException($"input '{info.Name}' must have shape {info.ShapeString}, got {t.ShapeString}");
        bool integers = t.DataType is DataType.Int32 or DataType.Int64 && info.DataType is DataType.Int32 or DataType.Int64;
        if (t.DataType != info.DataType && !integers)
            throw new EdgeException($"input '{info.Name}' must be {info.DataType.Name()}{info.ShapeString}, got {t.DataType.Name()}{t.ShapeString}");
        if (t.DataType == info.DataType && t.IsContiguous) return t;
        // Index inputs saved by numpy default to int64; either integer width is accepted (as Session.Run does).
        var converted = _conversions.Output(i, info.DataType, t.Shape);
        if (t.DataType == info.DataType) t.CopyTo(converted);
        else Layers.Cast.Into(t, converted, _conversions, i);
        return converted;
    }
}
