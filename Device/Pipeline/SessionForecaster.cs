using Edge.Runtime;
using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Device.Pipeline;

/// <summary>
/// <see cref="IForecaster"/> over the Runtime's batch <see cref="Session"/>: a window model is run
/// from zero state on the last n normalized samples for every forecast. The input may be
/// (batch, time, features), (batch, time * features) or (time, features); a dynamic batch becomes 1
/// and a dynamic time axis becomes the window. The output must hold steps x output features floats.
/// </summary>
public sealed class SessionForecaster : IForecaster
{
    private readonly Session _session;
    private readonly string _input;
    private readonly string _output;
    private readonly int[] _shape;
    private readonly float[] _buffer;
    private readonly Dictionary<string, Tensor> _feeds = new(StringComparer.Ordinal);

    public SessionForecaster(EdgeModel model, int window, int inputFeatures, int outputFeatures, string? inputName = null, string? outputName = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (window < 1 || inputFeatures < 1 || outputFeatures < 1) throw new ArgumentOutOfRangeException(nameof(window), "window and feature counts must be positive");
        var graph = model.Graph;
        var input = Pick(graph.Inputs, inputName, "input");
        var output = Pick(graph.Outputs, outputName, "output");
        if (input.DataType != DataType.Float32) throw new EdgeException($"input '{input.Name}' is {input.DataType.Name()}; `edge run` feeds float32 windows");
        _input = input.Name;
        _output = output.Name;
        _shape = ResolveShape(input, window, inputFeatures);
        _buffer = new float[window * inputFeatures];
        Window = window;
        InputFeatures = inputFeatures;
        OutputFeatures = outputFeatures;
        _session = model.CreateSession();

        // A dry run on zeros proves the shapes before the first sample arrives, and tells the step count.
        var probe = Run();
        if (probe.DataType != DataType.Float32) throw new EdgeException($"output '{_output}' is {probe.DataType.Name()}; expected float32");
        if (probe.Length == 0 || probe.Length % outputFeatures != 0)
            throw new EdgeException($"output '{_output}' {probe.ShapeString} does not hold a whole number of steps of {outputFeatures} feature(s)");
        OutputSteps = probe.Length / outputFeatures;
    }

    public int Window { get; }

    public int InputFeatures { get; }

    public int OutputFeatures { get; }

    public int OutputSteps { get; }

    public string InputName => _input;

    public string OutputName => _output;

    public void Forecast(ReadOnlySpan<float> window, Span<float> next)
    {
        if (window.Length != _buffer.Length) throw new ArgumentException($"window must hold {_buffer.Length} values, got {window.Length}", nameof(window));
        if (next.Length != OutputSteps * OutputFeatures) throw new ArgumentException($"next must hold {OutputSteps * OutputFeatures} values, got {next.Length}", nameof(next));
        window.CopyTo(_buffer);
        var y = Run();
        y.Contiguous().ReadOnlySpan<float>().CopyTo(next);
    }

    private Tensor Run()
    {
        // The session may keep references to its inputs only for the duration of Run; the buffer is reused.
        _feeds[_input] = Tensor.FromArray(_buffer, _shape);
        return _session.Run(_feeds)[_output];
    }

    private static ValueInfo Pick(IReadOnlyList<ValueInfo> values, string? name, string what)
    {
        if (name is not null)
            return values.FirstOrDefault(v => v.Name == name)
                ?? throw new EdgeException($"the model has no {what} '{name}'; its {what}s are: {string.Join(", ", values.Select(v => v.Name))}");
        if (values.Count != 1)
            throw new EdgeException($"the model has {values.Count} {what}s ({string.Join(", ", values.Select(v => v.Name))}); name one with \"{what}\" in the config");
        return values[0];
    }

    internal static int[] ResolveShape(ValueInfo input, int window, int features)
    {
        var s = (int[])input.Shape.Clone();
        switch (s.Length)
        {
            case 3: // (batch, time, features)
                Fill(s, 0, 1); Fill(s, 1, window); Fill(s, 2, features);
                break;
            case 2 when s[0] < 0 || s[0] == 1 && s[1] != features: // (batch, time * features)
                Fill(s, 0, 1); Fill(s, 1, window * features);
                break;
            case 2: // (time, features)
                Fill(s, 0, window); Fill(s, 1, features);
                break;
            default:
                throw new EdgeException($"input '{input.Name}' {input.ShapeString}: `edge run` feeds (batch, time, features), (batch, time * features) or (time, features)");
        }
        if (Tensor.ElementCount(s) != window * features)
            throw new EdgeException($"input '{input.Name}' {input.ShapeString} does not take a window of {window} x {features} features");
        return s;
    }

    private static void Fill(int[] s, int axis, int value)
    {
        if (s[axis] < 0) s[axis] = value;
    }
}
