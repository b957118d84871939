using Edge.Runtime.Format;
using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace Edge.Runtime.Tensors;

/// <summary>
/// NumPy <c>.npy</c> files (format versions 1.0, 2.0 and 3.0), C order only.
/// <code>
/// offset  size  field
/// 0       6     magic "\x93NUMPY"
/// 6       1     major version (1, 2 or 3)
/// 7       1     minor version (0)
/// 8       2|4   header length, little-endian (u16 in 1.x, u32 in 2.x/3.x)
/// 10|12   n     header: a Python dict literal {'descr': '&lt;f4', 'fortran_order': False, 'shape': (2, 3), }
/// ...           raw data, C order
/// </code>
/// Read: float32, float64 (converted to float32, Edge's only float type), int64, int32, int8.
/// Everything else (other dtypes, big-endian data, Fortran order, object arrays, a truncated file)
/// is refused with a message naming the file and the problem.
/// </summary>
public static class Npy
{
    // Not "\x93NUMPY"u8: C#'s \x escape makes that U+0093, two bytes in UTF-8.
    private static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Reads the `.npy` file at <paramref name="path"/>. Throws <see cref="EdgeException"/> naming the file when it cannot be read or is refused.</summary>
    public static Tensor Read(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (IOException e) { throw new EdgeException($"{path}: cannot read: {e.Message}", e); }
        catch (UnauthorizedAccessException e) { throw new EdgeException($"{path}: cannot read: {e.Message}", e); }
        return Read(bytes, path);
    }

    /// <summary>Reads a `.npy` file's bytes; <paramref name="name"/> (a path or label) names it in error messages. Throws <see cref="EdgeException"/>.</summary>
    public static Tensor Read(ReadOnlySpan<byte> file, string name)
    {
        if (file.Length < 10 || !file[..6].SequenceEqual(Magic))
            throw new EdgeException($"{name}: not a .npy file (bad magic)");
        byte major = file[6];
        int headerLen, headerStart;
        switch (major)
        {
            case 1: headerLen = BinaryPrimitives.ReadUInt16LittleEndian(file[8..]); headerStart = 10; break;
            case 2:
            case 3:
                if (file.Length < 12) throw new EdgeException($"{name}: truncated .npy header");
                uint len = BinaryPrimitives.ReadUInt32LittleEndian(file[8..]);
                if (len > int.MaxValue) throw new EdgeException($"{name}: .npy header length {len} is too large");
                headerLen = (int)len; headerStart = 12; break;
            default: throw new EdgeException($"{name}: unsupported .npy format version {major}.{file[7]}");
        }
        if ((long)headerStart + headerLen > file.Length)
            throw new EdgeException($"{name}: truncated .npy header (needs {headerLen} bytes, file has {file.Length - headerStart})");
        string header = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(file.Slice(headerStart, headerLen));
        var (descr, fortran, shape) = ParseHeader(header, name);
        if (fortran)
            throw new EdgeException($"{name}: Fortran-order arrays are not supported; save with np.ascontiguousarray(x)");
        DataType target;
        int srcSize;
        bool fromF64 = false;
        switch (descr)
        {
            case "<f4": target = DataType.Float32; srcSize = 4; break;
            case "<f8": target = DataType.Float32; srcSize = 8; fromF64 = true; break;
            case "<i8": target = DataType.Int64; srcSize = 8; break;
            case "<i4": target = DataType.Int32; srcSize = 4; break;
            case "|i1": case "<i1": target = DataType.Int8; srcSize = 1; break;
            default:
                throw new EdgeException($"{name}: dtype '{MessageText.Printable(descr, 40)}' is not supported (Edge reads float32, float64, int64, int32, int8, little-endian)");
        }
        long count = 1;
        foreach (var d in shape)
        {
            count *= d;
            if (count > Array.MaxLength) throw new EdgeException($"{name}: shape {Tensor.FormatShape(shape)} is too large");
        }
        int dataStart = headerStart + headerLen;
        long needed = count * srcSize;
        long have = file.Length - dataStart;
        if (have < needed)
            throw new EdgeException($"{name}: truncated data: shape {Tensor.FormatShape(shape)} of '{MessageText.Printable(descr, 40)}' needs {needed} bytes, file has {have}");
        if (have > needed)
            throw new EdgeException($"{name}: {have - needed} unexpected bytes after the data of shape {Tensor.FormatShape(shape)}");
        var data = file.Slice(dataStart, (int)needed);
        var tensor = Tensor.Zeros(target, shape);
        if (fromF64)
        {
            var dst = tensor.Span<float>();
            var src = MemoryMarshal.Cast<byte, double>(data);
            for (int i = 0; i < dst.Length; i++) dst[i] = (float)src[i];
        }
        else
        {
            data.CopyTo(tensor.WritableBytes());
        }
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Edge runs on little-endian CPUs only");
        return tensor;
    }

