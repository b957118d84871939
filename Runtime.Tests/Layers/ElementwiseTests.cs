using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;
using static Edge.Runtime.Tests.Layers.OpsHarness;

namespace Edge.Runtime.Tests.Layers;

/// <summary>Binary ops with numpy broadcasting on each element type, and the unary activations against their formulas.</summary>
[TestClass]
public sealed class ElementwiseTests
{
    [TestMethod]
    public void Add_BroadcastsRowAgainstColumn()
    {
        // np.array([[0], [10], [20]]) + np.array([1, 2]) -> [[1, 2], [11, 12], [21, 22]]
        var y = Run(OpKind.Add, null, F([0, 10, 20], 3, 1), F([1, 2], 2));
        AssertValues(new float[] { 1, 2, 11, 12, 21, 22 }, [3, 2], y);
    }

    [TestMethod]
    public void Sub_ScalarMinusTensor_AndMiddleAxisBroadcast()
    {
        AssertValues(new float[] { 9, 8, 7 }, [3], Run(OpKind.Sub, null, Tensor.Scalar(10f), F([1, 2, 3], 3)));
        // a (2, 3, 2) - b (3, 1): b broadcast over axes 0 and 2
        var a = Iota(2, 3, 2);
        var y = Run(OpKind.Sub, null, a, F([0, 100, 200], 3, 1));
        AssertValues(new float[] { 0, 1, -98, -97, -196, -195, 6, 7, -92, -91, -190, -189 }, [2, 3, 2], y);
    }

    [TestMethod]
    public void MaxMin_BroadcastEveryWay_AndPropagateNaN()
    {
        // np.maximum / np.minimum of [[0], [10], [20]] and [5, 15]: [[5, 15], [10, 15], [20, 20]] and [[0, 0], [5, 10], [5, 15]]
        AssertValues(new float[] { 5, 15, 10, 15, 20, 20 }, [3, 2], Run(OpKind.Max, null, F([0, 10, 20], 3, 1), F([5, 15], 2)));
        AssertValues(new float[] { 0, 0, 5, 10, 5, 15 }, [3, 2], Run(OpKind.Min, null, F([0, 10, 20], 3, 1), F([5, 15], 2)));
        AssertValues(new float[] { 2, 2, 3 }, [3], Run(OpKind.Max, null, Tensor.Scalar(2f), F([1, -4, 3], 3)));
        AssertValues(new float[] { 1, -4, 2 }, [3], Run(OpKind.Min, null, F([1, -4, 3], 3), Tensor.Scalar(2f)));
        AssertValues(new long[] { 3, -1 }, [2], Run(OpKind.Max, null, L(3, -7), L(-1, -1)));
        var nan = Run(OpKind.Max, null, F([float.NaN, 1], 2), F([0, float.NaN], 2)).ToDoubleArray();
        Assert.IsTrue(nan.All(double.IsNaN), "np.maximum propagates NaN from either side");
    }

    [TestMethod]
    public void Mul_Int64ShapeArithmetic()
    {
        AssertValues(new long[] { 6, 12 }, [2], Run(OpKind.Mul, null, L(2, 4), L(3)));
        AssertValues(new int[] { -6 }, [1], Run(OpKind.Mul, null, Tensor.FromArray(new[] { 2 }, 1), Tensor.FromArray(new[] { -3 }, 1)));
    }

    [TestMethod]
    public void Div_Integers_TruncateTowardZero()
    {
        // C / ONNX integer division: 7 / 2 = 3, -7 / 2 = -3, 7 / -2 = -3
        AssertValues(new long[] { 3, -3, -3, long.MinValue }, [4], Run(OpKind.Div, null, L(7, -7, 7, long.MinValue), L(2, 2, -2, -1)));
        AssertValues(new float[] { 3.5f, -0.5f }, [2], Run(OpKind.Div, null, F([7, -1], 2), F([2], 1)));
    }

    [TestMethod]
    public void Div_IntegerByZero_IsAnEdgeException()
    {
        var e = Assert.ThrowsExactly<EdgeException>(() => Run(OpKind.Div, null, L(1, 2), L(0)));
        StringAssert.Contains(e.Message, "division by zero");
    }

    [TestMethod]
    public void Binary_MismatchedShapesOrTypes_AreEdgeExceptions()
    {
        var e = Assert.ThrowsExactly<EdgeException>(() => Run(OpKind.Add, null, Iota(2, 3), Iota(2, 4)));
        StringAssert.Contains(e.Message, "(2, 3)");
        StringAssert.Contains(e.Message, "(2, 4)");
        StringAssert.Contains(e.Message, "test_Add");
        var t = Assert.ThrowsExactly<EdgeException>(() => Run(OpKind.Add, null, Iota(2), L(1, 2)));
        StringAssert.Contains(t.Message, "int64");
    }

