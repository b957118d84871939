using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Kernels;
using Edge.Runtime.Quantization;
using Edge.Runtime.Tensors;
using static Edge.Runtime.Tests.Assertions;

namespace Edge.Runtime.Tests.Int8;

/// <summary>
/// The int8 paths of Dense, LSTM, GRU (both reset variants), RNN (tanh, relu), Conv1D, Bilinear and LocallyConnected1D, one
/// node in a session per ISA path this CPU supports, against <see cref="Int8Reference"/> (the documented
/// quantization rule in plain loops) to a tight tolerance; and the structural variants of the recurrent
/// layers (directions, batch-first layout, sequence_lens, peepholes, clip, initial state, relu cells)
/// against the fp32 path on the same (dequantized) weights.
/// </summary>
[TestClass]
public sealed class Int8LayerTests
{
    // Tight: both sides compute the same int32 accumulators; what is left is fp32 rounding of the gate math
    // (TensorPrimitives vs scalar MathF), and, in recurrent layers, the rare h that it moves across a rounding boundary.
    private const double Atol = 2e-5, Rtol = 1e-4;
    private static readonly Tolerance Close = new(Atol, Rtol);

    public static IEnumerable<object[]> Isas() => IsaSelector.Supported.Select(i => new object[] { IsaSelector.Name(i) });

    // ── Dense ───────────────────────────────────────────────────────────────────────────────────

    [TestMethod]
    [DynamicData(nameof(Isas))]
    public void Dense_Int8_MatchesReference_DynamicAndStaticRanges(string isa)
    {
        var rng = new Random(11);
        int rows = 7, inF = 37, outF = 21;
        var x = Random(rng, rows * inF, 2f);
        var w = Quantized(rng, [outF, inF], 0);
        var b = Random(rng, outF, 0.5f);
        // 1.5 is below max |x| (~2): values beyond it saturate at ±127, as the static rule says.
        foreach (float absMax in new[] { 0f, 1.5f })
        {
            var g = OneNode(OpKind.Dense, ["x", "w", "b"], 1, n => { if (absMax > 0) n.Set("input_absmax", absMax); });
            g.Inputs.Add(new ValueInfo("x", DataType.Float32, [rows, inF]));
            g.QuantizedConstants["w"] = w;
            g.Constants["b"] = Tensor.FromArray(b, outF);
            var y = Run(g, isa, ("x", Tensor.FromArray(x, rows, inF)))[0];
            AssertClose(Int8Reference.Dense(x, rows, w, b, absMax), y, Close, $"Dense absmax {absMax} on {isa}");
        }
    }

    // ── LSTM ────────────────────────────────────────────────────────────────────────────────────

    [TestMethod]
    [DynamicData(nameof(Isas))]
    public void Lstm_Int8_MatchesReference_TanhStaticStateAndReluDynamicState(string isa)
    {
        var rng = new Random(12);
        int seq = 6, batch = 3, input = 8, hidden = 20;
        var x = Random(rng, seq * batch * input, 1f);
        var w = Quantized(rng, [1, 4 * hidden, input], 1, 0.5f);
        var r = Quantized(rng, [1, 4 * hidden, hidden], 1, 0.3f);
        var b = Random(rng, 8 * hidden, 0.2f);
        foreach (bool relu in new[] { false, true })
        {
            foreach (float absMax in new[] { 0f, 0.8f })
            {
                var g = OneNode(OpKind.Lstm, ["x", "w", "r", "b"], 3, n =>
                {
                    n.Set("hidden_size", (long)hidden);
                    if (relu) n.Set("activations", ["Sigmoid", "Relu", "Relu"]);
                    if (absMax > 0) n.Set("input_absmax", absMax);
                });
                AddRecurrentWeights(g, w, r, b);
                var outs = Run(g, isa, ("x", Tensor.FromArray(x, seq, batch, input)));
                var expected = Int8Reference.Lstm(x, seq, batch, w, r, b, hidden, absMax, hStatic: !relu, relu);
                AssertClose(expected, outs[0], Close, $"LSTM relu={relu} absmax {absMax} on {isa}: Y");
            }
        }
    }

    // ── GRU ─────────────────────────────────────────────────────────────────────────────────────

