namespace Edge.Runtime.Kernels;

public sealed partial class Gemv
{
    /// <summary>
    /// One int8 LSTM step of the default cell: acc = R hq in int32 (<see cref="MultiplyInt8"/>), then for every unit
    /// j pre_q = proj[q · H + j] + (float)acc[q · H + j] · rowScale[q · H + j] · hScale and the cell update of
    /// <see cref="RecurrentCell.LstmInt8"/> (c and h updated in place). <paramref name="acc"/> is scratch of 4H
    /// int32. Allocates nothing.
    /// <para>Tried and measured slower: the cell fused into the product kernel (R's gate rows interleaved so that
    /// a group of four row blocks holds the i, f, g, o rows of eight units, updated from the accumulator
    /// registers): 1.64 against 0.91 + 0.20 µs for H = 200 with AVX-512, the cell's long dependency chains
    /// (exp, division) filling the reorder buffer and stalling the weight stream. Two passes keep the product
    /// at the L2 bandwidth and the cell at its throughput bound. Also slower: each step's small-K input projection
    /// computed inside the recurrent product's weight stream (its float weights then compete with R for the L2 to
    /// L1 bandwidth: 1.58 against 1.29 µs per step in a 50-step sequence).</para>
    /// </summary>
    public void LstmStepInt8(PackedInt8Matrix r, ReadOnlySpan<sbyte> hq, float hScale, ReadOnlySpan<float> proj, Span<float> c, Span<float> h, Span<int> acc)
    {
        ArgumentNullException.ThrowIfNull(r);
        int hidden = h.Length;
        if (r.Rows != 4 * hidden || r.Cols != hidden || hq.Length < hidden || c.Length != hidden || proj.Length < 4 * hidden || acc.Length < 4 * hidden)
            throw new ArgumentException($"LSTM step: R is {r.Rows} x {r.Cols}, hq {hq.Length}, c {c.Length}, h {hidden}, proj {proj.Length}, acc {acc.Length}; expected hidden {hidden}");
        MultiplyInt8(r, hq, hidden, 1, acc, 4 * hidden);
        RecurrentCell.LstmInt8(Isa, proj, acc, r.RowScales, hScale, c, h);
    }
}
