using Edge.Runtime.Format;
using System.Buffers.Binary;
using System.Globalization;
using Edge.Runtime;
using PureHDF;
using PureHDF.VOL.Native;

namespace Edge.Quantizer.Import.Keras;

/// <summary>A weight as Keras stores it: its path in the file, Keras's shape and layout, float32 data.</summary>
internal sealed record KerasWeight(string Path, int[] Shape, float[] Data)
{
    public string ShapeString => "(" + string.Join(", ", Shape) + (Shape.Length == 1 ? ",)" : ")");
}

/// <summary>
/// The few HDF5 reads Keras files need (string attributes, float datasets), over PureHDF, with every
/// PureHDF failure turned into an <see cref="EdgeException"/> naming the file and the object, and every
/// dataset's size checked against the file before anything is allocated.
/// </summary>
internal sealed class KerasHdf5 : IDisposable
{
    /// <summary>No layer of a model meant for a Raspberry Pi holds more; a larger dimension product is a broken or hostile file.</summary>
    public const long MaxElements = 1L << 28;

    private readonly NativeFile _file;
    private readonly long _fileLength;

    // PureHDF's filter registry is process-wide; Edge is its only user in this process.
    static KerasHdf5() => PureHDF.Filters.H5Filter.Register(new BoundedDeflateFilter());

    private KerasHdf5(NativeFile file, long fileLength, string name)
    {
        _file = file;
        _fileLength = fileLength;
        Name = name;
    }

    /// <summary>The file's name in messages (for a `.keras` zip: "model.keras!model.weights.h5").</summary>
    public string Name { get; }

    public IH5Group Root => _file;

    public static KerasHdf5 Open(byte[] bytes, string name)
    {
        // HDF5 files start with the signature \x89HDF\r\n\x1a\n (at offset 0 for every file Keras writes).
        ReadOnlySpan<byte> magic = [0x89, (byte)'H', (byte)'D', (byte)'F', (byte)'\r', (byte)'\n', 0x1a, (byte)'\n'];
        if (bytes.Length < magic.Length || !bytes.AsSpan(0, magic.Length).SequenceEqual(magic))
            throw new EdgeException($"{name}: not an HDF5 file (no HDF5 signature)");
        var (baseAddress, offsetSize, lengthSize) = CheckSuperblock(bytes, name);
        try
        {
            var file = H5File.Open(new BoundedHdf5Stream(bytes, name, baseAddress, offsetSize, lengthSize), leaveOpen: false);
            return new KerasHdf5(file, bytes.Length, name);
        }
        catch (Exception e) when (e is not EdgeException)
        {
            throw new EdgeException($"{name}: cannot read the HDF5 file (truncated or corrupt?): {MessageText.Printable(e.Message, 200)}", e);
        }
    }