    [TestMethod]
    [DynamicData(nameof(Isas))]
    public void Gru_Int8_MatchesReference_BothResetVariants(string isa)
    {
        var rng = new Random(13);
        int seq = 7, batch = 2, input = 8, hidden = 24;
        var x = Random(rng, seq * batch * input, 1f);
        var w = Quantized(rng, [1, 3 * hidden, input], 1, 0.5f);
        var r = Quantized(rng, [1, 3 * hidden, hidden], 1, 0.4f);
        var b = Random(rng, 6 * hidden, 0.2f);
        foreach (bool lbr in new[] { true, false })
        {
            var g = OneNode(OpKind.Gru, ["x", "w", "r", "b"], 2, n =>
            {
                n.Set("hidden_size", (long)hidden);
                n.Set("linear_before_reset", lbr ? 1L : 0L);
            });
            AddRecurrentWeights(g, w, r, b);
            var outs = Run(g, isa, ("x", Tensor.FromArray(x, seq, batch, input)));
            var expected = Int8Reference.Gru(x, seq, batch, w, r, b, hidden, lbr, xAbsMax: 0);
            AssertClose(expected, outs[0], Close, $"GRU linear_before_reset={(lbr ? 1 : 0)} on {isa}: Y");
        }
    }

    // ── RNN ─────────────────────────────────────────────────────────────────────────────────────

    [TestMethod]
    [DynamicData(nameof(Isas))]
    public void Rnn_Int8_MatchesReference_TanhStaticStateAndReluDynamicState(string isa)
    {
        var rng = new Random(15);
        int seq = 8, batch = 3, input = 9, hidden = 21;
        var x = Random(rng, seq * batch * input, 1f);
        var w = Quantized(rng, [1, hidden, input], 1, 0.5f);
        var r = Quantized(rng, [1, hidden, hidden], 1, 0.3f);
        var b = Random(rng, 2 * hidden, 0.2f);
        foreach (bool relu in new[] { false, true })
        {
            foreach (float absMax in new[] { 0f, 0.8f })
            {
                var g = OneNode(OpKind.Rnn, ["x", "w", "r", "b"], 2, n =>
                {
                    n.Set("hidden_size", (long)hidden);
                    if (relu) n.Set("activations", ["Relu"]);
                    if (absMax > 0) n.Set("input_absmax", absMax);
                });
                AddRecurrentWeights(g, w, r, b);
                var outs = Run(g, isa, ("x", Tensor.FromArray(x, seq, batch, input)));
                var expected = Int8Reference.Rnn(x, seq, batch, w, r, b, hidden, absMax, relu);
                AssertClose(expected, outs[0], Close, $"RNN relu={relu} absmax {absMax} on {isa}: Y");
            }
        }
    }

    // ── structure: int8 vs fp32 on the same weights ─────────────────────────────────────────────

    public static IEnumerable<object[]> RecurrentVariants() =>
    [
        ["Lstm", "bidirectional", 0L, false, false, 0f, false],
        ["Lstm", "reverse", 1L, true, true, 0f, true],
        ["Lstm", "bidirectional", 1L, true, true, 3f, true],
        ["Gru1", "bidirectional", 1L, true, false, 0f, true],
        ["Gru0", "bidirectional", 0L, true, false, 2.5f, true],
        ["Gru0", "reverse", 1L, false, false, 0f, false],
        ["RnnTanh", "bidirectional", 1L, true, false, 2.5f, true],
        ["RnnRelu", "reverse", 0L, true, false, 0f, true],
        ["RnnRelu", "bidirectional", 0L, false, false, 0f, false],
    ];

