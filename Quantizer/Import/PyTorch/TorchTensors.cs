using System.Buffers.Binary;
using Edge.Runtime;
using Edge.Runtime.Tensors;

namespace Edge.Quantizer.Import.PyTorch;

/// <summary>
/// Turns raw little-endian storage bytes plus (offset, size, stride) into an Edge tensor, converting
/// the element type: float32 as is; float16, bfloat16 and float64 to float32; int64 stays int64;
/// int32, int16 and uint8 become int32; int8 and bool become int8. Every view is bounds-checked
/// against its storage before a byte is copied.
/// </summary>
public static class TorchTensors
{
    public const int MaxRank = 16;

    public static DataType EdgeType(TorchDType t) => t switch
    {
        TorchDType.Float32 or TorchDType.Float16 or TorchDType.BFloat16 or TorchDType.Float64 => DataType.Float32,
        TorchDType.Int64 => DataType.Int64,
        TorchDType.Int32 or TorchDType.Int16 or TorchDType.UInt8 => DataType.Int32,
        _ => DataType.Int8,
    };

    /// <summary>
    /// Checks that a view (offset, size, stride) of a storage of <paramref name="numel"/> elements stays
    /// inside it, and returns its element count. <paramref name="what"/> names the tensor in messages.
    /// </summary>
    public static int CheckView(string what, long numel, long offset, long[] size, long[] stride)
    {
        if (size.Length != stride.Length) throw new EdgeFormatException($"{what}: size and stride differ in length");
        if (size.Length > MaxRank) throw new EdgeFormatException($"{what}: rank {size.Length} is more than {MaxRank}");
        if (offset < 0) throw new EdgeFormatException($"{what}: negative storage offset {offset}");
        long count = 1;
        for (int i = 0; i < size.Length; i++)
        {
            if (size[i] < 0) throw new EdgeFormatException($"{what}: negative dimension {size[i]} in size ({string.Join(", ", size)})");
            if (stride[i] < 0) throw new EdgeFormatException($"{what}: negative stride {stride[i]}");
            if (size[i] > Array.MaxLength || (count > 0 && size[i] > Array.MaxLength / count))
                throw new EdgeFormatException($"{what}: shape ({string.Join(", ", size)}) has too many elements");
            count *= size[i];
        }
        if (count == 0) return 0;
        // The furthest element: offset + sum (size_i - 1) * stride_i, in checked arithmetic.
        long last = offset;
        try
        {
            for (int i = 0; i < size.Length; i++) last = checked(last + checked((size[i] - 1) * stride[i]));
        }
        catch (OverflowException)
        {
            throw new EdgeFormatException($"{what}: strides ({string.Join(", ", stride)}) overflow");
        }
        if (last >= numel)
            throw new EdgeFormatException($"{what}: a view at offset {offset} with size ({string.Join(", ", size)}) and stride ({string.Join(", ", stride)}) " +
                $"reaches element {last}, past the end of its storage of {numel} elements");
        return (int)count;
    }

    /// <summary>Materializes a strided view of <paramref name="storage"/> (exactly numel × item size bytes) as a contiguous Edge tensor.</summary>
    public static Tensor FromStorage(string what, TorchDType dtype, ReadOnlySpan<byte> storage, long offset, long[] size, long[] stride)
    {
        int itemSize = dtype.ItemSize();
        if (storage.Length % itemSize != 0) throw new EdgeFormatException($"{what}: storage of {storage.Length} bytes is not a whole number of {dtype.Name()} elements");
        long numel = storage.Length / itemSize;
        int count = CheckView(what, numel, offset, size, stride);
        var shape = Array.ConvertAll(size, d => (int)d);
        var result = Tensor.Zeros(EdgeType(dtype), shape);
        if (count == 0) return result;

        if (dtype == TorchDType.Float32 && IsContiguous(size, stride))
        {
            // the common case (a plain state_dict): one copy of the bytes
            storage.Slice(checked((int)(offset * 4)), count * 4).CopyTo(result.WritableBytes());
            return result;
        }
        var at = new Odometer(offset, size, stride);
        switch (result.DataType)
        {
            case DataType.Float32:
            {
                var dst = result.Span<float>();
                for (int i = 0; i < count; i++) dst[i] = ReadFloat(dtype, storage, at.Next());
                break;
            }
            case DataType.Int64:
            {
                var dst = result.Span<long>();
                for (int i = 0; i < count; i++) dst[i] = BinaryPrimitives.ReadInt64LittleEndian(storage.Slice(checked((int)(at.Next() * 8)), 8));
                break;
            }
            case DataType.Int32:
            {
                var dst = result.Span<int>();
                for (int i = 0; i < count; i++)
                {
                    int b = checked((int)(at.Next() * itemSize));
                    dst[i] = dtype switch
                    {
                        TorchDType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(storage.Slice(b, 4)),
                        TorchDType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(storage.Slice(b, 2)),
                        _ => storage[b], // uint8
                    };
                }
                break;
            }
            case DataType.Int8:
            {
                var dst = result.Span<sbyte>();
                for (int i = 0; i < count; i++)
                {
                    byte b = storage[checked((int)at.Next())];
                    dst[i] = dtype == TorchDType.Bool ? (sbyte)(b != 0 ? 1 : 0) : unchecked((sbyte)b);
                }
                break;
            }
        }
        return result;
    }

    private static bool IsContiguous(long[] size, long[] stride)
    {
        long expected = 1;
        for (int i = size.Length - 1; i >= 0; i--)
        {
            if (size[i] != 1 && stride[i] != expected) return false;
            expected *= size[i];
        }
        return true;
    }

    /// <summary>Storage element indices of a strided view in C order (the last axis moves fastest).</summary>
    private sealed class Odometer(long offset, long[] size, long[] stride)
    {
        private readonly long[] _counter = new long[size.Length];
        private long _pos = offset;

        public long Next()
        {
            long current = _pos;
            for (int ax = size.Length - 1; ax >= 0; ax--)
            {
                _counter[ax]++;
                _pos += stride[ax];
                if (_counter[ax] < size[ax]) break;
                _pos -= stride[ax] * size[ax];
                _counter[ax] = 0;
            }
            return current;
        }
    }

    private static float ReadFloat(TorchDType dtype, ReadOnlySpan<byte> storage, long element) => dtype switch
    {
        TorchDType.Float32 => BinaryPrimitives.ReadSingleLittleEndian(storage.Slice(checked((int)(element * 4)), 4)),
        TorchDType.Float16 => (float)BinaryPrimitives.ReadHalfLittleEndian(storage.Slice(checked((int)(element * 2)), 2)),
        // bfloat16 is the top half of a float32
        TorchDType.BFloat16 => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(storage.Slice(checked((int)(element * 2)), 2)) << 16),
        _ => (float)BinaryPrimitives.ReadDoubleLittleEndian(storage.Slice(checked((int)(element * 8)), 8)),
    };
}
