using System.Buffers.Binary;
using System.Text;
using Edge.Quantizer.Import.PyTorch;

namespace Edge.Runtime.Tests.Import;

/// <summary>
/// The safe unpickler on hand-assembled pickles: the opcodes torch.save writes (protocol 2) and
/// protocol 4 writes (FRAME, SHORT_BINUNICODE, STACK_GLOBAL, MEMOIZE), the persistent-id and
/// _rebuild_tensor_v2 records, and refusals: foreign globals, unknown opcodes, lengths past the end.
/// </summary>
[TestClass]
public sealed class PyTorchUnpicklerTests
{
    /// <summary>Assembles pickle bytes opcode by opcode.</summary>
    private sealed class P
    {
        private readonly List<byte> _b = new();
        public P Op(char c) { _b.Add((byte)c); return this; }
        public P Op(byte b) { _b.Add(b); return this; }
        public P Bytes(params byte[] b) { _b.AddRange(b); return this; }
        public P Proto(byte v) => Op(0x80).Bytes(v);
        public P Str(string s) { var u = Encoding.UTF8.GetBytes(s); Op('X'); Span<byte> n = stackalloc byte[4]; BinaryPrimitives.WriteInt32LittleEndian(n, u.Length); return Bytes(n.ToArray()).Bytes(u); }
        public P ShortStr(string s) { var u = Encoding.UTF8.GetBytes(s); return Op(0x8c).Bytes((byte)u.Length).Bytes(u); }
        public P Global(string module, string name) => Op('c').Bytes(Encoding.ASCII.GetBytes($"{module}\n{name}\n"));
        public P Int1(byte v) => Op('K').Bytes(v);
        public P Int(int v) { Span<byte> n = stackalloc byte[4]; BinaryPrimitives.WriteInt32LittleEndian(n, v); return Op('J').Bytes(n.ToArray()); }
        public P Put(byte i) => Op('q').Bytes(i);
        public P Get(byte i) => Op('h').Bytes(i);
        public P Mark() => Op('(');
        public P Tuple() => Op('t');
        public P Stop() => Op('.');
        public byte[] ToArray() => _b.ToArray();

        /// <summary>_rebuild_tensor_v2(('storage', torch.&lt;type&gt;, key, location, numel), offset, size, stride, False, OrderedDict())</summary>
        public P Tensor(string storageType, string key, string location, byte numel, byte offset, byte[] size, byte[] stride)
        {
            Global("torch._utils", "_rebuild_tensor_v2").Mark();
            Mark().Str("storage").Global("torch", storageType).Str(key).Str(location).Int1(numel).Tuple().Op('Q');
            Int1(offset);
            Mark(); foreach (var s in size) Int1(s); Tuple();
            Mark(); foreach (var s in stride) Int1(s); Tuple();
            Op(0x89).Global("collections", "OrderedDict").Op(')').Op('R');
            return Tuple().Op('R');
        }
    }

    private static object? Load(byte[] pickle) => SafeUnpickler.Load(pickle, "test.pkl");

    [TestMethod]
    public void StateDictPickle_Protocol2_GivesOrderedDictOfTensorRecords()
    {
        var p = new P().Proto(2).Global("collections", "OrderedDict").Op(')').Op('R').Mark()
            .Str("gru.weight").Tensor("FloatStorage", "0", "cuda:0", 12, 2, [2, 5], [5, 1])
            .Str("gru.bias").Tensor("HalfStorage", "1", "cpu", 3, 0, [3], [1])
            .Op('u').Stop();
        var d = (PyDict)Load(p.ToArray())!;
        Assert.IsTrue(d.IsOrderedDict);
        Assert.AreEqual(2, d.Count);
        Assert.AreEqual("gru.weight", d.Entries[0].Key);
        var w = (TensorRecord)d.Entries[0].Value!;
        Assert.AreEqual(new StorageRef(TorchDType.Float32, "0", 12, "cuda:0"), w.Storage);
        Assert.AreEqual(2L, w.Offset);
        CollectionAssert.AreEqual(new long[] { 2, 5 }, w.Size);
        CollectionAssert.AreEqual(new long[] { 5, 1 }, w.Stride);
        var b = (TensorRecord)d.Entries[1].Value!;
        Assert.AreEqual(TorchDType.Float16, b.Storage.DType);
        CollectionAssert.AreEqual(new long[] { 3 }, b.Size);
    }

