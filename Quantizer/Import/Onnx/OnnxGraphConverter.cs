using System.Globalization;
using Edge.Runtime;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;
using Onnx;

namespace Edge.Quantizer.Import.Onnx;

/// <summary>
/// Converts one ONNX GraphProto into an Edge <see cref="Graph"/> node by node, before any folding.
/// Value names stay the ONNX names; values the converter adds get fresh names that collide with none.
/// </summary>
internal sealed partial class OnnxGraphConverter
{
    private readonly GraphProto _onnx;
    private readonly string _file;
    private readonly long _opset;
    private readonly IReadOnlyDictionary<string, Tensor>? _frozen;
    private readonly Graph _graph = new();
    private readonly IrEmitter _ir;
    private readonly HashSet<string> _consumed = new(StringComparer.Ordinal);

    public OnnxGraphConverter(GraphProto onnx, string file, long opset, IReadOnlyDictionary<string, Tensor>? frozen)
    {
        _onnx = onnx;
        _file = file;
        _opset = opset;
        _frozen = frozen;
        _ir = new IrEmitter(_graph, IrNaming.Onnx);
    }

    /// <summary>The ONNX ops Edge converts, for the "Edge supports: ..." list.</summary>
    public static readonly string[] SupportedOps =
    {
        "Abs", "Add", "Cast", "Clip", "Concat", "Constant", "ConstantOfShape", "Conv", "Div", "Dropout", "Elu", "Exp",
        "Expand", "Flatten", "GRU", "Gather", "Gemm", "HardSigmoid", "Identity", "LSTM", "LeakyRelu",
        "LogSoftmax", "MatMul", "Mul", "Neg", "PRelu", "Pad", "RNN", "ReduceMax", "ReduceProd", "ReduceSum", "Relu", "Reshape", "Shape", "Sigmoid",
        "Slice", "Softmax", "Softplus", "Softsign", "Sqrt", "Squeeze", "Sub", "Tanh", "Tile", "Transpose", "Unsqueeze",
    };

