using System.Runtime.CompilerServices;
namespace Edge.Runtime.Tensors;

/// <summary>Element types a <see cref="Tensor"/> can hold. Values are stable: they are written to `.edge` blobs.</summary>
public enum DataType : byte
{
    /// <summary>IEEE 754 single precision (4 bytes).</summary>
    Float32 = 1,
    /// <summary>Signed 64-bit integer (8 bytes): token ids, shapes, indices.</summary>
    Int64 = 2,
    /// <summary>Signed 32-bit integer (4 bytes).</summary>
    Int32 = 3,
    /// <summary>Signed 8-bit integer (1 byte): quantized weights.</summary>
    Int8 = 4,
}

internal static class DataTypes
{
    public static int SizeOf(this DataType t) => t switch
    {
        DataType.Float32 => 4,
        DataType.Int64 => 8,
        DataType.Int32 => 4,
        DataType.Int8 => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "unknown data type"),
    };

    public static string Name(this DataType t) => t switch
    {
        DataType.Float32 => "float32",
        DataType.Int64 => "int64",
        DataType.Int32 => "int32",
        DataType.Int8 => "int8",
        _ => $"dtype#{(int)t}",
    };

    public static bool TryParse(string name, out DataType t)
    {
        switch (name)
        {
            case "float32": t = DataType.Float32; return true;
            case "int64": t = DataType.Int64; return true;
            case "int32": t = DataType.Int32; return true;
            case "int8": t = DataType.Int8; return true;
            default: t = default; return false;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static DataType Of<T>() where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return DataType.Float32;
        if (typeof(T) == typeof(long)) return DataType.Int64;
        if (typeof(T) == typeof(int)) return DataType.Int32;
        if (typeof(T) == typeof(sbyte)) return DataType.Int8;
        return Unsupported(typeof(T));
    }

    private static DataType Unsupported(Type t) => throw new NotSupportedException($"no Edge data type for {t.Name}");
}