    [TestMethod]
    public void Protocol4_FrameShortUnicodeStackGlobalMemoize_AreRead()
    {
        // {'a': [1, -2, 3.5, True, None, 'x'], 'b': OrderedDict()} with protocol-4 opcodes
        var body = new P().Op('}').Op(0x94).Mark()
            .ShortStr("a").Op(0x94).Op(']').Op(0x94).Mark().Int1(1).Int(-2)
            .Op('G').Bytes(BitConverter.GetBytes(3.5).Reverse().ToArray()).Op(0x88).Op('N').ShortStr("x").Op('e')
            .ShortStr("b").ShortStr("collections").ShortStr("OrderedDict").Op(0x93).Op(0x94).Op(')').Op('R')
            .Op('u').Stop().ToArray();
        var frame = new byte[9];
        frame[0] = 0x95;
        BinaryPrimitives.WriteUInt64LittleEndian(frame.AsSpan(1), (ulong)body.Length);
        var pickle = new P().Proto(4).Bytes(frame).Bytes(body).ToArray();

        var d = (PyDict)Load(pickle)!;
        Assert.IsFalse(d.IsOrderedDict);
        Assert.IsTrue(d.TryGet("a", out var a));
        CollectionAssert.AreEqual(new object?[] { 1L, -2L, 3.5, true, null, "x" }, ((PyList)a!).Items);
        Assert.IsTrue(d.TryGet("b", out var b));
        Assert.IsTrue(((PyDict)b!).IsOrderedDict);
    }

    [TestMethod]
    public void IntegerOpcodes_DecodeSignsAndWidths()
    {
        var p = new P().Proto(2).Mark()
            .Int1(255).Op('M').Bytes(0xff, 0xff).Int(int.MinValue)
            .Op(0x8a).Bytes(1, 0xff)                                  // LONG1 -1
            .Op(0x8a).Bytes(5, 0, 0, 0, 0, 0x80)                      // LONG1 -2^39
            .Op(0x8a).Bytes(8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f) // LONG1 long.MaxValue
            .Op(0x8a).Bytes(0)                                        // LONG1 0
            .Tuple().Stop();
        var t = (PyTuple)Load(p.ToArray())!;
        CollectionAssert.AreEqual(new object?[] { 255L, 65535L, (long)int.MinValue, -1L, -(1L << 39), long.MaxValue, 0L }, t.Items);
    }

    [TestMethod]
    public void MemoGetAndPut_ShareOneObject()
    {
        var p = new P().Proto(2).Op(']').Put(7).Op('0').Op('(').Get(7).Get(7).Op('t').Stop();
        var t = (PyTuple)Load(p.ToArray())!;
        Assert.AreSame(t[0], t[1]);
    }

    [TestMethod]
    [DataRow("posix", "system")]
    [DataRow("os", "system")]
    [DataRow("builtins", "eval")]
    [DataRow("subprocess", "Popen")]
    [DataRow("torch", "load")]
    [DataRow("torch._utils", "_rebuild_tensor")]
    [DataRow("collections", "defaultdict")]
    [DataRow("__main__", "Net")]
    public void ForeignGlobal_IsRefusedByName_ViaGlobalAndStackGlobal(string module, string name)
    {
        var viaGlobal = new P().Proto(2).Global(module, name).Mark().Str("touch /tmp/x").Tuple().Op('R').Stop();
        var e1 = Assert.ThrowsExactly<EdgeFormatException>(() => Load(viaGlobal.ToArray()));
        StringAssert.Contains(e1.Message, $"refusing to load global '{module}.{name}' from test.pkl");
        StringAssert.Contains(e1.Message, "Edge only loads tensors");

        var viaStack = new P().Proto(4).ShortStr(module).ShortStr(name).Op(0x93).Mark().Str("x").Tuple().Op('R').Stop();
        var e2 = Assert.ThrowsExactly<EdgeFormatException>(() => Load(viaStack.ToArray()));
        StringAssert.Contains(e2.Message, $"refusing to load global '{module}.{name}'");
    }

    [TestMethod]
    public void WithPlaceholders_ForeignGlobalsOnlyRecordArgumentsAndState_NothingIsCalled()
    {
        string marker = Path.Combine(TestPaths.NewTempDir(), "ran");
        // (posix.system('touch ...'), __main__.Net.__new__(Net) + BUILD {'k': 1}, NEWOBJ_EX of a Scaler with kwargs)
        var p = new P().Proto(4).Mark()
            .Global("posix", "system").Mark().Str("touch " + marker).Op('t').Op('R')
            .Global("__main__", "Net").Op(')').Op(0x81).Op('}').Str("k").Int1(1).Op('s').Op('b')
            .Global("sklearn.preprocessing._data", "StandardScaler").Op(')').Op('}').Str("copy").Op(0x88).Op('s').Op(0x92)
            .Global("posix", "system").Op('0') // named twice: listed once
            .Op('t').Stop();
        var root = (PyTuple)SafeUnpickler.LoadWithPlaceholders(p.ToArray(), "test.pkl", out var names)!;
        CollectionAssert.AreEqual(new[] { "posix.system", "__main__.Net", "sklearn.preprocessing._data.StandardScaler" }, names.ToArray());

        var call = (PyObject)root[0]!;
        Assert.AreEqual("posix.system", call.Type.FullName);
        Assert.AreEqual(AllowedGlobal.Placeholder, call.Type.Kind);
        CollectionAssert.AreEqual(new object?[] { "touch " + marker }, call.Args.Items);
        var net = (PyObject)root[1]!;
        Assert.IsTrue(((PyDict)net.State!).TryGet("k", out var k) && k is 1L);
        var scaler = (PyObject)root[2]!;
        Assert.IsTrue(scaler.Keywords!.TryGet("copy", out var copy) && copy is true);
        Assert.IsFalse(File.Exists(marker), "the placeholder was called");

        // the strict reader (no placeholders) still refuses the first foreign global by name
        StringAssert.Contains(Assert.ThrowsExactly<EdgeFormatException>(() => Load(p.ToArray())).Message, "refusing to load global 'posix.system'");
    }