    [TestMethod]
    [DynamicData(nameof(RecurrentVariants))]
    public void Recurrent_Int8_FollowsTheFp32StructureOnEveryIsa(string kind, string direction, long layout, bool seqLens, bool peepholes, float clip, bool initial)
    {
        var rng = new Random(14);
        int seq = 9, batch = 3, input = 8, hidden = 16, dirs = direction == "bidirectional" ? 2 : 1;
        bool lstm = kind == "Lstm", rnn = kind.StartsWith("Rnn", StringComparison.Ordinal);
        int gates = lstm ? 4 : rnn ? 1 : 3;
        var w = Quantized(rng, [dirs, gates * hidden, input], 1, 0.5f);
        var r = Quantized(rng, [dirs, gates * hidden, hidden], 1, 0.3f);
        var b = Random(rng, dirs * 2 * gates * hidden, 0.2f);
        var p = Random(rng, dirs * 3 * hidden, 0.3f);
        int[] xShape = layout == 1 ? [batch, seq, input] : [seq, batch, input];
        int[] stateShape = layout == 1 ? [batch, dirs, hidden] : [dirs, batch, hidden];
        var feeds = new List<(string, Tensor)> { ("x", Tensor.FromArray(Random(rng, seq * batch * input, 1.5f), xShape)) };
        var names = new List<string> { "x", "w", "r", "b", seqLens ? "lens" : "", initial ? "h0" : "" };
        if (seqLens) feeds.Add(("lens", Tensor.FromArray(new int[] { seq, 4, 0 }, batch)));
        // Initial h beyond the unit range: the static state scale must not be used for it.
        if (initial) feeds.Add(("h0", Tensor.FromArray(Random(rng, dirs * batch * hidden, 1.8f), stateShape)));
        if (lstm)
        {
            names.Add(initial ? "c0" : "");
            if (initial) feeds.Add(("c0", Tensor.FromArray(Random(rng, dirs * batch * hidden, 1f), stateShape)));
            names.Add(peepholes ? "p" : "");
        }
        while (names[^1].Length == 0) names.RemoveAt(names.Count - 1);

        Graph Build(bool int8)
        {
            var g = OneNode(lstm ? OpKind.Lstm : rnn ? OpKind.Rnn : OpKind.Gru, names.ToArray(), lstm ? 3 : 2, n =>
            {
                n.Set("hidden_size", (long)hidden);
                n.Set("direction", direction);
                n.Set("layout", layout);
                if (clip > 0) n.Set("clip", clip);
                if (kind == "RnnRelu") n.Set("activations", ["Relu"]);
                if (!lstm && !rnn) n.Set("linear_before_reset", kind == "Gru1" ? 1L : 0L);
            });
            foreach (var (name, t) in feeds)
            {
                var shape = t.ShapeArray();
                g.Inputs.Add(new ValueInfo(name, t.DataType, shape));
            }
            if (int8) AddRecurrentWeights(g, w, r, b);
            else
            {
                g.Constants["w"] = WeightQuantizer.Dequantize(w);
                g.Constants["r"] = WeightQuantizer.Dequantize(r);
                g.Constants["b"] = Tensor.FromArray(b, dirs, 2 * gates * hidden);
            }
            if (peepholes) g.Constants["p"] = Tensor.FromArray(p, dirs, 3 * hidden);
            return g;
        }

        var fp32 = Run(Build(int8: false), "scalar", feeds.ToArray());
        Tensor[]? first = null;
        foreach (var isa in IsaSelector.Supported)
        {
            var outs = Run(Build(int8: true), IsaSelector.Name(isa), feeds.ToArray());
            for (int o = 0; o < outs.Length; o++)
            {
                Assert.AreEqual(fp32[o].ShapeString, outs[o].ShapeString);
                double cos = Int8ModelTests.Cosine(fp32[o], outs[o]);
                Assert.IsTrue(cos >= 0.999, $"{kind} {direction} layout {layout} output {o} on {IsaSelector.Name(isa)}: cosine vs fp32 {cos:F6}");
                double maxErr = fp32[o].ToDoubleArray().Zip(outs[o].ToDoubleArray(), (a, e) => Math.Abs(a - e)).Max();
                Assert.IsTrue(maxErr < 0.05, $"{kind} {direction} layout {layout} output {o} on {IsaSelector.Name(isa)}: max |int8 - fp32| = {maxErr}");
                if (first is not null)
                    CollectionAssert.AreEqual(first[o].ToDoubleArray(), outs[o].ToDoubleArray(), $"{kind} output {o}: {IsaSelector.Name(isa)} differs from {IsaSelector.Name(IsaSelector.Supported[0])}");
            }
            first ??= outs;
        }
        // Rows past their sequence length stay exactly zero in Y (batch row 2 has length 0).
        if (seqLens)
        {
            var y = first![0];
            for (int t = 0; t < seq; t++)
                for (int d = 0; d < dirs; d++)
                    for (int j = 0; j < hidden; j++)
                        Assert.AreEqual(0f, layout == 1 ? y.Get<float>(2, t, d, j) : y.Get<float>(t, d, 2, j));
        }
    }

