using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Unicode;
using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Format;

/// <summary>
/// Reads and writes `.edge` files (format v1, specified in docs/format.md; byte layout in
/// <see cref="BlobLayout"/>). The writer is deterministic: the same graph and metadata give the
/// same bytes. The reader checks every offset, length, count, shape and checksum against the
/// file before it allocates a tensor, and refuses anything wrong with an
/// <see cref="EdgeFormatException"/> reading "&lt;file&gt;: &lt;section&gt;: &lt;problem&gt;".
/// </summary>
internal static class EdgeBlob
{
    public const ushort FormatVersion = 1;

    // ── writing ──────────────────────────────────────────────────────────────────────────────

    /// <summary>Writes atomically: to a temporary file in the same directory, flushed, then renamed over <paramref name="path"/>.</summary>
    public static void Write(string path, Graph graph, JsonObject metadata)
    {
        ArgumentNullException.ThrowIfNull(path);
        var plan = Plan.Make(graph, metadata); // refuse a bad graph before touching the file system
        string full = Path.GetFullPath(path);
        string temp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                plan.WriteTo(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            throw new EdgeException($"{path}: cannot write: {e.Message}", e);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    public static void Write(Stream stream, Graph graph, JsonObject metadata)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Plan.Make(graph, metadata).WriteTo(stream);
    }

    /// <summary>The bytes of the file <see cref="Write(Stream, Graph, JsonObject)"/> would write.</summary>
    public static byte[] ToBytes(Graph graph, JsonObject metadata)
    {
        var ms = new MemoryStream();
        Write(ms, graph, metadata);
        return ms.ToArray();
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* the original error matters more */ }
    }

    /// <summary>Everything the writer needs, computed (and validated) before the first byte is written.</summary>
    private sealed class Plan
    {
        private readonly List<(string Kind, byte[]? Bytes, long Offset, long Length, ulong Hash)> _sections = new();
        private readonly List<(long Offset, ReadOnlyMemory<byte> Bytes)> _data = new();
        private long _fileLength;

        public static Plan Make(Graph graph, JsonObject metadata)
        {
            ArgumentNullException.ThrowIfNull(graph);
            ArgumentNullException.ThrowIfNull(metadata);
            graph.Validate();
            GraphProbe.CheckDeclaredShapes(graph); // the reader refuses a graph whose outputs differ from their declared shapes
            var plan = new Plan();

            // TENS + DATA: one record per constant, sorted by UTF-8 name bytes; data 64-aligned in record order.
            var entries = new List<(string Name, byte[] Utf8, Tensor Values, QuantizedWeight? Q)>();
            foreach (var (name, t) in graph.Constants)
            {
                if (t is null) throw new EdgeException($"constant '{name}' is null");
                entries.Add((name, TensorTable.EncodeName(name), t, null));
            }
            foreach (var (name, q) in graph.QuantizedConstants)
            {
                if (q is null) throw new EdgeException($"quantized constant '{name}' is null");
                q.Validate(name);
                entries.Add((name, TensorTable.EncodeName(name), q.Values, q));
            }
            entries.Sort((a, b) => a.Utf8.AsSpan().SequenceCompareTo(b.Utf8));
            var records = new List<TensorRecord>(entries.Count);
            long dataEnd = 0;
            foreach (var (name, utf8, values, q) in entries)
            {
                if (name.Length == 0) throw new EdgeException("a constant has an empty name");
                if (values.Rank > BlobLayout.MaxRank)
                    throw new EdgeException($"constant '{name}' has rank {values.Rank}; .edge v1 stores at most {BlobLayout.MaxRank}");
                long dataOffset = BlobLayout.Align(dataEnd, BlobLayout.DataAlignment);
                var bytes = ToMemory(values);
                plan._data.Add((dataOffset, bytes));
                dataEnd = dataOffset + bytes.Length;
                long scalesOffset = 0, scalesLength = 0;
                if (q is not null)
                {
                    scalesOffset = BlobLayout.Align(dataEnd, BlobLayout.DataAlignment);
                    var scaleBytes = MemoryMarshal.AsBytes(q.Scales.AsSpan()).ToArray();
                    scalesLength = scaleBytes.Length;
                    plan._data.Add((scalesOffset, scaleBytes));
                    dataEnd = scalesOffset + scalesLength;
                }
                records.Add(new TensorRecord(name, utf8, values.DataType, values.ShapeArray(),
                    q is null ? QuantizationScheme.None : QuantizationScheme.Int8PerRowSymmetric, q?.Axis ?? 0,
                    dataOffset, bytes.Length, scalesOffset, scalesLength));
            }

            var meta = MetaJson(graph, metadata);
            var grph = GraphJson.Write(graph, records.Select(r => r.Name).ToList());
            var tens = TensorTable.Write(records);

            long offset = BlobLayout.HeaderSize + BlobLayout.Required.Length * BlobLayout.SectionEntrySize;
            foreach (var (kind, bytes) in new[] { (BlobLayout.Meta, meta), (BlobLayout.Graph, grph), (BlobLayout.Tensors, tens) })
            {
                offset = BlobLayout.Align(offset, BlobLayout.SectionAlignment);
                plan._sections.Add((kind, bytes, offset, bytes.Length, XxHash64.HashToUInt64(bytes)));
                offset += bytes.Length;
            }
            offset = BlobLayout.Align(offset, BlobLayout.DataAlignment);
            plan._sections.Add((BlobLayout.Data, null, offset, dataEnd, plan.HashData()));
            plan._fileLength = offset + dataEnd;
            return plan;
        }

