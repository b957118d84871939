namespace Edge.Quantizer.Import.PyTorch;

// The values the safe unpickler builds. Python objects are never created: every pickle value becomes
// one of these plain records (or null, bool, long, double, string, byte[]), and the few callables a
// state_dict needs are recognised by name and turned into Edge's own records.

/// <summary>A Python tuple.</summary>
public sealed class PyTuple(object?[] items)
{
    public object?[] Items { get; } = items;
    public int Count => Items.Length;
    public object? this[int i] => Items[i];
    public override string ToString() => PickleText.Describe(this);
}

/// <summary>A Python list.</summary>
public sealed class PyList
{
    public List<object?> Items { get; } = new();
    public override string ToString() => $"[list of {Items.Count}]";
}

/// <summary>A Python dict or collections.OrderedDict: entries in insertion order (a later equal key replaces the value in place).</summary>
public sealed class PyDict
{
    private readonly List<KeyValuePair<object?, object?>> _entries = new();
    private readonly Dictionary<string, int> _stringKeys = new(StringComparer.Ordinal);

    public PyDict(bool ordered) => IsOrderedDict = ordered;

    public bool IsOrderedDict { get; }
    public IReadOnlyList<KeyValuePair<object?, object?>> Entries => _entries;
    public int Count => _entries.Count;

    public void Set(object? key, object? value)
    {
        if (key is string s)
        {
            if (_stringKeys.TryGetValue(s, out int at)) { _entries[at] = new(key, value); return; }
            _stringKeys[s] = _entries.Count;
        }
        _entries.Add(new(key, value));
    }

    public bool TryGet(string key, out object? value)
    {
        if (_stringKeys.TryGetValue(key, out int at)) { value = _entries[at].Value; return true; }
        value = null;
        return false;
    }

    public override string ToString() => $"{(IsOrderedDict ? "OrderedDict" : "dict")} of {Count}";
}

/// <summary>A global (module, name) that passed the allow-list. It is a name, not a loaded object.</summary>
public sealed record PyGlobal(string Module, string Name, AllowedGlobal Kind)
{
    public string FullName => $"{Module}.{Name}";
    public override string ToString() => FullName;
}

/// <summary>The globals a state_dict pickle may name; everything else is refused, or kept as a <see cref="Placeholder"/>.</summary>
public enum AllowedGlobal
{
    OrderedDict,
    RebuildTensorV2,
    RebuildParameter,
    RebuildParameterWithState,
    StorageType,
    /// <summary>A global outside the allow-list, read with placeholders on: a name only, never looked up or called.</summary>
    Placeholder,
}

/// <summary>
/// What REDUCE, NEWOBJ or NEWOBJ_EX on a placeholder global would have built: the class (or function) name,
/// the arguments and keywords, and the state a later BUILD gave it. Nothing is called; a whole pickled
/// nn.Module is one of these whose state holds _parameters, _buffers and _modules.
/// </summary>
internal sealed class PyObject(PyGlobal type, PyTuple args)
{
    public PyGlobal Type { get; } = type;
    public PyTuple Args { get; } = args;
    public PyDict? Keywords { get; init; }
    public object? State { get; set; }
    public override string ToString() => $"placeholder {Type.FullName}";
}

/// <summary>Element types of torch storages.</summary>
public enum TorchDType
{
    Float32,
    Float16,
    BFloat16,
    Float64,
    Int64,
    Int32,
    Int16,
    Int8,
    UInt8,
    Bool,
}

public static class TorchDTypes
{
    public static int ItemSize(this TorchDType t) => t switch
    {
        TorchDType.Float32 or TorchDType.Int32 => 4,
        TorchDType.Float16 or TorchDType.BFloat16 or TorchDType.Int16 => 2,
        TorchDType.Float64 or TorchDType.Int64 => 8,
        _ => 1,
    };

    public static string Name(this TorchDType t) => t switch
    {
        TorchDType.Float32 => "float32",
        TorchDType.Float16 => "float16",
        TorchDType.BFloat16 => "bfloat16",
        TorchDType.Float64 => "float64",
        TorchDType.Int64 => "int64",
        TorchDType.Int32 => "int32",
        TorchDType.Int16 => "int16",
        TorchDType.Int8 => "int8",
        TorchDType.UInt8 => "uint8",
        _ => "bool",
    };

