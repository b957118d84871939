using System.Buffers.Binary;
using Edge.Runtime;

namespace Edge.Quantizer.Import.PyTorch;

/// <summary>
/// The legacy torch.save format (torch before 1.6, or _use_new_zipfile_serialization=False): five
/// pickles one after another, then the raw storages.
/// <code>
///   pickle 1   the magic number 0x1950a86a20f9469cfc6c (a LONG1 of 10 bytes)
///   pickle 2   the protocol version, 1001
///   pickle 3   sys info: {'protocol_version': 1001, 'little_endian': True, 'type_sizes': {...}}
///   pickle 4   the object, whose storages are persistent ids ('storage', type, key, location, numel, None)
///   pickle 5   the storage keys, sorted: the order of the storages that follow
///   storages   per key: its element count (int64, little-endian), then count x item size raw bytes
/// </code>
/// Every pickle goes through <see cref="SafeUnpickler"/> (nothing executed; the object with placeholders,
/// the others strictly); every count is checked against the bytes left before anything is copied.
/// </summary>
internal sealed class LegacyTorchFile
{
    /// <summary>PROTO 2, then the magic number as LONG1 (0x8a, 10 bytes), then STOP.</summary>
    private static ReadOnlySpan<byte> MagicPickle =>
        [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, (byte)'.'];

    private readonly byte[] _data;
    private readonly Dictionary<string, (int Offset, long Bytes)> _storages;

    private LegacyTorchFile(byte[] data, string source, object? root, IReadOnlyList<string> placeholders, Dictionary<string, (int, long)> storages)
    {
        _data = data;
        Source = source;
        Root = root;
        Placeholders = placeholders;
        _storages = storages;
    }

    public string Source { get; }
    public object? Root { get; }
    public IReadOnlyList<string> Placeholders { get; }
    public string PickleName => $"{Source}:object";

    /// <summary>True when <paramref name="head"/> (the first 15 bytes or more) is the legacy format's magic pickle.</summary>
    public static bool IsLegacy(ReadOnlySpan<byte> head) => head.Length >= MagicPickle.Length && head[..MagicPickle.Length].SequenceEqual(MagicPickle);

    public static LegacyTorchFile Read(byte[] data, string source)
    {
        if (!IsLegacy(data)) throw new EdgeFormatException($"{source}: not a legacy torch.save file (no magic number)");
        int pos = MagicPickle.Length;
        var protocol = SafeUnpickler.LoadAt(data, ref pos, $"{source}:protocol", false, out _, out _);
        if (protocol is not 1001L)
            throw new EdgeFormatException($"{source}: legacy torch.save protocol {PickleText.Describe(protocol)} (Edge reads 1001)");
        var sysInfo = SafeUnpickler.LoadAt(data, ref pos, $"{source}:sys_info", false, out _, out _);
        if (sysInfo is not PyDict info)
            throw new EdgeFormatException($"{source}: the legacy header's sys info is {PickleText.Describe(sysInfo)}, not a dict");
        if (info.TryGet("little_endian", out var little) && little is not true)
            throw new UnsupportedModelException($"{source}: saved on a big-endian machine (little_endian = {PickleText.Describe(little)}); Edge reads little-endian files only (re-save on a little-endian machine)");

        var root = SafeUnpickler.LoadAt(data, ref pos, $"{source}:object", true, out var placeholders, out var refs);
        var keyList = SafeUnpickler.LoadAt(data, ref pos, $"{source}:storage keys", false, out _, out _);
        if (keyList is not PyList keys)
            throw new EdgeFormatException($"{source}: the legacy storage key list is {PickleText.Describe(keyList)}, not a list");

        var storages = new Dictionary<string, (int, long)>(StringComparer.Ordinal);
        foreach (var k in keys.Items)
        {
            if (k is not string key || !refs.TryGetValue(key, out var storage))
                throw new EdgeFormatException($"{source}: the legacy storage list names {PickleText.Describe(k)}, which no tensor in the file uses");
            if (data.Length - pos < 8)
                throw new EdgeFormatException($"{source}: storage '{PickleText.Printable(key, 64)}' at byte {pos} is cut short (truncated file?)");
            long count = BinaryPrimitives.ReadInt64LittleEndian(data.AsSpan(pos));
            pos += 8;
            if (count != storage.Numel)
                throw new EdgeFormatException($"{source}: storage '{PickleText.Printable(key, 64)}' holds {count} elements but the pickle declares {storage.Numel}");
            long bytes = count > (data.Length - pos) / storage.DType.ItemSize() ? -1 : count * storage.DType.ItemSize();
            if (bytes < 0)
                throw new EdgeFormatException($"{source}: storage '{PickleText.Printable(key, 64)}' declares {count} {storage.DType.Name()} elements, past the end of the file ({data.Length} bytes; truncated?)");
            if (!storages.TryAdd(key, (pos, bytes)))
                throw new EdgeFormatException($"{source}: the legacy storage list names '{PickleText.Printable(key, 64)}' twice");
            pos += (int)bytes;
        }
        if (pos != data.Length)
            throw new EdgeFormatException($"{source}: {data.Length - pos} bytes follow the last storage of a legacy torch.save file (corrupt?)");
        return new LegacyTorchFile(data, source, root, placeholders, storages);
    }

    /// <summary>The bytes of storage <paramref name="key"/>; it must hold exactly <paramref name="expectedBytes"/>.</summary>
    public byte[] ReadStorage(string key, long expectedBytes)
    {
        if (!_storages.TryGetValue(key, out var s))
            throw new EdgeFormatException($"{Source}: the pickle refers to storage '{PickleText.Printable(key, 64)}' but the file's storage list does not hold it");
        if (s.Bytes != expectedBytes)
            throw new EdgeFormatException($"{Source}: storage '{PickleText.Printable(key, 64)}' holds {s.Bytes} bytes but the pickle declares {expectedBytes}");
        return _data.AsSpan(s.Offset, (int)s.Bytes).ToArray();
    }
}