            // Bytes() is a span over the tensor's array; a copy keeps the plan independent of later edits.
        // Empty tensors are skipped: Contiguous()/Bytes() refuse some empty shapes such as (0, 3, 0).
        private static ReadOnlyMemory<byte> ToMemory(Tensor t) => t.Length == 0 ? Array.Empty<byte>() : t.Contiguous().Bytes().ToArray();

        private ulong HashData()
        {
            var h = new XxHash64();
            long position = 0;
            foreach (var (offset, bytes) in _data)
            {
                AppendZeros(h, offset - position);
                h.Append(bytes.Span);
                position = offset + bytes.Length;
            }
            return h.GetCurrentHashAsUInt64();
        }

        private static void AppendZeros(XxHash64 h, long count)
        {
            Span<byte> zeros = stackalloc byte[BlobLayout.DataAlignment];
            zeros.Clear();
            for (; count > 0; count -= zeros.Length) h.Append(zeros[..(int)Math.Min(count, zeros.Length)]);
        }

        public void WriteTo(Stream stream)
        {
            var head = new byte[BlobLayout.HeaderSize + _sections.Count * BlobLayout.SectionEntrySize];
            var span = head.AsSpan();
            BlobLayout.Magic.CopyTo(span);
            BlobLayout.Guard.CopyTo(span[4..]);
            BinaryPrimitives.WriteUInt16LittleEndian(span[8..], FormatVersion);
            BinaryPrimitives.WriteUInt16LittleEndian(span[10..], BlobLayout.HeaderSize);
            BinaryPrimitives.WriteUInt32LittleEndian(span[12..], 0);
            BinaryPrimitives.WriteUInt32LittleEndian(span[16..], (uint)_sections.Count);
            BinaryPrimitives.WriteUInt32LittleEndian(span[20..], BlobLayout.SectionEntrySize);
            for (int i = 0; i < _sections.Count; i++)
            {
                var s = _sections[i];
                BlobLayout.WriteSectionEntry(span.Slice(BlobLayout.HeaderSize + i * BlobLayout.SectionEntrySize, BlobLayout.SectionEntrySize),
                    s.Kind, s.Offset, s.Length, s.Hash);
            }
            BinaryPrimitives.WriteUInt64LittleEndian(span[BlobLayout.HeaderHashedPrefix..],
                BlobLayout.HeaderHash(span[..BlobLayout.HeaderSize], span[BlobLayout.HeaderSize..]));
            stream.Write(head);
            long position = head.Length;
            foreach (var s in _sections)
            {
                WriteZeros(stream, s.Offset - position);
                if (s.Bytes is not null)
                {
                    stream.Write(s.Bytes);
                    position = s.Offset + s.Length;
                }
                else
                {
                    position = s.Offset;
                    foreach (var (offset, bytes) in _data)
                    {
                        WriteZeros(stream, s.Offset + offset - position);
                        stream.Write(bytes.Span);
                        position = s.Offset + offset + bytes.Length;
                    }
                }
            }
            System.Diagnostics.Debug.Assert(position == _fileLength);
        }