    [TestMethod]
    public void WithPlaceholders_CallingAPlaceholderObject_IsRefused()
    {
        // REDUCE whose callable is what a placeholder built (an instance, not a global): still not a call Edge makes
        var p = new P().Proto(2).Global("__main__", "Net").Op(')').Op('R').Op(')').Op('R').Stop();
        var e = Assert.ThrowsExactly<EdgeFormatException>(() => SafeUnpickler.LoadWithPlaceholders(p.ToArray(), "test.pkl", out _));
        StringAssert.Contains(e.Message, "REDUCE calls placeholder __main__.Net, which is not an allowed global");
    }

    [TestMethod]
    [DataRow((byte)'i', "INST")]
    [DataRow((byte)'o', "OBJ")]
    [DataRow((byte)'P', "PERSID (text)")]
    [DataRow((byte)0x82, "EXT1")]
    [DataRow((byte)'I', "INT (text)")]
    public void OpcodesOutsideTheStateDictSubset_AreRefused(byte op, string what)
    {
        var p = new P().Proto(2).Op(op).Bytes(Encoding.ASCII.GetBytes("os\nsystem\n")).Stop();
        var e = Assert.ThrowsExactly<EdgeFormatException>(() => Load(p.ToArray()), what);
        StringAssert.Contains(e.Message, $"opcode 0x{op:x2}");
    }

    [TestMethod]
    public void ReduceOnAllowedStorageType_IsNotACall()
    {
        var p = new P().Proto(2).Global("torch", "FloatStorage").Op(')').Op('R').Stop();
        var e = Assert.ThrowsExactly<EdgeFormatException>(() => Load(p.ToArray()));
        StringAssert.Contains(e.Message, "torch.FloatStorage cannot be called");
    }

    [TestMethod]
    public void PersistentIdThatIsNotATorchStorage_IsRefused()
    {
        var p = new P().Proto(2).Mark().Str("module").Str("x").Str("y").Str("z").Int1(1).Tuple().Op('Q').Stop();
        var e = Assert.ThrowsExactly<EdgeFormatException>(() => Load(p.ToArray()));
        StringAssert.Contains(e.Message, "is not a torch storage");

        var pathKey = new P().Proto(2).Mark().Str("storage").Global("torch", "FloatStorage").Str("../../etc/passwd").Str("cpu").Int1(1).Tuple().Op('Q').Stop();
        e = Assert.ThrowsExactly<EdgeFormatException>(() => Load(pathKey.ToArray()));
        StringAssert.Contains(e.Message, "is not a plain name");
    }

    [TestMethod]
    public void HugeDeclaredLength_IsRefusedWithoutAllocating()
    {
        foreach (var op in new byte[] { (byte)'X', (byte)'B', (byte)'T' })
        {
            var p = new P().Proto(2).Op(op).Bytes(0xf0, 0xff, 0xff, 0x7f).Bytes(1, 2, 3).ToArray();
            long before = GC.GetAllocatedBytesForCurrentThread();
            var e = Assert.ThrowsExactly<EdgeFormatException>(() => Load(p));
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            StringAssert.Contains(e.Message, "runs past the end");
            Assert.IsLessThan(1 << 20, allocated, $"opcode {(char)op}: {allocated} bytes allocated before refusing");
        }
        var long8 = new P().Proto(4).Op(0x8d).Bytes(0, 0, 0, 0, 0, 0, 0, 0x40).ToArray();
        Assert.ThrowsExactly<EdgeFormatException>(() => Load(long8));
    }

    [TestMethod]
    public void EveryTruncation_OfAValidPickle_IsAFormatError()
    {
        var full = new P().Proto(2).Global("collections", "OrderedDict").Op(')').Op('R').Mark()
            .Str("w").Tensor("FloatStorage", "0", "cpu", 6, 0, [2, 3], [3, 1]).Op('u').Stop().ToArray();
        Assert.IsInstanceOfType<PyDict>(Load(full));
        for (int cut = 0; cut < full.Length; cut++)
            Assert.ThrowsExactly<EdgeFormatException>(() => Load(full[..cut]), $"cut at {cut} of {full.Length}");
    }

