using System.Buffers.Binary;
using System.IO.Hashing;

namespace Edge.Runtime.Format;

/// <summary>
/// Byte layout of the `.edge` v1 file (docs/format.md is the specification; this file and it must
/// agree). All integers are little-endian.
/// <code>
/// header (32 bytes, at 0)
/// +-----+------+-----------------------------------------------------------------+
/// | off | size | field                                                           |
/// +-----+------+-----------------------------------------------------------------+
/// |   0 |    4 | magic "EDGE" (45 44 47 45)                                      |
/// |   4 |    4 | guard 0D 0A 1A 0A (CR LF ^Z LF: text-mode transfers alter it)   |
/// |   8 |    2 | format version u16 (1)                                          |
/// |  10 |    2 | header size u16 (32)                                            |
/// |  12 |    4 | flags u32 (0; no flag is defined in v1)                         |
/// |  16 |    4 | section count u32 (1..64)                                       |
/// |  20 |    4 | section entry size u32 (32)                                     |
/// |  24 |    8 | XxHash64 (seed 0) of header bytes 0..23 then the section table  |
/// +-----+------+-----------------------------------------------------------------+
/// section table entry (32 bytes each, from offset 32)
/// +-----+------+-----------------------------------------------------------------+
/// |   0 |    4 | kind fourcc, ASCII letters/digits ("META", "GRPH", ...)         |
/// |   4 |    4 | flags u32 (0)                                                   |
/// |   8 |    8 | offset u64 from the start of the file (multiple of 8; DATA: 64) |
/// |  16 |    8 | length u64                                                      |
/// |  24 |    8 | XxHash64 (seed 0) of the section's bytes                        |
/// +-----+------+-----------------------------------------------------------------+
/// TENS: 16-byte head (record count u32, record size u32 = 80, 8 zero bytes), the records,
/// then the tensor names (UTF-8, concatenated in record order). Tensor record (80 bytes):
/// +-----+------+-----------------------------------------------------------------+
/// |   0 |    4 | name offset u32 (into the names area)                           |
/// |   4 |    4 | name length u32 (bytes, >= 1)                                   |
/// |   8 |    1 | dtype u8 (1 float32, 2 int64, 3 int32, 4 int8)                  |
/// |   9 |    1 | rank u8 (0..8)                                                  |
/// |  10 |    1 | quantization scheme u8 (0 none, 1 int8 per-row symmetric)       |
/// |  11 |    1 | quantization row axis u8 (0 when scheme is 0)                   |
/// |  12 |    4 | reserved (0)                                                    |
/// |  16 |   32 | dims: 8 x u32 (each &lt;= 2^31-1; entries past rank are 0)          |
/// |  48 |    8 | data offset u64, from the start of DATA (multiple of 64)        |
/// |  56 |    8 | data length u64 (= element count x dtype size)                  |
/// |  64 |    8 | scales offset u64, from the start of DATA (scheme 1; else 0)    |
/// |  72 |    8 | scales length u64 (scheme 1: 4 x rows; else 0)                  |
/// +-----+------+-----------------------------------------------------------------+
/// </code>
/// </summary>
internal static class BlobLayout
{
    public const int HeaderSize = 32;
    public const int HeaderHashedPrefix = 24;
    public const int SectionEntrySize = 32;
    public const int MaxSections = 64;
    public const int SectionAlignment = 8;

    /// <summary>Tensor data alignment relative to the file start: one cache line, and the widest vector load (AVX-512).</summary>
    public const int DataAlignment = 64;

    public const int TensorTableHeadSize = 16;
    public const int TensorRecordSize = 80;
    public const int MaxRank = 8;

    public static ReadOnlySpan<byte> Magic => "EDGE"u8;

    // Like PNG's signature: CR LF catches CRLF->LF conversion, ^Z stops DOS `type`, LF catches LF->CRLF.
    public static ReadOnlySpan<byte> Guard => [0x0D, 0x0A, 0x1A, 0x0A];

    public const string Meta = "META";
    public const string Graph = "GRPH";
    public const string Tensors = "TENS";
    public const string Data = "DATA";

    /// <summary>The sections a v1 file has, in the order the writer lays them out.</summary>
    public static readonly string[] Required = [Meta, Graph, Tensors, Data];

    public static long Align(long value, int alignment) => (value + alignment - 1) / alignment * alignment;

    public static ulong HeaderHash(ReadOnlySpan<byte> header, ReadOnlySpan<byte> table)
    {
        var h = new XxHash64();
        h.Append(header[..HeaderHashedPrefix]);
        h.Append(table);
        return h.GetCurrentHashAsUInt64();
    }

    public static void WriteSectionEntry(Span<byte> entry, string kind, long offset, long length, ulong checksum)
    {
        entry.Clear();
        for (int i = 0; i < 4; i++) entry[i] = (byte)kind[i];
        BinaryPrimitives.WriteUInt64LittleEndian(entry[8..], (ulong)offset);
        BinaryPrimitives.WriteUInt64LittleEndian(entry[16..], (ulong)length);
        BinaryPrimitives.WriteUInt64LittleEndian(entry[24..], checksum);
    }
}
