using System.Runtime.InteropServices;

namespace Edge.Runtime.Kernels;

// qs8-gemv 8x4c4 (grouped) scalar and f32-gemv scalar: the specification. Plain loops over the packed layout; every
// other path's int32 accumulators must equal these bit for bit.
internal sealed partial class Gemv
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
                for (int o = 0; o < kp / 8; o++)
                {
                    // k-octet o: two k groups of 32 bytes, row r's 4 bytes at (r % 8) · 4 in each (PackedInt8Matrix).
                    int at = (int)(start + (long)o * octetStride) + (r % tile) * PackedInt8Matrix.KGroup;
                    for (int j = 0; j < 4; j++) acc += data[at + j] * x[8 * o + j];
                    for (int j = 0; j < 4; j++) acc += data[at + tile * PackedInt8Matrix.KGroup + j] * x[8 * o + 4 + j];
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
