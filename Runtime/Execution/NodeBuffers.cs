using Edge.Runtime.Kernels;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Execution;

/// <summary>
/// The memory one node uses while it runs: its output tensors, the tensor objects of its views, and
/// its scratch arrays. Operators ask for memory here instead of allocating it, so whoever runs them
/// decides its lifetime:
/// <list type="bullet">
/// <item><see cref="Fresh"/> hands out new memory on every request: results belong to the caller
///   (<see cref="Session.Run(IReadOnlyDictionary{string, Tensor})"/>, importers folding constants).</item>
/// <item>a reusing instance (<c>new NodeBuffers()</c>, one per node, as a <see cref="SessionRunner"/>
///   keeps them) remembers what it handed out and hands it out again when the next request has the
///   same slot, type and shape, so a run with unchanged shapes allocates nothing. A changed shape
///   makes a new buffer once.</item>
/// </list>
/// A reused output or scratch array still holds the previous run's values: operators write every
/// element they hand on, or ask for <see cref="ZeroedOutput"/>. A reusing instance's outputs, temporaries and scratch
/// start on a 64-byte boundary (pinned, <see cref="AlignedArray"/>): the kernels stream through them with 512-bit
/// loads and stores, which then never straddle two cache lines (the int8 forecaster 0.8-1.0 µs faster, probe A/B
/// of two sessions in one process). One instance serves one node on one
/// thread; operators themselves stay immutable after prepare, so runners on other threads can share them.
/// </summary>
internal sealed class NodeBuffers
{
    private readonly bool _reuse;
    private Tensor?[] _outputs = [];
    private Tensor?[] _views = [];
    private Tensor?[] _viewSources = []; // per view index: the contiguous source the cached view was made from
    private Tensor?[] _temporaries = [];
    private Array?[] _scratch = [];
    private int[] _scratchOrigin = [];

    /// <summary>A reusing instance for one node.</summary>
    public NodeBuffers() : this(reuse: true)
    {
    }

    private NodeBuffers(bool reuse) => _reuse = reuse;

    /// <summary>Hands out new memory on every request (shared, stateless).</summary>
    public static NodeBuffers Fresh { get; } = new(reuse: false);

    /// <summary>False for <see cref="Fresh"/>.</summary>
    public bool Reuses => _reuse;

    /// <summary>
    /// Output <paramref name="index"/> as a contiguous tensor of <paramref name="type"/> and
    /// <paramref name="shape"/>. Its values are unspecified when reused: the operator overwrites all of them.
    /// </summary>
    public Tensor Output(int index, DataType type, ReadOnlySpan<int> shape)
    {
        if (!_reuse) return Tensor.Zeros(type, shape);
        if (index >= _outputs.Length) Array.Resize(ref _outputs, index + 1);
        if (_outputs[index] is { } t && t.DataType == type && t.Shape.SequenceEqual(shape)) return t;
        return _outputs[index] = Tensor.ZerosAligned(type, shape);
    }

    /// <summary>
    /// A contiguous tensor the operator uses internally and does not hand on (a contiguous copy of a
    /// strided input, a converted index list), in its own numbering. Values unspecified when reused.
    /// </summary>
    public Tensor Temporary(int slot, DataType type, ReadOnlySpan<int> shape)
    {
        if (!_reuse) return Tensor.Zeros(type, shape);
        if (slot >= _temporaries.Length) Array.Resize(ref _temporaries, slot + 1);
        if (_temporaries[slot] is { } t && t.DataType == type && t.Shape.SequenceEqual(shape)) return t;
        return _temporaries[slot] = Tensor.ZerosAligned(type, shape);
    }

    /// <summary><see cref="Output"/>, filled with zeros (for operators that accumulate or leave gaps).</summary>
    public Tensor ZeroedOutput(int index, DataType type, ReadOnlySpan<int> shape)
    {
        if (!_reuse) return Tensor.Zeros(type, shape);
        var t = Output(index, type, shape);
        t.WritableBytes().Clear();
        return t;
    }

    /// <summary>
    /// Output <paramref name="index"/> as <paramref name="source"/> with another shape of the same
    /// element count, sharing its storage (Reshape, Squeeze, Unsqueeze, Flatten). A strided source is
    /// copied into an output buffer instead. The tensor object is cached, so an unchanged view costs nothing.
    /// </summary>
    public Tensor View(int index, Tensor source, ReadOnlySpan<int> shape)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (Tensor.ElementCount(shape) != source.Length)
            throw new EdgeException($"cannot view {source.ShapeString} ({source.Length} elements) as {Tensor.FormatShape(shape)}");
        var original = source;
        if (!source.IsContiguous)
        {
            var copy = Output(index, source.DataType, source.Shape);
            source.CopyTo(copy);
            source = copy;
        }
        if (!_reuse) return source.ViewAs(shape);
        if (index >= _views.Length)
        {
            Array.Resize(ref _views, index + 1);
            Array.Resize(ref _viewSources, index + 1);
        }
        _viewSources[index] = ReferenceEquals(source, original) ? source : null; // a copied source is copied again next time
        if (_views[index] is { } v && v.SharesStorage(source) && v.DataType == source.DataType && v.Shape.SequenceEqual(shape)) return v;
        return _views[index] = source.ViewAs(shape);
    }

    /// <summary>
    /// The view <see cref="View"/> returned last for <paramref name="index"/> when it was made from this very
    /// (contiguous) <paramref name="source"/> object, else null. Tensors never change shape or storage, so an
    /// operator whose view depends only on its source's shape and on constants (attributes, constant inputs)
    /// returns it again without redoing its shape arithmetic and checks.
    /// </summary>
    public Tensor? LastView(int index, Tensor source) =>
        _reuse && index < _viewSources.Length && ReferenceEquals(_viewSources[index], source) ? _views[index] : null;

    /// <summary>
    /// Scratch array <paramref name="slot"/> of at least <paramref name="length"/> elements, as a span of
    /// exactly that length. Its values are unspecified when reused; it grows only when a run needs more.
    /// </summary>
    public Span<T> Scratch<T>(int slot, int length) where T : unmanaged
    {
        if (!_reuse) return new T[length];
        if (slot >= _scratch.Length)
        {
            Array.Resize(ref _scratch, slot + 1);
            Array.Resize(ref _scratchOrigin, slot + 1);
        }
        if (_scratch[slot] is T[] a && a.Length - _scratchOrigin[slot] >= length) return a.AsSpan(_scratchOrigin[slot], length);
        var grown = AlignedArray.Allocate<T>(length, out int origin);
        _scratch[slot] = grown;
        _scratchOrigin[slot] = origin;
        return grown.AsSpan(origin, length);
    }
}