    [TestMethod]
    [DataRow(true, false)]
    [DataRow(true, true)]
    [DataRow(false, false)]
    [DataRow(false, true)]
    public void Lstm_StateBoundFromTheRunnersOwnOutputs_StepsAsWithCopies(bool int8, bool crossed)
    {
        // The layer keeps its state in Y_h and Y_c: a streaming caller that binds them as the next call's
        // initial_h and initial_c (or, crossed, Y_c as initial_h and Y_h as initial_c) must get what copies give.
        var rng = new Random(23);
        int batch = 2, input = 8, hidden = 16;
        var w = Quantized(rng, [1, 4 * hidden, input], 1, 0.5f);
        var r = Quantized(rng, [1, 4 * hidden, hidden], 1, 0.3f);
        var b = Random(rng, 8 * hidden, 0.2f);
        var g = Int8Lstm(w, r, b, batch, withState: true);
        if (!int8)
        {
            // The same node on the dequantized weights: the fp32 path.
            g.QuantizedConstants.Clear();
            g.Constants["w"] = WeightQuantizer.Dequantize(w);
            g.Constants["r"] = WeightQuantizer.Dequantize(r);
        }
        var session = new Session(g);
        var runner = session.CreateRunner();
        var h = Tensor.FromArray(Random(rng, batch * hidden, 0.9f), 1, batch, hidden);
        var c = Tensor.FromArray(Random(rng, batch * hidden, 2f), 1, batch, hidden);
        runner.Bind(1, h);
        runner.Bind(2, c);
        for (int step = 0; step < 4; step++)
        {
            var x = Tensor.FromArray(Random(rng, batch * input, 1.5f), 1, batch, input);
            var expected = session.Run(new Dictionary<string, Tensor> { ["x"] = x, ["h0"] = h, ["c0"] = c });
            runner.Bind(0, x);
            runner.Invoke();
            for (int o = 0; o < 3; o++)
                CollectionAssert.AreEqual(expected[$"y{o}"].ToDoubleArray(), runner.Output(o).ToDoubleArray(), $"step {step} output {o} (int8 {int8}, crossed {crossed})");
            // Next step: the runner's own Y_h and Y_c, read in place.
            h = (crossed ? expected["y2"] : expected["y1"]).Clone();
            c = (crossed ? expected["y1"] : expected["y2"]).Clone();
            runner.Bind(1, runner.Output(crossed ? 2 : 1));
            runner.Bind(2, runner.Output(crossed ? 1 : 2));
        }
    }

    [TestMethod]
    [DataRow(8)]
    [DataRow(20)]
    public void Lstm_Int8SingleStepFromState_EqualsTheSameStepInsideASequence(int input)
    {
        // A one-step call from a given state (the streaming call, whose input projection runs inside the recurrent
        // product) must give the bits the second step of a two-step sequence gives from the state after the first.
        var rng = new Random(31);
        int batch = 2, hidden = 13;
        var w = Quantized(rng, [1, 4 * hidden, input], 1, 0.5f);
        var r = Quantized(rng, [1, 4 * hidden, hidden], 1, 0.3f);
        var b = Random(rng, 8 * hidden, 0.2f);
        var x = Random(rng, 2 * batch * input, 1.5f); // layout 0: (seq, batch, input)
        foreach (var isa in IsaSelector.Supported)
        {
            string name = IsaSelector.Name(isa);
            var two = Run(Int8Lstm(w, r, b, batch, withState: false), name, ("x", Tensor.FromArray(x, 2, batch, input)));
            var first = Run(Int8Lstm(w, r, b, batch, withState: false), name, ("x", Tensor.FromArray(x[..(batch * input)], 1, batch, input)));
            var second = Run(Int8Lstm(w, r, b, batch, withState: true), name, ("x", Tensor.FromArray(x[(batch * input)..], 1, batch, input)), ("h0", first[1]), ("c0", first[2]));
            string what = $"input {input} on {name}";
            CollectionAssert.AreEqual(two[1].ToDoubleArray(), second[1].ToDoubleArray(), $"{what}: Y_h");
            CollectionAssert.AreEqual(two[2].ToDoubleArray(), second[2].ToDoubleArray(), $"{what}: Y_c");
            CollectionAssert.AreEqual(two[0].ToDoubleArray()[(batch * hidden)..], second[0].ToDoubleArray(), $"{what}: Y of the second step");
        }
    }

