using System.Globalization;
using System.IO.Compression;
using System.Text;
using Edge.Runtime;

namespace Edge.Quantizer.Import.PyTorch;

/// <summary>
/// The zip container of torch.save (torch >= 1.6, the default since then):
/// <code>
///   &lt;prefix&gt;/data.pkl        the pickled object (state_dict or checkpoint dict)
///   &lt;prefix&gt;/data/&lt;key&gt;      raw little-endian bytes of one storage, named by the pickle's persistent ids
///   &lt;prefix&gt;/version         "3"; newer torch also writes byteorder ("little"), .format_version, ...
/// </code>
/// The prefix is the file's stem when torch.save was given a path ("archive" for a buffer); it is
/// found, not assumed. Entries are stored (not compressed) by torch; any entry's declared size is
/// checked against the file size, <see cref="MaxEntryBytes"/> and a compression-ratio bound before
/// a byte is allocated for it, each entry is copied into memory before it is parsed, and what it
/// inflates to must have its declared size and CRC-32.
/// </summary>
public sealed class PtArchive : IDisposable
{
    /// <summary>No single entry larger than this is read (it would not fit a .NET array anyway).</summary>
    public const long MaxEntryBytes = 2_000_000_000;

    /// <summary>A compressed entry may expand at most this much (above <see cref="RatioFreeBytes"/>): a bound against zip bombs.</summary>
    public const long MaxCompressionRatio = 100;

    /// <summary>Entries up to this size are not ratio-checked (small pickles of zeros compress well).</summary>
    public const long RatioFreeBytes = 1 << 20;

    private const int MaxPickleBytes = 256 << 20;

