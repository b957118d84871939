using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Tests.Layers;

/// <summary>Runs a single IR node through <see cref="OperatorFactory"/> and compares results, for the layer tests.</summary>
internal static class OpsHarness
{
    public static string LayerFixtures => Path.Combine(TestPaths.Fixtures, "layers");

    /// <summary>
    /// Prepares and runs one node of <paramref name="kind"/> on <paramref name="inputs"/> (null = absent).
    /// Inputs at index >= <paramref name="firstConstant"/> are given to the operator as graph constants
    /// (as an importer would for weights); pass int.MaxValue to feed everything at run time.
    /// </summary>
    public static Tensor[] RunAll(OpKind kind, Action<Node>? configure, Tensor?[] inputs, int outputs = 1, int firstConstant = int.MaxValue)
    {
        var names = new string[inputs.Length];
        var constants = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        for (int i = 0; i < inputs.Length; i++)
        {
            names[i] = inputs[i] is null ? "" : $"in_{i}";
            if (inputs[i] is { } t && i >= firstConstant) constants[names[i]] = t;
        }
        var outNames = Enumerable.Range(0, outputs).Select(o => $"out_{o}").ToArray();
        var node = new Node(kind, $"test_{kind}", names, outNames);
        configure?.Invoke(node);
        var op = OperatorFactory.Create(node, new OperatorContext(constants));
        var results = new Tensor?[outputs];
        op.Run(inputs, results);
        return results.Select((r, i) => r ?? throw new AssertFailedException($"{kind} produced no output {i}")).ToArray();
    }

    public static Tensor Run(OpKind kind, Action<Node>? configure, params Tensor?[] inputs) => RunAll(kind, configure, inputs)[0];

    public static Tensor Fixture(string testCase, string file) => Npy.Read(Path.Combine(LayerFixtures, testCase, file + ".npy"));

    /// <summary>The case's inputs in_0, in_1, ... (as many as exist).</summary>
    public static Tensor?[] FixtureInputs(string testCase)
    {
        var list = new List<Tensor?>();
        for (int i = 0; File.Exists(Path.Combine(LayerFixtures, testCase, $"in_{i}.npy")); i++) list.Add(Fixture(testCase, $"in_{i}"));
        if (list.Count == 0) throw new AssertFailedException($"fixture {testCase} has no inputs; run /usr/bin/python3 tools/make_layer_fixtures.py");
        return list.ToArray();
    }

    /// <summary>The layer tests' tolerance: |a - e| &lt;= 1e-5 + 1e-4·|e|.</summary>
    public static readonly Tolerance Close = new(1e-5, 1e-4);

    public static void AssertValues<T>(T[] expected, int[] shape, Tensor actual) where T : unmanaged
    {
        CollectionAssert.AreEqual(shape, actual.ShapeArray(), $"shape {actual.ShapeString}");
        Assert.AreEqual(DataTypes.Of<T>(), actual.DataType);
        CollectionAssert.AreEqual(expected, actual.Contiguous().ReadOnlySpan<T>().ToArray());
    }

    public static Tensor F(float[] data, params int[] shape) => Tensor.FromArray(data, shape);

    public static Tensor L(long[] data, params int[] shape) => Tensor.FromArray(data, shape);

    public static Tensor L(params long[] data) => Tensor.FromArray(data, data.Length);

    /// <summary>0, 1, 2, ... as float32 in <paramref name="shape"/>.</summary>
    public static Tensor Iota(params int[] shape)
    {
        var t = Tensor.Zeros<float>(shape);
        var s = t.Span<float>();
        for (int i = 0; i < s.Length; i++) s[i] = i;
        return t;
    }
}