    [TestMethod]
    [DataRow(1, "Tanh")]
    [DataRow(5, "Tanh")]
    [DataRow(1, "Relu")]
    [DataRow(5, "Relu")]
    public void Lstm_Int8ZeroInitialState_EqualsAbsentState_AndAnUnreadYIsNotMade(int seq, string cellActivation)
    {
        // Exporters pass zeros (ConstantOfShape) as the initial state: the layer skips its recurrent product as for an
        // absent state, which must change no bit (also for -0 zeros, and for the non-default cell's path). The
        // same layer with Y unread (only Y_h and Y_c are graph outputs) gives the same states.
        var rng = new Random(47);
        int batch = 2, input = 8, hidden = 13;
        var w = Quantized(rng, [1, 4 * hidden, input], 1, 0.5f);
        var r = Quantized(rng, [1, 4 * hidden, hidden], 1, 0.3f);
        var b = Random(rng, 8 * hidden, 0.2f);
        var x = Tensor.FromArray(Random(rng, seq * batch * input, 1.5f), seq, batch, input);
        var zeros = Tensor.Zeros<float>(1, batch, hidden);
        var negativeZeros = Tensor.FromArray(Enumerable.Repeat(-0f, batch * hidden).ToArray(), 1, batch, hidden);
        foreach (var isa in IsaSelector.Supported)
        {
            string name = IsaSelector.Name(isa);
            var absent = Run(Build(withState: false, readY: true), name, ("x", x));
            foreach (var z in new[] { zeros, negativeZeros })
            {
                var given = Run(Build(withState: true, readY: true), name, ("x", x), ("h0", z), ("c0", z));
                for (int o = 0; o < 3; o++)
                    CollectionAssert.AreEqual(Bits(absent[o]), Bits(given[o]), $"seq {seq} {cellActivation} on {name}: output {o} with a zero initial state given");
            }
            var unreadY = Run(Build(withState: false, readY: false), name, ("x", x));
            Assert.HasCount(2, unreadY);
            CollectionAssert.AreEqual(Bits(absent[1]), Bits(unreadY[0]), $"seq {seq} {cellActivation} on {name}: Y_h with Y unread");
            CollectionAssert.AreEqual(Bits(absent[2]), Bits(unreadY[1]), $"seq {seq} {cellActivation} on {name}: Y_c with Y unread");
        }

        static int[] Bits(Tensor t) => t.ReadOnlySpan<float>().ToArray().Select(BitConverter.SingleToInt32Bits).ToArray();

        Graph Build(bool withState, bool readY)
        {
            var g = Int8Lstm(w, r, b, batch, withState, n => n.Set("activations", new[] { "Sigmoid", cellActivation, cellActivation }));
            if (!readY) g.Outputs.RemoveAt(0);
            return g;
        }
    }

    // ── Conv1D ──────────────────────────────────────────────────────────────────────────────────

    public static IEnumerable<object[]> ConvCases() => IsaSelector.Supported.SelectMany(i => new[]
    {
        new object[] { IsaSelector.Name(i), 1, 1, 1, 0, 0, 0f, 45 },
        new object[] { IsaSelector.Name(i), 2, 2, 2, 2, 1, 0f, 45 },
        new object[] { IsaSelector.Name(i), 1, 1, 3, 4, 0, 1.2f, 45 },
        // Inputs shorter than the kernel (the forecaster's head over one decoded step): padding on both sides of
        // every window, taps past both ends.
        new object[] { IsaSelector.Name(i), 1, 1, 1, 1, 1, 0f, 1 },
        new object[] { IsaSelector.Name(i), 2, 1, 2, 3, 2, 0f, 2 },
        new object[] { IsaSelector.Name(i), 1, 2, 3, 5, 4, 0f, 3 },
    });

