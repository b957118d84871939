using System.Runtime.InteropServices;
using Edge.Runtime;
using Edge.Runtime.Tensors;
using Onnx;
using OnnxType = Onnx.TensorProto.Types.DataType;

namespace Edge.Quantizer.Import.Onnx;

/// <summary>ONNX TensorProto and element-type conversion into Edge tensors and data types.</summary>
internal static class OnnxTensors
{
    /// <summary>The ONNX name of an element type ("FLOAT", "DOUBLE", ...), for messages.</summary>
    public static string TypeName(int elemType) =>
        Enum.IsDefined(typeof(OnnxType), elemType) ? ((OnnxType)elemType) switch
        {
            OnnxType.Float => "FLOAT",
            OnnxType.Uint8 => "UINT8",
            OnnxType.Int8 => "INT8",
            OnnxType.Uint16 => "UINT16",
            OnnxType.Int16 => "INT16",
            OnnxType.Int32 => "INT32",
            OnnxType.Int64 => "INT64",
            OnnxType.String => "STRING",
            OnnxType.Bool => "BOOL",
            OnnxType.Float16 => "FLOAT16",
            OnnxType.Double => "DOUBLE",
            OnnxType.Uint32 => "UINT32",
            OnnxType.Uint64 => "UINT64",
            OnnxType.Complex64 => "COMPLEX64",
            OnnxType.Complex128 => "COMPLEX128",
            OnnxType.Bfloat16 => "BFLOAT16",
            _ => "UNDEFINED",
        } : $"type #{elemType}";

    /// <summary>
    /// The Edge type that holds values of an ONNX element type exactly, or null. DOUBLE is not here:
    /// weights stored as double are narrowed at import (<see cref="FromProto"/>), but a double graph
    /// input or cast target would change the model's arithmetic, so those are refused.
    /// </summary>
    public static DataType? ToDataType(int elemType) => (OnnxType)elemType switch
    {
        OnnxType.Float => DataType.Float32,
        OnnxType.Int64 => DataType.Int64,
        OnnxType.Int32 => DataType.Int32,
        OnnxType.Int8 => DataType.Int8,
        _ => null,
    };

    public static int[] Dims(IReadOnlyList<long> dims, string what)
    {
        var shape = new int[dims.Count];
        for (int i = 0; i < shape.Length; i++)
        {
            if (dims[i] < 0 || dims[i] > Array.MaxLength)
                throw new EdgeException($"{what} has an invalid dimension {dims[i]} in shape [{string.Join(", ", dims)}]");
            shape[i] = (int)dims[i];
        }
        return shape;
    }

    /// <summary>
    /// Converts a TensorProto (raw_data or the typed fields). FLOAT, DOUBLE (narrowed to float32), INT64,
    /// INT32 and INT8 are accepted; any other type is an <see cref="UnsupportedModelException"/>
    /// naming <paramref name="what"/> (e.g. "initializer 'W' in model.onnx").
    /// </summary>
    public static Tensor FromProto(TensorProto proto, string what)
    {
        if (proto.DataLocation == TensorProto.Types.DataLocation.External || proto.ExternalData.Count > 0)
            throw new UnsupportedModelException(
                $"{what} keeps its data in an external file, which Edge reads only when it imports the model from a path " +
                "(with the data file in the model's folder)");
        if (proto.Segment is not null)
            throw new UnsupportedModelException($"{what} is a segmented tensor, which Edge does not read");
        var shape = Dims(proto.Dims, what);
        int n = Tensor.ElementCount(shape);
        var raw = proto.HasRawData ? proto.RawData.Span : default;
        bool hasRaw = proto.HasRawData;
        // The declared shape is only a claim: the bytes (or typed values) that back it must be there before
        // anything of the shape's size is allocated, so a few bytes of protobuf cannot ask for gigabytes.
        CheckBacking(proto, n, hasRaw, raw.Length, what);

        switch ((OnnxType)proto.DataType)
        {
            case OnnxType.Float:
            {
                var data = new float[n];
                if (hasRaw) CopyRaw(raw, data);
                else CopyTyped(proto.FloatData, data, what, v => v);
                return Tensor.FromArray(data, shape);
            }
            case OnnxType.Double:
            {
                var wide = new double[n];
                if (hasRaw) CopyRaw(raw, wide);
                else CopyTyped(proto.DoubleData, wide, what, v => v);
                return Tensor.FromArray(Array.ConvertAll(wide, v => (float)v), shape);
            }
            case OnnxType.Int64:
            {
                var data = new long[n];
                if (hasRaw) CopyRaw(raw, data);
                else CopyTyped(proto.Int64Data, data, what, v => v);
                return Tensor.FromArray(data, shape);
            }
            case OnnxType.Int32:
            {
                var data = new int[n];
                if (hasRaw) CopyRaw(raw, data);
                else CopyTyped(proto.Int32Data, data, what, v => v);
                return Tensor.FromArray(data, shape);
            }
            case OnnxType.Int8:
            {
                var data = new sbyte[n];
                if (hasRaw) CopyRaw(raw, data);
                else CopyTyped(proto.Int32Data, data, what, v => checked((sbyte)v));
                return Tensor.FromArray(data, shape);
            }
            default:
                throw new UnsupportedModelException(
                    $"{what} has data type {TypeName(proto.DataType)}; Edge supports FLOAT, DOUBLE (read as float32), INT64, INT32 and INT8");
        }
    }

    private static void CheckBacking(TensorProto proto, int n, bool hasRaw, int rawLength, string what)
    {
        var (elementSize, typedCount) = (OnnxType)proto.DataType switch
        {
            OnnxType.Float => (4, proto.FloatData.Count),
            OnnxType.Double => (8, proto.DoubleData.Count),
            OnnxType.Int64 => (8, proto.Int64Data.Count),
            OnnxType.Int32 => (4, proto.Int32Data.Count),
            OnnxType.Int8 => (1, proto.Int32Data.Count),
            _ => (0, 0),
        };
        if (elementSize == 0) return; // refused by type below
        if (hasRaw)
        {
            long need = (long)n * elementSize;
            if (rawLength != need)
                throw new EdgeException($"{what}: raw_data holds {rawLength} bytes, but its shape and type need {need}");
        }
        else if (typedCount != n)
            throw new EdgeException($"{what}: holds {typedCount} values, but its shape needs {n}");
    }

    // raw_data is little-endian by the ONNX spec, as are Edge's targets (x64, arm64).
    // Lengths were checked against the shape by CheckBacking before dst was allocated.
    private static void CopyRaw<T>(ReadOnlySpan<byte> raw, T[] dst) where T : unmanaged => raw.CopyTo(MemoryMarshal.AsBytes(dst.AsSpan()));

    private static void CopyTyped<TSrc, TDst>(IReadOnlyList<TSrc> src, TDst[] dst, string what, Func<TSrc, TDst> convert)
    {
        try
        {
            for (int i = 0; i < dst.Length; i++) dst[i] = convert(src[i]);
        }
        catch (OverflowException)
        {
            throw new EdgeException($"{what}: a value is out of range for its data type");
        }
    }
}
