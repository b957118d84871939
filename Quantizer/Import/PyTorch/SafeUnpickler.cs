using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Edge.Runtime;

namespace Edge.Quantizer.Import.PyTorch;

/// <summary>
/// A pickle reader that executes nothing. It knows the protocol 2-5 opcodes that torch.save writes
/// for a state_dict, a checkpoint dict or a whole pickled module, and the globals of
/// <see cref="AllowedGlobals"/>. REDUCE on an allowed global builds an Edge record (<see cref="PyDict"/>,
/// <see cref="TensorRecord"/>); BINPERSID builds a <see cref="StorageRef"/>. Any other global is, by
/// default, refused by name as soon as the GLOBAL/STACK_GLOBAL opcode names it; with placeholders on
/// (what <see cref="StateDict"/> uses) it becomes an inert <see cref="PyGlobal"/> of kind
/// <see cref="AllowedGlobal.Placeholder"/>: REDUCE, NEWOBJ and NEWOBJ_EX on it build a
/// <see cref="PyObject"/> that only records the arguments, BUILD only records the state, and nothing
/// named by the file is ever looked up or called. Every length is checked against the bytes that remain
/// before anything is allocated.
/// </summary>
public sealed class SafeUnpickler
{
    /// <summary>Nested containers deeper than this are refused (a state_dict needs three or four).</summary>
    public const int MaxMarkDepth = 1000;

    private static readonly Dictionary<string, AllowedGlobal> AllowedGlobals = new(StringComparer.Ordinal)
    {
        ["collections.OrderedDict"] = AllowedGlobal.OrderedDict,
        ["torch._utils._rebuild_tensor_v2"] = AllowedGlobal.RebuildTensorV2,
        ["torch._utils._rebuild_parameter"] = AllowedGlobal.RebuildParameter,
        ["torch._utils._rebuild_parameter_with_state"] = AllowedGlobal.RebuildParameterWithState,
        ["torch.FloatStorage"] = AllowedGlobal.StorageType,
        ["torch.HalfStorage"] = AllowedGlobal.StorageType,
        ["torch.BFloat16Storage"] = AllowedGlobal.StorageType,
        ["torch.DoubleStorage"] = AllowedGlobal.StorageType,
        ["torch.LongStorage"] = AllowedGlobal.StorageType,
        ["torch.IntStorage"] = AllowedGlobal.StorageType,
        ["torch.ShortStorage"] = AllowedGlobal.StorageType,
        ["torch.CharStorage"] = AllowedGlobal.StorageType,
        ["torch.ByteStorage"] = AllowedGlobal.StorageType,
        ["torch.BoolStorage"] = AllowedGlobal.StorageType,
    };

    private static readonly object Mark = new();

    private readonly byte[] _data;
    private readonly string _source;
    private int _pos;
    private readonly List<object?> _stack = new();
    private readonly Stack<int> _marks = new();
    private readonly Dictionary<long, object?> _memo = new();
    private readonly bool _placeholders;
    private readonly List<string> _placeholderNames = new();

    /// <summary>At most this many distinct placeholder classes are named (in the log and in messages).</summary>
    public const int MaxPlaceholderNames = 50;

    private readonly Dictionary<string, StorageRef> _storages = new(StringComparer.Ordinal);

    private SafeUnpickler(byte[] data, string source, bool placeholders, int start = 0)
    {
        _data = data;
        _source = source;
        _placeholders = placeholders;
        _pos = start;
    }

    /// <summary>
    /// Unpickles the pickle that starts at <paramref name="position"/> of <paramref name="data"/> (one of a
    /// sequence, as the legacy torch.save format writes them) and moves <paramref name="position"/> past its
    /// STOP. <paramref name="storages"/> receives the storages its persistent ids name, by key.
    /// </summary>
    internal static object? LoadAt(byte[] data, ref int position, string source, bool placeholders,
        out IReadOnlyList<string> placeholderNames, out IReadOnlyDictionary<string, StorageRef> storages)
    {
        var u = new SafeUnpickler(data, source, placeholders, position);
        var root = u.Run();
        position = u._pos;
        placeholderNames = u._placeholderNames;
        storages = u._storages;
        return root;
    }

