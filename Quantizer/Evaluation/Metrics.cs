using Edge.Runtime;

namespace Edge.Quantizer.Evaluation;

/// <summary>
/// The accuracy measures of the report, in double precision over float32 values. Plain loops on
/// purpose: these are the definitions the tests hold hand-computed values against.
/// </summary>
public static class Metrics
{
    /// <summary>sqrt(mean((a - b)^2)).</summary>
    public static double Rmse(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Same(a, b);
        if (a.Length == 0) return 0;
        double s = 0;
        for (int i = 0; i < a.Length; i++) { double d = (double)a[i] - b[i]; s += d * d; }
        return Math.Sqrt(s / a.Length);
    }

    /// <summary>max |a - b|.</summary>
    public static double MaxAbsError(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Same(a, b);
        double m = 0;
        for (int i = 0; i < a.Length; i++) m = Math.Max(m, Math.Abs((double)a[i] - b[i]));
        return m;
    }

    /// <summary>a.b / (|a| |b|); 1 when both are zero vectors, 0 when only one is.</summary>
    public static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Same(a, b);
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
        }
        if (na == 0 && nb == 0) return 1;
        if (na == 0 || nb == 0) return 0;
        return dot / Math.Sqrt(na * nb);
    }

    /// <summary>Pearson correlation; NaN when either side is constant (correlation is undefined).</summary>
    public static double Pearson(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        if (a.Length != b.Length) throw new ArgumentException($"lengths {a.Length} and {b.Length} differ", nameof(b));
        int n = a.Length;
        if (n < 2) return double.NaN;
        double ma = 0, mb = 0;
        for (int i = 0; i < n; i++) { ma += a[i]; mb += b[i]; }
        ma /= n;
        mb /= n;
        double sab = 0, saa = 0, sbb = 0;
        for (int i = 0; i < n; i++)
        {
            double da = a[i] - ma, db = b[i] - mb;
            sab += da * db;
            saa += da * da;
            sbb += db * db;
        }
        return saa == 0 || sbb == 0 ? double.NaN : sab / Math.Sqrt(saa * sbb);
    }

    /// <summary>Spearman rank correlation: Pearson of the ranks, tied values sharing their average rank.</summary>
    public static double Spearman(ReadOnlySpan<double> a, ReadOnlySpan<double> b) => Pearson(Ranks(a), Ranks(b));

    /// <summary>1-based ranks; a run of equal values gets the mean of the ranks it spans.</summary>
    public static double[] Ranks(ReadOnlySpan<double> values)
    {
        var v = values.ToArray();
        var order = Enumerable.Range(0, v.Length).ToArray();
        Array.Sort(order, (x, y) => v[x].CompareTo(v[y]) is int c && c != 0 ? c : x.CompareTo(y));
        var ranks = new double[v.Length];
        for (int i = 0; i < order.Length;)
        {
            int j = i;
            while (j + 1 < order.Length && v[order[j + 1]] == v[order[i]]) j++;
            double rank = (i + j) / 2.0 + 1;
            for (int k = i; k <= j; k++) ranks[order[k]] = rank;
            i = j + 1;
        }
        return ranks;
    }

    /// <summary>
    /// Mean cross-entropy of class logits laid out (positions, C) row-major against one class id per
    /// position: mean over positions of -log_softmax(logits)[target]. For a sequence model's logits
    /// (N, D, C) this is PyTorch's nn.CrossEntropyLoss()(logits.transpose(1, 2), targets) over the
    /// (N, C, D) layout: the class axis is C, every (n, d) is one position.
    /// </summary>
    public static double CrossEntropy(ReadOnlySpan<float> logits, int classes, ReadOnlySpan<long> targets)
    {
        if (classes <= 0 || logits.Length != targets.Length * classes)
            throw new EdgeException($"cross-entropy: {logits.Length} logits are not {targets.Length} positions x {classes} classes");
        if (targets.Length == 0) return 0;
        double total = 0;
        for (int p = 0; p < targets.Length; p++)
        {
            var row = logits.Slice(p * classes, classes);
            long t = targets[p];
            if (t < 0 || t >= classes) throw new EdgeException($"cross-entropy: target {t} at position {p} is not a class in [0, {classes})");
            double max = double.NegativeInfinity;
            for (int c = 0; c < classes; c++) max = Math.Max(max, row[c]);
            double sum = 0;
            for (int c = 0; c < classes; c++) sum += Math.Exp(row[c] - max);
            total += max + Math.Log(sum) - row[(int)t];
        }
        return total / targets.Length;
    }

    /// <summary>The arg max class of each position of (positions, C) logits (first on ties).</summary>
    public static long[] ArgMax(ReadOnlySpan<float> logits, int classes)
    {
        var result = new long[logits.Length / classes];
        for (int p = 0; p < result.Length; p++)
        {
            var row = logits.Slice(p * classes, classes);
            int best = 0;
            for (int c = 1; c < classes; c++) if (row[c] > row[best]) best = c;
            result[p] = best;
        }
        return result;
    }

    /// <summary>Fraction of positions where the two agree.</summary>
    public static double Agreement(ReadOnlySpan<long> a, ReadOnlySpan<long> b)
    {
        if (a.Length != b.Length) throw new ArgumentException($"lengths {a.Length} and {b.Length} differ", nameof(b));
        if (a.Length == 0) return 1;
        int same = 0;
        for (int i = 0; i < a.Length; i++) if (a[i] == b[i]) same++;
        return (double)same / a.Length;
    }

    private static void Same(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length) throw new ArgumentException($"lengths {a.Length} and {b.Length} differ", nameof(b));
    }
}
