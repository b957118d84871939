using Edge.Runtime;
using Edge.Runtime.Format;

namespace Edge.Quantizer.Import.Keras;

/// <summary>
/// Keras 1.x weight layouts, converted to Keras 2's as Keras 2's own loader does (preprocess_weights_for_loading):
/// <list type="bullet">
/// <item>LSTM with 12 arrays W_i, U_i, b_i, W_c, U_c, b_c, W_f, U_f, b_f, W_o, U_o, b_o (consume_less 'cpu'/'mem'):
///   kernel, recurrent_kernel and bias are the column blocks in Keras 2's i, f, c, o order.</item>
/// <item>GRU with 9 arrays W_z, U_z, b_z, W_r, U_r, b_r, W_h, U_h, b_h: blocks z, r, h (a Keras 1 GRU is reset_after=False).</item>
/// <item>Conv1D kernel (K, 1, C, F) (Keras 1 built Convolution1D on a 2-D convolution): the unit axis dropped;
///   Keras 1.1's (F, C, K, 1) transposed to (K, C, F).</item>
/// </list>
/// </summary>
internal sealed partial class KerasGraphBuilder
{
    private IReadOnlyList<KerasWeight> Legacy(KerasLayer layer, IReadOnlyList<KerasWeight> w)
    {
        if (layer.ClassName == "LSTM" && w.Count == 12)
            return [Blocks(layer, w, [0, 6, 3, 9], "kernel"), Blocks(layer, w, [1, 7, 4, 10], "recurrent_kernel"), Blocks(layer, w, [2, 8, 5, 11], "bias")];
        if (layer.ClassName == "GRU" && w.Count == 9)
            return [Blocks(layer, w, [0, 3, 6], "kernel"), Blocks(layer, w, [1, 4, 7], "recurrent_kernel"), Blocks(layer, w, [2, 5, 8], "bias")];
        if (layer.ClassName == "Conv1D" && w.Count >= 1 && w[0].Shape.Length == 4)
        {
            var k = w[0];
            int[] s = k.Shape;
            KerasWeight converted;
            if (s[1] == 1)
            {
                converted = k with { Shape = [s[0], s[2], s[3]] };
            }
            else if (s[3] == 1)
            {
                // (F, C, K, 1) -> (K, C, F)
                int f = s[0], c = s[1], kk = s[2];
                var t = new float[kk * c * f];
                for (int o = 0; o < f; o++)
                    for (int ch = 0; ch < c; ch++)
                        for (int j = 0; j < kk; j++)
                            t[(j * c + ch) * f + o] = k.Data[(o * c + ch) * kk + j];
                converted = k with { Shape = [kk, c, f], Data = t };
            }
            else
            {
                throw BadWeight(layer, k, "kernel", "(K, 1, C, F) (a Keras 1 Convolution1D kernel)");
            }
            return [converted, .. w.Skip(1)];
        }
        return w;
    }

    /// <summary>Concatenates 1-D or 2-D weights along their last axis, in the given order.</summary>
    private KerasWeight Blocks(KerasLayer layer, IReadOnlyList<KerasWeight> w, int[] order, string what)
    {
        var parts = order.Select(i => w[i]).ToList();
        int rank = parts[0].Shape.Length;
        if (rank is not (1 or 2) || parts.Any(p => p.Shape.Length != rank || p.Shape[..^1].AsSpan().SequenceCompareTo(parts[0].Shape[..^1]) != 0 || p.Shape[^1] != parts[0].Shape[^1]))
            throw new EdgeException(
                $"{File}: layer {layer} has {w.Count} Keras 1 weight arrays ({string.Join(", ", w.Select(x => $"{x.Path} {x.ShapeString}"))}) whose {what} blocks differ in shape");
        int rows = rank == 1 ? 1 : parts[0].Shape[0], cols = parts[0].Shape[^1], total = cols * parts.Count;
        var data = new float[rows * total];
        for (int p = 0; p < parts.Count; p++)
            for (int r = 0; r < rows; r++)
                Array.Copy(parts[p].Data, r * cols, data, r * total + p * cols, cols);
        int[] shape = rank == 1 ? [total] : [rows, total];
        return new KerasWeight(string.Join("+", parts.Select(p => p.Path)), shape, data);
    }
}