        private static void WriteZeros(Stream stream, long count)
        {
            Span<byte> zeros = stackalloc byte[BlobLayout.DataAlignment];
            zeros.Clear();
            for (; count > 0; count -= zeros.Length) stream.Write(zeros[..(int)Math.Min(count, zeros.Length)]);
        }
    }

    /// <summary>
    /// The caller's metadata (copied, never modified) with "format_version" set, and "name",
    /// "inputs", "outputs" filled from the graph when the caller did not give them.
    /// </summary>
    private static byte[] MetaJson(Graph graph, JsonObject metadata)
    {
        var meta = (JsonObject)metadata.DeepClone();
        meta["format_version"] = (int)FormatVersion;
        if (!meta.ContainsKey("name")) meta["name"] = graph.Name;
        if (!meta.ContainsKey("inputs")) meta["inputs"] = ValuesJson(graph.Inputs);
        if (!meta.ContainsKey("outputs")) meta["outputs"] = ValuesJson(graph.Outputs);
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
            meta.WriteTo(w);
        return ms.ToArray();
    }

    private static JsonArray ValuesJson(List<ValueInfo> values)
    {
        var array = new JsonArray();
        foreach (var v in values)
        {
            var shape = new JsonArray();
            foreach (var d in v.Shape) shape.Add((JsonNode)d);
            array.Add((JsonNode)new JsonObject { ["name"] = v.Name, ["dtype"] = v.DataType.Name(), ["shape"] = shape });
        }
        return array;
    }

    // ── reading ──────────────────────────────────────────────────────────────────────────────

