using Edge.Runtime.Execution;
using Edge.Runtime.Kernels;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Streaming;

/// <summary>
/// What a <see cref="ForecastStream"/> needs from one way of running its model; the stream owns validation,
/// the horizon and the rollout loop. Nothing here allocates once constructed (the runners' first call with
/// a shape makes their buffers, and the constructors make that call).
/// </summary>
internal abstract class StreamEngine
{
    /// <summary>Floats per model run: model steps x output features.</summary>
    public abstract int OutputLength { get; }

    /// <summary>Samples accepted since the last reset (saturates).</summary>
    public abstract int Count { get; }

    public abstract void Reset();

    /// <summary>Takes one finite, normalized sample into the context (ring or state).</summary>
    public abstract void Accept(ReadOnlySpan<float> sample);

    /// <summary>The model's output on the current context (<see cref="OutputLength"/> floats).</summary>
    public abstract void Forecast(Span<float> next);

    /// <summary>Starts a rollout: the context is copied so that fed-back steps do not touch it.</summary>
    public abstract void BeginRollout();

    /// <summary>Appends <paramref name="steps"/> (whole samples, oldest first) to the rollout context and runs the model into <paramref name="next"/>.</summary>
    public abstract void RollForward(ReadOnlySpan<float> steps, Span<float> next);

    public abstract void EndRollout();

    /// <summary>Copies the runner's output into <paramref name="next"/>, through a contiguous copy when it is a strided view.</summary>
    protected static void CopyOutput(Tensor y, ref Tensor? contiguous, Span<float> next)
    {
        if (!y.IsContiguous)
        {
            if (contiguous is null || !contiguous.Shape.SequenceEqual(y.Shape)) contiguous = Tensor.Zeros(DataType.Float32, y.Shape);
            y.CopyTo(contiguous);
            y = contiguous;
        }
        y.ReadOnlySpan<float>().CopyTo(next);
    }
}

/// <summary>
/// Window style, plain: a ring of the last n normalized samples; a forecast copies the ring in time order
/// into the runner's own input tensor (n x F floats) and runs the whole graph.
/// </summary>
internal sealed class WindowEngine : StreamEngine
{
    private readonly SessionRunner _runner;
    private readonly Tensor _input;
    private readonly int _outputIndex;
    private readonly int _window, _features;
    private readonly float[] _ring;
    private RingSlots _slots; // not readonly: Push and Reset mutate it in place
    private Tensor? _contiguous;

    public WindowEngine(Session session, int inputIndex, int[] inputShape, int outputIndex, int window, int features,
        IReadOnlyList<(int Input, int[] Shape, int Output)> zeroInputs)
    {
        _runner = session.CreateRunner();
        _input = _runner.Input(inputIndex, inputShape);
        foreach (var z in zeroInputs) _runner.Input(z.Input, z.Shape); // state inputs of a model run window style: zero state
        _outputIndex = outputIndex;
        _window = window;
        _features = features;
        _ring = new float[window * features];
        _slots = new RingSlots(window);
        _runner.Invoke(); // makes every buffer once, on zeros
        OutputLength = _runner.Output(outputIndex).Length;
    }

    public override int OutputLength { get; }

    public override int Count => _slots.Count;

    public override void Reset() => _slots.Reset();

    public override void Accept(ReadOnlySpan<float> sample) => sample.CopyTo(_ring.AsSpan(_slots.Push() * _features, _features));

    public override void Forecast(Span<float> next)
    {
        _slots.CopyOldestFirst(_ring, _features, _input.Span<float>());
        Run(next);
    }

    private void Run(Span<float> next)
    {
        _runner.Invoke();
        CopyOutput(_runner.Output(_outputIndex), ref _contiguous, next);
    }

    public override void BeginRollout()
    {
        // The input tensor holds the window of the last Forecast; the rollout slides it, the ring stays.
    }

