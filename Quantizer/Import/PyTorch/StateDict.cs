using Edge.Runtime;
using Edge.Runtime.Tensors;

namespace Edge.Quantizer.Import.PyTorch;

/// <summary>
/// Named tensors read from a `.pt`/`.pth` (torch.save zip or legacy format) or `.safetensors` file, in file order,
/// already converted to Edge element types (see <see cref="TorchTensors"/>).
/// </summary>
public sealed class StateDict
{
    /// <summary>Flattening nested dicts stops with an error after this many entries.</summary>
    public const int MaxEntries = 1_000_000;

    /// <summary>Keys under which training scripts commonly store the state_dict in a checkpoint dict, in the order they are tried.</summary>
    public static readonly string[] CheckpointKeys = ["state_dict", "model_state_dict", "model_state", "model", "net", "network"];

    public StateDict(string source, OrderedDictionary<string, Tensor> tensors, string? checkpointKey = null, IReadOnlyList<string>? notes = null)
    {
        Source = source;
        Tensors = tensors;
        CheckpointKey = checkpointKey;
        Notes = notes ?? [];
    }

    /// <summary>The file name, for messages.</summary>
    public string Source { get; }

    public OrderedDictionary<string, Tensor> Tensors { get; }

    /// <summary>When the file held a checkpoint dict: the key whose value was used as the state_dict (e.g. "model_state_dict").</summary>
    public string? CheckpointKey { get; }

    /// <summary>What was skipped or chosen while reading (non-tensor entries, the checkpoint key): for the log.</summary>
    public IReadOnlyList<string> Notes { get; }

    /// <summary>Reads a `.pt`/`.pth`/`.safetensors` file by its extension (anything but .safetensors is read as a torch.save zip).</summary>
    public static StateDict Load(string path, string? stateDictKey = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new EdgeException($"{path}: no such file");
        using var stream = File.OpenRead(path);
        string source = Path.GetFileName(path);
        return Path.GetExtension(path).Equals(".safetensors", StringComparison.OrdinalIgnoreCase)
            ? SafeTensorsReader.Read(stream, source)
            : ReadPt(stream, source, stateDictKey);
    }

    /// <summary>
    /// Reads a torch.save zip or legacy file. The pickle may hold a state_dict, nested dicts of tensors
    /// (flattened with dots), a whole pickled nn.Module (its parameters and buffers, see
    /// <see cref="ModuleEntries"/>; foreign classes are inert placeholders, named in <see cref="Notes"/>),
    /// or a checkpoint dict: <paramref name="stateDictKey"/> picks its entry ("" = the whole
    /// dict); otherwise the first of <see cref="CheckpointKeys"/> that holds tensors is used when the
    /// top level holds no tensor itself.
    /// </summary>
    public static StateDict ReadPt(Stream stream, string source, string? stateDictKey = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Span<byte> head = stackalloc byte[16];
        stream.Position = 0;
        int got = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        stream.Position = 0;
        if (LegacyTorchFile.IsLegacy(head[..got]))
        {
            if (stream.Length > PtArchive.MaxEntryBytes)
                throw new EdgeFormatException($"{source}: {stream.Length} bytes is more than Edge reads from a legacy torch.save file ({PtArchive.MaxEntryBytes})");
            var bytes = new byte[stream.Length];
            stream.ReadExactly(bytes);
            var legacy = LegacyTorchFile.Read(bytes, source);
            var legacyNotes = new List<string> { "legacy (non-zip) torch.save format" };
            return Build(legacy.Root, legacy.Placeholders, legacy.PickleName, legacy.ReadStorage, stream.Length, source, stateDictKey, legacyNotes);
        }
        using var archive = PtArchive.Open(stream, source);
        string pickleName = $"{source}:{archive.Prefix}/data.pkl";
        var root = SafeUnpickler.LoadWithPlaceholders(archive.ReadPickle(), pickleName, out var placeholders);
        return Build(root, placeholders, pickleName, archive.ReadStorage, stream.Length, source, stateDictKey, new List<string>());
    }

