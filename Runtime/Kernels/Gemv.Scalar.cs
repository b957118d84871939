using System.Runtime.InteropServices;

namespace Edge.Runtime.Kernels;

// qs8-gemv 8x4c4 (grouped) scalar and f32-gemv scalar: the specification. Plain loops over the packed layout; every
// other path's int32 accumulators must equal these bit for bit.
public sealed partial class Gemv
{
    private static void Int8Scalar(PackedInt8Matrix w, ReadOnlySpan<byte> xp, int nb, int blockStart, int blockEnd, Span<int> y, int yStride)
    {
        var data = w.Data;
        int kp = w.PaddedCols;
        const int tile = PackedInt8Matrix.TileRows;
        int rowStart = blockStart * tile;
        int rowEnd = Math.Min(w.Rows, blockEnd * tile);
        for (int b = 0; b < nb; b++)
        {
            var x = MemoryMarshal.Cast<byte, sbyte>(xp.Slice(b * kp, kp));
            for (int r = rowStart; r < rowEnd; r++)
            {
                var (start, octetStride) = PackedInt8Matrix.BlockAddress(r / tile, w.RowBlocks, kp);
                int acc = 0;
                for (int k = 0; k < kp; k++)
                {
                    // k-octet k / 8, k group (k / 4) % 2 within it, row r % 8, byte k % 4 (PackedInt8Matrix).
                    long at = start + (long)(k / 8) * octetStride + (k % 8 / PackedInt8Matrix.KGroup) * (tile * PackedInt8Matrix.KGroup)
                        + (r % tile) * PackedInt8Matrix.KGroup + k % PackedInt8Matrix.KGroup;
                    acc += data[(int)at] * x[k];
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