    [TestMethod]
    [DynamicData(nameof(ConvCases))]
    public void Conv1D_Int8_MatchesReference(string isa, int group, int stride, int dilation, int padBegin, int padEnd, float absMax, int len)
    {
        var rng = new Random(15 + group * 7 + stride + len);
        int n = 2, c = 6, m = 10, k = 3;
        var x = Random(rng, n * c * len, 1.5f);
        var w = Quantized(rng, [m, c / group, k], 0);
        var b = Random(rng, m, 0.3f);
        int lOut = (len + padBegin + padEnd - (dilation * (k - 1) + 1)) / stride + 1;
        var g = OneNode(OpKind.Conv1D, ["x", "w", "b"], 1, node =>
        {
            node.Set("group", (long)group);
            node.Set("strides", new long[] { stride });
            node.Set("dilations", new long[] { dilation });
            node.Set("pads", new long[] { padBegin, padEnd });
            if (absMax > 0) node.Set("input_absmax", absMax);
        });
        g.Inputs.Add(new ValueInfo("x", DataType.Float32, [n, c, len]));
        g.QuantizedConstants["w"] = w;
        g.Constants["b"] = Tensor.FromArray(b, m);
        var y = Run(g, isa, ("x", Tensor.FromArray(x, n, c, len)))[0];
        Assert.AreEqual($"({n}, {m}, {lOut})", y.ShapeString);
        AssertClose(Int8Reference.Conv1D(x, n, c, len, w, b, stride, dilation, group, padBegin, lOut, absMax), y, Close, $"Conv1D group {group} stride {stride} dilation {dilation} on {isa}");
    }

    // ── Bilinear ────────────────────────────────────────────────────────────────────────────────

    [TestMethod]
    [DynamicData(nameof(Isas))]
    public void Bilinear_Int8_MatchesReference_OneContextAndOnePerCandidate(string isa)
    {
        var rng = new Random(16);
        int n = 11, d1 = 24, d2 = 40;
        var m = Quantized(rng, [d1, d2], 0);
        foreach (int nc in new[] { 1, n })
        {
            var cs = Random(rng, nc * d1, 1f);
            var rs = Random(rng, n * d2, 1f);
            var g = OneNode(OpKind.Bilinear, ["c", "r", "m", "b"], 1, null);
            g.Inputs.Add(new ValueInfo("c", DataType.Float32, [nc, d1]));
            g.Inputs.Add(new ValueInfo("r", DataType.Float32, [n, d2]));
            g.QuantizedConstants["m"] = m;
            g.Constants["b"] = Tensor.FromArray(new[] { 0.25f }, 1);
            var y = Run(g, isa, ("c", Tensor.FromArray(cs, nc, d1)), ("r", Tensor.FromArray(rs, n, d2)))[0];
            AssertClose(Int8Reference.Bilinear(cs, nc, rs, n, m, 0.25f), y, Close, $"Bilinear Nc {nc} on {isa}");
        }
    }

    // ── LocallyConnected1D ──────────────────────────────────────────────────────────────────────

    [TestMethod]
    [DynamicData(nameof(Isas))]
    public void LocallyConnected1D_Int8_MatchesReference_WithPadding(string isa)
    {
        var rng = new Random(17);
        int rows = 3, len = 12, c = 3, kernel = 4, stride = 2, padBegin = 1, padEnd = 2, f = 5;
        int folds = (len + padBegin + padEnd - kernel) / stride + 1;
        var x = Random(rng, rows * len * c, 1f);
        var w = Quantized(rng, [folds, f, kernel * c], 1);
        var b = Random(rng, folds * f, 0.2f);
        var g = OneNode(OpKind.LocallyConnected1D, ["x", "w", "b"], 1, node =>
        {
            node.Set("kernel_size", (long)kernel);
            node.Set("stride", (long)stride);
            node.Set("pads", new long[] { padBegin, padEnd });
            node.Set("weight_layout", "folds_out_in");
        });
        g.Inputs.Add(new ValueInfo("x", DataType.Float32, [rows, len, c]));
        g.QuantizedConstants["w"] = w;
        g.Constants["b"] = Tensor.FromArray(b, folds, f);
        var y = Run(g, isa, ("x", Tensor.FromArray(x, rows, len, c)))[0];
        AssertClose(Int8Reference.LocallyConnected1D(x, rows, len, c, w, b, kernel, stride, padBegin, 0), y, Close, $"LocallyConnected1D on {isa}");

        // The fp32 path reads the same layout: on the dequantized weights it stays close to int8.
        g.QuantizedConstants.Remove("w");
        g.Constants["w"] = WeightQuantizer.Dequantize(w);
        var fp32 = Run(g, isa, ("x", Tensor.FromArray(x, rows, len, c)))[0];
        Assert.IsTrue(Int8ModelTests.Cosine(fp32, y) >= 0.999, "LocallyConnected1D folds_out_in fp32 vs int8");
    }