    private static StateDict Build(object? root, IReadOnlyList<string> placeholders, string pickleName, Func<string, long, byte[]> readStorage,
        long fileLength, string source, string? stateDictKey, List<string> notes)
    {
        if (placeholders.Count > 0)
            notes.Add($"globals outside Edge's allow-list, kept as inert placeholders and never called: {string.Join(", ", placeholders)}");
        var (dict, key) = Locate(root, source, stateDictKey, notes, placeholders, pickleName);
        var records = new List<KeyValuePair<string, TensorRecord>>();
        int budget = MaxEntries;
        Flatten(dict, "", records, notes, new HashSet<PyDict>(ReferenceEqualityComparer.Instance), 0, source, ref budget);
        if (records.Count == 0)
            throw NoTensors(source, key, placeholders, pickleName);

        var storages = new Dictionary<string, (StorageRef Ref, byte[] Bytes)>(StringComparer.Ordinal);
        var tensors = new OrderedDictionary<string, Tensor>(StringComparer.Ordinal);
        long memoryBudget = MemoryBudget(fileLength);
        long spent = 0;
        foreach (var (name, rec) in records)
        {
            var s = rec.Storage;
            string what = $"{source}: '{PickleText.Printable(name, 120)}'";
            if (!storages.TryGetValue(s.Key, out var loaded))
            {
                long bytes = s.Numel > PtArchive.MaxEntryBytes / s.DType.ItemSize()
                    ? throw new EdgeFormatException($"{source}: storage '{s.Key}' declares {s.Numel} elements, more than Edge reads")
                    : s.Numel * s.DType.ItemSize();
                Spend(ref spent, bytes, memoryBudget, $"{source}: storage '{s.Key}' ({bytes} bytes)");
                loaded = (s, readStorage(s.Key, bytes));
                storages[s.Key] = loaded;
            }
            else if (loaded.Ref.DType != s.DType || loaded.Ref.Numel != s.Numel)
            {
                throw new EdgeFormatException($"{source}: storage '{s.Key}' is declared as {loaded.Ref.DType.Name()}[{loaded.Ref.Numel}] and as {s.DType.Name()}[{s.Numel}]");
            }
            // A view may have more elements than its storage (stride 0, overlapping strides) and many
            // views may share one storage: what is materialised is charged before it is allocated.
            long count = TorchTensors.CheckView(what, s.Numel, rec.Offset, rec.Size, rec.Stride);
            Spend(ref spent, count * TorchTensors.EdgeType(s.DType).SizeOf(), memoryBudget, $"{what} {rec.ShapeString}");
            if (!tensors.TryAdd(name, TorchTensors.FromStorage(what, s.DType, loaded.Bytes, rec.Offset, rec.Size, rec.Stride)))
                throw new EdgeFormatException($"{source}: the key '{PickleText.Printable(name, 120)}' appears twice after flattening nested dicts");
        }
        return new StateDict(source, tensors, key, notes);
    }

    /// <summary>Bytes of memory floor of <see cref="MemoryBudget"/>.</summary>
    public const long BudgetFloorBytes = 64L << 20;

    /// <summary>Bytes per file byte of <see cref="MemoryBudget"/>.</summary>
    public const long BudgetPerFileByte = 4;

    /// <summary>
    /// What reading one .pt file may allocate for storages read and tensors built from them together:
    /// 64 MiB + 4 x the file's size. A stored (uncompressed, as torch writes) file needs about twice its
    /// size (the storage bytes, then the converted tensors), tied weights a little more; a stride-0 view,
    /// a storage shared by thousands of views or a highly deflated member is refused before it is
    /// allocated once it passes the budget.
    /// </summary>
    public static long MemoryBudget(long fileBytes) => BudgetFloorBytes + BudgetPerFileByte * Math.Max(fileBytes, 0);

    private static void Spend(ref long spent, long bytes, long budget, string what)
    {
        if (bytes > budget - spent)
            throw new EdgeFormatException($"{what} would take the memory used to read this file past its budget of {budget} bytes " +
                $"(64 MiB + 4 x the file size; {spent} spent so far): an expanded (stride-0) or repeated view, or a storage that inflates far beyond the file; " +
                "save contiguous, unshared tensors");
        spent += bytes;
    }

    private static EdgeFormatException NoTensors(string source, string? key, IReadOnlyList<string> placeholders, string pickleName) =>
        placeholders.Count > 0
            // nothing was called, but a file whose only content is foreign objects is refused naming them
            ? new($"refusing to load global '{placeholders[0]}' from {pickleName}: Edge only loads tensors, and the file holds none" +
                  $"{(key is null ? "" : $" under '{key}'")} (its globals {string.Join(", ", placeholders.Take(5))} were kept as inert placeholders, never called)")
            : new($"{source}: no tensors found{(key is null ? "" : $" under '{key}'")}");