    /// <summary>
    /// A truncated file can still open (and even yield the weights when only the tail was lost), so compare
    /// the superblock's end-of-file address with the real length; and take the widths and base address the
    /// heap checks of <see cref="BoundedHdf5Stream"/> need. Superblock layout (HDF5 spec, section II.A):
    /// <code>
    /// v0/v1: signature(8) version(1) freespace(1) rootsym(1) res(1) shared(1) sizeof_offsets(1) sizeof_lengths(1) res(1)
    ///        leaf_k(2) internal_k(2) flags(4) [v1: istore_k(2) res(2)] base(O) freespace_addr(O) eof(O) driver(O) ...
    /// v2/v3: signature(8) version(1) sizeof_offsets(1) sizeof_lengths(1) flags(1) base(O) ext(O) eof(O) root(O) checksum(4)
    /// </code>
    /// </summary>
    private static (ulong BaseAddress, int OffsetSize, int LengthSize) CheckSuperblock(byte[] bytes, string name)
    {
        if (bytes.Length < 16) throw new EdgeException($"{name}: truncated HDF5 file ({bytes.Length} bytes)");
        int version = bytes[8];
        if (version > 3) throw new EdgeException($"{name}: HDF5 superblock version {version} is not one Edge reads (0 to 3)");
        int offsetSize = version <= 1 ? bytes[13] : bytes[9];
        int lengthSize = version <= 1 ? bytes[14] : bytes[10];
        // h5py writes 8 and 8; the heaps' sizes (BoundedHdf5Stream) are read with these widths
        if (offsetSize is not (2 or 4 or 8) || lengthSize is not (2 or 4 or 8))
            throw new EdgeException($"{name}: HDF5 superblock declares {offsetSize}-byte addresses and {lengthSize}-byte lengths (2, 4 or 8 expected)");
        int baseAt = version switch { 0 => 24, 1 => 28, _ => 12 };
        int eofAt = baseAt + 2 * offsetSize;
        if (eofAt + offsetSize > bytes.Length) throw new EdgeException($"{name}: truncated HDF5 file ({bytes.Length} bytes, inside its superblock)");
        ulong Read(int at) => offsetSize switch
        {
            8 => BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(at)),
            4 => BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at)),
            _ => BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(at)),
        };
        ulong baseAddress = Read(baseAt), eof = Read(eofAt);
        if (baseAddress > (ulong)bytes.Length || eof > (ulong)bytes.Length - baseAddress)
            throw new EdgeException(string.Create(CultureInfo.InvariantCulture,
                $"{name}: truncated HDF5 file: its superblock says it ends at byte {(decimal)baseAddress + eof}, but it has {bytes.Length} bytes"));
        return (baseAddress, offsetSize, lengthSize);
    }

    public void Dispose() => _file.Dispose();

    /// <summary>Runs a PureHDF read, turning its exceptions into ones that name the file and <paramref name="what"/>.</summary>
    public T Guard<T>(string what, Func<T> read)
    {
        try { return read(); }
        catch (Exception e) when (e is not EdgeException)
        {
            // PureHDF wraps what a filter throws ("Filter pipeline failed."): the cause is the useful part
            var cause = e;
            for (int i = 0; i < 8 && cause.InnerException is not null; i++) cause = cause.InnerException;
            string text = ReferenceEquals(cause, e) ? e.Message : $"{e.Message} {cause.Message}";
            throw new EdgeException($"{Name}: cannot read {what} (truncated or corrupt file?): {MessageText.Printable(text, 200)}", e);
        }
    }

    public IH5Group? TryGroup(IH5Group parent, string path) =>
        Guard($"group '{MessageText.Printable(path, 200)}'", () => parent.LinkExists(path) ? parent.Get(path) as IH5Group : null);

    public IH5Dataset? TryDataset(IH5Group parent, string path) =>
        Guard($"dataset '{MessageText.Printable(path, 200)}'", () => parent.LinkExists(path) ? parent.Get(path) as IH5Dataset : null);

    public List<(string Name, IH5Object Object)> Children(IH5Group group, string what) =>
        Guard($"the members of {what}", () => group.Children().Select(c => (c.Name, c)).ToList());

    /// <summary>A string attribute (scalar), or null when absent. Fixed-length and variable-length strings both occur in Keras files.</summary>
    public string? StringAttribute(IH5Object obj, string name, string where) => Guard($"attribute '{name}' of {MessageText.Printable(where, 200)}", () =>
    {
        if (!obj.AttributeExists(name)) return null;
        var a = obj.Attribute(name);
        if (a.Type.Class is not (H5DataTypeClass.String or H5DataTypeClass.VariableLength))
            throw new EdgeException($"{Name}: attribute '{name}' of {MessageText.Printable(where, 200)} is not a string ({a.Type.Class})");
        if (a.Space.Type == H5DataspaceType.Scalar) return a.Read<string>();
        CheckElements(a.Space.Dimensions, $"attribute '{name}' of {MessageText.Printable(where, 200)}", (int)Math.Clamp(a.Type.Size, 1, int.MaxValue));
        var all = a.Read<string[]>();
        if (all.Length != 1) throw new EdgeException($"{Name}: attribute '{name}' of {MessageText.Printable(where, 200)} holds {all.Length} strings, expected one");
        return all[0];
    });

    /// <summary>A list-of-strings attribute; null when absent; empty when it holds no elements (Keras writes an empty float64 array then).</summary>
    public string[]? StringListAttribute(IH5Object obj, string name, string where) => Guard($"attribute '{name}' of {MessageText.Printable(where, 200)}", () =>
    {
        if (!obj.AttributeExists(name)) return null;
        var a = obj.Attribute(name);
        if (a.Space.Type == H5DataspaceType.Simple && a.Space.Dimensions.Aggregate(1UL, (p, d) => p * d) == 0) return [];
        if (a.Type.Class is not (H5DataTypeClass.String or H5DataTypeClass.VariableLength))
            throw new EdgeException($"{Name}: attribute '{name}' of {MessageText.Printable(where, 200)} is not a list of strings ({a.Type.Class})");
        if (a.Space.Type == H5DataspaceType.Scalar) return [a.Read<string>()];
        CheckElements(a.Space.Dimensions, $"attribute '{name}' of {MessageText.Printable(where, 200)}", (int)Math.Clamp(a.Type.Size, 1, int.MaxValue));
        return a.Read<string[]>();
    });

    /// <summary>Reads a float32 (or float64, narrowed) dataset after checking its type and that its size is plausible for this file.</summary>
    public KerasWeight ReadFloats(IH5Dataset dataset, string path) => Guard($"dataset '{MessageText.Printable(path, 200)}'", () =>
    {
        var type = dataset.Type;
        if (type.Class != H5DataTypeClass.FloatingPoint || type.Size is not (4 or 8))
            throw new UnsupportedModelException($"{Name}: dataset '{MessageText.Printable(path, 200)}' holds {type.Class} of {type.Size} bytes; Edge reads float32 and float64 weights");
        var dims = dataset.Space.Type == H5DataspaceType.Scalar ? [] : dataset.Space.Dimensions;
        long count = CheckElements(dims, $"dataset '{MessageText.Printable(path, 200)}'", (int)type.Size);
        var shape = dims.Select(d => (int)d).ToArray();
        float[] data;
        if (type.Size == 4)
        {
            data = dataset.Read<float[]>();
        }
        else
        {
            var d = dataset.Read<double[]>();
            data = new float[d.Length];
            for (int i = 0; i < d.Length; i++) data[i] = (float)d[i];
        }
        if (data.Length != count)
            throw new EdgeException($"{Name}: dataset '{MessageText.Printable(path, 200)}' declares {count} elements but {data.Length} were read");
        return new KerasWeight(path, shape, data);
    });

    private long CheckElements(IReadOnlyList<ulong> dims, string what, int elementSize)
    {
        long count = 1;
        foreach (var d in dims)
        {
            if (d > MaxElements || (d > 0 && (ulong)count > (ulong)MaxElements / d))
                throw new EdgeException($"{Name}: {what} has absurd dimensions ({string.Join(", ", dims)}); refusing to allocate it");
            count *= (long)d;
        }
        // Keras writes weights uncompressed, so their bytes are in the file: a larger dataset is not a real weight.
        if (count * elementSize > _fileLength)
            throw new EdgeException($"{Name}: {what} declares ({string.Join(", ", dims)}) = {count * elementSize} bytes, more than the whole file ({_fileLength} bytes)");
        return count;
    }
}