    /// <summary>Reads and validates a `.edge` file; IO errors are <see cref="EdgeException"/>, format errors <see cref="EdgeFormatException"/>.</summary>
    public static (Graph Graph, JsonObject Metadata) Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] bytes;
        try
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
            if (fs.Length > Array.MaxLength)
                throw new EdgeFormatException($"{path}: header: the file is {fs.Length} bytes; .edge files are limited to {Array.MaxLength}");
            bytes = new byte[fs.Length];
            fs.ReadExactly(bytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EdgeException($"{path}: cannot read: {e.Message}", e);
        }
        return Read(bytes, path);
    }

    public static (Graph Graph, JsonObject Metadata) Read(ReadOnlySpan<byte> file, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        // The format is little-endian and tensors are copied byte for byte into native arrays.
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException(".edge files are read on little-endian machines only");
        EdgeFormatException Fail(string section, string problem) => new($"{name}: {section}: {problem}");

        var sections = ReadSectionTable(file, Fail);
        var meta = Slice(file, sections[BlobLayout.Meta]);
        var grph = Slice(file, sections[BlobLayout.Graph]);
        var tens = Slice(file, sections[BlobLayout.Tensors]);
        var data = Slice(file, sections[BlobLayout.Data]);

        var metadata = ReadMeta(meta, Fail);
        var records = TensorTable.Read(tens, data, Fail);
        Graph graph;
        List<string> constantNames;
        using (var doc = ParseJson(grph, BlobLayout.Graph, Fail))
            (graph, constantNames) = GraphJson.Read(doc.RootElement, p => Fail(BlobLayout.Graph, p));
        if (constantNames.Count != records.Count || !constantNames.SequenceEqual(records.Select(r => r.Name), StringComparer.Ordinal))
        {
            var missing = constantNames.Except(records.Select(r => r.Name), StringComparer.Ordinal).FirstOrDefault();
            var extra = records.Select(r => r.Name).Except(constantNames, StringComparer.Ordinal).FirstOrDefault();
            throw Fail(BlobLayout.Graph, missing is not null ? $"constant '{missing}' has no record in TENS"
                : extra is not null ? $"TENS holds tensor '{extra}', which the graph's constants do not list"
                : "the constants are not listed in TENS order (sorted by name bytes, each once)");
        }

        // Everything is checked: now allocate.
        foreach (var r in records)
        {
            var values = TensorTable.Materialize(r, data);
            if (r.Scheme == QuantizationScheme.Int8PerRowSymmetric)
                graph.QuantizedConstants.Add(r.Name, new QuantizedWeight(values, TensorTable.MaterializeScales(r, data), r.Axis));
            else
                graph.Constants.Add(r.Name, values);
        }
        try
        {
            graph.Validate();
            GraphProbe.CheckDeclaredShapes(graph);
        }
        catch (EdgeException e) { throw new EdgeFormatException($"{name}: {BlobLayout.Graph}: {e.Message}", e); }
        return (graph, metadata);
    }

    private readonly record struct Section(string Kind, long Offset, long Length, ulong Checksum);

    private static ReadOnlySpan<byte> Slice(ReadOnlySpan<byte> file, Section s) => file.Slice((int)s.Offset, (int)s.Length);

    private static Dictionary<string, Section> ReadSectionTable(ReadOnlySpan<byte> file, Func<string, string, EdgeFormatException> fail)
    {
        const string H = "header", T = "section table";
        var magic = BlobLayout.Magic;
        if (file.Length == 0) throw fail(H, "the file is empty");
        if (!file[..Math.Min(file.Length, 4)].SequenceEqual(magic[..Math.Min(file.Length, 4)]))
            throw fail(H, $"not a .edge file: it starts with {Hex(file[..Math.Min(file.Length, 8)])}, not \"EDGE\"");
        if (file.Length > 4)
        {
            var guard = file[4..Math.Min(file.Length, 8)];
            if (!guard.SequenceEqual(BlobLayout.Guard[..guard.Length]))
                throw fail(H, $"bytes 4..7 are {Hex(guard)}, not 0D 0A 1A 0A: the file was altered by a text-mode transfer (line endings converted)");
        }
        if (file.Length >= 10)
        {
            ushort version = BinaryPrimitives.ReadUInt16LittleEndian(file[8..]);
            if (version != FormatVersion)
                throw fail(H, $"unsupported .edge format version {version} (this build reads {FormatVersion})");
        }
        if (file.Length < BlobLayout.HeaderSize)
            throw fail(H, $"the file is truncated: {file.Length} bytes, shorter than the {BlobLayout.HeaderSize}-byte header");
        ushort headerSize = BinaryPrimitives.ReadUInt16LittleEndian(file[10..]);
        if (headerSize != BlobLayout.HeaderSize) throw fail(H, $"header size is {headerSize}; v1 headers are {BlobLayout.HeaderSize} bytes");
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(file[12..]);
        if (flags != 0) throw fail(H, $"unknown flags 0x{flags:X8} (v1 defines none)");
        uint count = BinaryPrimitives.ReadUInt32LittleEndian(file[16..]);
        if (count == 0 || count > BlobLayout.MaxSections) throw fail(H, $"section count is {count}; expected 1..{BlobLayout.MaxSections}");
        uint entrySize = BinaryPrimitives.ReadUInt32LittleEndian(file[20..]);
        if (entrySize != BlobLayout.SectionEntrySize) throw fail(H, $"section entry size is {entrySize}; v1 entries are {BlobLayout.SectionEntrySize} bytes");
        int tableEnd = BlobLayout.HeaderSize + (int)count * BlobLayout.SectionEntrySize;
        if (tableEnd > file.Length)
            throw fail(T, $"runs past the end of the file: {count} entries end at byte {tableEnd}, the file has {file.Length} (truncated)");
        var table = file[BlobLayout.HeaderSize..tableEnd];
        ulong stored = BinaryPrimitives.ReadUInt64LittleEndian(file[BlobLayout.HeaderHashedPrefix..]);
        ulong computed = BlobLayout.HeaderHash(file, table);
        if (stored != computed)
            throw fail(T, $"checksum mismatch over the header and section table (stored 0x{stored:X16}, computed 0x{computed:X16}): corrupt");

        var sections = new Dictionary<string, Section>(StringComparer.Ordinal);
        var ordered = new List<Section>();
        for (int i = 0; i < count; i++)
        {
            var e = table.Slice(i * BlobLayout.SectionEntrySize, BlobLayout.SectionEntrySize);
            foreach (var c in e[..4])
                if (!char.IsAsciiLetterOrDigit((char)c)) throw fail(T, $"entry {i} has kind {Hex(e[..4])}, not four ASCII letters or digits");
            string kind = System.Text.Encoding.ASCII.GetString(e[..4]);
            if (BinaryPrimitives.ReadUInt32LittleEndian(e[4..]) != 0) throw fail(kind, "section flags are not zero (v1 defines none)");
            ulong offset = BinaryPrimitives.ReadUInt64LittleEndian(e[8..]);
            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(e[16..]);
            if (offset > (ulong)file.Length || length > (ulong)file.Length - offset)
                throw fail(kind, $"the section runs past the end of the file: offset {offset} + length {length} > {file.Length} bytes (truncated?)");
            if (offset < (ulong)tableEnd) throw fail(kind, $"the section starts at {offset}, inside the header and section table (which end at {tableEnd})");
            int alignment = kind == BlobLayout.Data ? BlobLayout.DataAlignment : BlobLayout.SectionAlignment;
            if (offset % (ulong)alignment != 0) throw fail(kind, $"the section starts at {offset}, not a multiple of {alignment}");
            bool known = Array.IndexOf(BlobLayout.Required, kind) >= 0;
            // Kinds starting with a lowercase letter are optional (a reader may skip them); others are required to be understood.
            if (!known && !char.IsAsciiLetterLower(kind[0]))
                throw fail(kind, $"unknown section kind (this build reads {string.Join(", ", BlobLayout.Required)}; optional kinds start with a lowercase letter)");
            var s = new Section(kind, (long)offset, (long)length, BinaryPrimitives.ReadUInt64LittleEndian(e[24..]));
            if (!sections.TryAdd(kind, s)) throw fail(T, $"two {kind} sections");
            ordered.Add(s);
        }
        foreach (var k in BlobLayout.Required)
            if (!sections.ContainsKey(k)) throw fail(T, $"no {k} section");

        ordered.Sort((a, b) => a.Offset.CompareTo(b.Offset));
        long end = tableEnd;
        string previous = T;
        foreach (var s in ordered)
        {
            if (s.Offset < end) throw fail(s.Kind, $"the section (at {s.Offset}) overlaps {previous} (which ends at {end})");
            if (file[(int)end..(int)s.Offset].ContainsAnyExcept((byte)0)) throw fail(s.Kind, $"padding before the section (bytes {end}..{s.Offset - 1}) is not zero");
            end = s.Offset + s.Length;
            previous = s.Kind;
        }
        if (end != file.Length) throw fail(T, $"{file.Length - end} stray bytes after the last section (which ends at {end})");

        foreach (var s in ordered)
        {
            ulong actual = XxHash64.HashToUInt64(file.Slice((int)s.Offset, (int)s.Length));
            if (s.Checksum != actual)
                throw fail(s.Kind, $"checksum mismatch (stored 0x{s.Checksum:X16}, computed 0x{actual:X16}): the section is corrupt");
        }
        return sections;
    }

    private static readonly JsonDocumentOptions JsonOptions = new() { AllowDuplicateProperties = false, MaxDepth = 64 };

    private static JsonDocument ParseJson(ReadOnlySpan<byte> bytes, string section, Func<string, string, EdgeFormatException> fail)
    {
        // Checked up front: the JSON reader would otherwise surface bad UTF-8 only when a string is read.
        if (!Utf8.IsValid(bytes)) throw fail(section, "the JSON is not valid UTF-8");
        try { return JsonDocument.Parse(bytes.ToArray(), JsonOptions); }
        catch (JsonException e) { throw fail(section, $"malformed JSON: {e.Message}"); }
    }

    private static JsonObject ReadMeta(ReadOnlySpan<byte> bytes, Func<string, string, EdgeFormatException> fail)
    {
        const string S = BlobLayout.Meta;
        using var doc = ParseJson(bytes, S, fail);
        if (doc.RootElement.ValueKind != JsonValueKind.Object) throw fail(S, $"the metadata should be a JSON object, not {doc.RootElement.ValueKind}");
        if (!doc.RootElement.TryGetProperty("format_version", out var v)) throw fail(S, "missing field 'format_version'");
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int version) || version != FormatVersion)
            throw fail(S, $"format_version is {v.GetRawText()} but the header says {FormatVersion}");
        return JsonObject.Create(doc.RootElement.Clone())!;
    }

    private static string Hex(ReadOnlySpan<byte> bytes) =>
        bytes.IsEmpty ? "(nothing)" : string.Join(' ', bytes.ToArray().Select(b => b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture)));
}
