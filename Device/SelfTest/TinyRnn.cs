using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Kernels;
using Edge.Runtime.Quantization;
using Edge.Runtime.Tensors;

namespace Edge.Device.SelfTest;

/// <summary>
/// A vanilla RNN layer (input 6, hidden 19, 10 steps, batch 2) run as the runtime runs it: one int8 Rnn node in a
/// session on a chosen kernel path, tanh (h quantized with the static scale 1/127) or relu (h's own range), weights
/// from a fixed integer generator; and the same network in fp64 with plain loops on the unquantized weights.
/// </summary>
internal sealed class TinyRnn
{
    private const int Input = 6, Hidden = 19, Steps = 10, Batch = 2;

    private readonly float[] _w = new float[Hidden * Input], _r = new float[Hidden * Hidden], _b = new float[2 * Hidden];
    private readonly float[] _x = new float[Batch * Steps * Input];

    public TinyRnn()
    {
        uint state = 54321;
        float Next(float scale)
        {
            state = state * 1664525 + 1013904223; // Numerical Recipes LCG: the same numbers on every platform
            return ((state >> 8) / (float)(1 << 24) * 2 - 1) * scale;
        }
        for (int i = 0; i < _w.Length; i++) _w[i] = Next(0.5f);
        for (int i = 0; i < _r.Length; i++) _r[i] = Next(0.3f);
        for (int i = 0; i < _b.Length; i++) _b[i] = Next(0.2f) + 0.05f;
        for (int i = 0; i < _x.Length; i++) _x[i] = MathF.Sin(0.37f * i) * (1 + i % 3) * 0.5f;
    }

    /// <summary>Y (batch, steps, 1, hidden) of the int8 layer on <paramref name="isa"/>.</summary>
    public float[] Run(Isa isa, bool relu)
    {
        var g = new Graph { Name = "tiny_rnn" };
        g.Inputs.Add(new ValueInfo("x", DataType.Float32, [Batch, Steps, Input]));
        g.QuantizedConstants["W"] = WeightQuantizer.QuantizePerRow(Tensor.FromArray(_w, 1, Hidden, Input), 1);
        g.QuantizedConstants["R"] = WeightQuantizer.QuantizePerRow(Tensor.FromArray(_r, 1, Hidden, Hidden), 1);
        g.Constants["B"] = Tensor.FromArray(_b, 1, 2 * Hidden);
        g.Nodes.Add(new Node(OpKind.Rnn, "rnn", ["x", "W", "R", "B"], ["y", ""])
            .Set("hidden_size", (long)Hidden).Set("layout", 1L).Set("activations", new[] { relu ? "Relu" : "Tanh" }));
        g.Outputs.Add(new ValueInfo("y", DataType.Float32, [Batch, Steps, 1, Hidden]));
        var y = new Session(g, new SessionOptions { Isa = isa }).Run(new Dictionary<string, Tensor> { ["x"] = Tensor.FromArray(_x, Batch, Steps, Input) })["y"];
        return y.Contiguous().ReadOnlySpan<float>().ToArray();
    }

    /// <summary>The same layer in fp64 with plain loops.</summary>
    public double[] Reference(bool relu)
    {
        var y = new double[Batch * Steps * Hidden];
        for (int b = 0; b < Batch; b++)
        {
            var h = new double[Hidden];
            for (int t = 0; t < Steps; t++)
            {
                var next = new double[Hidden];
                for (int j = 0; j < Hidden; j++)
                {
                    double s = (double)_b[j] + _b[Hidden + j];
                    for (int i = 0; i < Input; i++) s += (double)_w[j * Input + i] * _x[(b * Steps + t) * Input + i];
                    for (int i = 0; i < Hidden; i++) s += (double)_r[j * Hidden + i] * h[i];
                    next[j] = relu ? Math.Max(s, 0) : Math.Tanh(s);
                }
                h = next;
                h.CopyTo(y, (b * Steps + t) * Hidden);
            }
        }
        return y;
    }
}
