using System.Globalization;

namespace Edge.Runtime.Tensors;

/// <summary>
/// A cap on the bytes of zero-filled tensors (<see cref="Tensor.Zeros(DataType, int[])"/> and the
/// node buffers built on it) the current thread may allocate while a <see cref="Limit"/> scope is open.
/// The importer opens one around constant folding so that a few bytes of graph (a ConstantOfShape of
/// (2, 20000, 20000), an Expand, a Tile) cannot make it allocate gigabytes; the bound is stated by the
/// caller relative to the model's own weight bytes. Outside a scope nothing is counted.
/// </summary>
internal static class AllocationBudget
{
    [ThreadStatic] private static Scope? t_current;

    /// <summary>Opens a scope allowing <paramref name="bytes"/> bytes in total; <paramref name="what"/> says in a refusal what the budget is.</summary>
    public static Scope Limit(long bytes, string what) => t_current = new Scope(bytes, what, t_current);

    /// <summary>Charges an allocation of <paramref name="count"/> elements of <paramref name="elementSize"/> bytes to the open scope, if any.</summary>
    internal static void Charge(long count, int elementSize, ReadOnlySpan<int> shape)
    {
        var scope = t_current;
        if (scope is null) return;
        long bytes = count * elementSize;
        if (bytes > scope.Remaining)
            throw new EdgeFormatException(string.Create(CultureInfo.InvariantCulture,
                $"a tensor of shape {Tensor.FormatShape(shape)} ({bytes} bytes) would pass {scope.What} ({scope.Limit} bytes, {scope.Limit - scope.Remaining} used)"));
        scope.Remaining -= bytes;
    }

    public sealed class Scope : IDisposable
    {
        private readonly Scope? _outer;

        internal Scope(long limit, string what, Scope? outer)
        {
            Limit = limit;
            Remaining = limit;
            What = what;
            _outer = outer;
        }

        public long Limit { get; }
        public string What { get; }
        internal long Remaining { get; set; }

        public void Dispose()
        {
            if (ReferenceEquals(t_current, this)) t_current = _outer;
        }
    }
}
