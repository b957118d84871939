using Edge.Runtime.Kernels;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Edge.Runtime.Tensors;

/// <summary>
/// An n-dimensional array: a data type, a shape, strides (in elements) and a typed buffer.
/// Tensors made by Edge are contiguous in C order; <see cref="Permute"/> makes a strided view and
/// <see cref="Contiguous"/> materializes one. Kernels read contiguous tensors through
/// <see cref="Span{T}"/>; the element type is checked once there, not per element.
/// </summary>
public sealed class Tensor
{
    private readonly Array _buffer;
    private readonly int _offset;
    private readonly int[] _shape;
    private readonly int[] _strides;
    private readonly bool _contiguous;

    private Tensor(DataType dataType, Array buffer, int offset, int[] shape, int[] strides)
    {
        DataType = dataType;
        _buffer = buffer;
        _offset = offset;
        _shape = shape;
        _strides = strides;
        Length = ElementCount(shape);
        _contiguous = ComputeContiguous();
    }

    /// <summary>The element type.</summary>
    public DataType DataType { get; }

    /// <summary>Number of elements (the product of the shape; 1 for a scalar).</summary>
    public int Length { get; }

    /// <summary>Number of axes (0 for a scalar).</summary>
    public int Rank => _shape.Length;

    /// <summary>Size of each axis, outermost first.</summary>
    public ReadOnlySpan<int> Shape => _shape;

    /// <summary>Distance in elements between neighbours along each axis (C order for a contiguous tensor).</summary>
    public ReadOnlySpan<int> Strides => _strides;

    /// <summary>Size of axis <paramref name="axis"/>; negative counts from the end (-1: the last axis). Throws <see cref="EdgeException"/> when out of range.</summary>
    public int Dim(int axis) => _shape[NormalizeAxis(axis, _shape.Length)];

    /// <summary>Whether the elements lie in C order without gaps (fixed at construction: shape and strides never change).</summary>
    public bool IsContiguous => _contiguous;

    private bool ComputeContiguous()
    {
        if (Length == 0) return true; // no element to misplace; strides of an empty tensor are arbitrary
        int expected = 1;
        for (int i = _shape.Length - 1; i >= 0; i--)
        {
            if (_shape[i] != 1 && _strides[i] != expected) return false;
            expected *= _shape[i];
        }
        return true;
    }

    /// <summary>A copy of the shape, for callers that need an array.</summary>
    public int[] ShapeArray() => (int[])_shape.Clone();

    /// <summary>The shape as text, e.g. "(1, 50, 6)" or "(3,)".</summary>
    public string ShapeString => FormatShape(_shape);

    // ── construction ──────────────────────────────────────────────────────────────────────────

    /// <summary>A zero-filled contiguous tensor of <paramref name="dataType"/> and <paramref name="shape"/> (copied).</summary>
    public static Tensor Zeros(DataType dataType, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        return ZeroFilled(dataType, shape, aligned: false);
    }

    /// <summary>A zero-filled contiguous tensor of the element type <typeparamref name="T"/> (float, long, int or sbyte).</summary>
    public static Tensor Zeros<T>(params int[] shape) where T : unmanaged => Zeros(DataTypes.Of<T>(), shape);

    /// <summary>A zero-filled contiguous tensor; the shape is copied (so a stackalloc'd span may be passed).</summary>
    public static Tensor Zeros(DataType dataType, ReadOnlySpan<int> shape) => ZeroFilled(dataType, shape, aligned: false);

    /// <summary>
    /// <see cref="Zeros(DataType, ReadOnlySpan{int})"/> whose first element starts on a 64-byte boundary (a cache line,
    /// a 512-bit vector; <see cref="AlignedArray"/>): for buffers the kernels stream through with vector loads and
    /// stores, which then never straddle two cache lines. The storage is pinned (it never moves, so the alignment holds).
    /// </summary>
    internal static Tensor ZerosAligned(DataType dataType, ReadOnlySpan<int> shape) => ZeroFilled(dataType, shape, aligned: true);

    private static Tensor ZeroFilled(DataType dataType, ReadOnlySpan<int> shape, bool aligned)
    {
        foreach (var d in shape)
            if (d < 0) throw new ArgumentException($"negative dimension in shape {FormatShape(shape)}");
        int n = ElementCount(shape);
        AllocationBudget.Charge(n, dataType.SizeOf(), shape);
        int origin = 0;
        Array buffer = dataType switch
        {
            DataType.Float32 => aligned ? AlignedArray.Allocate<float>(n, out origin) : new float[n],
            DataType.Int64 => aligned ? AlignedArray.Allocate<long>(n, out origin) : new long[n],
            DataType.Int32 => aligned ? AlignedArray.Allocate<int>(n, out origin) : new int[n],
            DataType.Int8 => aligned ? AlignedArray.Allocate<sbyte>(n, out origin) : new sbyte[n],
            _ => throw new ArgumentOutOfRangeException(nameof(dataType)),
        };
        return new Tensor(dataType, buffer, origin, shape.ToArray(), ContiguousStrides(shape));
    }