    public override void RollForward(ReadOnlySpan<float> steps, Span<float> next)
    {
        var x = _input.Span<float>();
        int shift = Math.Min(steps.Length / _features, _window) * _features;
        x[shift..].CopyTo(x);
        steps[^shift..].CopyTo(x[^shift..]);
        Run(next);
    }

    public override void EndRollout()
    {
    }
}

/// <summary>
/// Window style with the first recurrent layer's input projections cached per sample (<see cref="CachedRecurrence"/>):
/// the ring holds W·x_t + b for the last n samples; a forecast runs the recurrence over it and the rest of
/// the graph on the layer's outputs.
/// </summary>
internal sealed class CachedWindowEngine : StreamEngine
{
    private readonly CachedRecurrence _layer;
    private readonly SessionRunner _rest;
    private readonly Tensor? _y, _yh, _yc;
    private readonly int _outputIndex;
    private readonly int _window, _features, _width;
    // 64-byte aligned (AlignedBuffer): the cell reads and writes them with 512-bit vectors.
    private readonly AlignedBuffer<float> _ring;   // n x width projections
    private readonly AlignedBuffer<float> _work;   // n x width: the rollout's sliding window of projections
    private readonly AlignedBuffer<float> _scratch;
    private RingSlots _slots; // not readonly: Push and Reset mutate it in place
    private Tensor? _contiguous;

    public CachedWindowEngine(Session rest, CachedRecurrence layer, bool[] slots, string output, int window, int features)
    {
        _layer = layer;
        _window = window;
        _features = features;
        _width = layer.Width;
        _ring = new AlignedBuffer<float>(window * _width);
        _work = new AlignedBuffer<float>(window * _width);
        _scratch = new AlignedBuffer<float>(layer.ScratchLength);
        _slots = new RingSlots(window);
        _rest = rest.CreateRunner();
        int input = 0;
        for (int slot = 0; slot < 3; slot++)
        {
            if (!slots[slot]) continue;
            var t = _rest.Input(input++);
            if (slot == 0) _y = t; else if (slot == 1) _yh = t; else _yc = t;
        }
        _outputIndex = _rest.OutputIndex(output);
        _rest.Invoke();
        OutputLength = _rest.Output(_outputIndex).Length;
    }

    public override int OutputLength { get; }

    public override int Count => _slots.Count;

    public override void Reset() => _slots.Reset();

    public override void Accept(ReadOnlySpan<float> sample) => _layer.Project(sample, _ring.Span.Slice(_slots.Push() * _width, _width));

    public override void Forecast(Span<float> next) => Run(_ring.Span, _slots.Head, next);

    private void Run(ReadOnlySpan<float> projections, int start, Span<float> next)
    {
        _layer.Run(projections, start, _window, _window,
            _y is null ? default : _y.Span<float>(), _yh is null ? default : _yh.Span<float>(), _yc is null ? default : _yc.Span<float>(), _scratch.Span);
        _rest.Invoke();
        CopyOutput(_rest.Output(_outputIndex), ref _contiguous, next);
    }

    public override void BeginRollout()
    {
        _slots.CopyOldestFirst(_ring.Span, _width, _work.Span);
    }

    public override void RollForward(ReadOnlySpan<float> steps, Span<float> next)
    {
        int count = Math.Min(steps.Length / _features, _window);
        var w = _work.Span;
        w[(count * _width)..].CopyTo(w);
        var fed = steps[^(count * _features)..];
        for (int k = 0; k < count; k++)
            _layer.Project(fed.Slice(k * _features, _features), w.Slice((_window - count + k) * _width, _width));
        Run(_work.Span, 0, next);
    }

    public override void EndRollout()
    {
    }
}

/// <summary>
/// Stateful style: one sample per run of a graph whose sample input takes one step; the state outputs are
/// copied into the state inputs after every run. A rollout saves the state and restores it afterwards.
/// </summary>
internal sealed class StatefulEngine : StreamEngine
{
    private readonly SessionRunner _runner;
    private readonly Tensor _input;
    private readonly int _outputIndex;
    private readonly StateSlot[] _states;
    private readonly float[] _last;
    private int _count;
    private Tensor? _contiguous;

