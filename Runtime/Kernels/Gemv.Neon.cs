using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace Edge.Runtime.Kernels;

// qs8-gemv 8x4c4 (grouped) neon (smull/smlal + sadalp); the fp32 product is width-generic (Gemv.Fp32.cs).
internal sealed partial class Gemv
{
    private Gemv(Isa isa, Kernels kernels)
    {
        Isa = isa;
        _kernels = kernels;
    }

    /// <summary>
    /// The neon path with its int8 product's variant chosen by the caller, not by this CPU (<see cref="ArmCores"/>):
    /// `edge selftest` and the parity tests check both on every arm64 CPU.
    /// </summary>
    public static Gemv CreateNeon(bool inOrder)
    {
        if (!IsaSelector.IsSupported(Isa.Neon))
            throw new EdgeException($"this CPU does not support neon; it supports {IsaSelector.SupportedList}");
        return new Gemv(Isa.Neon, Kernels.For(Isa.Neon, inOrder));
    }

    /// <summary>The int8 product's variant on the neon path ("in-order", "out-of-order"), null on the others.</summary>
    public string? NeonVariant => _kernels.NeonInOrder is { } inOrder ? ArmCores.VariantName(inOrder) : null;

    /// <summary>
    /// smull multiplies two rows' 4 k (8 bytes of weights) by x[k..k+3] (broadcast by ld1r) into int16, smlal adds
    /// the next k group's products: each int16 lane is w·x + w'·x' ≤ 2·127·127 = 32258, so no wrap (weights and
    /// activations are in [-127, 127]). sadalp folds adjacent int16 pairs into the int32 accumulator (lanes: row a
    /// k01, row a k23, row b k01, row b k23); a final addp of two accumulators gives one int32 per row. Needs K
    /// padded to 8 (it is: whole k-octets). The weights go in as 64-bit halves (ldp d, d): every multiply is a
    /// plain smull/smlal of two D registers, with no copies of the upper halves. A whole group of four row blocks
    /// (32 rows) runs at once over the group's one sequential weight stream, 256 bytes per k-octet at immediate
    /// offsets from one pointer; the last group of fewer blocks runs block by block.
    /// </summary>
    private static unsafe void Int8Neon(PackedInt8Matrix w, ReadOnlySpan<byte> xp, int nb, int blockStart, int blockEnd, Span<int> y, int yStride)
    {
        // x is read through pointers (ld1r takes one): pinned, as it may be a pooled array.
        fixed (byte* pinned = xp)
            Int8NeonPinned(w, ref Unsafe.As<byte, sbyte>(ref *pinned), nb, blockStart, blockEnd, y, yStride, inOrder: false);
    }

    /// <summary>
    /// <see cref="Int8Neon"/> with <see cref="Int8NeonGroupInOrder"/> for the full groups: the kernel table's NEON
    /// product on in-order cores (Cortex-A53, A55: <see cref="ArmCores"/>). Same accumulators, bit for bit.
    /// </summary>
    private static unsafe void Int8NeonInOrder(PackedInt8Matrix w, ReadOnlySpan<byte> xp, int nb, int blockStart, int blockEnd, Span<int> y, int yStride)
    {
        fixed (byte* pinned = xp)
            Int8NeonPinned(w, ref Unsafe.As<byte, sbyte>(ref *pinned), nb, blockStart, blockEnd, y, yStride, inOrder: true);
    }