    [TestMethod]
    public void Binary_LargeBroadcast_MatchesScalarLoop()
    {
        // Every broadcast pattern of a (4, 1, 5) against these b shapes gives (4, 3, 5) and agrees with an index loop.
        var a = Iota(4, 1, 5);
        foreach (var bShape in new[] { new[] { 3, 1 }, new[] { 3, 5 }, new[] { 4, 3, 5 }, new[] { 1, 3, 1 }, new[] { 4, 3, 1 } })
        {
            var b = Iota(bShape);
            var y = Run(OpKind.Mul, null, a, b);
            CollectionAssert.AreEqual(new[] { 4, 3, 5 }, y.ShapeArray());
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 3; j++)
                    for (int k = 0; k < 5; k++)
                    {
                        float bv = bShape.Length == 2
                            ? b.Get<float>(bShape[0] == 1 ? 0 : j, bShape[1] == 1 ? 0 : k)
                            : b.Get<float>(bShape[0] == 1 ? 0 : i, bShape[1] == 1 ? 0 : j, bShape[2] == 1 ? 0 : k);
                        Assert.AreEqual(a.Get<float>(i, 0, k) * bv, y.Get<float>(i, j, k), $"b {Tensor.FormatShape(bShape)} at ({i}, {j}, {k})");
                    }
        }
    }

    [TestMethod]
    [DataRow(OpKind.Relu)]
    [DataRow(OpKind.Sigmoid)]
    [DataRow(OpKind.Tanh)]
    [DataRow(OpKind.HardSigmoid)]
    [DataRow(OpKind.LeakyRelu)]
    [DataRow(OpKind.Elu)]
    [DataRow(OpKind.Softsign)]
    [DataRow(OpKind.Softplus)]
    [DataRow(OpKind.Exp)]
    [DataRow(OpKind.Neg)]
    [DataRow(OpKind.Abs)]
    [DataRow(OpKind.Sqrt)]
    public void Unary_MatchesFormula(object op) // OpKind is internal: a public test method cannot take it as its parameter type
    {
        var kind = (OpKind)op;
        float[] xs = [-30f, -3f, -1f, -0.25f, 0f, 0.25f, 1f, 3f, 30f];
        if (kind == OpKind.Sqrt) xs = [0f, 0.25f, 1f, 2f, 9f];
        var y = Run(kind, null, F(xs, xs.Length));
        for (int i = 0; i < xs.Length; i++)
        {
            double x = xs[i];
            double expected = kind switch
            {
                OpKind.Relu => Math.Max(x, 0),
                OpKind.Sigmoid => 1 / (1 + Math.Exp(-x)),
                OpKind.Tanh => Math.Tanh(x),
                OpKind.HardSigmoid => Math.Clamp(0.2 * x + 0.5, 0, 1),
                OpKind.LeakyRelu => x < 0 ? 0.01 * x : x,
                OpKind.Elu => x < 0 ? Math.Exp(x) - 1 : x,
                OpKind.Softsign => x / (1 + Math.Abs(x)),
                OpKind.Softplus => Math.Log(1 + Math.Exp(x)),
                OpKind.Exp => Math.Exp(x),
                OpKind.Neg => -x,
                OpKind.Abs => Math.Abs(x),
                OpKind.Sqrt => Math.Sqrt(x),
                _ => throw new AssertFailedException(kind.ToString()),
            };
            double got = y.Get<float>(i);
            Assert.IsTrue(Math.Abs(got - expected) <= 1e-6 + 1e-5 * Math.Abs(expected), $"{kind}({x}) = {got:R}, expected {expected:R}");
        }
    }

    [TestMethod]
    public void Unary_AttributesAreHonoured()
    {
        Assert.AreEqual(-0.5f, Run(OpKind.LeakyRelu, n => n.Set("alpha", 0.25f), F([-2], 1)).Get<float>(0));
        Assert.AreEqual(1f, Run(OpKind.HardSigmoid, n => n.Set("alpha", 0.5f).Set("beta", 0.6f), F([1], 1)).Get<float>(0));
        Assert.AreEqual(2f * (MathF.Exp(-1f) - 1f), Run(OpKind.Elu, n => n.Set("alpha", 2f), F([-1], 1)).Get<float>(0), 1e-6f);
    }

    [TestMethod]
    public void Unary_Int64Input_IsAnEdgeExceptionNamingType()
    {
        var e = Assert.ThrowsExactly<EdgeException>(() => Run(OpKind.Relu, null, L(1)));
        StringAssert.Contains(e.Message, "int64");
    }
}
