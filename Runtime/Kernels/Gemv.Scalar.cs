using System.Runtime.InteropServices;

namespace Edge.Runtime.Kernels;

// qs8-gemv 8x4c4 scalar and f32-gemv scalar: the specification. Plain loops over the packed layout; every
// other path's int32 accumulators must equal these bit for bit.
public sealed partial class Gemv
{
    private static void Int8Scalar(PackedInt8Matrix w, ReadOnlySpan<byte> xp, int nb, int blockStart, int blockEnd, Span<int> y, int yStride)
    {
        var data = w.Data;
        int kp = w.PaddedCols;
        int groups = kp / PackedInt8Matrix.KGroup;
        const int tile = PackedInt8Matrix.TileRows;
        int rowStart = blockStart * tile;
        int rowEnd = Math.Min(w.Rows, blockEnd * tile);
        for (int b = 0; b < nb; b++)
        {
            var x = MemoryMarshal.Cast<byte, sbyte>(xp.Slice(b * kp, kp));
            for (int r = rowStart; r < rowEnd; r++)
            {
                int acc = 0;
                for (int g = 0; g < groups; g++)
                {
                    int at = ((r / tile) * groups + g) * (tile * PackedInt8Matrix.KGroup) + (r % tile) * PackedInt8Matrix.KGroup;
                    for (int j = 0; j < PackedInt8Matrix.KGroup; j++)
                        acc += data[at + j] * x[g * PackedInt8Matrix.KGroup + j];
                }
                y[b * yStride + r - rowStart] = acc;
            }
        }
    }

    private static void Fp32Scalar(ReadOnlySpan<float> w, int rows, int cols, int wStride, ReadOnlySpan<float> x, ReadOnlySpan<float> bias, Span<float> y, bool accumulate)
    {
        for (int r = 0; r < rows; r++)
        {
            var row = w.Slice(r * wStride, cols);
            float s = 0;
            for (int k = 0; k < cols; k++) s += row[k] * x[k];
            if (!bias.IsEmpty) s += bias[r];
            y[r] = accumulate ? y[r] + s : s;
        }
    }
}
