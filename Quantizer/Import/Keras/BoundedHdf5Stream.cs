using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.CompilerServices;
using Edge.Runtime;

namespace Edge.Quantizer.Import.Keras;

/// <summary>
/// The read-only stream PureHDF reads a Keras file through. PureHDF trusts the sizes it finds in a file: a
/// global heap collection ("GCOL") whose object declares 1.7 GB, or a local heap ("HEAP") whose data
/// segment does, makes it allocate that much before it reads a byte of it. PureHDF starts decoding either
/// structure by seeking to it and reading its 4-byte signature, so this stream checks the structure at
/// that moment, before PureHDF sees the signature, and refuses it (an <see cref="EdgeException"/>) unless
/// it is one the file can hold:
/// <list type="bullet">
/// <item>a collection lies inside the file (at least 4096 bytes, as HDF5 requires), and the objects
///   PureHDF will walk in it (the same walk: index 0 or too little room left ends it) each lie inside it;</item>
/// <item>a local heap's data segment lies inside the file;</item>
/// <item>the distinct collections and data segments together are at most the file's size (in a real file
///   they never overlap), so overlapping ones cannot multiply what is allocated.</item>
/// </list>
/// Two caps by construction bound what PureHDF does on a structure that loops back on itself (a B-tree
/// node or object header continuation pointing at an ancestor): every read is counted, and more than
/// <see cref="ReadBudget"/> bytes read in total is refused; and a read on a nearly exhausted stack is
/// refused instead of letting a recursion overflow it (which would kill the process).
/// </summary>
internal sealed class BoundedHdf5Stream : Stream
{
    /// <summary>Bytes read in total: PureHDF re-reads metadata on every lookup, but a real file needs a few times its size.</summary>
    public static long ReadBudget(long fileLength) => (64L << 20) + 64 * fileLength;

    private readonly byte[] _bytes;
    private readonly string _name;
    private readonly ulong _baseAddress;
    private readonly int _offsetSize;
    private readonly int _lengthSize;
    private readonly long _readBudget;
    private readonly HashSet<long> _checked = [];
    private long _position;
    private long _read;
    private long _structureBytes;
    private bool _afterSeek;

    public BoundedHdf5Stream(byte[] bytes, string name, ulong baseAddress, int offsetSize, int lengthSize)
    {
        _bytes = bytes;
        _name = name;
        _baseAddress = baseAddress;
        _offsetSize = offsetSize;
        _lengthSize = lengthSize;
        _readBudget = ReadBudget(bytes.Length);
    }

    /// <summary>Bytes PureHDF has read so far (for tests).</summary>
    public long BytesRead => _read;

    public override bool CanRead => true;
    public override bool CanSeek => true;
    public override bool CanWrite => false;
    public override long Length => _bytes.Length;

    public override long Position
    {
        get => _position;
        set => Seek(value, SeekOrigin.Begin);
    }

    public override long Seek(long offset, SeekOrigin origin)
    {
        long target = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => _bytes.Length + offset,
        };
        if (target < 0) throw new EdgeException($"{_name}: an HDF5 address points before the start of the file");
        _position = target;
        // PureHDF reaches a structure by an absolute seek; relative seeks skip padding inside one
        _afterSeek = origin == SeekOrigin.Begin;
        return target;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int ReadByte()
    {
        Span<byte> one = stackalloc byte[1];
        return Read(one) == 1 ? one[0] : -1;
    }