    /// <summary>Unpickles <paramref name="data"/> (a whole pickle, in memory). <paramref name="source"/> names it in messages, e.g. "model.pt:model/data.pkl".</summary>
    public static object? Load(byte[] data, string source)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(source);
        return new SafeUnpickler(data, source, placeholders: false).Run();
    }

    /// <summary>
    /// Unpickles with globals outside the allow-list kept as inert placeholders (never called).
    /// <paramref name="placeholderNames"/> receives each placeholder's module.name once, in order of
    /// first use, printable, at most <see cref="MaxPlaceholderNames"/>.
    /// </summary>
    public static object? LoadWithPlaceholders(byte[] data, string source, out IReadOnlyList<string> placeholderNames)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(source);
        var u = new SafeUnpickler(data, source, placeholders: true);
        var root = u.Run();
        placeholderNames = u._placeholderNames;
        return root;
    }

    private object? Run()
    {
        while (true)
        {
            if (_pos >= _data.Length) throw Error("the pickle ends without a STOP opcode (truncated file?)");
            int at = _pos;
            byte op = _data[_pos++];
            switch (op)
            {
                case 0x80: // PROTO
                {
                    byte proto = ReadByte();
                    if (proto is < 2 or > 5) throw Error($"pickle protocol {proto} is not supported (torch.save writes 2)");
                    break;
                }
                case 0x95: Take(8); break; // FRAME: a length hint only; the data is in memory already
                case (byte)'.': // STOP
                    if (_stack.Count != 1 || _marks.Count != 0) throw Error($"STOP with {_stack.Count} values on the stack");
                    return CheckNotMark(_stack[0]);
                case (byte)'}': Push(new PyDict(ordered: false)); break; // EMPTY_DICT
                case (byte)']': Push(new PyList()); break; // EMPTY_LIST
                case (byte)')': Push(new PyTuple([])); break; // EMPTY_TUPLE
                case (byte)'(': // MARK
                    if (_marks.Count >= MaxMarkDepth) throw Error($"more than {MaxMarkDepth} nested MARKs");
                    _marks.Push(_stack.Count);
                    _stack.Add(Mark);
                    break;
                case (byte)'d': // DICT
                {
                    var items = PopToMark();
                    if (items.Count % 2 != 0) throw Error("DICT with an odd number of items");
                    var d = new PyDict(ordered: false);
                    for (int i = 0; i < items.Count; i += 2) d.Set(Key(items[i]), items[i + 1]);
                    Push(d);
                    break;
                }
                case (byte)'l': { var l = new PyList(); l.Items.AddRange(PopToMark()); Push(l); break; } // LIST
                case (byte)'t': Push(new PyTuple(PopToMark().ToArray())); break; // TUPLE
                case 0x85: { var a = Pop(); Push(new PyTuple([a])); break; } // TUPLE1
                case 0x86: { var b = Pop(); var a = Pop(); Push(new PyTuple([a, b])); break; } // TUPLE2
                case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(new PyTuple([a, b, c])); break; } // TUPLE3
                case (byte)'X': Push(Utf8(ReadLength(4))); break; // BINUNICODE
                case 0x8c: Push(Utf8(ReadByte())); break; // SHORT_BINUNICODE
                case 0x8d: Push(Utf8(ReadLength(8))); break; // BINUNICODE8
                case (byte)'B': Push(Take(ReadLength(4)).ToArray()); break; // BINBYTES
                case (byte)'C': Push(Take(ReadByte()).ToArray()); break; // SHORT_BINBYTES
                case 0x8e: Push(Take(ReadLength(8)).ToArray()); break; // BINBYTES8
                case (byte)'T': Push(Latin1(ReadLength(4))); break; // BINSTRING (Python 2 str)
                case (byte)'U': Push(Latin1(ReadByte())); break; // SHORT_BINSTRING
                case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4))); break; // BININT
                case (byte)'K': Push((long)ReadByte()); break; // BININT1
                case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2))); break; // BININT2
                case 0x8a: Push(Long(Take(ReadByte()))); break; // LONG1
                case 0x8b: Push(Long(Take(ReadLength(4)))); break; // LONG4
                case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(Take(8))); break; // BINFLOAT
                case 0x88: Push(true); break; // NEWTRUE
                case 0x89: Push(false); break; // NEWFALSE
                case (byte)'N': Push(null); break; // NONE
                case (byte)'s': // SETITEM
                {
                    var value = Pop();
                    var key = Pop();
                    Dict(Peek(), "SETITEM").Set(Key(key), value);
                    break;
                }
                case (byte)'u': // SETITEMS
                {
                    var items = PopToMark();
                    if (items.Count % 2 != 0) throw Error("SETITEMS with an odd number of items");
                    var d = Dict(Peek(), "SETITEMS");
                    for (int i = 0; i < items.Count; i += 2) d.Set(Key(items[i]), items[i + 1]);
                    break;
                }
                case (byte)'a': { var v = Pop(); List(Peek(), "APPEND").Items.Add(v); break; } // APPEND
                case (byte)'e': { var items = PopToMark(); List(Peek(), "APPENDS").Items.AddRange(items); break; } // APPENDS
                case 0x8f: Push(new PyList()); break; // EMPTY_SET: a set of plain values is harmless; kept as a list
                case 0x90: { var items = PopToMark(); List(Peek(), "ADDITEMS").Items.AddRange(items); break; } // ADDITEMS
                case 0x91: { var l = new PyList(); l.Items.AddRange(PopToMark()); Push(l); break; } // FROZENSET
                case (byte)'0': Pop(); break; // POP
                case (byte)'1': PopToMark(); break; // POP_MARK
                case (byte)'2': Push(CheckNotMark(Peek())); break; // DUP
                case (byte)'q': _memo[ReadByte()] = CheckNotMark(Peek()); break; // BINPUT
                case (byte)'r': _memo[BinaryPrimitives.ReadUInt32LittleEndian(Take(4))] = CheckNotMark(Peek()); break; // LONG_BINPUT
                case 0x94: _memo[_memo.Count] = CheckNotMark(Peek()); break; // MEMOIZE
                case (byte)'h': Push(MemoGet(ReadByte())); break; // BINGET
                case (byte)'j': Push(MemoGet(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))); break; // LONG_BINGET
                case (byte)'c': // GLOBAL
                {
                    string module = ReadLine();
                    string name = ReadLine();
                    Push(Global(module, name));
                    break;
                }
                case 0x93: // STACK_GLOBAL
                {
                    var name = Pop();
                    var module = Pop();
                    if (module is not string m || name is not string n) throw Error("STACK_GLOBAL needs two strings");
                    Push(Global(m, n));
                    break;
                }
                case (byte)'R': // REDUCE
                {
                    var args = Pop();
                    var callable = Pop();
                    Push(Reduce(callable, args));
                    break;
                }
                case 0x81: // NEWOBJ
                {
                    var args = Pop();
                    var cls = Pop();
                    if (cls is PyGlobal { Kind: AllowedGlobal.OrderedDict or AllowedGlobal.Placeholder }) { Push(Reduce(cls, args)); break; }
                    throw Error($"NEWOBJ of {PickleText.Describe(cls)}: Edge only loads tensors");
                }
                case 0x92: // NEWOBJ_EX: cls.__new__(cls, *args, **kwargs), only ever recorded on a placeholder
                {
                    var kwargs = Pop();
                    var args = Pop();
                    var cls = Pop();
                    if (cls is not PyGlobal { Kind: AllowedGlobal.Placeholder } g)
                        throw Error($"NEWOBJ_EX of {PickleText.Describe(cls)}: Edge only loads tensors");
                    if (args is not PyTuple t) throw Error($"NEWOBJ_EX of {g.FullName} with arguments {PickleText.Describe(args)} (expected a tuple)");
                    Push(new PyObject(g, t) { Keywords = kwargs as PyDict });
                    break;
                }
                case (byte)'b': // BUILD
                {
                    var state = Pop();
                    var target = Peek();
                    // OrderedDict state is its __dict__ (torch puts _metadata there): not needed.
                    // Parameters and tensors may carry a state dict in newer torch versions: ignored too.
                    // A placeholder object only records its state (no __setstate__ is looked up or run).
                    if (target is PyObject o) { o.State = state; break; }
                    if (target is not PyDict and not TensorRecord)
                        throw Error($"BUILD on {PickleText.Describe(target)} with state {PickleText.Describe(state)}");
                    break;
                }
                case (byte)'Q': // BINPERSID
                    Push(PersistentLoad(Pop()));
                    break;
                default:
                    throw Error($"opcode 0x{op:x2} ('{(op is >= 0x20 and < 0x7f ? ((char)op).ToString() : "?")}') at offset {at} is not one a state_dict uses; Edge only loads tensors");
            }
        }
    }

    // ── globals and calls ───────────────────────────────────────────────────────────────────────

    private PyGlobal Global(string module, string name)
    {
        string full = $"{module}.{name}";
        if (!AllowedGlobals.TryGetValue(full, out var kind) && _placeholders)
        {
            string printable = Printable(full);
            if (_placeholderNames.Count < MaxPlaceholderNames && !_placeholderNames.Contains(printable)) _placeholderNames.Add(printable);
            return new PyGlobal(module, name, AllowedGlobal.Placeholder);
        }
        if (!AllowedGlobals.TryGetValue(full, out kind))
            throw new EdgeFormatException($"refusing to load global '{Printable(full)}' from {_source}: Edge only loads tensors " +
                "(a state_dict saved by torch.save(model.state_dict(), path)); nothing in the file was executed");
        return new PyGlobal(module, name, kind);
    }

    private object Reduce(object? callable, object? args)
    {
        if (callable is not PyGlobal g) throw Error($"REDUCE calls {PickleText.Describe(callable)}, which is not an allowed global");
        if (args is not PyTuple t) throw Error($"REDUCE of {g.FullName} with arguments {PickleText.Describe(args)} (expected a tuple)");
        switch (g.Kind)
        {
            case AllowedGlobal.Placeholder:
                return new PyObject(g, t); // recorded, never called
            case AllowedGlobal.OrderedDict:
            {
                var d = new PyDict(ordered: true);
                if (t.Count == 0) return d;
                if (t.Count == 1 && t[0] is PyList pairs)
                {
                    foreach (var p in pairs.Items)
                    {
                        if (p is not PyTuple { Count: 2 } kv) throw Error("OrderedDict(...) of something other than (key, value) pairs");
                        d.Set(Key(kv[0]), kv[1]);
                    }
                    return d;
                }
                throw Error($"OrderedDict{t}: unexpected arguments");
            }
            case AllowedGlobal.RebuildTensorV2:
            {
                // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
                if (t.Count is < 4 or > 7) throw Error($"_rebuild_tensor_v2 with {t.Count} arguments");
                if (t[0] is not StorageRef storage) throw Error($"_rebuild_tensor_v2: the storage is {PickleText.Describe(t[0])}");
                if (t[1] is not long offset) throw Error($"_rebuild_tensor_v2: the storage offset is {PickleText.Describe(t[1])}");
                var size = Ints(t[2], "size");
                var stride = Ints(t[3], "stride");
                if (size.Length != stride.Length) throw Error($"_rebuild_tensor_v2: size {t[2]} and stride {t[3]} differ in length");
                return new TensorRecord(storage, offset, size, stride);
            }
            case AllowedGlobal.RebuildParameter:
            case AllowedGlobal.RebuildParameterWithState:
                // (data, requires_grad, backward_hooks[, state]): the parameter is its data.
                if (t.Count < 1 || t[0] is not TensorRecord data) throw Error($"{g.Name}: expected a tensor, got {t}");
                return data;
            default:
                throw Error($"{g.FullName} cannot be called");
        }
    }

    private StorageRef PersistentLoad(object? pid)
    {
        // torch's zip format: ('storage', storage_type, key, location, numel); the legacy format adds
        // view_metadata, which torch has written as None since storages stopped having views
        if (pid is not PyTuple { Count: 5 or 6 } t || t[0] is not "storage")
            throw Error($"persistent id {PickleText.Describe(pid)} is not a torch storage");
        if (t.Count == 6 && t[5] is not null)
            throw Error($"persistent id {PickleText.Describe(pid)} is a view of a storage (pre-1.0 torch); load it with torch and re-save it");
        if (t[1] is not PyGlobal { Kind: AllowedGlobal.StorageType } type || !TorchDTypes.TryFromStorageName(type.Name, out var dtype))
            throw Error($"persistent id: storage type {PickleText.Describe(t[1])}");
        if (t[2] is not string key || key.Length == 0 || key.Length > 64) throw Error($"persistent id: storage key {PickleText.Describe(t[2])}");
        foreach (char ch in key)
            if (!char.IsAsciiLetterOrDigit(ch) && ch is not '_' and not '-' and not '.')
                throw Error($"persistent id: storage key '{Printable(key)}' is not a plain name");
        if (t[3] is not string location) throw Error($"persistent id: location {PickleText.Describe(t[3])}");
        if (t[4] is not long numel || numel < 0) throw Error($"persistent id: element count {PickleText.Describe(t[4])}");
        var storage = new StorageRef(dtype, key, numel, location);
        _storages.TryAdd(key, storage);
        return storage;
    }

    private long[] Ints(object? v, string what)
    {
        if (v is not PyTuple t) throw Error($"_rebuild_tensor_v2: {what} is {PickleText.Describe(v)}, not a tuple");
        var result = new long[t.Count];
        for (int i = 0; i < t.Count; i++)
            result[i] = t[i] as long? ?? throw Error($"_rebuild_tensor_v2: {what} {t} holds a non-integer");
        return result;
    }

    // ── stack and memo ──────────────────────────────────────────────────────────────────────────

    private void Push(object? v) => _stack.Add(v);

    private object? Pop()
    {
        if (_stack.Count == 0 || ReferenceEquals(_stack[^1], Mark)) throw Error("stack underflow");
        var v = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return v;
    }

    private object? Peek()
    {
        if (_stack.Count == 0) throw Error("stack underflow");
        return _stack[^1];
    }

    private List<object?> PopToMark()
    {
        if (_marks.Count == 0) throw Error("an opcode needs a MARK but there is none");
        int m = _marks.Pop();
        var items = _stack.GetRange(m + 1, _stack.Count - m - 1);
        _stack.RemoveRange(m, _stack.Count - m);
        foreach (var i in items) CheckNotMark(i);
        return items;
    }

    private object? CheckNotMark(object? v) => ReferenceEquals(v, Mark) ? throw Error("a MARK is used as a value") : v;

    private object? MemoGet(long index) =>
        _memo.TryGetValue(index, out var v) ? v : throw Error($"memo entry {index} is read before it is written");

    private PyDict Dict(object? v, string op) => v as PyDict ?? throw Error($"{op} on {PickleText.Describe(v)}, not a dict");

    private PyList List(object? v, string op) => v as PyList ?? throw Error($"{op} on {PickleText.Describe(v)}, not a list");

    private object? Key(object? key) => key switch
    {
        null or string or long or bool or double or PyTuple => key,
        _ => throw Error($"dict key {PickleText.Describe(key)} is not a plain value"),
    };

    // ── reading ─────────────────────────────────────────────────────────────────────────────────

    private byte ReadByte()
    {
        if (_pos >= _data.Length) throw Error("truncated pickle");
        return _data[_pos++];
    }

    private ReadOnlySpan<byte> Take(int n)
    {
        if (n < 0 || n > _data.Length - _pos) throw Error($"a field of {n} bytes at offset {_pos} runs past the end ({_data.Length} bytes): truncated or corrupt pickle");
        var s = _data.AsSpan(_pos, n);
        _pos += n;
        return s;
    }

    /// <summary>A 4- or 8-byte little-endian length, checked against the bytes left.</summary>
    private int ReadLength(int width)
    {
        var s = Take(width);
        ulong n = width == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(s) : BinaryPrimitives.ReadUInt64LittleEndian(s);
        if (n > (ulong)(_data.Length - _pos)) throw Error($"a length of {n} at offset {_pos - width} runs past the end ({_data.Length} bytes): truncated or corrupt pickle");
        return (int)n;
    }

    private string ReadLine()
    {
        int end = Array.IndexOf(_data, (byte)'\n', _pos, Math.Min(_data.Length - _pos, 512));
        if (end < 0) throw Error("GLOBAL name is not terminated by a newline");
        var s = Encoding.ASCII.GetString(_data, _pos, end - _pos);
        _pos = end + 1;
        return s;
    }

    private string Utf8(int n)
    {
        var bytes = Take(n);
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw Error($"a string at offset {_pos - n} is not valid UTF-8");
        }
    }

    private string Latin1(int n) => Encoding.Latin1.GetString(Take(n));

    private long Long(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length == 0) return 0;
        if (bytes.Length > 8) throw Error($"an integer of {bytes.Length} bytes is too large");
        // two's complement little-endian, sign-extended from its top byte
        long v = (sbyte)bytes[^1];
        for (int i = bytes.Length - 2; i >= 0; i--) v = (v << 8) | bytes[i];
        return v;
    }

    private static string Printable(string s)
    {
        var sb = new StringBuilder();
        foreach (char c in s.Length > 200 ? s[..200] : s) sb.Append(c is >= ' ' and < (char)0x7f ? c : '?');
        return sb.ToString();
    }

    private EdgeFormatException Error(string message) =>
        new($"{_source}: {message} (pickle offset {_pos.ToString(CultureInfo.InvariantCulture)})");
}