    /// <summary>
    /// The tensors a placeholder object holds when it is a pickled torch.nn.Module (its state has
    /// _parameters): its parameters and buffers by name, and its submodules (still placeholder objects,
    /// flattened in turn) under theirs, so keys come out as state_dict() names them ("encoder.0.weight").
    /// Null for any other value.
    /// </summary>
    internal static PyDict? ModuleEntries(object? value)
    {
        if (value is not PyObject { State: PyDict state } || !state.TryGet("_parameters", out var parameters) || parameters is not PyDict)
            return null;
        var d = new PyDict(ordered: true);
        foreach (var group in new[] { "_parameters", "_buffers" })
        {
            if (!state.TryGet(group, out var g) || g is not PyDict entries) continue;
            foreach (var (k, v) in entries.Entries)
                if (v is TensorRecord) d.Set(k, v); // a None parameter or buffer (bias=False) is not in state_dict() either
        }
        if (state.TryGet("_modules", out var m) && m is PyDict modules)
            foreach (var (k, v) in modules.Entries)
                if (v is PyObject) d.Set(k, v);
        return d;
    }

    private static PyDict? Container(object? value) => value as PyDict ?? ModuleEntries(value);

    private static (PyDict Dict, string? Key) Locate(object? root, string source, string? stateDictKey, List<string> notes,
        IReadOnlyList<string> placeholders, string pickleName)
    {
        if (root is PyObject module && ModuleEntries(module) is { } moduleDict)
        {
            notes.Add($"the file holds a whole pickled module ({PickleText.Printable(module.Type.FullName, 120)}); its parameters and buffers are read as its state_dict");
            root = moduleDict;
        }
        if (root is not PyDict top)
        {
            if (placeholders.Count > 0) throw NoTensors(source, null, placeholders, pickleName);
            throw new EdgeFormatException($"{source}: the file holds {PickleText.Describe(root)}, not a dict of tensors; save model.state_dict()");
        }
        if (stateDictKey is not null)
        {
            if (stateDictKey.Length == 0) return (top, null);
            if (!top.TryGet(stateDictKey, out var v) || Container(v) is not PyDict chosen)
                throw new EdgeException($"{source}: state_dict_key '{stateDictKey}' is not a dict in the file; its top-level keys are: {TopKeys(top)}");
            notes.Add($"using checkpoint['{stateDictKey}'] (state_dict_key)");
            return (chosen, stateDictKey);
        }
        if (top.Entries.Any(e => e.Value is TensorRecord)) return (top, null);
        foreach (var key in CheckpointKeys)
        {
            if (top.TryGet(key, out var v) && Container(v) is PyDict d && HoldsTensor(d, 0))
            {
                var others = top.Entries.Select(e => PickleText.Describe(e.Key)).Where(k => k != $"'{key}'");
                notes.Add($"using checkpoint['{key}'] as the state_dict; other entries ignored: {string.Join(", ", others)}");
                return (d, key);
            }
        }
        return (top, null);
    }

    private static string TopKeys(PyDict d) => string.Join(", ", d.Entries.Take(20).Select(e => PickleText.Describe(e.Key)));

    private static bool HoldsTensor(PyDict d, int depth, HashSet<PyDict>? seen = null)
    {
        seen ??= new HashSet<PyDict>(ReferenceEqualityComparer.Instance);
        if (depth > 8 || !seen.Add(d)) return false; // each dict is looked at once, however often it is shared
        return d.Entries.Any(e => e.Value is TensorRecord || (Container(e.Value) is PyDict inner && HoldsTensor(inner, depth + 1, seen)));
    }

    private static void Flatten(PyDict dict, string prefix, List<KeyValuePair<string, TensorRecord>> into, List<string> notes,
        HashSet<PyDict> visiting, int depth, string source, ref int budget)
    {
        if (depth > 32) throw new EdgeFormatException($"{source}: dicts nested more than 32 deep");
        if (!visiting.Add(dict)) throw new EdgeFormatException($"{source}: a dict contains itself (at '{prefix}')");
        foreach (var (k, v) in dict.Entries)
        {
            // A dict shared under several keys is flattened under each; the budget bounds what a
            // pickle of shared references could multiply.
            if (--budget < 0) throw new EdgeFormatException($"{source}: more than {MaxEntries} dict entries after flattening");
            if (k is not string key)
            {
                if (notes.Count < 50) notes.Add($"ignored entry with non-string key {PickleText.Describe(k)} at '{prefix}'");
                continue;
            }
            switch (v)
            {
                case TensorRecord t: into.Add(new(prefix + key, t)); break;
                case PyDict inner: Flatten(inner, prefix + key + ".", into, notes, visiting, depth + 1, source, ref budget); break;
                case PyObject when ModuleEntries(v) is { } module: Flatten(module, prefix + key + ".", into, notes, visiting, depth + 1, source, ref budget); break;
                default:
                    if (notes.Count < 50) notes.Add($"ignored non-tensor entry '{prefix + key}' = {PickleText.Describe(v)}");
                    break;
            }
        }
        visiting.Remove(dict);
    }
}
