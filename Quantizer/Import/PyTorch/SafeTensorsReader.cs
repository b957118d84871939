using System.Buffers.Binary;
using System.Text.Json;
using Edge.Runtime;
using Edge.Runtime.Tensors;

namespace Edge.Quantizer.Import.PyTorch;

/// <summary>
/// The safetensors format (huggingface/safetensors):
/// <code>
///   u64 LE   N, the header length
///   N bytes  JSON: { "name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ..., "__metadata__": {..} }
///   rest     the data buffer; offsets are relative to its start, tensors are C-contiguous little-endian
/// </code>
/// The header is checked whole before any tensor is allocated: known dtypes, non-negative shapes,
/// end - begin = element count × item size, every range inside the buffer, no two ranges overlapping.
/// </summary>
public static class SafeTensorsReader
{
    /// <summary>Headers above this size are refused (real ones are kilobytes).</summary>
    public const long MaxHeaderBytes = 100 << 20;

    public static StateDict Read(Stream stream, string source)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(source);
        long fileLength = stream.Length;
        if (fileLength < 8) throw new EdgeFormatException($"{source}: {fileLength} bytes is too short for a safetensors file (8-byte header length)");
        Span<byte> lenBytes = stackalloc byte[8];
        stream.Position = 0;
        stream.ReadExactly(lenBytes);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lenBytes);
        if (headerLength > (ulong)(fileLength - 8))
            throw new EdgeFormatException($"{source}: the header length {headerLength} runs past the end of the file ({fileLength} bytes): truncated or not a safetensors file");
        if (headerLength > MaxHeaderBytes)
            throw new EdgeFormatException($"{source}: a header of {headerLength} bytes is larger than Edge accepts ({MaxHeaderBytes})");
        var header = new byte[headerLength];
        stream.ReadExactly(header);
        long dataStart = 8 + (long)headerLength;
        long dataLength = fileLength - dataStart;

        // JsonDocument parses invalid UTF-8 inside strings and fails only when a name is read, with an
        // InvalidOperationException: the safetensors header is UTF-8, checked whole first.
        if (!System.Text.Unicode.Utf8.IsValid(header))
            throw new EdgeFormatException($"{source}: the header is not valid UTF-8");
        var entries = new List<(string Name, TorchDType DType, long[] Shape, long Begin, long End)>();
        try
        {
            using var doc = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 8 });
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new EdgeFormatException($"{source}: the header is not a JSON object");
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (p.Name == "__metadata__")
                {
                    // safetensors defines it as a map of strings to strings
                    if (p.Value.ValueKind != JsonValueKind.Object || p.Value.EnumerateObject().Any(m => m.Value.ValueKind != JsonValueKind.String))
                        throw new EdgeFormatException($"{source}: __metadata__ must be an object of strings, not {Raw(p.Value)}");
                    continue;
                }
                entries.Add(ParseEntry(p, source, dataLength));
            }
        }
        catch (JsonException e)
        {
            throw new EdgeFormatException($"{source}: the header is not valid JSON: {PickleText.Printable(e.Message, 200)}", e);
        }

        // No two tensors may share bytes.
        var byOffset = entries.Where(e => e.End > e.Begin).OrderBy(e => e.Begin).ToList();
        for (int i = 1; i < byOffset.Count; i++)
            if (byOffset[i].Begin < byOffset[i - 1].End)
                throw new EdgeFormatException($"{source}: '{PickleText.Printable(byOffset[i].Name, 120)}' [{byOffset[i].Begin}, {byOffset[i].End}) overlaps '{PickleText.Printable(byOffset[i - 1].Name, 120)}' [{byOffset[i - 1].Begin}, {byOffset[i - 1].End})");

        var tensors = new OrderedDictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, dtype, shape, begin, end) in entries)
        {
            var bytes = new byte[end - begin];
            stream.Position = dataStart + begin;
            stream.ReadExactly(bytes);
            var stride = new long[shape.Length];
            long s = 1;
            for (int i = shape.Length - 1; i >= 0; i--) { stride[i] = s; s *= Math.Max(shape[i], 1); }
            if (!tensors.TryAdd(name, TorchTensors.FromStorage($"{source}: '{PickleText.Printable(name, 120)}'", dtype, bytes, 0, shape, stride)))
                throw new EdgeFormatException($"{source}: the key '{PickleText.Printable(name, 120)}' appears twice");
        }
        if (tensors.Count == 0) throw new EdgeFormatException($"{source}: the file holds no tensors");
        return new StateDict(source, tensors);
    }

    private static (string, TorchDType, long[], long, long) ParseEntry(JsonProperty p, string source, long dataLength)
    {
        string where = $"{source}: '{PickleText.Printable(p.Name, 120)}'";
        var e = p.Value;
        if (e.ValueKind != JsonValueKind.Object) throw new EdgeFormatException($"{where}: expected an object with dtype, shape and data_offsets");
        if (!e.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String)
            throw new EdgeFormatException($"{where}: dtype is missing");
        var dtype = dt.GetString() switch
        {
            "F32" => TorchDType.Float32,
            "F16" => TorchDType.Float16,
            "BF16" => TorchDType.BFloat16,
            "F64" => TorchDType.Float64,
            "I64" => TorchDType.Int64,
            "I32" => TorchDType.Int32,
            "I16" => TorchDType.Int16,
            "I8" => TorchDType.Int8,
            "U8" => TorchDType.UInt8,
            "BOOL" => TorchDType.Bool,
            var other => throw new UnsupportedModelException($"{where}: dtype {PickleText.Printable(dt.GetString() ?? "", 40)} is not supported (F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL)"),
        };
        if (!e.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array)
            throw new EdgeFormatException($"{where}: shape is missing");
        if (sh.GetArrayLength() > TorchTensors.MaxRank) throw new EdgeFormatException($"{where}: rank {sh.GetArrayLength()} is more than {TorchTensors.MaxRank}");
        var shape = new long[sh.GetArrayLength()];
        long count = 1;
        int i = 0;
        foreach (var d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long v) || v < 0 || v > Array.MaxLength)
                throw new EdgeFormatException($"{where}: shape {Raw(sh)} must hold non-negative integers");
            shape[i++] = v;
            count = count > 0 && v > Array.MaxLength / count ? throw new EdgeFormatException($"{where}: shape {Raw(sh)} has too many elements") : count * v;
        }
        if (!e.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
            throw new EdgeFormatException($"{where}: data_offsets must be [begin, end]");
        // TryGetInt64 throws on anything but a number: the kinds are checked first
        if (off[0].ValueKind != JsonValueKind.Number || off[1].ValueKind != JsonValueKind.Number
            || !off[0].TryGetInt64(out long begin) || !off[1].TryGetInt64(out long end) || begin < 0 || end < begin)
            throw new EdgeFormatException($"{where}: data_offsets {Raw(off)} must be 0 <= begin <= end");
        if (end > dataLength)
            throw new EdgeFormatException($"{where}: data_offsets {Raw(off)} run past the data ({dataLength} bytes): truncated file?");
        if (end - begin != count * dtype.ItemSize())
            throw new EdgeFormatException($"{where}: {dtype.Name()} shape {Raw(sh)} needs {count * dtype.ItemSize()} bytes but data_offsets {Raw(off)} hold {end - begin}");
        return (p.Name, dtype, shape, begin, end);
    }

    /// <summary>A JSON value for a message: its text, non-printable characters as '?', cut to 80 characters.</summary>
    private static string Raw(JsonElement e) => PickleText.Printable(e.GetRawText(), 80);
}