    /// <summary>Writes a tensor as a version 1.0 .npy file (C order, little-endian).</summary>
    public static void Write(string path, Tensor tensor)
    {
        using var fs = File.Create(path);
        Write(fs, tensor);
    }

    /// <summary>Writes <paramref name="tensor"/> to <paramref name="stream"/> as `.npy` version 1.0, C order, little-endian.</summary>
    public static void Write(Stream stream, Tensor tensor)
    {
        string descr = tensor.DataType switch
        {
            DataType.Float32 => "<f4",
            DataType.Int64 => "<i8",
            DataType.Int32 => "<i4",
            DataType.Int8 => "|i1",
            _ => throw new ArgumentOutOfRangeException(nameof(tensor)),
        };
        var shape = tensor.ShapeArray();
        string shapeText = shape.Length == 1 ? $"({shape[0]},)" : "(" + string.Join(", ", shape) + ")";
        string dict = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shapeText}, }}";
        // Pad with spaces so that magic + version + length + header (ending in '\n') is a multiple of 64.
        int total = 10 + dict.Length + 1;
        int pad = (64 - total % 64) % 64;
        string header = dict + new string(' ', pad) + "\n";
        Span<byte> prefix = stackalloc byte[10];
        Magic.CopyTo(prefix);
        prefix[6] = 1;
        prefix[7] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(prefix[8..], checked((ushort)header.Length));
        stream.Write(prefix);
        stream.Write(Encoding.Latin1.GetBytes(header));
        stream.Write(tensor.Contiguous().Bytes());
    }

    private static (string Descr, bool Fortran, int[] Shape) ParseHeader(string header, string name)
    {
        string? descr = null;
        bool? fortran = null;
        int[]? shape = null;
        int i = 0;
        SkipWs(header, ref i);
        Expect(header, ref i, '{', name);
        while (true)
        {
            SkipWs(header, ref i);
            if (i < header.Length && header[i] == '}') break;
            string key = ReadString(header, ref i, name);
            SkipWs(header, ref i);
            Expect(header, ref i, ':', name);
            SkipWs(header, ref i);
            switch (key)
            {
                case "descr":
                    if (i < header.Length && (header[i] == '[' || header[i] == '{'))
                        throw new EdgeException($"{name}: structured dtypes are not supported");
                    descr = ReadString(header, ref i, name);
                    break;
                case "fortran_order":
                    if (header.AsSpan(i).StartsWith("True")) { fortran = true; i += 4; }
                    else if (header.AsSpan(i).StartsWith("False")) { fortran = false; i += 5; }
                    else throw new EdgeException($"{name}: bad fortran_order in .npy header");
                    break;
                case "shape":
                    shape = ReadShape(header, ref i, name);
                    break;
                default:
                    throw new EdgeException($"{name}: unexpected key '{MessageText.Printable(key, 40)}' in .npy header");
            }
            SkipWs(header, ref i);
            if (i < header.Length && header[i] == ',') { i++; continue; }
            SkipWs(header, ref i);
            if (i < header.Length && header[i] == '}') break;
            throw new EdgeException($"{name}: malformed .npy header: {MessageText.Printable(header.Trim())}");
        }
        if (descr is null || fortran is null || shape is null)
            throw new EdgeException($"{name}: .npy header lacks descr, fortran_order or shape: {MessageText.Printable(header.Trim())}");
        return (descr, fortran.Value, shape);
    }

    private static int[] ReadShape(string s, ref int i, string name)
    {
        Expect(s, ref i, '(', name);
        var dims = new List<int>();
        while (true)
        {
            SkipWs(s, ref i);
            if (i < s.Length && s[i] == ')') { i++; break; }
            int start = i;
            while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
            if (i == start || !int.TryParse(s.AsSpan(start, i - start), NumberStyles.None, CultureInfo.InvariantCulture, out int d))
                throw new EdgeException($"{name}: bad shape in .npy header");
            dims.Add(d);
            SkipWs(s, ref i);
            if (i < s.Length && s[i] == ',') i++;
        }
        return dims.ToArray();
    }

    private static string ReadString(string s, ref int i, string name)
    {
        if (i >= s.Length || (s[i] != '\'' && s[i] != '"'))
            throw new EdgeException($"{name}: malformed .npy header (expected a quoted string at {i})");
        char q = s[i++];
        int start = i;
        while (i < s.Length && s[i] != q) i++;
        if (i >= s.Length) throw new EdgeException($"{name}: malformed .npy header (unterminated string)");
        return s[start..i++];
    }

    private static void Expect(string s, ref int i, char c, string name)
    {
        if (i >= s.Length || s[i] != c)
            throw new EdgeException($"{name}: malformed .npy header (expected '{c}' at {i})");
        i++;
    }

    private static void SkipWs(string s, ref int i)
    {
        while (i < s.Length && char.IsWhiteSpace(s[i])) i++;
    }
}