    [TestMethod]
    public void MalformedStacks_AreFormatErrors()
    {
        byte[][] bad =
        [
            new P().Proto(2).Op('R').Stop().ToArray(),                               // REDUCE on an empty stack
            new P().Proto(2).Get(3).Stop().ToArray(),                                 // memo read before write
            new P().Proto(2).Op('u').Stop().ToArray(),                                // SETITEMS without MARK
            new P().Proto(2).Op(']').Int1(1).Int1(2).Op('s').Stop().ToArray(),       // SETITEM on a list
            new P().Proto(2).Int1(1).Int1(2).Stop().ToArray(),                        // two values at STOP
            new P().Proto(2).Mark().Stop().ToArray(),                                 // MARK left open
            new P().Proto(9).Op('N').Stop().ToArray(),                                // unknown protocol
            new P().Proto(2).Op(']').Op('(').Op(']').Op('b').Stop().ToArray(),        // BUILD on a list
            new P().Proto(2).Mark().Op(0x85).Stop().ToArray(),                        // TUPLE1 of a MARK
        ];
        foreach (var p in bad) Assert.ThrowsExactly<EdgeFormatException>(() => Load(p), Convert.ToHexString(p));
    }

    [TestMethod]
    public void RebuildTensorWithWrongArguments_IsAFormatError()
    {
        var p = new P().Proto(2).Global("torch._utils", "_rebuild_tensor_v2").Mark().Str("not a storage").Int1(0).Op(')').Op(')').Op(0x89).Op('N').Tuple().Op('R').Stop();
        var e = Assert.ThrowsExactly<EdgeFormatException>(() => Load(p.ToArray()));
        StringAssert.Contains(e.Message, "_rebuild_tensor_v2: the storage is 'not a storage'");
    }

    [TestMethod]
    public void DeepNesting_IsBounded()
    {
        var p = new P().Proto(2);
        for (int i = 0; i < SafeUnpickler.MaxMarkDepth + 5; i++) p.Mark();
        var e = Assert.ThrowsExactly<EdgeFormatException>(() => Load(p.Stop().ToArray()));
        StringAssert.Contains(e.Message, "nested MARKs");
    }

    // ── strided views of storages ──────────────────────────────────────────────────────────────

    [TestMethod]
    public void FromStorage_HonoursOffsetAndStrides()
    {
        var storage = new byte[12 * 4];
        for (int i = 0; i < 12; i++) BinaryPrimitives.WriteSingleLittleEndian(storage.AsSpan(i * 4), i);
        // a (3, 2) column-major view starting at element 1: [[1, 4], [2, 5], [3, 6]]
        var t = TorchTensors.FromStorage("t", TorchDType.Float32, storage, 1, [3, 2], [1, 3]);
        CollectionAssert.AreEqual(new[] { 3, 2 }, t.ShapeArray());
        CollectionAssert.AreEqual(new float[] { 1, 4, 2, 5, 3, 6 }, t.ReadOnlySpan<float>().ToArray());
        // stride 0 (expand) repeats an element
        var e = TorchTensors.FromStorage("e", TorchDType.Float32, storage, 11, [2, 2], [0, 0]);
        CollectionAssert.AreEqual(new float[] { 11, 11, 11, 11 }, e.ReadOnlySpan<float>().ToArray());
    }

    [TestMethod]
    public void FromStorage_ViewsPastTheStorage_AreRefused()
    {
        var storage = new byte[6 * 4];
        (long Offset, long[] Size, long[] Stride, string Expect)[] cases =
        [
            (1, [2, 3], [3, 1], "past the end of its storage of 6 elements"),
            (0, [3, 2], [1, 4], "reaches element 6"),
            (-1, [1], [1], "negative storage offset"),
            (0, [2], [-1], "negative stride"),
            (0, [-2], [1], "negative dimension"),
            (0, [3, 2], [long.MaxValue / 2, 4], "overflow"),
            (0, [1L << 40, 1L << 40], [1, 1], "too many elements"),
        ];
        foreach (var (offset, size, stride, expect) in cases)
        {
            var e = Assert.ThrowsExactly<EdgeFormatException>(() => TorchTensors.FromStorage("w", TorchDType.Float32, storage, offset, size, stride),
                $"offset {offset} size ({string.Join(", ", size)}) stride ({string.Join(", ", stride)})");
            StringAssert.Contains(e.Message, expect);
        }
        // an empty view needs no storage at all
        Assert.AreEqual(0, TorchTensors.FromStorage("w", TorchDType.Float32, [], 5, [0, 3], [3, 1]).Length);
    }
}