    private static void Int8NeonPinned(PackedInt8Matrix w, ref sbyte xs, int nb, int blockStart, int blockEnd, Span<int> y, int yStride, bool inOrder)
    {
        int kp = w.PaddedCols;
        const int tile = PackedInt8Matrix.TileRows;
        const int group = PackedInt8Matrix.GroupBlocks;
        ref int yRef = ref MemoryMarshal.GetReference(y);
        int blocks = w.RowBlocks;
        int blk = blockStart;
        while (blk < blockEnd)
        {
            bool full = blk % group == 0 && blk + group <= blockEnd && blk + group <= blocks;
            int n = full ? group : 1;
            var (start, octetStride) = PackedInt8Matrix.BlockAddress(blk, blocks, kp);
            ref sbyte wb = ref Unsafe.Add(ref w.DataStart, start);
            nint outRow = (blk - blockStart) * tile;
            int valid = Math.Min(n * tile, w.Rows - blk * tile);
            for (int b = 0; b < nb; b++)
            {
                ref sbyte x = ref Unsafe.Add(ref xs, b * kp);
                ref int yo = ref Unsafe.Add(ref yRef, b * yStride + outRow);
                if (full && inOrder) Int8NeonGroupInOrder(ref wb, ref x, kp, ref yo, valid);
                else if (full) Int8NeonGroup(ref wb, ref x, kp, ref yo, valid);
                else Int8NeonBlock(ref wb, ref x, kp, octetStride, ref yo, valid);
            }
            blk += n;
        }
    }

