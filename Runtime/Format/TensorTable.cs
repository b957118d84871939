using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Format;

/// <summary>One row of the TENS section (layout in <see cref="BlobLayout"/>); offsets are relative to DATA.</summary>
internal sealed record TensorRecord(
    string Name,
    byte[] NameUtf8,
    DataType DataType,
    int[] Shape,
    QuantizationScheme Scheme,
    int Axis,
    long DataOffset,
    long DataLength,
    long ScalesOffset,
    long ScalesLength);

/// <summary>Encodes and decodes the TENS section: binary fixed-size records, so a mapped file can be indexed directly.</summary>
internal static class TensorTable
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static byte[] EncodeName(string name)
    {
        try { return StrictUtf8.GetBytes(name); }
        catch (EncoderFallbackException e) { throw new EdgeException($"tensor name '{name}' is not valid UTF-16 (a lone surrogate)", e); }
    }

    public static byte[] Write(IReadOnlyList<TensorRecord> records)
    {
        long namesLength = records.Sum(r => (long)r.NameUtf8.Length);
        long total = BlobLayout.TensorTableHeadSize + (long)records.Count * BlobLayout.TensorRecordSize + namesLength;
        if (total > Array.MaxLength) throw new EdgeException($"the tensor table would be {total} bytes; too many tensors");
        var bytes = new byte[total];
        var span = bytes.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)records.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(span[4..], BlobLayout.TensorRecordSize);
        int namesStart = BlobLayout.TensorTableHeadSize + records.Count * BlobLayout.TensorRecordSize;
        int nameOffset = 0;
        for (int i = 0; i < records.Count; i++)
        {
            var r = records[i];
            var rec = span.Slice(BlobLayout.TensorTableHeadSize + i * BlobLayout.TensorRecordSize, BlobLayout.TensorRecordSize);
            BinaryPrimitives.WriteUInt32LittleEndian(rec, (uint)nameOffset);
            BinaryPrimitives.WriteUInt32LittleEndian(rec[4..], (uint)r.NameUtf8.Length);
            rec[8] = (byte)r.DataType;
            rec[9] = (byte)r.Shape.Length;
            rec[10] = (byte)r.Scheme;
            rec[11] = (byte)r.Axis;
            for (int d = 0; d < r.Shape.Length; d++) BinaryPrimitives.WriteUInt32LittleEndian(rec[(16 + 4 * d)..], (uint)r.Shape[d]);
            BinaryPrimitives.WriteUInt64LittleEndian(rec[48..], (ulong)r.DataOffset);
            BinaryPrimitives.WriteUInt64LittleEndian(rec[56..], (ulong)r.DataLength);
            BinaryPrimitives.WriteUInt64LittleEndian(rec[64..], (ulong)r.ScalesOffset);
            BinaryPrimitives.WriteUInt64LittleEndian(rec[72..], (ulong)r.ScalesLength);
            r.NameUtf8.CopyTo(span[(namesStart + nameOffset)..]);
            nameOffset += r.NameUtf8.Length;
        }
        return bytes;
    }

    /// <summary>
    /// Decodes and validates every record against the DATA section (<paramref name="data"/>): dtype,
    /// rank, dims, element count x size = length without overflow, alignment, bounds, overlaps,
    /// name order, quantization fields; then the int8 range and scale values, and that padding in
    /// DATA is zero. Allocates only the records (bounded by the section's size).
    /// </summary>
    public static List<TensorRecord> Read(ReadOnlySpan<byte> tens, ReadOnlySpan<byte> data, Func<string, string, EdgeFormatException> fail)
    {
        const string S = BlobLayout.Tensors;
        if (tens.Length < BlobLayout.TensorTableHeadSize)
            throw fail(S, $"the section is {tens.Length} bytes, shorter than its {BlobLayout.TensorTableHeadSize}-byte head");
        uint count = BinaryPrimitives.ReadUInt32LittleEndian(tens);
        uint recordSize = BinaryPrimitives.ReadUInt32LittleEndian(tens[4..]);
        if (recordSize != BlobLayout.TensorRecordSize)
            throw fail(S, $"record size is {recordSize}; v1 records are {BlobLayout.TensorRecordSize} bytes");
        if (BinaryPrimitives.ReadUInt64LittleEndian(tens[8..]) != 0)
            throw fail(S, "reserved head bytes 8..15 are not zero");
        long recordsEnd = BlobLayout.TensorTableHeadSize + (long)count * BlobLayout.TensorRecordSize;
        if (recordsEnd > tens.Length)
            throw fail(S, $"{count} records of {BlobLayout.TensorRecordSize} bytes do not fit in the {tens.Length}-byte section");
        var names = tens[(int)recordsEnd..];

        var records = new List<TensorRecord>((int)count);
        var regions = new List<(long Offset, long Length, string Name)>();
        long expectedNameOffset = 0;
        ReadOnlySpan<byte> previousName = default;
        Span<int> dims = stackalloc int[BlobLayout.MaxRank];
        for (int i = 0; i < count; i++)
        {
            var rec = tens.Slice(BlobLayout.TensorTableHeadSize + i * BlobLayout.TensorRecordSize, BlobLayout.TensorRecordSize);
            uint nameOffset = BinaryPrimitives.ReadUInt32LittleEndian(rec);
            uint nameLength = BinaryPrimitives.ReadUInt32LittleEndian(rec[4..]);
            if (nameOffset != expectedNameOffset)
                throw fail(S, $"record {i}: name offset is {nameOffset}, expected {expectedNameOffset} (names are stored back to back in record order)");
            if (nameLength == 0 || nameLength > names.Length - expectedNameOffset)
                throw fail(S, $"record {i}: name length {nameLength} is zero or runs past the names area ({names.Length} bytes)");
            var nameBytes = names.Slice((int)nameOffset, (int)nameLength);
            string name;
            try { name = StrictUtf8.GetString(nameBytes); }
            catch (DecoderFallbackException) { throw fail(S, $"record {i}: the name is not valid UTF-8"); }
            expectedNameOffset += nameLength;
            if (i > 0 && nameBytes.SequenceCompareTo(previousName) <= 0)
                throw fail(S, $"record {i} ('{name}'): records are sorted by name bytes and names are unique, but it follows '{StrictUtf8.GetString(previousName)}'");
            previousName = nameBytes;
            string where = $"tensor '{name}'";

            byte dtypeByte = rec[8];
            if (dtypeByte is < (byte)DataType.Float32 or > (byte)DataType.Int8)
                throw fail(S, $"{where}: unknown dtype {dtypeByte} (v1: 1 float32, 2 int64, 3 int32, 4 int8)");
            var dtype = (DataType)dtypeByte;
            int rank = rec[9];
            if (rank > BlobLayout.MaxRank) throw fail(S, $"{where}: rank {rank} is above the maximum {BlobLayout.MaxRank}");
            if (BinaryPrimitives.ReadUInt32LittleEndian(rec[12..]) != 0) throw fail(S, $"{where}: reserved bytes 12..15 are not zero");
            for (int d = 0; d < BlobLayout.MaxRank; d++)
            {
                uint dim = BinaryPrimitives.ReadUInt32LittleEndian(rec[(16 + 4 * d)..]);
                if (d >= rank)
                {
                    if (dim != 0) throw fail(S, $"{where}: dims[{d}] is {dim} but the rank is {rank} (unused dims are 0)");
                    continue;
                }
                if (dim > int.MaxValue) throw fail(S, $"{where}: dims[{d}] is {dim}, above 2147483647");
                dims[d] = (int)dim;
            }
            var shape = dims[..rank];
            long elements = CountElements(shape, rank, out bool tooLarge);
            if (tooLarge)
                throw fail(S, $"{where}: shape {Tensor.FormatShape(shape)} has more than {Array.MaxLength} elements");
            long bytes = elements * dtype.SizeOf();

            ulong dataOffset = BinaryPrimitives.ReadUInt64LittleEndian(rec[48..]);
            ulong dataLength = BinaryPrimitives.ReadUInt64LittleEndian(rec[56..]);
            if (dataLength != (ulong)bytes)
                throw fail(S, $"{where}: data length is {dataLength} bytes but shape {Tensor.FormatShape(shape)} of {dtype.Name()} needs {bytes}");
            CheckRegion(dataOffset, dataLength, data.Length, where, "data", fail);

            var scheme = (QuantizationScheme)rec[10];
            int axis = rec[11];
            ulong scalesOffset = BinaryPrimitives.ReadUInt64LittleEndian(rec[64..]);
            ulong scalesLength = BinaryPrimitives.ReadUInt64LittleEndian(rec[72..]);
            switch (scheme)
            {
                case QuantizationScheme.None:
                    if (axis != 0 || scalesOffset != 0 || scalesLength != 0)
                        throw fail(S, $"{where}: not quantized, but its axis/scales fields are not zero");
                    break;
                case QuantizationScheme.Int8PerRowSymmetric:
                {
                    if (dtype != DataType.Int8) throw fail(S, $"{where}: int8 per-row quantization on a {dtype.Name()} tensor");
                    if (axis >= rank) throw fail(S, $"{where}: row axis {axis} is outside shape {Tensor.FormatShape(shape)}");
                    long rows = CountElements(shape, axis + 1, out _); // <= elements' bound: a prefix of a checked shape
                    if (scalesLength != (ulong)rows * sizeof(float))
                        throw fail(S, $"{where}: scales length is {scalesLength} bytes but {rows} rows need {rows * sizeof(float)}");
                    CheckRegion(scalesOffset, scalesLength, data.Length, where, "scales", fail);
                    break;
                }
                default:
                    throw fail(S, $"{where}: unknown quantization scheme {(byte)scheme} (v1: 0 none, 1 int8 per-row symmetric)");
            }

            if (dataLength > 0) regions.Add(((long)dataOffset, (long)dataLength, name));
            if (scalesLength > 0) regions.Add(((long)scalesOffset, (long)scalesLength, name + " (scales)"));
            records.Add(new TensorRecord(name, nameBytes.ToArray(), dtype, shape.ToArray(), scheme, axis,
                (long)dataOffset, (long)dataLength, (long)scalesOffset, (long)scalesLength));
        }
        if (expectedNameOffset != names.Length)
            throw fail(S, $"{names.Length - expectedNameOffset} stray bytes after the last name");

        regions.Sort((a, b) => a.Offset.CompareTo(b.Offset));
        long end = 0;
        string previous = "";
        foreach (var (offset, length, name) in regions)
        {
            if (offset < end) throw fail(S, $"tensor '{name}' overlaps tensor '{previous}' in DATA");
            if (data[(int)end..(int)offset].ContainsAnyExcept((byte)0))
                throw fail(BlobLayout.Data, $"padding before tensor '{name}' (bytes {end}..{offset - 1}) is not zero");
            end = offset + length;
            previous = name;
        }
        if (data[(int)end..].ContainsAnyExcept((byte)0))
            throw fail(BlobLayout.Data, $"bytes after the last tensor (from {end}) are not zero");

        foreach (var r in records)
        {
            if (r.Scheme != QuantizationScheme.Int8PerRowSymmetric) continue;
            int bad = data.Slice((int)r.DataOffset, (int)r.DataLength).IndexOf((byte)0x80);
            if (bad >= 0) throw fail(BlobLayout.Data, $"tensor '{r.Name}': element {bad} is -128; int8 per-row weights are in [-127, 127]");
            var scales = data.Slice((int)r.ScalesOffset, (int)r.ScalesLength);
            for (int k = 0; k < scales.Length; k += sizeof(float))
            {
                float s = BinaryPrimitives.ReadSingleLittleEndian(scales[k..]);
                if (!float.IsFinite(s) || s < 0)
                    throw fail(BlobLayout.Data, $"tensor '{r.Name}': scale of row {k / sizeof(float)} is {s}; scales are finite and >= 0");
            }
        }
        return records;
    }

    /// <summary>Product of the first <paramref name="upTo"/> dims; <paramref name="tooLarge"/> when it would pass <see cref="Array.MaxLength"/> (which also rules out overflow).</summary>
    private static long CountElements(ReadOnlySpan<int> shape, int upTo, out bool tooLarge)
    {
        // The same running bound as Tensor.ElementCount, so every shape accepted here can be allocated.
        long n = 1;
        tooLarge = false;
        for (int d = 0; d < upTo; d++)
        {
            if (shape[d] == 0) { n = 0; continue; }
            if (n > Array.MaxLength / shape[d]) { tooLarge = true; return 0; }
            n *= shape[d];
        }
        return n;
    }

    private static void CheckRegion(ulong offset, ulong length, int dataLength, string where, string what, Func<string, string, EdgeFormatException> fail)
    {
        if (offset > (ulong)dataLength || length > (ulong)dataLength - offset)
            throw fail(BlobLayout.Tensors, $"{where}: {what} [{offset}, +{length}) runs outside the {dataLength}-byte DATA section");
        if (offset % BlobLayout.DataAlignment != 0)
            throw fail(BlobLayout.Tensors, $"{where}: {what} offset {offset} is not a multiple of {BlobLayout.DataAlignment}");
    }

    /// <summary>Copies a validated record's bytes out of DATA into a new tensor (and scales).</summary>
    public static Tensor Materialize(TensorRecord r, ReadOnlySpan<byte> data)
    {
        var t = Tensor.Zeros(r.DataType, r.Shape);
        // Empty tensors have nothing to copy; skipping also sidesteps Tensor.IsContiguous reporting a
        // shape with a trailing 0 dim, e.g. (0, 3, 0), as strided.
        if (r.DataLength == 0) return t;
        data.Slice((int)r.DataOffset, (int)r.DataLength).CopyTo(t.WritableBytes());
        return t;
    }

    public static float[] MaterializeScales(TensorRecord r, ReadOnlySpan<byte> data)
    {
        var scales = new float[r.ScalesLength / sizeof(float)];
        data.Slice((int)r.ScalesOffset, (int)r.ScalesLength).CopyTo(MemoryMarshal.AsBytes(scales.AsSpan()));
        return scales;
    }
}