    // ── helpers ─────────────────────────────────────────────────────────────────────────────────

    private static float[] Random(Random rng, int count, float scale)
    {
        var v = new float[count];
        for (int i = 0; i < count; i++) v[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
        return v;
    }

    /// <summary>A random weight of <paramref name="shape"/> quantized by the reference quantizer with row axis <paramref name="axis"/>.</summary>
    private static QuantizedWeight Quantized(Random rng, int[] shape, int axis, float scale = 1f) =>
        WeightQuantizer.QuantizePerRow(Tensor.FromArray(Random(rng, shape.Aggregate(1, (a, b) => a * b), scale), shape), axis);

    private static Graph OneNode(OpKind kind, string[] inputs, int outputs, Action<Node>? configure)
    {
        var g = new Graph();
        var outNames = Enumerable.Range(0, outputs).Select(i => $"y{i}").ToArray();
        var node = new Node(kind, "node", inputs, outNames);
        configure?.Invoke(node);
        g.Nodes.Add(node);
        foreach (var o in outNames) g.Outputs.Add(new ValueInfo(o, DataType.Float32, []));
        return g;
    }

    /// <summary>
    /// One forward LSTM node on int8 weights (layout 0; outputs y0 = Y, y1 = Y_h, y2 = Y_c), with inputs initial_h
    /// ("h0") and initial_c ("c0") of shape (1, batch, hidden) when <paramref name="withState"/>.
    /// </summary>
    private static Graph Int8Lstm(QuantizedWeight w, QuantizedWeight r, float[] b, int batch, bool withState, Action<Node>? configure = null)
    {
        int hidden = r.Values.Dim(2);
        string[] inputs = withState ? ["x", "w", "r", "b", "", "h0", "c0"] : ["x", "w", "r", "b"];
        var g = OneNode(OpKind.Lstm, inputs, 3, n =>
        {
            n.Set("hidden_size", (long)hidden);
            configure?.Invoke(n);
        });
        AddRecurrentWeights(g, w, r, b);
        if (withState)
        {
            g.Inputs.Add(new ValueInfo("h0", DataType.Float32, [1, batch, hidden]));
            g.Inputs.Add(new ValueInfo("c0", DataType.Float32, [1, batch, hidden]));
        }
        return g;
    }

    private static void AddRecurrentWeights(Graph g, QuantizedWeight w, QuantizedWeight r, float[] b)
    {
        g.Inputs.Add(new ValueInfo("x", DataType.Float32, [-1, -1, w.Values.Dim(2)]));
        g.QuantizedConstants["w"] = w;
        g.QuantizedConstants["r"] = r;
        g.Constants["b"] = Tensor.FromArray(b, w.Values.Dim(0), b.Length / w.Values.Dim(0));
    }

    private static Tensor[] Run(Graph g, string isa, params (string Name, Tensor Value)[] feeds)
    {
        // x may have been declared by AddRecurrentWeights; keep one declaration per input.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        g.Inputs.RemoveAll(i => !seen.Add(i.Name));
        var session = new Session(g, new SessionOptions { Isa = IsaSelector.Parse(isa) });
        Assert.AreEqual(0, session.DequantizedWeights.Count, $"weights run in fp32: {string.Join(", ", session.DequantizedWeights)}");
        var result = session.Run(feeds.ToDictionary(f => f.Name, f => f.Value, StringComparer.Ordinal));
        return g.Outputs.Select(o => result[o.Name]).ToArray();
    }
}