    /// <summary>One block's k-octet (64 bytes at <paramref name="w"/>) times x[k..k+7] into its four accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void NeonOctet(ref sbyte w, Vector64<sbyte> x0, Vector64<sbyte> x1,
        ref Vector128<int> a01, ref Vector128<int> a23, ref Vector128<int> a45, ref Vector128<int> a67)
    {
        var p01 = AdvSimd.MultiplyWideningLower(Vector64.LoadUnsafe(ref w, 0), x0);
        var p23 = AdvSimd.MultiplyWideningLower(Vector64.LoadUnsafe(ref w, 8), x0);
        var p45 = AdvSimd.MultiplyWideningLower(Vector64.LoadUnsafe(ref w, 16), x0);
        var p67 = AdvSimd.MultiplyWideningLower(Vector64.LoadUnsafe(ref w, 24), x0);
        p01 = AdvSimd.MultiplyWideningLowerAndAdd(p01, Vector64.LoadUnsafe(ref w, 32), x1);
        p23 = AdvSimd.MultiplyWideningLowerAndAdd(p23, Vector64.LoadUnsafe(ref w, 40), x1);
        p45 = AdvSimd.MultiplyWideningLowerAndAdd(p45, Vector64.LoadUnsafe(ref w, 48), x1);
        p67 = AdvSimd.MultiplyWideningLowerAndAdd(p67, Vector64.LoadUnsafe(ref w, 56), x1);
        a01 = AdvSimd.AddPairwiseWideningAndAdd(a01, p01);
        a23 = AdvSimd.AddPairwiseWideningAndAdd(a23, p23);
        a45 = AdvSimd.AddPairwiseWideningAndAdd(a45, p45);
        a67 = AdvSimd.AddPairwiseWideningAndAdd(a67, p67);
    }

    /// <summary>
    /// <see cref="NeonOctet"/> of two adjacent blocks (at <paramref name="w"/> and 64 bytes on) with their operations
    /// interleaved: eight smull, then eight smlal, then eight sadalp, so each result is used eight instructions after
    /// it is made. An in-order core (Cortex-A53, latency 6 per NEON multiply in LLVM's model) then never waits on a
    /// chain; the source order is kept by the compiler.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void NeonOctet2(ref sbyte w, Vector64<sbyte> x0, Vector64<sbyte> x1,
        ref Vector128<int> a01, ref Vector128<int> a23, ref Vector128<int> a45, ref Vector128<int> a67,
        ref Vector128<int> b01, ref Vector128<int> b23, ref Vector128<int> b45, ref Vector128<int> b67)
    {
        var p01 = AdvSimd.MultiplyWideningLower(Vector64.LoadUnsafe(ref w, 0), x0);
        var p23 = AdvSimd.MultiplyWideningLower(Vector64.LoadUnsafe(ref w, 8), x0);
        var p45 = AdvSimd.MultiplyWideningLower(Vector64.LoadUnsafe(ref w, 16), x0);
        var p67 = AdvSimd.MultiplyWideningLower(Vector64.LoadUnsafe(ref w, 24), x0);
        var q01 = AdvSimd.MultiplyWideningLower(Vector64.LoadUnsafe(ref w, 64), x0);
        var q23 = AdvSimd.MultiplyWideningLower(Vector64.LoadUnsafe(ref w, 72), x0);
        var q45 = AdvSimd.MultiplyWideningLower(Vector64.LoadUnsafe(ref w, 80), x0);
        var q67 = AdvSimd.MultiplyWideningLower(Vector64.LoadUnsafe(ref w, 88), x0);
        p01 = AdvSimd.MultiplyWideningLowerAndAdd(p01, Vector64.LoadUnsafe(ref w, 32), x1);
        p23 = AdvSimd.MultiplyWideningLowerAndAdd(p23, Vector64.LoadUnsafe(ref w, 40), x1);
        p45 = AdvSimd.MultiplyWideningLowerAndAdd(p45, Vector64.LoadUnsafe(ref w, 48), x1);
        p67 = AdvSimd.MultiplyWideningLowerAndAdd(p67, Vector64.LoadUnsafe(ref w, 56), x1);
        q01 = AdvSimd.MultiplyWideningLowerAndAdd(q01, Vector64.LoadUnsafe(ref w, 96), x1);
        q23 = AdvSimd.MultiplyWideningLowerAndAdd(q23, Vector64.LoadUnsafe(ref w, 104), x1);
        q45 = AdvSimd.MultiplyWideningLowerAndAdd(q45, Vector64.LoadUnsafe(ref w, 112), x1);
        q67 = AdvSimd.MultiplyWideningLowerAndAdd(q67, Vector64.LoadUnsafe(ref w, 120), x1);
        a01 = AdvSimd.AddPairwiseWideningAndAdd(a01, p01);
        a23 = AdvSimd.AddPairwiseWideningAndAdd(a23, p23);
        a45 = AdvSimd.AddPairwiseWideningAndAdd(a45, p45);
        a67 = AdvSimd.AddPairwiseWideningAndAdd(a67, p67);
        b01 = AdvSimd.AddPairwiseWideningAndAdd(b01, q01);
        b23 = AdvSimd.AddPairwiseWideningAndAdd(b23, q23);
        b45 = AdvSimd.AddPairwiseWideningAndAdd(b45, q45);
        b67 = AdvSimd.AddPairwiseWideningAndAdd(b67, q67);
    }

    /// <summary>x[k..k+3] as four bytes in both 32-bit lanes (ld1r); x is pinned (<see cref="Int8Neon"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector64<sbyte> BroadcastQuad(ref sbyte x) =>
        AdvSimd.LoadAndReplicateToVector64((int*)Unsafe.AsPointer(ref x)).AsSByte();

    /// <summary>The 32 rows of a full group (four blocks, octets interleaved): sixteen accumulators, one k-octet per iteration.</summary>
    [SkipLocalsInit]
    private static void Int8NeonGroup(ref sbyte wg, ref sbyte x, int kp, ref int y, int valid)
    {
        Vector128<int> a01 = default, a23 = default, a45 = default, a67 = default;
        Vector128<int> b01 = default, b23 = default, b45 = default, b67 = default;
        Vector128<int> c01 = default, c23 = default, c45 = default, c67 = default;
        Vector128<int> d01 = default, d23 = default, d45 = default, d67 = default;
        ref sbyte wp = ref wg;
        ref sbyte xk = ref x;
        ref sbyte xEnd = ref Unsafe.Add(ref x, kp);
        while (Unsafe.IsAddressLessThan(ref xk, ref xEnd))
        {
            var x0 = BroadcastQuad(ref xk);
            var x1 = BroadcastQuad(ref Unsafe.Add(ref xk, 4));
            NeonOctet2(ref wp, x0, x1, ref a01, ref a23, ref a45, ref a67, ref b01, ref b23, ref b45, ref b67);
            NeonOctet2(ref Unsafe.Add(ref wp, 128), x0, x1, ref c01, ref c23, ref c45, ref c67, ref d01, ref d23, ref d45, ref d67);
            wp = ref Unsafe.Add(ref wp, 256);
            xk = ref Unsafe.Add(ref xk, 8);
        }
        StoreGroup(AdvSimd.Arm64.AddPairwise(a01, a23), AdvSimd.Arm64.AddPairwise(a45, a67),
            AdvSimd.Arm64.AddPairwise(b01, b23), AdvSimd.Arm64.AddPairwise(b45, b67),
            AdvSimd.Arm64.AddPairwise(c01, c23), AdvSimd.Arm64.AddPairwise(c45, c67),
            AdvSimd.Arm64.AddPairwise(d01, d23), AdvSimd.Arm64.AddPairwise(d45, d67), ref y, valid);
    }

    /// <summary>
    /// <see cref="Int8NeonGroup"/> for in-order cores. An in-order core stalls on the first instruction whose input
    /// is not ready, and LLVM's Cortex-A53 model also charges a switch between a load and a NEON multiply: so each
    /// half group (two blocks, 128 bytes of the octet) loads all its weights first as eight 128-bit registers (ldr q:
    /// one cycle each, where ldp d takes two), then runs its eight smull/smull2, eight smlal/smlal2 (each eight
    /// instructions after the multiply it adds to) and eight sadalp. The upper halves go to smull2/smlal2 against x
    /// broadcast to all four lanes, so no register is copied. Every weight register is read twice, which keeps the
    /// compiler from moving its load down to the use. On the A57 model this order is no faster than
    /// <see cref="Int8NeonGroup"/>'s, which is why out-of-order cores keep that one.
    /// </summary>
    [SkipLocalsInit]
    private static unsafe void Int8NeonGroupInOrder(ref sbyte wg, ref sbyte x, int kp, ref int y, int valid)
    {
        Vector128<int> a01 = default, a23 = default, a45 = default, a67 = default;
        Vector128<int> b01 = default, b23 = default, b45 = default, b67 = default;
        Vector128<int> c01 = default, c23 = default, c45 = default, c67 = default;
        Vector128<int> d01 = default, d23 = default, d45 = default, d67 = default;
        ref sbyte wp = ref wg;
        ref sbyte xk = ref x;
        ref sbyte xEnd = ref Unsafe.Add(ref x, kp);
        while (Unsafe.IsAddressLessThan(ref xk, ref xEnd))
        {
            // x broadcast twice, as 64 and as 128 bits: a GetLower() of a register that stays live costs a copy.
            var x0 = AdvSimd.LoadAndReplicateToVector128((int*)Unsafe.AsPointer(ref xk)).AsSByte();
            var x1 = AdvSimd.LoadAndReplicateToVector128((int*)Unsafe.AsPointer(ref Unsafe.Add(ref xk, 4))).AsSByte();
            var lo0 = BroadcastQuad(ref xk);
            var lo1 = BroadcastQuad(ref Unsafe.Add(ref xk, 4));
            NeonHalfInOrder(ref wp, x0, x1, lo0, lo1, ref a01, ref a23, ref a45, ref a67, ref b01, ref b23, ref b45, ref b67);
            NeonHalfInOrder(ref Unsafe.Add(ref wp, 128), x0, x1, lo0, lo1, ref c01, ref c23, ref c45, ref c67, ref d01, ref d23, ref d45, ref d67);
            wp = ref Unsafe.Add(ref wp, 256);
            xk = ref Unsafe.Add(ref xk, 8);
        }
        StoreGroup(AdvSimd.Arm64.AddPairwise(a01, a23), AdvSimd.Arm64.AddPairwise(a45, a67),
            AdvSimd.Arm64.AddPairwise(b01, b23), AdvSimd.Arm64.AddPairwise(b45, b67),
            AdvSimd.Arm64.AddPairwise(c01, c23), AdvSimd.Arm64.AddPairwise(c45, c67),
            AdvSimd.Arm64.AddPairwise(d01, d23), AdvSimd.Arm64.AddPairwise(d45, d67), ref y, valid);
    }

    /// <summary>
    /// Two adjacent blocks' k-octet (128 bytes at <paramref name="w"/>) in the in-order schedule of
    /// <see cref="Int8NeonGroupInOrder"/>: the same products and sums as two <see cref="NeonOctet"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void NeonHalfInOrder(ref sbyte w, Vector128<sbyte> x0, Vector128<sbyte> x1, Vector64<sbyte> lo0, Vector64<sbyte> lo1,
        ref Vector128<int> a01, ref Vector128<int> a23, ref Vector128<int> a45, ref Vector128<int> a67,
        ref Vector128<int> b01, ref Vector128<int> b23, ref Vector128<int> b45, ref Vector128<int> b67)
    {
        // Block a: rows 0-3 and 4-7 of k 0-3, then of k 4-7; block b the same 64 bytes on.
        var wa0 = Vector128.LoadUnsafe(ref w, 0);
        var wa1 = Vector128.LoadUnsafe(ref w, 16);
        var wa2 = Vector128.LoadUnsafe(ref w, 32);
        var wa3 = Vector128.LoadUnsafe(ref w, 48);
        var wb0 = Vector128.LoadUnsafe(ref w, 64);
        var wb1 = Vector128.LoadUnsafe(ref w, 80);
        var wb2 = Vector128.LoadUnsafe(ref w, 96);
        var wb3 = Vector128.LoadUnsafe(ref w, 112);
        // Upper half first: the lower half's GetLower() is then the register's last use, which needs no copy.
        var p23 = AdvSimd.MultiplyWideningUpper(wa0, x0);
        var p01 = AdvSimd.MultiplyWideningLower(wa0.GetLower(), lo0);
        var p67 = AdvSimd.MultiplyWideningUpper(wa1, x0);
        var p45 = AdvSimd.MultiplyWideningLower(wa1.GetLower(), lo0);
        var q23 = AdvSimd.MultiplyWideningUpper(wb0, x0);
        var q01 = AdvSimd.MultiplyWideningLower(wb0.GetLower(), lo0);
        var q67 = AdvSimd.MultiplyWideningUpper(wb1, x0);
        var q45 = AdvSimd.MultiplyWideningLower(wb1.GetLower(), lo0);
        p23 = AdvSimd.MultiplyWideningUpperAndAdd(p23, wa2, x1);
        p01 = AdvSimd.MultiplyWideningLowerAndAdd(p01, wa2.GetLower(), lo1);
        p67 = AdvSimd.MultiplyWideningUpperAndAdd(p67, wa3, x1);
        p45 = AdvSimd.MultiplyWideningLowerAndAdd(p45, wa3.GetLower(), lo1);
        q23 = AdvSimd.MultiplyWideningUpperAndAdd(q23, wb2, x1);
        q01 = AdvSimd.MultiplyWideningLowerAndAdd(q01, wb2.GetLower(), lo1);
        q67 = AdvSimd.MultiplyWideningUpperAndAdd(q67, wb3, x1);
        q45 = AdvSimd.MultiplyWideningLowerAndAdd(q45, wb3.GetLower(), lo1);
        a01 = AdvSimd.AddPairwiseWideningAndAdd(a01, p01);
        a23 = AdvSimd.AddPairwiseWideningAndAdd(a23, p23);
        a45 = AdvSimd.AddPairwiseWideningAndAdd(a45, p45);
        a67 = AdvSimd.AddPairwiseWideningAndAdd(a67, p67);
        b01 = AdvSimd.AddPairwiseWideningAndAdd(b01, q01);
        b23 = AdvSimd.AddPairwiseWideningAndAdd(b23, q23);
        b45 = AdvSimd.AddPairwiseWideningAndAdd(b45, q45);
        b67 = AdvSimd.AddPairwiseWideningAndAdd(b67, q67);
    }

    /// <summary>One block (8 rows) stepping its group's octet stride.</summary>
    private static void Int8NeonBlock(ref sbyte wb, ref sbyte x, int kp, nint octetStride, ref int y, int valid)
    {
        Vector128<int> a01 = default, a23 = default, a45 = default, a67 = default;
        ref sbyte wp = ref wb;
        for (int k = 0; k < kp; k += 8, wp = ref Unsafe.Add(ref wp, octetStride))
            NeonOctet(ref wp, BroadcastQuad(ref Unsafe.Add(ref x, k)), BroadcastQuad(ref Unsafe.Add(ref x, k + 4)), ref a01, ref a23, ref a45, ref a67);
        StoreBlock(AdvSimd.Arm64.AddPairwise(a01, a23), AdvSimd.Arm64.AddPairwise(a45, a67), ref y, 0, valid);
    }
}
