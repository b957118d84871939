using Edge.Runtime;
using Edge.Runtime.Tensors;

namespace Edge.Quantizer.Calibration;

/// <summary>
/// Cuts a recording into model inputs, and walks a set of samples in batches. Both are pure
/// functions of their arguments: batch size changes how many samples go through the model at once,
/// never which samples or in what order (a last partial batch included).
/// </summary>
public static class Windowing
{
    /// <summary>
    /// Window i is rows [i, i + window) of the (rows, features) recording; its target is the next
    /// <paramref name="horizon"/> rows [i + window, i + window + horizon). Windows overlap (stride 1),
    /// so a recording of T rows gives T - window - horizon + 1 of them.
    /// Returns windows (N, window, features) and targets (N, horizon, features).
    /// </summary>
    public static (Tensor Windows, Tensor Targets) Cut(ReadOnlySpan<float> recording, int rows, int features, int window, int horizon)
    {
        if (features <= 0 || recording.Length != rows * features) throw new ArgumentException($"recording of {recording.Length} values is not {rows} x {features}", nameof(recording));
        if (window <= 0) throw new EdgeException($"window length {window}: must be at least 1");
        if (horizon <= 0) throw new EdgeException($"horizon {horizon}: must be at least 1");
        int n = rows - window - horizon + 1;
        if (n <= 0)
            throw new EdgeException($"the recording has {rows} samples; a window of {window} and a horizon of {horizon} need at least {window + horizon}");
        var windows = new float[(long)n * window * features > int.MaxValue ? throw new EdgeException($"{n} windows of {window} x {features} do not fit in memory at once") : n * window * features];
        var targets = new float[n * horizon * features];
        int w = window * features, h = horizon * features;
        for (int i = 0; i < n; i++)
        {
            recording.Slice(i * features, w).CopyTo(windows.AsSpan(i * w, w));
            recording.Slice((i + window) * features, h).CopyTo(targets.AsSpan(i * h, h));
        }
        return (Tensor.FromArray(windows, n, window, features), Tensor.FromArray(targets, n, horizon, features));
    }

    /// <summary>(start, count) of each batch over <paramref name="total"/> samples; the last one may be short.</summary>
    public static IEnumerable<(int Start, int Count)> Batches(int total, int batchSize)
    {
        if (batchSize <= 0) throw new EdgeException($"batch size {batchSize}: must be at least 1");
        for (int start = 0; start < total; start += batchSize)
            yield return (start, Math.Min(batchSize, total - start));
    }

    /// <summary>
    /// Rows [start, start + count) along axis 0, as a new contiguous tensor of <paramref name="padTo"/> rows (at least
    /// count): rows past count repeat the last one, for a graph whose batch axis is fixed.
    /// </summary>
    public static Tensor Rows(Tensor t, int start, int count, int padTo = 0)
    {
        ArgumentNullException.ThrowIfNull(t);
        if (t.Rank == 0) throw new EdgeException($"a scalar has no rows to batch");
        int n = t.Dim(0);
        if (start < 0 || count < 0 || start + count > n) throw new ArgumentOutOfRangeException(nameof(start), $"rows [{start}, {start + count}) of {n}");
        int rows = Math.Max(count, padTo);
        if (start == 0 && count == n && rows == count) return t;
        var shape = t.ShapeArray();
        shape[0] = rows;
        var result = Tensor.Zeros(t.DataType, shape);
        int rowBytes = n == 0 ? 0 : t.Contiguous().Bytes().Length / n;
        var src = t.Contiguous().Bytes();
        var dst = result.WritableBytes();
        src.Slice(start * rowBytes, count * rowBytes).CopyTo(dst);
        for (int r = count; r < rows && count > 0; r++)
            src.Slice((start + count - 1) * rowBytes, rowBytes).CopyTo(dst[(r * rowBytes)..]);
        return result;
    }

    /// <summary>Concatenates tensors of equal trailing shape along axis 0.</summary>
    public static Tensor ConcatRows(IReadOnlyList<Tensor> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Count == 0) throw new ArgumentException("nothing to concatenate", nameof(parts));
        if (parts.Count == 1) return parts[0];
        var shape = parts[0].ShapeArray();
        shape[0] = parts.Sum(p => p.Dim(0));
        var result = Tensor.Zeros(parts[0].DataType, shape);
        var dst = result.WritableBytes();
        int offset = 0;
        foreach (var p in parts)
        {
            if (p.DataType != parts[0].DataType || !p.Shape[1..].SequenceEqual(parts[0].Shape[1..]))
                throw new EdgeException($"batch outputs {parts[0].DataType.Name()}{parts[0].ShapeString} and {p.DataType.Name()}{p.ShapeString} do not stack along the batch axis");
            var src = p.Contiguous().Bytes();
            src.CopyTo(dst[offset..]);
            offset += src.Length;
        }
        return result;
    }
}