    public Graph Convert()
    {
        foreach (var init in _onnx.Initializer) _ir.Reserve(init.Name);
        foreach (var i in _onnx.Input) _ir.Reserve(i.Name);
        foreach (var n in _onnx.Node)
            foreach (var o in n.Output) _ir.Reserve(o);
        foreach (var n in _onnx.Node)
            foreach (var i in n.Input) _consumed.Add(i);
        foreach (var o in _onnx.Output) _consumed.Add(o.Name);

        if (_onnx.SparseInitializer.Count > 0)
            throw new UnsupportedModelException($"'{_file}' has sparse initializers, which Edge does not read");
        foreach (var init in _onnx.Initializer)
        {
            if (init.Name.Length == 0) throw new EdgeException($"'{_file}': an initializer has no name");
            _graph.Constants[init.Name] = OnnxTensors.FromProto(init, $"initializer '{init.Name}' in {_file}");
        }
        foreach (var vi in _onnx.ValueInfo)
            if (TryStaticShape(vi) is { } s) _ir.KnowShape(vi.Name, s);

        ConvertInputs();
        ConvertOutputs();

        var usedNames = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < _onnx.Node.Count; i++)
        {
            var proto = _onnx.Node[i];
            string name = proto.Name;
            if (name.Length == 0 || !usedNames.Add(name))
            {
                name = string.Create(CultureInfo.InvariantCulture, $"{proto.OpType}_{i}");
                while (!usedNames.Add(name)) name += "_";
            }
            if (proto.Domain is not ("" or "ai.onnx"))
                throw new UnsupportedModelException(
                    $"ONNX node '{name}' ({proto.OpType}) in {_file} uses the operator domain '{proto.Domain}'; Edge supports only the default ONNX domain");
            ConvertNode(new OnnxNode(proto, name, _file));
        }
        return _graph;
    }

    // ── graph inputs and outputs ──────────────────────────────────────────────────────────────────

    private void ConvertInputs()
    {
        var realInputs = _onnx.Input.Where(i => !_graph.Constants.ContainsKey(i.Name)).ToList();
        if (_frozen is not null)
        {
            foreach (var name in _frozen.Keys)
                if (!realInputs.Any(i => i.Name == name))
                    throw new EdgeException(
                        $"cannot freeze '{name}': {_file} has no such input; its inputs are: {string.Join(", ", realInputs.Select(i => i.Name))}");
        }
        foreach (var input in realInputs)
        {
            string what = $"graph input '{input.Name}' of {_file}";
            var info = ToValueInfo(input, what);
            if (_frozen is not null && _frozen.TryGetValue(input.Name, out var value))
            {
                _graph.Constants[input.Name] = Freeze(info, value);
                continue;
            }
            _graph.Inputs.Add(info);
            _ir.KnowShape(input.Name, info.Shape);
        }
    }

    private Tensor Freeze(ValueInfo info, Tensor value)
    {
        bool shapeOk = value.Rank == info.Shape.Length;
        for (int d = 0; shapeOk && d < value.Rank; d++)
            shapeOk = info.Shape[d] < 0 || info.Shape[d] == value.Shape[d];
        if (!shapeOk)
            throw new EdgeException($"cannot freeze '{info.Name}': {_file} declares it {info.DataType.Name()}{info.ShapeString}, the given value is {value.DataType.Name()}{value.ShapeString}");
        if (value.DataType == info.DataType) return value.Contiguous();
        // numpy saves integer arrays as int64 by default; an int32 index input is the same value.
        bool intToInt = value.DataType is DataType.Int64 or DataType.Int32 && info.DataType is DataType.Int64 or DataType.Int32;
        if (!intToInt)
            throw new EdgeException($"cannot freeze '{info.Name}': {_file} declares it {info.DataType.Name()}{info.ShapeString}, the given value is {value.DataType.Name()}{value.ShapeString}");
        var longs = value.ToInt64Array();
        if (info.DataType == DataType.Int64) return Tensor.FromArray(longs, value.ShapeArray());
        var ints = new int[longs.Length];
        for (int i = 0; i < ints.Length; i++)
        {
            if (longs[i] is < int.MinValue or > int.MaxValue)
                throw new EdgeException($"cannot freeze '{info.Name}': value {longs[i]} does not fit its type int32");
            ints[i] = (int)longs[i];
        }
        return Tensor.FromArray(ints, value.ShapeArray());
    }

    private void ConvertOutputs()
    {
        foreach (var output in _onnx.Output)
            _graph.Outputs.Add(ToValueInfo(output, $"graph output '{output.Name}' of {_file}"));
    }

    private static ValueInfo ToValueInfo(ValueInfoProto vi, string what)
    {
        if (vi.Type is null || vi.Type.ValueCase != TypeProto.ValueOneofCase.TensorType)
            throw new UnsupportedModelException($"{what} is not a tensor (sequences, maps and optionals are not supported)");
        var tt = vi.Type.TensorType;
        var dtype = OnnxTensors.ToDataType(tt.ElemType)
            ?? throw new UnsupportedModelException($"{what} has data type {OnnxTensors.TypeName(tt.ElemType)}; Edge supports FLOAT, INT64, INT32 and INT8");
        if (tt.Shape is null)
            throw new UnsupportedModelException($"{what} has no shape (not even its rank); re-export it with a shape");
        var shape = new int[tt.Shape.Dim.Count];
        for (int d = 0; d < shape.Length; d++)
        {
            var dim = tt.Shape.Dim[d];
            shape[d] = dim.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue && dim.DimValue >= 0 && dim.DimValue <= int.MaxValue
                ? (int)dim.DimValue
                : ValueInfo.Dynamic;
        }
        return new ValueInfo(vi.Name, dtype, shape);
    }

    private static int[]? TryStaticShape(ValueInfoProto vi)
    {
        if (vi.Type?.TensorType?.Shape is not { } s) return null;
        return s.Dim.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue && d.DimValue is >= 0 and <= int.MaxValue
            ? (int)d.DimValue : ValueInfo.Dynamic).ToArray();
    }

    // ── helpers for the per-op converters ─────────────────────────────────────────────────────────

    private Node Emit(OnnxNode source, OpKind kind, IEnumerable<string> inputs, IEnumerable<string> outputs, string? suffix = null) =>
        _ir.Emit(kind, suffix is null ? source.Name : $"{source.Name}/{suffix}", inputs, outputs);

    /// <summary>ONNX: perm is a permutation of 0..rank-1 (no negative entries, unlike axes).</summary>
    private static void CheckPermutation(OnnxNode n, long[] perm, int? rank)
    {
        string text = $"perm [{string.Join(", ", perm.Take(16))}{(perm.Length > 16 ? ", ..." : "")}]";
        if (rank is { } r && perm.Length != r)
            throw n.Error($"{text} has {perm.Length} entries for an input of rank {r}");
        var seen = new bool[perm.Length];
        foreach (long p in perm)
        {
            if (p < 0 || p >= perm.Length || seen[p])
                throw n.Error($"{text} is not a permutation of 0..{perm.Length - 1} (ONNX allows no negative or repeated entries)");
            seen[p] = true;
        }
    }

    /// <summary>ONNX: an axis is in [-rank, rank); checked here when the input's rank is known before folding, else when the graph runs.</summary>
    private static void CheckAxis(OnnxNode n, long axis, int? rank, string input)
    {
        if (rank is { } r && (axis < -r || axis >= r))
            throw n.Error($"axis {axis} is out of range for '{OnnxNode.Printable(input)}' of rank {r} (ONNX accepts [-{r}, {r - 1}])");
    }

    private static Tensor Int64s(params long[] values) => Tensor.FromArray(values, values.Length);

    private static string[] Present(OnnxNode n) => n.Inputs.ToArray();

    // ── per-op conversion ────────────────────────────────────────────────────────────────────────

    private void ConvertNode(OnnxNode n)
    {
        switch (n.OpType)
        {
            case "Identity":
                n.Allow();
                Emit(n, OpKind.Identity, new[] { n.Input(0) }, new[] { n.Output(0) });
                break;
            case "Dropout":
                ConvertDropout(n);
                break;
            case "Add": case "Sub": case "Mul": case "Div":
                n.Allow("broadcast", "axis");
                // Opsets < 7 broadcast with an explicit axis (not numpy's trailing alignment).
                if (n.Has("axis"))
                    throw n.Unsupported("legacy broadcasting with an 'axis' attribute (opset < 7) is not supported");
                Emit(n, Enum.Parse<OpKind>(n.OpType), new[] { n.Input(0), n.Input(1) }, new[] { n.Output(0) });
                break;
            case "Relu": case "Sigmoid": case "Tanh": case "Exp": case "Neg": case "Abs": case "Sqrt":
            case "Softsign": case "Softplus":
                n.Allow();
                Emit(n, Enum.Parse<OpKind>(n.OpType), new[] { n.Input(0) }, new[] { n.Output(0) });
                break;
            case "HardSigmoid":
                n.Allow("alpha", "beta");
                Emit(n, OpKind.HardSigmoid, new[] { n.Input(0) }, new[] { n.Output(0) })
                    .Set("alpha", n.Float("alpha", 0.2f)).Set("beta", n.Float("beta", 0.5f));
                break;
            case "LeakyRelu":
                n.Allow("alpha");
                Emit(n, OpKind.LeakyRelu, new[] { n.Input(0) }, new[] { n.Output(0) }).Set("alpha", n.Float("alpha", 0.01f));
                break;
            case "Elu":
                n.Allow("alpha");
                Emit(n, OpKind.Elu, new[] { n.Input(0) }, new[] { n.Output(0) }).Set("alpha", n.Float("alpha", 1f));
                break;
            case "Softmax": case "LogSoftmax":
            {
                n.Allow("axis");
                var node = Emit(n, n.OpType == "Softmax" ? OpKind.Softmax : OpKind.LogSoftmax, new[] { n.Input(0) }, new[] { n.Output(0) });
                if (_opset < 13) node.Set("axis", n.Int("axis", 1)).Set("legacy_2d", 1L);
                else node.Set("axis", n.Int("axis", -1));
                break;
            }
            case "Gemm":
                n.Allow("alpha", "beta", "transA", "transB", "broadcast");
                Emit(n, OpKind.Gemm, new[] { n.Input(0), n.Input(1), n.Input(2) }, new[] { n.Output(0) })
                    .Set("alpha", n.Float("alpha", 1f)).Set("beta", n.Float("beta", 1f))
                    .Set("transA", n.Int("transA", 0)).Set("transB", n.Int("transB", 0));
                break;
            case "MatMul":
                n.Allow();
                Emit(n, OpKind.MatMul, new[] { n.Input(0), n.Input(1) }, new[] { n.Output(0) });
                break;
            case "Conv":
                ConvertConv(n);
                break;
            case "Pad":
                ConvertPad(n);
                break;
            case "Clip":
                ConvertClip(n);
                break;
            case "Transpose":
            {
                n.Allow("perm");
                var perm = n.Ints("perm");
                if (perm is not null) CheckPermutation(n, perm, _ir.KnownRank(n.Input(0)));
                var node = Emit(n, OpKind.Transpose, new[] { n.Input(0) }, new[] { n.Output(0) });
                if (perm is not null) node.Set("perm", perm);
                break;
            }
            case "Squeeze": case "Unsqueeze":
            {
                var kind = n.OpType == "Squeeze" ? OpKind.Squeeze : OpKind.Unsqueeze;
                if (_opset < 13)
                {
                    n.Allow("axes");
                    var node = Emit(n, kind, new[] { n.Input(0) }, new[] { n.Output(0) });
                    if (n.Ints("axes") is { } axes) node.Set("axes", axes);
                }
                else
                {
                    n.Allow();
                    Emit(n, kind, new[] { n.Input(0), n.Input(1) }, new[] { n.Output(0) });
                }
                break;
            }
            case "Reshape":
                if (_opset < 5)
                {
                    n.Allow("shape");
                    var shape = n.Ints("shape") ?? throw n.Error("attribute 'shape' is missing");
                    Emit(n, OpKind.Reshape, new[] { n.Input(0), _ir.Constant($"{n.Name}/shape", Int64s(shape)) }, new[] { n.Output(0) });
                }
                else
                {
                    n.Allow("allowzero");
                    Emit(n, OpKind.Reshape, new[] { n.Input(0), n.Input(1) }, new[] { n.Output(0) }).Set("allowzero", n.Int("allowzero", 0));
                }
                break;
            case "Flatten":
                n.Allow("axis");
                Emit(n, OpKind.Flatten, new[] { n.Input(0) }, new[] { n.Output(0) }).Set("axis", n.Int("axis", 1));
                break;
            case "Concat":
                n.Allow("axis");
                if (!n.Has("axis") && _opset >= 4) throw n.Error("attribute 'axis' is missing");
                long concatAxis = n.Int("axis", 1);
                foreach (var input in Present(n)) CheckAxis(n, concatAxis, _ir.KnownRank(input), input);
                Emit(n, OpKind.Concat, Present(n), new[] { n.Output(0) }).Set("axis", concatAxis);
                break;
            case "Gather":
                n.Allow("axis");
                long gatherAxis = n.Int("axis", 0);
                CheckAxis(n, gatherAxis, _ir.KnownRank(n.Input(0)), n.Input(0));
                Emit(n, OpKind.Gather, new[] { n.Input(0), n.Input(1) }, new[] { n.Output(0) }).Set("axis", gatherAxis);
                break;
            case "Slice":
                ConvertSlice(n);
                break;
            case "Shape":
            {
                n.Allow("start", "end");
                var node = Emit(n, OpKind.Shape, new[] { n.Input(0) }, new[] { n.Output(0) });
                if (n.Has("start")) node.Set("start", n.Int("start", 0));
                if (n.Has("end")) node.Set("end", n.Int("end", 0));
                break;
            }
            case "Cast":
            {
                n.Allow("to", "saturate");
                long to = n.Int("to", -1);
                var target = OnnxTensors.ToDataType((int)to)
                    ?? throw n.Unsupported($"cast to {OnnxTensors.TypeName((int)to)} is not supported; Edge casts to FLOAT, INT64, INT32 and INT8");
                Emit(n, OpKind.Cast, new[] { n.Input(0) }, new[] { n.Output(0) }).Set("to", (long)target);
                break;
            }
            case "Constant":
                ConvertConstant(n);
                break;
            case "ConstantOfShape":
                ConvertConstantOfShape(n);
                break;
            case "Expand":
                n.Allow();
                Emit(n, OpKind.Expand, new[] { n.Input(0), n.Input(1) }, new[] { n.Output(0) });
                break;
            case "ReduceSum": case "ReduceProd": case "ReduceMax":
            {
                // ReduceSum's axes became an input in opset 13, ReduceProd's and ReduceMax's only in opset 18.
                var kind = n.OpType switch { "ReduceSum" => OpKind.ReduceSum, "ReduceProd" => OpKind.ReduceProd, _ => OpKind.ReduceMax };
                if (_opset < (kind == OpKind.ReduceSum ? 13 : 18))
                {
                    n.Allow("axes", "keepdims");
                    var node = Emit(n, kind, new[] { n.Input(0) }, new[] { n.Output(0) }).Set("keepdims", n.Int("keepdims", 1));
                    if (n.Ints("axes") is { } axes) node.Set("axes", axes);
                }
                else
                {
                    n.Allow("keepdims", "noop_with_empty_axes");
                    Emit(n, kind, new[] { n.Input(0), n.Input(1) }, new[] { n.Output(0) })
                        .Set("keepdims", n.Int("keepdims", 1)).Set("noop_with_empty_axes", n.Int("noop_with_empty_axes", 0));
                }
                break;
            }
            case "PRelu":
                n.Allow();
                Emit(n, OpKind.PRelu, new[] { n.Input(0), n.Input(1) }, new[] { n.Output(0) });
                break;
            case "Tile":
                ConvertTile(n);
                break;
            case "LSTM":
                ConvertLstm(n);
                break;
            case "GRU":
                ConvertGru(n);
                break;
            case "RNN":
                ConvertRnn(n);
                break;
            default:
                throw new UnsupportedModelException(
                    $"unsupported ONNX op '{n.OpType}' in node '{n.Name}' ({_file}); Edge supports: {string.Join(", ", SupportedOps)}");
        }
    }

    private void ConvertDropout(OnnxNode n)
    {
        n.Allow("ratio", "is_test", "seed");
        if (_opset >= 12 && n.Input(2).Length > 0)
        {
            // training_mode: only a constant false is inference.
            var mode = _ir.ConstantOf(n.Input(2));
            if (mode is null || mode.Length != 1 || mode.ToDoubleArray()[0] != 0)
                throw n.Unsupported("training_mode must be a constant false; Edge runs inference only");
        }
        if (n.Output(1).Length > 0 && _consumed.Contains(n.Output(1)))
            throw n.Unsupported($"the dropout mask output '{n.Output(1)}' is used; Edge runs inference only, where dropout is the identity");
        Emit(n, OpKind.Identity, new[] { n.Input(0) }, new[] { n.Output(0) });
    }

    private void ConvertTile(OnnxNode n)
    {
        n.Allow();
        // torch exports x.repeat(1, 1, 1) (RepeatVector 1) as Tile with constant ones: that is a copy.
        if (_ir.ConstantOf(n.Input(1)) is { } repeats && repeats.ToInt64Array().All(r => r == 1))
            Emit(n, OpKind.Identity, new[] { n.Input(0) }, new[] { n.Output(0) });
        else
            Emit(n, OpKind.Tile, new[] { n.Input(0), n.Input(1) }, new[] { n.Output(0) });
    }

    private void ConvertConv(OnnxNode n)
    {
        n.Allow("auto_pad", "dilations", "group", "kernel_shape", "pads", "strides");
        int? spatial = n.Ints("kernel_shape")?.Length
            ?? (_ir.KnownRank(n.Input(1)) is { } wr ? wr - 2 : _ir.KnownRank(n.Input(0)) is { } xr ? xr - 2 : null);
        if (spatial is null)
            throw n.Unsupported("cannot tell the number of spatial dimensions (no kernel_shape, weight or input shape)");
        if (spatial != 1)
            throw n.Unsupported($"{spatial}-D convolution is not supported; Edge supports 1-D convolution (N, C, L) only");
        var node = Emit(n, OpKind.Conv1D, new[] { n.Input(0), n.Input(1), n.Input(2) }, new[] { n.Output(0) })
            .Set("strides", n.Ints("strides") ?? new[] { 1L })
            .Set("dilations", n.Ints("dilations") ?? new[] { 1L })
            .Set("group", n.Int("group", 1))
            .Set("pads", n.Ints("pads") ?? new[] { 0L, 0L });
        string autoPad = n.String("auto_pad", "NOTSET");
        if (autoPad is not ("NOTSET" or "VALID" or "SAME_UPPER" or "SAME_LOWER"))
            throw n.Unsupported($"auto_pad '{autoPad}' is not supported");
        node.Set("auto_pad", autoPad);
    }

    private void ConvertPad(OnnxNode n)
    {
        string mode;
        string[] inputs;
        if (_opset < 11)
        {
            n.Allow("mode", "pads", "paddings", "value");
            mode = n.String("mode", "constant");
            var pads = n.Ints(_opset < 2 ? "paddings" : "pads") ?? n.Ints("pads") ?? throw n.Error("attribute 'pads' is missing");
            inputs = new[]
            {
                n.Input(0),
                _ir.Constant($"{n.Name}/pads", Int64s(pads)),
                _ir.Constant($"{n.Name}/value", Tensor.FromArray(new[] { n.Float("value", 0f) })),
            };
        }
        else
        {
            n.Allow("mode");
            mode = n.String("mode", "constant");
            inputs = new[] { n.Input(0), n.Input(1), n.Input(2), n.Input(3) };
        }
        if (mode is not ("constant" or "reflect" or "edge"))
            throw n.Unsupported($"pad mode '{mode}' is not supported (supported: constant, reflect, edge)");
        Emit(n, OpKind.Pad, inputs, new[] { n.Output(0) }).Set("mode", mode);
    }

    private void ConvertClip(OnnxNode n)
    {
        if (_opset < 11)
        {
            // Clip-6: float attributes min and max, each optional (absent = unbounded on that side).
            n.Allow("min", "max");
            var inputs = new[]
            {
                n.Input(0),
                n.Has("min") ? _ir.Constant($"{n.Name}/min", Tensor.FromArray(new[] { n.Float("min", 0f) })) : "",
                n.Has("max") ? _ir.Constant($"{n.Name}/max", Tensor.FromArray(new[] { n.Float("max", 0f) })) : "",
            };
            Emit(n, OpKind.Clip, inputs, new[] { n.Output(0) });
        }
        else
        {
            n.Allow();
            Emit(n, OpKind.Clip, new[] { n.Input(0), n.Input(1), n.Input(2) }, new[] { n.Output(0) });
        }
    }

    private void ConvertSlice(OnnxNode n)
    {
        if (_opset < 10)
        {
            n.Allow("starts", "ends", "axes");
            var starts = n.Ints("starts") ?? throw n.Error("attribute 'starts' is missing");
            var ends = n.Ints("ends") ?? throw n.Error("attribute 'ends' is missing");
            var inputs = new List<string>
            {
                n.Input(0),
                _ir.Constant($"{n.Name}/starts", Int64s(starts)),
                _ir.Constant($"{n.Name}/ends", Int64s(ends)),
            };
            if (n.Ints("axes") is { } axes) inputs.Add(_ir.Constant($"{n.Name}/axes", Int64s(axes)));
            Emit(n, OpKind.Slice, inputs, new[] { n.Output(0) });
        }
        else
        {
            n.Allow();
            Emit(n, OpKind.Slice, new[] { n.Input(0), n.Input(1), n.Input(2), n.Input(3), n.Input(4) }, new[] { n.Output(0) });
        }
    }

    private void ConvertConstant(OnnxNode n)
    {
        n.Allow("value", "value_float", "value_floats", "value_int", "value_ints", "sparse_value", "value_string", "value_strings");
        string output = n.Output(0);
        Tensor value;
        if (n.Tensor("value") is { } proto) value = OnnxTensors.FromProto(proto, $"{n.Describe}, attribute 'value'");
        else if (n.Has("value_float")) value = Tensor.FromArray(new[] { n.Float("value_float", 0) });
        else if (n.Floats("value_floats") is { } fs) value = Tensor.FromArray(fs, fs.Length);
        else if (n.Has("value_int")) value = Tensor.FromArray(new[] { n.Int("value_int", 0) });
        else if (n.Ints("value_ints") is { } ls) value = Int64s(ls);
        else if (n.Has("sparse_value") || n.Has("value_string") || n.Has("value_strings"))
            throw n.Unsupported("sparse and string constants are not supported");
        else throw n.Error("has no value attribute");
        _graph.Constants[output] = value;
    }

    private void ConvertConstantOfShape(OnnxNode n)
    {
        n.Allow("value");
        float fill = 0;
        var dtype = DataType.Float32;
        if (n.Tensor("value") is { } proto)
        {
            dtype = OnnxTensors.ToDataType(proto.DataType)
                ?? throw n.Unsupported($"value of type {OnnxTensors.TypeName(proto.DataType)} is not supported; Edge supports FLOAT, INT64, INT32 and INT8");
            var t = OnnxTensors.FromProto(proto, $"{n.Describe}, attribute 'value'");
            if (t.Length != 1) throw n.Error($"attribute 'value' must hold one element, it has shape {t.ShapeString}");
            fill = (float)t.ToDoubleArray()[0];
        }
        Emit(n, OpKind.ConstantOfShape, new[] { n.Input(0) }, new[] { n.Output(0) })
            .Set("value", fill).Set("dtype", (long)dtype);
    }
}