    private static readonly byte[] LegacyMagic = [0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

    private readonly ZipArchive _zip;
    private readonly long _fileLength;
    private readonly Dictionary<string, ZipArchiveEntry> _entries = new(StringComparer.Ordinal);

    private PtArchive(ZipArchive zip, long fileLength, string source, string prefix)
    {
        _zip = zip;
        _fileLength = fileLength;
        Source = source;
        Prefix = prefix;
        foreach (var e in zip.Entries) _entries[e.FullName] = e;
    }

    /// <summary>The file name used in messages.</summary>
    public string Source { get; }

    /// <summary>The top-level folder of the archive ("model", "archive", ...).</summary>
    public string Prefix { get; }

    /// <summary>
    /// Opens a torch.save zip. <paramref name="stream"/> must be seekable and stays owned by the caller.
    /// A legacy (pre-1.6 or _use_new_zipfile_serialization=False) file, a plain pickle, or anything
    /// else is refused with a message that says how to re-save it.
    /// </summary>
    public static PtArchive Open(Stream stream, string source)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(source);
        if (!stream.CanSeek) throw new ArgumentException("the stream must be seekable", nameof(stream));
        long length = stream.Length;
        Span<byte> head = stackalloc byte[14];
        stream.Position = 0;
        int got = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        stream.Position = 0;
        CheckMagic(head[..got], source);

        ZipArchive zip;
        try
        {
            zip = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true);
            _ = zip.Entries.Count; // the central directory is read here
        }
        catch (Exception e) when (IsZipFailure(e))
        {
            throw new EdgeFormatException($"{source}: not a readable zip archive (truncated or corrupt): {PickleText.Printable(e.Message, 200)}", e);
        }
        try
        {
            var pickles = zip.Entries.Where(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal)
                                                 && e.FullName.IndexOf('/', StringComparison.Ordinal) == e.FullName.Length - "/data.pkl".Length).ToList();
            if (pickles.Count != 1)
                throw new EdgeFormatException($"{source}: a torch.save zip has one <prefix>/data.pkl; this archive has {pickles.Count} " +
                    $"(entries: {string.Join(", ", zip.Entries.Take(8).Select(e => PickleText.Printable(e.FullName, 60)))}{(zip.Entries.Count > 8 ? ", ..." : "")})");
            string prefix = pickles[0].FullName[..^"/data.pkl".Length];
            var archive = new PtArchive(zip, length, source, prefix);
            archive.CheckByteOrder();
            return archive;
        }
        catch
        {
            zip.Dispose();
            throw;
        }
    }

    /// <summary>The bytes of data.pkl.</summary>
    public byte[] ReadPickle() => ReadEntry($"{Prefix}/data.pkl", MaxPickleBytes);

    /// <summary>The bytes of storage <paramref name="key"/>; it must hold exactly <paramref name="expectedBytes"/>.</summary>
    public byte[] ReadStorage(string key, long expectedBytes)
    {
        string name = $"{Prefix}/data/{key}";
        if (!_entries.TryGetValue(name, out var entry))
            throw new EdgeFormatException($"{Source}: the pickle refers to storage '{key}' but the archive has no {name}");
        long declared = DeclaredLength(entry);
        if (declared != expectedBytes)
            throw new EdgeFormatException($"{Source}: {name} holds {declared} bytes but the pickle declares a storage of {expectedBytes} bytes");
        return ReadEntry(name, MaxEntryBytes);
    }

    public void Dispose() => _zip.Dispose();

    // ── helpers ─────────────────────────────────────────────────────────────────────────────────

    private static void CheckMagic(ReadOnlySpan<byte> head, string source)
    {
        const string resave = "load it with torch (>= 1.6) and re-save it with torch.save(model.state_dict(), path) " +
                              "(the default _use_new_zipfile_serialization=True), or save it as .safetensors";
        if (head.Length >= 4 && head[0] == 'P' && head[1] == 'K' && (head[2], head[3]) is (3, 4) or (5, 6))
            return;
        if (head.Length >= 2 && head[0] == 0x80 && head[1] is >= 2 and <= 5)
        {
            if (head.Length >= 2 + LegacyMagic.Length && head.Slice(2, LegacyMagic.Length).SequenceEqual(LegacyMagic))
                throw new EdgeFormatException($"{source}: this is the legacy (non-zip) torch.save format, which is not a zip archive (StateDict.ReadPt reads it)");
            throw new EdgeFormatException($"{source}: this is a plain Python pickle, not a torch.save zip archive; {resave}");
        }
        if (head.Length >= 9 && head[8] == '{' && head[7] == 0 && head[6] == 0 && head[5] == 0) // u64 header length, then JSON
            throw new EdgeFormatException($"{source}: this looks like a safetensors file; give it the extension .safetensors");
        if (head.Length == 0) throw new EdgeFormatException($"{source}: the file is empty");
        throw new EdgeFormatException($"{source}: not a PyTorch file (a torch.save zip starts with 'PK'); {resave}");
    }

    private void CheckByteOrder()
    {
        if (!_entries.TryGetValue($"{Prefix}/byteorder", out _)) return; // written by torch >= 2.1; older files are little-endian
        string order = Encoding.ASCII.GetString(ReadEntry($"{Prefix}/byteorder", 64)).Trim();
        if (order != "little")
            throw new UnsupportedModelException($"{Source}: byteorder is '{PickleText.Printable(order, 20)}'; Edge reads little-endian files only (re-save on a little-endian machine)");
    }

    private long DeclaredLength(ZipArchiveEntry entry)
    {
        long length = entry.Length, compressed = entry.CompressedLength;
        string name = entry.FullName;
        if (length < 0 || compressed < 0)
            throw new EdgeFormatException($"{Source}: {name} declares a negative size");
        if (length > MaxEntryBytes)
            throw new EdgeFormatException($"{Source}: {name} declares {length.ToString("N0", CultureInfo.InvariantCulture)} bytes, more than Edge reads from one entry ({MaxEntryBytes.ToString("N0", CultureInfo.InvariantCulture)})");
        if (compressed > _fileLength)
            throw new EdgeFormatException($"{Source}: {name} declares {compressed} compressed bytes but the file has only {_fileLength}");
        if (compressed == length && length > _fileLength)
            throw new EdgeFormatException($"{Source}: {name} declares {length} bytes but the file has only {_fileLength}");
        if (length > RatioFreeBytes && length > MaxCompressionRatio * Math.Max(compressed, 1))
            throw new EdgeFormatException($"{Source}: {name} would expand {compressed} bytes into {length} (more than {MaxCompressionRatio}x): refused as a possible zip bomb");
        return length;
    }

    private byte[] ReadEntry(string name, long limit)
    {
        if (!_entries.TryGetValue(name, out var entry)) throw new EdgeFormatException($"{Source}: the archive has no {name}");
        long length = DeclaredLength(entry);
        if (length > limit)
            throw new EdgeFormatException($"{Source}: {name} declares {length.ToString("N0", CultureInfo.InvariantCulture)} bytes, more than the {limit.ToString("N0", CultureInfo.InvariantCulture)} Edge accepts for it");
        var buffer = new byte[length];
        try
        {
            using var s = entry.Open();
            int got = s.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            if (got < length)
                throw new EdgeFormatException($"{Source}: {name} inflates to {got} bytes but declares {length}");
            Span<byte> extra = stackalloc byte[1];
            if (s.Read(extra) != 0)
                throw new EdgeFormatException($"{Source}: {name} holds more data than its declared {length} bytes");
        }
        catch (Exception e) when (IsZipFailure(e))
        {
            throw new EdgeFormatException($"{Source}: {name} cannot be read (truncated or corrupt): {PickleText.Printable(e.Message, 200)}", e);
        }
        // The stream above may stop at the declared size even when the member inflates to more, and
        // a stored member is copied as it is: the CRC-32 the zip records is what catches both.
        uint crc = System.IO.Hashing.Crc32.HashToUInt32(buffer);
        if (crc != entry.Crc32)
            throw new EdgeFormatException($"{Source}: {name} is damaged: its CRC-32 is {crc:x8} but the zip records {entry.Crc32:x8}");
        return buffer;
    }

    /// <summary>The exceptions System.IO.Compression throws for damaged archives.</summary>
    internal static bool IsZipFailure(Exception e) =>
        e is InvalidDataException or IOException or ArgumentException or NotSupportedException or OverflowException;
}