    public StatefulEngine(Session session, int inputIndex, int[] inputShape, int outputIndex, IReadOnlyList<(int Input, int[] Shape, int Output)> states)
    {
        _runner = session.CreateRunner();
        _input = _runner.Input(inputIndex, inputShape);
        _outputIndex = outputIndex;
        _states = states.Select(s => new StateSlot(_runner.Input(s.Input, s.Shape), s.Output)).ToArray();
        _runner.Invoke();
        foreach (var s in _states)
        {
            var y = _runner.Output(s.Output);
            if (y.Length != s.In.Length || y.DataType != DataType.Float32)
                throw new EdgeException($"state output '{session.Outputs[s.Output].Name}' {y.DataType.Name()}{y.ShapeString} does not fit its input {s.In.ShapeString}");
        }
        OutputLength = _runner.Output(outputIndex).Length;
        _last = new float[OutputLength];
        Reset();
    }

    public override int OutputLength { get; }

    public override int Count => _count;

    public override void Reset()
    {
        foreach (var s in _states) s.In.Span<float>().Clear();
        _count = 0;
    }

    private void Step(ReadOnlySpan<float> sample)
    {
        sample.CopyTo(_input.Span<float>());
        _runner.Invoke();
        foreach (var s in _states) CopyOutput(_runner.Output(s.Output), ref s.Contiguous, s.In.Span<float>());
    }

    public override void Accept(ReadOnlySpan<float> sample)
    {
        Step(sample);
        CopyOutput(_runner.Output(_outputIndex), ref _contiguous, _last);
        if (_count < int.MaxValue) _count++;
    }

    public override void Forecast(Span<float> next) => _last.CopyTo(next);

    public override void BeginRollout()
    {
        foreach (var s in _states) s.In.ReadOnlySpan<float>().CopyTo(s.Saved);
    }

    public override void RollForward(ReadOnlySpan<float> steps, Span<float> next)
    {
        int f = _input.Length;
        for (int k = 0; k + f <= steps.Length; k += f) Step(steps.Slice(k, f));
        CopyOutput(_runner.Output(_outputIndex), ref _contiguous, next);
    }

    public override void EndRollout()
    {
        foreach (var s in _states) s.Saved.CopyTo(s.In.Span<float>());
    }

    private sealed class StateSlot(Tensor input, int output)
    {
        public readonly Tensor In = input;
        public readonly int Output = output;
        public readonly float[] Saved = new float[input.Length];
        public Tensor? Contiguous;
    }
}

/// <summary>
/// The slots of a ring of the last <c>window</c> samples, shared by the window-style engines: where the next
/// sample goes (<see cref="Push"/>), where the oldest one is (<see cref="Head"/>), and the ring in time order.
/// A mutable struct: hold it in a non-readonly field.
/// </summary>
internal struct RingSlots(int window)
{
    /// <summary>Slot of the oldest sample once the ring is full (0 before).</summary>
    public int Head { get; private set; }

    /// <summary>Samples held, at most the window.</summary>
    public int Count { get; private set; }

    public void Reset()
    {
        Head = 0;
        Count = 0;
    }

    /// <summary>The slot the next sample goes into (overwriting the oldest when full); the ring advances by one.</summary>
    public int Push()
    {
        int slot = Head + Count;
        if (slot >= window) slot -= window;
        if (Count < window) Count++;
        else if (++Head == window) Head = 0;
        return slot;
    }

    /// <summary>Copies the ring (slots of <paramref name="stride"/> floats) into <paramref name="destination"/> oldest first: [head, end) then [0, head).</summary>
    public readonly void CopyOldestFirst(ReadOnlySpan<float> ring, int stride, Span<float> destination)
    {
        int tail = (window - Head) * stride;
        ring.Slice(Head * stride, tail).CopyTo(destination);
        ring[..(Head * stride)].CopyTo(destination[tail..]);
    }
}