    public override int Read(Span<byte> buffer)
    {
        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack())
            throw new EdgeException($"{_name}: the HDF5 structure nests too deeply (does it loop back on itself?)");
        bool afterSeek = _afterSeek;
        _afterSeek = false;
        if (_position >= _bytes.Length || buffer.Length == 0) return 0;
        int n = (int)Math.Min(buffer.Length, _bytes.Length - _position);
        _read += n;
        if (_read > _readBudget)
            throw new EdgeException(string.Create(CultureInfo.InvariantCulture,
                $"{_name}: reading the HDF5 structure took more than {_readBudget} bytes of reads for a {_bytes.Length}-byte file (does it loop back on itself?)"));
        if (afterSeek && buffer.Length == 4) CheckStructure(_position);
        else if (afterSeek && _bytes.AsSpan((int)_position).StartsWith("OHDR"u8)) CheckStructure(_position); // PureHDF may read its first byte alone
        else if (afterSeek && buffer.Length == 1 && _bytes[_position] == 1) CheckObjectHeader(_position);
        _bytes.AsSpan((int)_position, n).CopyTo(buffer);
        _position += n;
        return n;
    }

    private void CheckStructure(long at)
    {
        var sig = _bytes.AsSpan((int)at, (int)Math.Min(4, _bytes.Length - at));
        bool gcol = sig.SequenceEqual("GCOL"u8), heap = sig.SequenceEqual("HEAP"u8);
        if (!gcol && !heap) return;
        if (!_checked.Add(at)) return;
        if (gcol) CheckGlobalHeap(at);
        else CheckLocalHeap(at);
    }

    /// <summary>HDF5 spec III.E: "GCOL", version(1), reserved(3), collection size(L), then objects: index(2) refs(2) reserved(4) size(L) data padded to 8.</summary>
    private void CheckGlobalHeap(long at)
    {
        long length = _bytes.Length;
        int header = 8 + _lengthSize;
        if (at + header > length) return; // PureHDF meets the end of the file reading the header
        ulong size = ReadSize(at + 8, _lengthSize);
        if (size < 4096 || size > (ulong)(length - at))
            throw Refuse($"a global heap collection at byte {at} declares {size} bytes; it must hold 4096 or more and lie inside the file");
        Charge(size, "global heap collection", at);
        long end = at + (long)size;
        long pos = at + header;
        // PureHDF's walk: remaining = size - header, objects while remaining > header, stop at index 0
        while (end - pos > header)
        {
            if (BinaryPrimitives.ReadUInt16LittleEndian(_bytes.AsSpan((int)pos)) == 0) break;
            ulong objectSize = ReadSize(pos + 8, _lengthSize);
            ulong room = (ulong)(end - pos - header);
            if (objectSize > room || ((objectSize + 7) & ~7UL) > room)
                throw Refuse($"object {BinaryPrimitives.ReadUInt16LittleEndian(_bytes.AsSpan((int)pos))} of the global heap collection at byte {at} declares {objectSize} bytes, more than the collection has left ({room})");
            pos += header + (long)((objectSize + 7) & ~7UL);
        }
    }

    /// <summary>HDF5 spec III.D: "HEAP", version(1), reserved(3), data segment size(L), free list offset(L), data segment address(O).</summary>
    private void CheckLocalHeap(long at)
    {
        long length = _bytes.Length;
        if (at + 8 + 2 * _lengthSize + _offsetSize > length) return;
        ulong size = ReadSize(at + 8, _lengthSize);
        ulong address = ReadSize(at + 8 + 2 * _lengthSize, _offsetSize);
        ulong start = _baseAddress + address;
        if (start < _baseAddress || size > (ulong)length || start > (ulong)length - size)
            throw Refuse($"the local heap at byte {at} declares a data segment of {size} bytes at address {address}, outside the file");
        Charge(size, "local heap", at);
    }

    /// <summary>
    /// A version-1 object header (HDF5 spec IV.A.1.a: version 1, reserved, message count(2), reference count(4),
    /// header size(4), 4 bytes of padding, then messages of type(2) size(2) flags(1) reserved(3) data), with
    /// its continuation blocks. PureHDF decodes the messages in it trusting the sizes inside them: an attribute's
    /// elements x element size, a fill value's size. Each must fit in the message that holds it, and the
    /// messages must tile the header (PureHDF otherwise reads on past it). PureHDF opens a header by seeking
    /// to it and reading its version byte, which is when this runs; headers of version 2 ("OHDR", which h5py
    /// does not write unless asked to) are left to PureHDF.
    /// </summary>
    private void CheckObjectHeader(long at)
    {
        if (!_checked.Add(at)) return;
        long length = _bytes.Length;
        if (at + 16 > length) return;
        uint size = BinaryPrimitives.ReadUInt32LittleEndian(_bytes.AsSpan((int)at + 8));
        if (size == 0) return;
        var blocks = new HashSet<long>();
        CheckMessages(at, at + 16, size, blocks);
    }

    private void CheckMessages(long header, long start, ulong size, HashSet<long> blocks)
    {
        long length = _bytes.Length;
        if (size > (ulong)(length - Math.Min(start, length)))
            throw Refuse($"the object header at byte {header} declares {size} bytes of messages at byte {start}, past the end of the file");
        if (!blocks.Add(start))
            throw Refuse($"the object header at byte {header} continues into a block it has already read (byte {start})");
        if (blocks.Count > 1000) throw Refuse($"the object header at byte {header} has more than 1000 continuation blocks");
        long end = start + (long)size;
        long pos = start;
        while (pos < end)
        {
            if (end - pos < 8) throw Refuse($"the object header at byte {header} ends inside a message header at byte {pos}");
            int type = BinaryPrimitives.ReadUInt16LittleEndian(_bytes.AsSpan((int)pos));
            int dataSize = BinaryPrimitives.ReadUInt16LittleEndian(_bytes.AsSpan((int)pos + 2));
            byte flags = _bytes[pos + 4];
            long data = pos + 8, dataEnd = data + dataSize;
            if (dataEnd > end)
                throw Refuse($"message {type} of the object header at byte {header} (at byte {pos}) declares {dataSize} bytes, past the header's end");
            bool shared = (flags & 0x02) != 0;
            if (!shared)
            {
                switch (type)
                {
                    case 0x03: CheckDatatypeSize(data, dataEnd, header); break;
                    case 0x04: CheckSized(data, dataEnd, data, header, "old fill value"); break;
                    case 0x05: CheckFillValue(data, dataEnd, header); break;
                    case 0x08: CheckLayout(data, dataEnd, header); break;
                    case 0x0C: CheckAttribute(data, dataEnd, header); break;
                    case 0x10:
                        if (dataSize >= _offsetSize + _lengthSize)
                        {
                            ulong next = _baseAddress + ReadSize(data, _offsetSize);
                            ulong nextSize = ReadSize(data + _offsetSize, _lengthSize);
                            if (next >= (ulong)length) throw Refuse($"the object header at byte {header} continues at byte {next}, past the end of the file");
                            CheckMessages(header, (long)next, nextSize, blocks);
                        }
                        break;
                }
            }
            pos = dataEnd;
        }
    }

    /// <summary>
    /// A data layout message (spec IV.A.2.i). For a chunked layout, PureHDF allocates whole chunks (and a
    /// filter inflates into one): the chunk's bytes (the product of its dimensions, the last of which is the
    /// element size) must not exceed the file. A dataset Edge reads is no larger than the file (Keras writes
    /// weights uncompressed, <see cref="KerasHdf5"/> checks), and HDF5 keeps a fixed-size dataset's chunks
    /// within its extent, so no real chunk is larger.
    /// </summary>
    private void CheckLayout(long data, long dataEnd, long header)
    {
        // version 3, class 2 (chunked): dimensionality(1) = rank + 1, B-tree address(O), dimensions(4 each).
        // Versions 1 and 2 (HDF5 before 1.6.3) are left to the read budget; version 4 occurs only in the
        // version-2 headers h5py writes for libver='latest', which this stream does not walk.
        if (dataEnd - data < 3 || _bytes[data] != 3 || _bytes[data + 1] != 2) return;
        int rank = _bytes[data + 2];
        long dims = data + 3 + _offsetSize;
        if (dims + 4L * rank > dataEnd)
            throw Refuse($"a chunked layout in the object header at byte {header} runs past its message");
        UInt128 bytes = 1;
        for (int i = 0; i < rank; i++)
        {
            bytes *= BinaryPrimitives.ReadUInt32LittleEndian(_bytes.AsSpan((int)(dims + 4L * i)));
            if (bytes > (ulong)_bytes.Length)
                throw Refuse($"a chunked dataset in the object header at byte {header} declares chunks larger than the file ({_bytes.Length} bytes)");
        }
    }

    private void CheckDatatypeSize(long data, long dataEnd, long header)
    {
        if (dataEnd - data < 8) return;
        uint elementSize = BinaryPrimitives.ReadUInt32LittleEndian(_bytes.AsSpan((int)data + 4));
        if (elementSize > _bytes.Length)
            throw Refuse($"a datatype in the object header at byte {header} declares elements of {elementSize} bytes, more than the file");
    }

    /// <summary>A 4-byte size at <paramref name="sizeAt"/> followed by that many bytes, all inside the message.</summary>
    private void CheckSized(long sizeAt, long dataEnd, long data, long header, string what)
    {
        if (sizeAt + 4 > dataEnd) throw Refuse($"the {what} message in the object header at byte {header} is cut short");
        uint n = BinaryPrimitives.ReadUInt32LittleEndian(_bytes.AsSpan((int)sizeAt));
        if (n > (ulong)(dataEnd - sizeAt - 4))
            throw Refuse($"the {what} message in the object header at byte {header} declares {n} bytes in a message of {dataEnd - data}");
    }

    private void CheckFillValue(long data, long dataEnd, long header)
    {
        if (dataEnd - data < 2) return;
        byte version = _bytes[data];
        if (version is 1 or 2)
        {
            if (dataEnd - data >= 4 && _bytes[data + 3] == 1) CheckSized(data + 4, dataEnd, data, header, "fill value");
        }
        else if (version == 3 && (_bytes[data + 1] & 0x10) == 0 && (_bytes[data + 1] & 0x20) != 0)
        {
            CheckSized(data + 2, dataEnd, data, header, "fill value");
        }
    }

    /// <summary>
    /// An attribute message (spec IV.A.2.m), walked as PureHDF reads it: the name up to its NUL (padded to 8 in
    /// version 1), the datatype, the dataspace, then elements x element size bytes of data, which must lie in
    /// the message. A datatype whose encoded length this does not know (compound, enum, array: none in a Keras
    /// file's attributes) or a shared one ends the check.
    /// </summary>
    private void CheckAttribute(long data, long dataEnd, long header)
    {
        if (dataEnd - data < 8) return;
        byte version = _bytes[data];
        byte flags = _bytes[data + 1];
        if (version is < 1 or > 3 || (version > 1 && (flags & 0x03) != 0)) return;
        int datatypeSize = BinaryPrimitives.ReadUInt16LittleEndian(_bytes.AsSpan((int)data + 4));
        int dataspaceSize = BinaryPrimitives.ReadUInt16LittleEndian(_bytes.AsSpan((int)data + 6));
        long pos = data + 8 + (version == 3 ? 1 : 0);
        long nul = pos;
        while (nul < dataEnd && _bytes[nul] != 0) nul++;
        if (nul >= dataEnd) throw Refuse($"an attribute name in the object header at byte {header} does not end inside its message");
        long nameBytes = nul - pos + 1;
        pos = nul + 1 + (version == 1 ? (8 - nameBytes % 8) % 8 : 0);
        if (pos + 8 > dataEnd) throw Refuse($"an attribute in the object header at byte {header} is cut short");
        ulong elementSize = BinaryPrimitives.ReadUInt32LittleEndian(_bytes.AsSpan((int)pos + 4));
        long? typeBytes = DatatypeLength(pos, dataEnd, depth: 0);
        if (typeBytes is null) return;
        pos += typeBytes.Value + (version == 1 ? (8 - datatypeSize % 8) % 8 : 0);
        if (pos + 4 > dataEnd) throw Refuse($"an attribute in the object header at byte {header} is cut short");
        byte spaceVersion = _bytes[pos], rank = _bytes[pos + 1], spaceFlags = _bytes[pos + 2];
        int spaceType = spaceVersion == 1 ? (rank > 0 ? 1 : 0) : _bytes[pos + 3];
        long dims = pos + (spaceVersion == 1 ? 8 : 4);
        int arrays = 1 + ((spaceFlags & 1) != 0 ? 1 : 0) + ((spaceFlags & 2) != 0 ? 1 : 0);
        long spaceEnd = dims + (long)arrays * rank * _lengthSize;
        if (spaceEnd > dataEnd) throw Refuse($"an attribute's dataspace in the object header at byte {header} runs past its message");
        UInt128 count = spaceType switch { 0 => 1, 2 => 0, _ => 1 };
        if (spaceType == 1)
        {
            for (int i = 0; i < rank; i++)
            {
                count *= ReadSize(dims + (long)i * _lengthSize, _lengthSize);
                if (count > (ulong)_bytes.Length) break;
            }
        }
        pos = spaceEnd + (version == 1 ? (8 - dataspaceSize % 8) % 8 : 0);
        UInt128 bytes = count * elementSize;
        if (pos > dataEnd || bytes > (ulong)(dataEnd - pos))
            throw Refuse($"an attribute in the object header at byte {header} declares {(count > (ulong)_bytes.Length ? "absurd dimensions" : $"{bytes} bytes of data")} in a message of {dataEnd - data} bytes");
    }

    /// <summary>How many bytes PureHDF reads for the datatype at <paramref name="at"/>; null for classes whose length is not computed here.</summary>
    private long? DatatypeLength(long at, long end, int depth)
    {
        if (at + 8 > end || depth > 4) return null;
        int cls = _bytes[at] & 0x0F;
        return cls switch
        {
            0 => 8 + 4,   // fixed-point: offset, precision
            1 => 8 + 12,  // floating-point
            2 => 8 + 2,   // time
            3 => 8,       // string
            4 => 8 + 4,   // bitfield
            7 => 8,       // reference
            9 => DatatypeLength(at + 8, end, depth + 1) is { } b ? 8 + b : null, // variable-length: its base type
            _ => null,
        };
    }

    private void Charge(ulong size, string what, long at)
    {
        _structureBytes += (long)size;
        if (_structureBytes > _bytes.Length)
            throw Refuse($"the {what} at byte {at} overlaps others: the heaps together declare {_structureBytes} bytes, more than the file");
    }

    private ulong ReadSize(long at, int width) => width switch
    {
        8 => BinaryPrimitives.ReadUInt64LittleEndian(_bytes.AsSpan((int)at)),
        4 => BinaryPrimitives.ReadUInt32LittleEndian(_bytes.AsSpan((int)at)),
        _ => BinaryPrimitives.ReadUInt16LittleEndian(_bytes.AsSpan((int)at)),
    };

    private EdgeException Refuse(string what) => new($"{_name}: corrupt HDF5 file: {what}");

    public override void Flush() { }
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
