using System.Text.Json.Nodes;
using Edge.Runtime.Kernels;
using Edge.Runtime.Layers;
using Edge.Runtime.Tests.Streaming;

namespace Edge.Runtime.Tests.Layers;

/// <summary>
/// Each stage of the staged recurrent cells (<see cref="LstmCell"/>: gates, cell update, hidden update, with the
/// default cell on the <see cref="RecurrentCell"/> kernels; <see cref="GruCell"/>: gates, candidate with reset,
/// hidden update) against PyTorch's values for the same float32 inputs (tools/make_recurrent_stage_fixtures.py:
/// torch.nn.LSTMCell / GRUCell where the variant exists in PyTorch, the ONNX formulas in torch ops otherwise).
/// </summary>
[TestClass]
public sealed class RecurrentStageTests
{
    private const float Tolerance = 2e-6f;

    private static JsonObject Case(string name)
    {
        string path = Path.Combine(TestPaths.Fixtures, "recurrent_stages", "stages.json");
        return JsonNode.Parse(File.ReadAllText(path))!["cases"]![name]!.AsObject();
    }

    private static float[] Floats(JsonObject c, string key) => c[key]!.AsArray().Select(v => v!.GetValue<float>()).ToArray();

    private static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what) =>
        Assertions.AssertClose(expected, actual, Edge.Runtime.Tests.Tolerance.Scaled(Tolerance), what);

    private static RecurrentActivation Activation(JsonNode a)
    {
        var kind = Enum.Parse<RecurrentActivationKind>(a[0]!.GetValue<string>());
        return new RecurrentActivation(kind, a[1]!.GetValue<float>(), a[2]!.GetValue<float>());
    }

    [TestMethod]
    [DataRow("lstm_default_5")]
    [DataRow("lstm_default_17")]
    [DataRow("lstm_peepholes_clip_acts_6")]
    [DataRow("lstm_input_forget_peepholes_4")]
    public void LstmCell_EachStage_MatchesPyTorch(string name)
    {
        var k = Case(name);
        int n = k["n"]!.GetValue<int>();
        var acts = k["activations"]!.AsArray();
        var cell = new LstmCell(Activation(acts[0]!), Activation(acts[1]!), Activation(acts[2]!), k["clip"]!.GetValue<float>(),
            k["input_forget"]!.GetValue<bool>(), k["peepholes"] is null ? null : Floats(k, "peepholes"));
        Assert.AreEqual(name.StartsWith("lstm_default", StringComparison.Ordinal), cell.IsDefault, "default cell");
        var gates = Floats(k, "pre");
        var c = Floats(k, "c");
        var h = new float[n];
        var cellOut = new float[n];

        cell.ComputeGates(gates, c);
        AssertClose(Floats(k, "i"), gates.AsSpan(0, n), $"{name} gates: i");
        AssertClose(Floats(k, "f"), gates.AsSpan(n, n), $"{name} gates: f");
        AssertClose(Floats(k, "g"), gates.AsSpan(2 * n, n), $"{name} gates: g");
        if (cell.IsDefault) AssertClose(Floats(k, "o"), gates.AsSpan(3 * n, n), $"{name} gates: o");
        else CollectionAssert.AreEqual(Floats(k, "pre")[(3 * n)..], gates[(3 * n)..], $"{name}: o waits for the new cell state");

        LstmCell.UpdateCell(gates, c);
        AssertClose(Floats(k, "c_new"), c, $"{name} cell update: c'");

        cell.UpdateHidden(gates, c, h, cellOut);
        AssertClose(Floats(k, "o"), gates.AsSpan(3 * n, n), $"{name} hidden update: o");
        AssertClose(Floats(k, "h_new"), h, $"{name} hidden update: h'");

        // The whole step is the three stages.
        var gates2 = Floats(k, "pre");
        var c2 = Floats(k, "c");
        var h2 = new float[n];
        cell.Step(gates2, c2, h2, cellOut);
        CollectionAssert.AreEqual(c, c2, $"{name}: Step's c'");
        CollectionAssert.AreEqual(h, h2, $"{name}: Step's h'");
        if (cell.IsDefault)
        {
            // The kernel form (RecurrentCell.Lstm, as the device selftest runs it) gives the same bits.
            var gates3 = Floats(k, "pre");
            var c3 = Floats(k, "c");
            var h3 = new float[n];
            RecurrentCell.Lstm(gates3, c3, h3);
            CollectionAssert.AreEqual(c, c3, $"{name}: RecurrentCell.Lstm c'");
            CollectionAssert.AreEqual(h, h3, $"{name}: RecurrentCell.Lstm h'");
        }
    }

    [TestMethod]
    [DataRow("gru_linear_before_reset_5")]
    [DataRow("gru_linear_before_reset_clip_7")]
    [DataRow("gru_reset_before_linear_6")]
    public void GruCell_EachStage_MatchesPyTorch(string name)
    {
        var k = Case(name);
        int n = k["n"]!.GetValue<int>();
        var cell = new GruCell(new RecurrentActivation(RecurrentActivationKind.Sigmoid, 0, 0), new RecurrentActivation(RecurrentActivationKind.Tanh, 0, 0),
            k["clip"]!.GetValue<float>());
        var x = Floats(k, "x");
        var hp = Floats(k, "hp");
        var h = Floats(k, "h");

        var rz = new float[2 * n];
        for (int j = 0; j < rz.Length; j++) rz[j] = x[j] + hp[j];
        cell.ComputeGates(rz);
        AssertClose(Floats(k, "r"), rz.AsSpan(0, n), $"{name} gates: r");
        AssertClose(Floats(k, "z"), rz.AsSpan(n, n), $"{name} gates: z");

        float[] nGate;
        if (k["linear_before_reset"]!.GetValue<int>() == 1)
        {
            nGate = hp[(2 * n)..];
            GruCell.ResetLinear(rz.AsSpan(0, n), nGate, x.AsSpan(2 * n, n));
            AssertClose(Floats(k, "n_pre"), nGate, $"{name} candidate: x_n + r·(h R_n + b_Rn)");
        }
        else
        {
            var rh = new float[n];
            GruCell.ResetHidden(rz.AsSpan(0, n), h, rh);
            AssertClose(Floats(k, "rh"), rh, $"{name} candidate: r·h");
            nGate = Floats(k, "n_pre"); // + (r·h) R_n^T is the layer's product, not a stage
        }
        cell.ComputeCandidate(nGate);
        AssertClose(Floats(k, "candidate"), nGate, $"{name} candidate: n");

        GruCell.UpdateHidden(rz.AsSpan(n, n), nGate, h);
        AssertClose(Floats(k, "h_new"), h, $"{name} hidden update: h'");
    }
}