    /// <summary>The storage class names torch.save pickles (torch.FloatStorage, ...).</summary>
    public static bool TryFromStorageName(string name, out TorchDType dtype)
    {
        switch (name)
        {
            case "FloatStorage": dtype = TorchDType.Float32; return true;
            case "HalfStorage": dtype = TorchDType.Float16; return true;
            case "BFloat16Storage": dtype = TorchDType.BFloat16; return true;
            case "DoubleStorage": dtype = TorchDType.Float64; return true;
            case "LongStorage": dtype = TorchDType.Int64; return true;
            case "IntStorage": dtype = TorchDType.Int32; return true;
            case "ShortStorage": dtype = TorchDType.Int16; return true;
            case "CharStorage": dtype = TorchDType.Int8; return true;
            case "ByteStorage": dtype = TorchDType.UInt8; return true;
            case "BoolStorage": dtype = TorchDType.Bool; return true;
            default: dtype = default; return false;
        }
    }
}

/// <summary>A persistent id ('storage', storage type, key, location, numel): the storage lives in data/&lt;key&gt;. The location (cpu, cuda:0) is kept only for messages.</summary>
public sealed record StorageRef(TorchDType DType, string Key, long Numel, string Location);

/// <summary>What torch._utils._rebuild_tensor_v2 would build: a strided view of a storage. Nothing is read until the tensor is materialized.</summary>
public sealed record TensorRecord(StorageRef Storage, long Offset, long[] Size, long[] Stride)
{
    public string ShapeString => "(" + string.Join(", ", Size) + (Size.Length == 1 ? ",)" : ")");
}

/// <summary>
/// Text for pickle values in messages. A pickle can nest tuples 100,000 deep in 100 KB, or pair a
/// tuple with itself 30 times (2^30 leaves in 64 bytes), so the description is cut at
/// <see cref="MaxDepth"/> levels and <see cref="MaxChars"/> characters, walks nothing beyond those,
/// and shows only printable ASCII.
/// </summary>
internal static class PickleText
{
    public const int MaxDepth = 4;
    public const int MaxChars = 200;

    public static string Describe(object? v)
    {
        var sb = new System.Text.StringBuilder();
        Append(sb, v, 0);
        return sb.Length > MaxChars ? sb.ToString(0, MaxChars) + "..." : sb.ToString();
    }

    private static void Append(System.Text.StringBuilder sb, object? v, int depth)
    {
        if (sb.Length > MaxChars) return;
        switch (v)
        {
            case null: sb.Append("None"); break;
            case bool b: sb.Append(b ? "True" : "False"); break;
            case string s: sb.Append('\'').Append(Printable(s, 40)).Append('\''); break;
            case long l: sb.Append(l.ToString(System.Globalization.CultureInfo.InvariantCulture)); break;
            case double d: sb.Append(d.ToString("R", System.Globalization.CultureInfo.InvariantCulture)); break;
            case byte[] bytes: sb.Append("bytes[").Append(bytes.Length).Append(']'); break;
            case TensorRecord t: sb.Append("tensor ").Append(t.Storage.DType.Name()).Append(Printable(t.ShapeString, 80)); break;
            case PyTuple t:
                if (depth >= MaxDepth) { sb.Append("(...)"); break; }
                sb.Append('(');
                for (int i = 0; i < t.Count && sb.Length <= MaxChars; i++)
                {
                    if (i > 0) sb.Append(", ");
                    Append(sb, t[i], depth + 1);
                }
                sb.Append(t.Count == 1 ? ",)" : ")");
                break;
            case PyList or PyDict or PyGlobal or StorageRef or PyObject: sb.Append(Printable(v.ToString() ?? "?", 80)); break;
            default: sb.Append(v.GetType().Name); break;
        }
    }

    /// <summary>At most <paramref name="max"/> characters of <paramref name="s"/>, anything but printable ASCII as '?'.</summary>
    public static string Printable(string s, int max)
    {
        var sb = new System.Text.StringBuilder(Math.Min(s.Length, max) + 3);
        for (int i = 0; i < s.Length && i < max; i++) sb.Append(s[i] is >= ' ' and < (char)0x7f ? s[i] : '?');
        if (s.Length > max) sb.Append("...");
        return sb.ToString();
    }
}
