using System.Globalization;
using System.Text;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Tests;

/// <summary>
/// How close a value must be to its golden value. <c>Sum</c> (the default, numpy's <c>allclose</c>):
/// |actual - expected| &lt;= Atol + Rtol·|expected|. <c>Larger</c>: |actual - expected| &lt;= max(Atol, Rtol·|expected|),
/// i.e. <see cref="Scaled"/>(t) is t absolute below 1 and t relative above it.
/// </summary>
internal readonly record struct Tolerance(double Atol, double Rtol, bool Larger = false)
{
    /// <summary>Bit-for-bit equal (NaN still matches NaN).</summary>
    public static Tolerance Exact => new(0, 0);

    /// <summary>|actual - expected| &lt;= t·max(1, |expected|).</summary>
    public static Tolerance Scaled(double t) => new(t, t, Larger: true);

    public double For(double expected) =>
        Larger ? Math.Max(Atol, Rtol * Math.Abs(expected)) : Atol + Rtol * Math.Abs(expected);

    public override string ToString() => Larger
        ? string.Create(CultureInfo.InvariantCulture, $"max({Atol:g}, {Rtol:g}*|expected|)")
        : string.Create(CultureInfo.InvariantCulture, $"{Atol:g} + {Rtol:g}*|expected|");
}

/// <summary>
/// The tests' one elementwise comparison. Equal values (including equal infinities) and NaN against NaN
/// match, as in numpy's <c>assert_allclose</c>; NaN against a number never does. A mismatch fails with one
/// message: how many elements are off, the largest |diff|, and the first and the worst element by index.
/// </summary>
internal static class Assertions
{
    /// <summary>Shape, element type and every value of <paramref name="actual"/> against <paramref name="expected"/>.</summary>
    public static void AssertClose(Tensor expected, Tensor actual, Tolerance tolerance, string what)
    {
        if (Compare(expected, actual, tolerance, what) is { } problem) Assert.Fail(problem);
    }

    /// <summary>Like <see cref="AssertClose(Tensor, Tensor, Tolerance, string)"/>, but returns the failure message (null when close).</summary>
    public static string? Compare(Tensor expected, Tensor actual, Tolerance tolerance, string what)
    {
        if (!expected.Shape.SequenceEqual(actual.Shape))
            return $"{what}: shape {actual.ShapeString}, expected {expected.ShapeString}";
        if (expected.DataType != actual.DataType)
            return $"{what}: element type {actual.DataType.Name()}, expected {expected.DataType.Name()}";
        int[] shape = expected.ShapeArray();
        return Mismatch(expected.ToDoubleArray(), actual.ToDoubleArray(), tolerance, $"{what}: {expected.ShapeString}", i => Index(shape, i));
    }

    /// <summary>A flat golden array against a tensor of the same element count (its shape only names the index).</summary>
    public static void AssertClose(ReadOnlySpan<float> expected, Tensor actual, Tolerance tolerance, string what)
    {
        Assert.AreEqual(expected.Length, actual.Length, $"{what}: element count of {actual.ShapeString}");
        int[] shape = actual.ShapeArray();
        if (Mismatch(ToDouble(expected), actual.ToDoubleArray(), tolerance, $"{what}: {actual.ShapeString}", i => Index(shape, i)) is { } problem)
            Assert.Fail(problem);
    }

    /// <summary>Two flat spans of the same length.</summary>
    public static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, Tolerance tolerance, string what)
    {
        Assert.AreEqual(expected.Length, actual.Length, $"{what}: length");
        if (Mismatch(ToDouble(expected), ToDouble(actual), tolerance, what, i => $"[{i}]") is { } problem)
            Assert.Fail(problem);
    }

    private static string? Mismatch(double[] e, double[] a, Tolerance tolerance, string what, Func<int, string> index)
    {
        int bad = 0, first = -1, worst = -1;
        double worstExcess = double.NegativeInfinity, maxAbs = 0;
        for (int i = 0; i < e.Length; i++)
        {
            if (e[i] == a[i] || (double.IsNaN(e[i]) && double.IsNaN(a[i]))) continue;
            double diff = Math.Abs(a[i] - e[i]);
            double allowed = tolerance.For(e[i]);
            // An infinity matches only itself (above): its tolerance would be infinite too.
            if (diff <= allowed && !double.IsInfinity(e[i]) && !double.IsInfinity(a[i])) { maxAbs = Math.Max(maxAbs, diff); continue; }
            bad++;
            if (first < 0) first = i;
            double excess = double.IsNaN(diff) || double.IsInfinity(diff) ? double.PositiveInfinity : diff - allowed;
            if (worst < 0 || excess > worstExcess) { worstExcess = excess; worst = i; }
            if (!(diff <= maxAbs)) maxAbs = double.IsNaN(diff) ? double.PositiveInfinity : diff;
        }
        if (bad == 0) return null;
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{what}: {bad} of {e.Length} elements differ by more than {tolerance} (max |diff| {maxAbs:g6})");
        sb.Append(CultureInfo.InvariantCulture, $"; first at {index(first)}: {a[first]:R} vs expected {e[first]:R}");
        if (worst != first)
            sb.Append(CultureInfo.InvariantCulture, $"; worst at {index(worst)}: {a[worst]:R} vs expected {e[worst]:R}");
        return sb.ToString();
    }

    /// <summary>The multi-index of flat position <paramref name="flat"/> of a C-order tensor of <paramref name="shape"/>.</summary>
    public static string Index(int[] shape, int flat)
    {
        var idx = new int[shape.Length];
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            idx[d] = flat % shape[d];
            flat /= shape[d];
        }
        return "[" + string.Join(", ", idx) + "]";
    }

    private static double[] ToDouble(ReadOnlySpan<float> values)
    {
        var d = new double[values.Length];
        for (int i = 0; i < d.Length; i++) d[i] = values[i];
        return d;
    }
}
