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
    public override string ToString() => "(" + string.Join(", ", Items.Select(PickleText.Describe)) + (Items.Length == 1 ? ",)" : ")");
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

/// <summary>The globals a state_dict pickle may name; everything else is refused.</summary>
public enum AllowedGlobal
{
    OrderedDict,
    RebuildTensorV2,
    RebuildParameter,
    RebuildParameterWithState,
    StorageType,
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

internal static class PickleText
{
    public static string Describe(object? v) => v switch
    {
        null => "None",
        bool b => b ? "True" : "False",
        string s => $"'{(s.Length > 40 ? s[..40] + "..." : s)}'",
        long l => l.ToString(System.Globalization.CultureInfo.InvariantCulture),
        double d => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        byte[] b => $"bytes[{b.Length}]",
        TensorRecord t => $"tensor {t.Storage.DType.Name()}{t.ShapeString}",
        _ => v.ToString() ?? "?",
    };
}