    /// <summary>Wraps <paramref name="data"/> (not copied) as a contiguous tensor.</summary>
    public static Tensor FromArray<T>(T[] data, params int[] shape) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(data);
        ValidateShape(shape);
        int n = ElementCount(shape);
        if (n != data.Length)
            throw new ArgumentException($"shape {FormatShape(shape)} holds {n} elements but the data has {data.Length}");
        return new Tensor(DataTypes.Of<T>(), data, 0, (int[])shape.Clone(), ContiguousStrides(shape));
    }

    /// <summary>A rank-0 (scalar) float32 tensor holding <paramref name="value"/>.</summary>
    public static Tensor Scalar(float value) => FromArray(new[] { value });

    /// <summary>A rank-0 (scalar) int64 tensor holding <paramref name="value"/>.</summary>
    public static Tensor Scalar(long value) => FromArray(new[] { value });

    // ── data access ───────────────────────────────────────────────────────────────────────────

    /// <summary>
    /// The elements of a contiguous tensor, in C order (no copy). Throws <see cref="InvalidOperationException"/> when
    /// <typeparamref name="T"/> is not the element type or the tensor is a strided view (see <see cref="Contiguous"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<T> Span<T>() where T : unmanaged
    {
        CheckType<T>();
        if (!_contiguous) ThrowStrided();
        // The buffer is a T[]: every constructor pairs the data type with an array of its element type.
        return MemoryMarshal.CreateSpan(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(Unsafe.As<T[]>(_buffer)), _offset), Length);
    }

    private void ThrowStrided() => throw new InvalidOperationException($"tensor {ShapeString} is a strided view; call Contiguous() first");

    /// <summary>The elements of a contiguous tensor, in C order, read-only. Throws like <see cref="Span{T}"/>.</summary>
    public ReadOnlySpan<T> ReadOnlySpan<T>() where T : unmanaged => Span<T>();

    /// <summary>Raw little-endian bytes of a contiguous tensor (for writing files).</summary>
    public ReadOnlySpan<byte> Bytes() => DataType switch
    {
        DataType.Float32 => MemoryMarshal.AsBytes(ReadOnlySpan<float>()),
        DataType.Int64 => MemoryMarshal.AsBytes(ReadOnlySpan<long>()),
        DataType.Int32 => MemoryMarshal.AsBytes(ReadOnlySpan<int>()),
        DataType.Int8 => MemoryMarshal.AsBytes(ReadOnlySpan<sbyte>()),
        _ => throw new InvalidOperationException(),
    };

    /// <summary>Writable raw bytes of a contiguous tensor (for reading files into it).</summary>
    internal Span<byte> WritableBytes() => DataType switch
    {
        DataType.Float32 => MemoryMarshal.AsBytes(Span<float>()),
        DataType.Int64 => MemoryMarshal.AsBytes(Span<long>()),
        DataType.Int32 => MemoryMarshal.AsBytes(Span<int>()),
        DataType.Int8 => MemoryMarshal.AsBytes(Span<sbyte>()),
        _ => throw new InvalidOperationException(),
    };

    /// <summary>Element at a multi-index; honours strides. For tests and glue, not for kernels.</summary>
    public T Get<T>(params int[] index) where T : unmanaged
    {
        CheckType<T>();
        return ((T[])_buffer)[_offset + FlatIndex(index)];
    }

    /// <summary>Sets the element at a multi-index; honours strides. For tests and glue, not for kernels.</summary>
    public void Set<T>(T value, params int[] index) where T : unmanaged
    {
        CheckType<T>();
        ((T[])_buffer)[_offset + FlatIndex(index)] = value;
    }

    /// <summary>Reads every element as a double, in C order (any dtype, any strides).</summary>
    public double[] ToDoubleArray()
    {
        var c = Contiguous();
        var result = new double[Length];
        switch (DataType)
        {
            case DataType.Float32: { var s = c.ReadOnlySpan<float>(); for (int i = 0; i < s.Length; i++) result[i] = s[i]; break; }
            case DataType.Int64: { var s = c.ReadOnlySpan<long>(); for (int i = 0; i < s.Length; i++) result[i] = s[i]; break; }
            case DataType.Int32: { var s = c.ReadOnlySpan<int>(); for (int i = 0; i < s.Length; i++) result[i] = s[i]; break; }
            case DataType.Int8: { var s = c.ReadOnlySpan<sbyte>(); for (int i = 0; i < s.Length; i++) result[i] = s[i]; break; }
        }
        return result;
    }

    /// <summary>Reads an integer tensor (int64/int32/int8) as longs; used for shapes, axes and indices.</summary>
    public long[] ToInt64Array()
    {
        var c = Contiguous();
        return DataType switch
        {
            DataType.Int64 => c.ReadOnlySpan<long>().ToArray(),
            DataType.Int32 => Array.ConvertAll(c.ReadOnlySpan<int>().ToArray(), v => (long)v),
            DataType.Int8 => Array.ConvertAll(c.ReadOnlySpan<sbyte>().ToArray(), v => (long)v),
            _ => throw new EdgeException($"expected an integer tensor, got {DataType.Name()} {ShapeString}"),
        };
    }

    // ── views and copies ──────────────────────────────────────────────────────────────────────

    /// <summary>Same data, new shape (one dimension may be -1). Copies only if this is a strided view.</summary>
    public Tensor Reshape(params int[] shape)
    {
        var resolved = ResolveReshape(_shape, shape);
        var c = Contiguous();
        return new Tensor(DataType, c._buffer, c._offset, resolved, ContiguousStrides(resolved));
    }

    /// <summary>
    /// A new tensor object over this contiguous tensor's storage with <paramref name="shape"/> (same
    /// element count; the caller resolved it). Unlike <see cref="Reshape"/> it never copies.
    /// </summary>
    internal Tensor ViewAs(ReadOnlySpan<int> shape)
    {
        if (!IsContiguous) throw new InvalidOperationException($"tensor {ShapeString} is a strided view; it has no contiguous storage to view");
        if (ElementCount(shape) != Length) throw new EdgeException($"cannot view {ShapeString} ({Length} elements) as {FormatShape(shape)}");
        return new Tensor(DataType, _buffer, _offset, shape.ToArray(), ContiguousStrides(shape));
    }

    /// <summary>True when both tensors start at the same element of the same storage (a view of the other, or the same tensor).</summary>
    internal bool SharesStorage(Tensor other) => ReferenceEquals(_buffer, other._buffer) && _offset == other._offset;

    /// <summary>Whether both tensors live in the same array (they may overlap).</summary>
    internal bool SameBuffer(Tensor other) => ReferenceEquals(_buffer, other._buffer);

    /// <summary>A strided view with axes reordered: result axis i is this tensor's axis perm[i].</summary>
    public Tensor Permute(params int[] perm)
    {
        if (perm.Length != Rank)
            throw new ArgumentException($"permutation of length {perm.Length} for a rank-{Rank} tensor");
        var seen = new bool[Rank];
        var shape = new int[Rank];
        var strides = new int[Rank];
        for (int i = 0; i < perm.Length; i++)
        {
            int p = NormalizeAxis(perm[i], Rank);
            if (seen[p]) throw new ArgumentException($"permutation [{string.Join(", ", perm)}] repeats axis {p}");
            seen[p] = true;
            shape[i] = _shape[p];
            strides[i] = _strides[p];
        }
        return new Tensor(DataType, _buffer, _offset, shape, strides);
    }

    /// <summary>This tensor if contiguous, else a contiguous copy.</summary>
    public Tensor Contiguous() => IsContiguous ? this : Clone();

    /// <summary>A contiguous deep copy.</summary>
    public Tensor Clone()
    {
        var result = Zeros(DataType, _shape);
        switch (DataType)
        {
            case DataType.Float32: CopyStrided<float>(result); break;
            case DataType.Int64: CopyStrided<long>(result); break;
            case DataType.Int32: CopyStrided<int>(result); break;
            case DataType.Int8: CopyStrided<sbyte>(result); break;
        }
        return result;
    }

    /// <summary>Copies this tensor's values (any strides) into <paramref name="destination"/>, a contiguous tensor of the same type and shape.</summary>
    public void CopyTo(Tensor destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (destination.DataType != DataType || !destination.Shape.SequenceEqual(Shape) || !destination.IsContiguous)
            throw new ArgumentException($"cannot copy {this} into {destination} (contiguous, same type and shape needed)", nameof(destination));
        switch (DataType)
        {
            case DataType.Float32: CopyStrided<float>(destination); break;
            case DataType.Int64: CopyStrided<long>(destination); break;
            case DataType.Int32: CopyStrided<int>(destination); break;
            case DataType.Int8: CopyStrided<sbyte>(destination); break;
        }
    }

    private void CopyStrided<T>(Tensor dst) where T : unmanaged
    {
        var src = (T[])_buffer;
        var d = dst.Span<T>();
        if (Length == 0) return;
        if (IsContiguous)
        {
            src.AsSpan(_offset, Length).CopyTo(d);
            return;
        }
        int rank = Rank;
        Span<int> idx = stackalloc int[Math.Max(rank, 1)];
        idx.Clear();
        int srcPos = _offset;
        for (int i = 0; i < d.Length; i++)
        {
            d[i] = src[srcPos];
            for (int ax = rank - 1; ax >= 0; ax--)
            {
                idx[ax]++;
                srcPos += _strides[ax];
                if (idx[ax] < _shape[ax]) break;
                srcPos -= _strides[ax] * _shape[ax];
                idx[ax] = 0;
            }
        }
    }

    /// <summary>The element type and shape, e.g. "Tensor&lt;float32&gt;(1, 6)".</summary>
    public override string ToString() => $"Tensor<{DataType.Name()}>{ShapeString}";

    // ── helpers ───────────────────────────────────────────────────────────────────────────────

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CheckType<T>() where T : unmanaged
    {
        if (DataTypes.Of<T>() != DataType) ThrowType(DataTypes.Of<T>());
    }

    private void ThrowType(DataType wanted) => throw new InvalidOperationException($"tensor holds {DataType.Name()}, not {wanted.Name()}");

    private int FlatIndex(int[] index)
    {
        if (index.Length != Rank)
            throw new ArgumentException($"index of rank {index.Length} into a tensor of shape {ShapeString}");
        int flat = 0;
        for (int i = 0; i < index.Length; i++)
        {
            if ((uint)index[i] >= (uint)_shape[i])
                throw new IndexOutOfRangeException($"index {index[i]} out of range for axis {i} of shape {ShapeString}");
            flat += index[i] * _strides[i];
        }
        return flat;
    }

    internal static int ElementCount(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (var d in shape)
        {
            n *= d;
            if (n > Array.MaxLength) throw new EdgeException($"shape {FormatShape(shape)} is too large");
        }
        return (int)n;
    }

    internal static int[] ContiguousStrides(ReadOnlySpan<int> shape)
    {
        var strides = new int[shape.Length];
        ContiguousStrides(shape, strides);
        return strides;
    }

    /// <summary>C-order strides of <paramref name="shape"/> into <paramref name="strides"/> (same length), without allocating.</summary>
    internal static void ContiguousStrides(ReadOnlySpan<int> shape, Span<int> strides)
    {
        int s = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            strides[i] = s;
            s *= Math.Max(shape[i], 1);
        }
    }

    internal static string FormatShape(ReadOnlySpan<int> shape) => "(" + string.Join(", ", shape.ToArray()) + (shape.Length == 1 ? ",)" : ")");

    internal static int NormalizeAxis(int axis, int rank)
    {
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank)
            throw new EdgeException($"axis {axis} is out of range for rank {rank}");
        return a;
    }

    private static void ValidateShape(int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        foreach (var d in shape)
            if (d < 0) throw new ArgumentException($"negative dimension in shape {FormatShape(shape)}");
    }

    /// <summary>Resolves a target shape with at most one -1 against an element count (numpy rules; 0 stays 0).</summary>
    internal static int[] ResolveReshape(ReadOnlySpan<int> from, int[] to)
    {
        int n = ElementCount(from);
        int infer = -1;
        long known = 1;
        for (int i = 0; i < to.Length; i++)
        {
            if (to[i] == -1)
            {
                if (infer >= 0) throw new EdgeException($"reshape target {FormatShape(to)} has more than one -1");
                infer = i;
            }
            else if (to[i] < 0) throw new EdgeException($"reshape target {FormatShape(to)} has a negative dimension");
            else known *= to[i];
        }
        var result = (int[])to.Clone();
        if (infer >= 0)
        {
            if (known == 0 || n % known != 0)
                throw new EdgeException($"cannot reshape {FormatShape(from)} into {FormatShape(to)}");
            result[infer] = (int)(n / known);
        }
        else if (known != n) throw new EdgeException($"cannot reshape {FormatShape(from)} ({n} elements) into {FormatShape(to)} ({known} elements)");
        return result;
    }
}
