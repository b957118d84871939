using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Edge.Runtime.Kernels;

// The per-ISA kernel table: which int8 product, fp32 product, activation quantizer, activation preparation, fused
// batch-1 kernels and float vector width an Isa runs, chosen once when a Gemv is created (the only switch over Isa
// in the kernels: callers read the table and never branch on the Isa). Function pointers, not delegates: no
// allocation and no closure, and each entry is a whole kernel call, so the indirect call costs nothing next to the
// product it starts. An entry left null means the path has no fused form and callers take the general one.
internal sealed partial class Gemv
{
    private readonly Kernels _kernels;

    /// <summary>
    /// The widest float vector, in bits, of this path's width-generic loops (gate math, dequantization, the small-K
    /// product): 512, 256, 128, or 0 for scalar code. Each loop runs its widest vectors first, then narrower ones.
    /// Readers test <c>VectorNNN.IsHardwareAccelerated</c> before it: a compile-time constant, so NativeAOT drops the
    /// widths a target lacks (tools/arm-perf-model.sh saw the arm64 small-K loop fall from 7.0 to 1.5 MAC/cycle without).
    /// </summary>
    public int FloatVectorBits => _kernels.FloatBits;

    private sealed unsafe class Kernels
    {
        /// <summary>int32 accumulators of row blocks [blockStart, blockEnd) (see <see cref="Int8Core"/>).</summary>
        public delegate*<PackedInt8Matrix, ReadOnlySpan<byte>, int, int, int, Span<int>, int, void> Int8;

        /// <summary>The same for one batch item (a recurrent step's R h): the path's batch-1 kernel where it has one, else <see cref="Int8"/>.</summary>
        public delegate*<PackedInt8Matrix, ReadOnlySpan<byte>, int, int, int, Span<int>, int, void> Int8Batch1;

        /// <summary>y (+)= W x (+ bias) for one batch item on row-major W.</summary>
        public delegate*<ReadOnlySpan<float>, int, int, int, ReadOnlySpan<float>, ReadOnlySpan<float>, Span<float>, bool, void> Fp32;

        /// <summary>The vector part of activation quantization: returns how many elements it wrote; null on the scalar path.</summary>
        public delegate*<ReadOnlySpan<float>, Span<sbyte>, float, int> Quantize;

        /// <summary>The path's form of a padded row of signed activations (<see cref="PrepareRow"/>); null when it reads x as is.</summary>
        public delegate*<Span<byte>, Span<byte>, void> Prepare;

        /// <summary>Prepared copies of each activation row: 2 when the kernel also reads |x| (AVX2), else 1.</summary>
        public int PreparedCopies = 1;

        /// <summary>The NEON int8 product's variant (<see cref="ArmCores"/>): true for the in-order one, null off the neon path.</summary>
        public bool? NeonInOrder;

        /// <summary>
        /// h in the unit range straight into the prepared row (<see cref="QuantizeUnitOffset"/>); null where the path
        /// quantizes then prepares.
        /// </summary>
        public delegate*<ReadOnlySpan<float>, Span<byte>, void> QuantizeUnit;

        /// <summary>Batch-1 product with the dequantization fused (w, prepared x, xScale, bias, y, accumulate); null: none.</summary>
        public delegate*<PackedInt8Matrix, ReadOnlySpan<byte>, float, ReadOnlySpan<float>, Span<float>, bool, void> Dequantize1;

        /// <summary>
        /// One recurrent step's two products in one pass (R, prepared h, acc, W, prepared x, xScale, bias, proj: acc = R h
        /// in int32, proj = W x dequantized plus bias); null where the two run in turn.
        /// </summary>
        public delegate*<PackedInt8Matrix, ReadOnlySpan<byte>, Span<int>, PackedInt8Matrix, ReadOnlySpan<byte>, float, ReadOnlySpan<float>, Span<float>, void> StepWithInput;

        /// <summary>See <see cref="FloatVectorBits"/>.</summary>
        public int FloatBits = Bits128;

        public static Kernels For(Isa isa) => For(isa, isa == Isa.Neon && ArmCores.InOrder);

        public static Kernels For(Isa isa, bool neonInOrder)
        {
            var k = Table(isa, neonInOrder);
            if (k.Int8Batch1 == null) k.Int8Batch1 = k.Int8;
            return k;
        }

        private static Kernels Table(Isa isa, bool neonInOrder) => isa switch
        {
            Isa.Scalar => new Kernels { Int8 = &Int8Scalar, Fp32 = &Fp32Scalar, FloatBits = 0 },
            Isa.Avx2 => new Kernels
            {
                Int8 = &Int8Avx2, Fp32 = &Fp32Vector<Simd256, Vector256<float>>, Quantize = &QuantizeVector256,
                Prepare = &PrepareRowAvx2, PreparedCopies = 2,
                Dequantize1 = &Dequantize1Avx2, StepWithInput = &StepWithInputAvx2,
                FloatBits = Vector256.IsHardwareAccelerated ? 256 : Bits128,
            },
            Isa.Avx512Vnni => new Kernels
            {
                Int8 = &Int8Avx512Vnni, Int8Batch1 = &Int8Batch1Vnni, Fp32 = &Fp32Vector<Simd512, Vector512<float>>, Quantize = &QuantizeVector512,
                Prepare = &PrepareRowVnni, QuantizeUnit = &QuantizeUnitOffset,
                Dequantize1 = &Dequantize1Vnni, StepWithInput = &StepWithInputVnni,
                FloatBits = Vector512.IsHardwareAccelerated ? 512 : Vector256.IsHardwareAccelerated ? 256 : Bits128,
            },
            Isa.Neon => new Kernels
            {
                Int8 = neonInOrder ? &Int8NeonInOrder : &Int8Neon, NeonInOrder = neonInOrder,
                Fp32 = &Fp32Vector<Simd128, Vector128<float>>, Quantize = &QuantizeVector128,
            },
            Isa.NeonDot => new Kernels { Int8 = &Int8NeonDot, Fp32 = &Fp32Vector<Simd128, Vector128<float>>, Quantize = &QuantizeVector128 },
            _ => throw new ArgumentOutOfRangeException(nameof(isa), isa, "no kernels for this path"),
        };

        private static int Bits128 => Vector128.IsHardwareAccelerated ? 128 : 0;
    }

    // Adapters from the table's signatures to the x64 batch-1 kernels (which take refs, and for AVX2 x and |x|
    // side by side in the prepared row).

    private static void Int8Batch1Vnni(PackedInt8Matrix w, ReadOnlySpan<byte> xp, int nb, int blockStart, int blockEnd, Span<int> y, int yStride) =>
        Int8Avx512VnniBatch1(ref w.DataStart, ref w.SumsStart, ref MemoryMarshal.GetReference(xp), w.PaddedCols, w.Rows, blockStart, blockEnd,
            ref MemoryMarshal.GetReference(y));

    private static void Dequantize1Vnni(PackedInt8Matrix w, ReadOnlySpan<byte> xp, float xScale, ReadOnlySpan<float> bias, Span<float> y, bool accumulate) =>
        Int8Avx512VnniBatch1Dequantize(ref w.DataStart, ref w.SumsStart, ref MemoryMarshal.GetReference(xp), w.PaddedCols, w.Rows,
            ref w.ScalesStart, xScale, ref MemoryMarshal.GetReference(bias), !bias.IsEmpty, ref MemoryMarshal.GetReference(y), accumulate);

    private static void Dequantize1Avx2(PackedInt8Matrix w, ReadOnlySpan<byte> xp, float xScale, ReadOnlySpan<float> bias, Span<float> y, bool accumulate)
    {
        ref byte xs = ref MemoryMarshal.GetReference(xp);
        Int8Avx2Batch1Dequantize(ref w.DataStart, ref xs, ref Unsafe.Add(ref xs, w.PaddedCols), w.PaddedCols, w.Rows,
            ref w.ScalesStart, xScale, ref MemoryMarshal.GetReference(bias), !bias.IsEmpty, ref MemoryMarshal.GetReference(y), accumulate);
    }

    private static void StepWithInputVnni(PackedInt8Matrix r, ReadOnlySpan<byte> hp, Span<int> acc, PackedInt8Matrix w, ReadOnlySpan<byte> xp,
        float xScale, ReadOnlySpan<float> bias, Span<float> proj) =>
        Int8Avx512VnniBatch1WithInput(ref r.DataStart, ref r.SumsStart, ref MemoryMarshal.GetReference(hp), r.PaddedCols,
            ref MemoryMarshal.GetReference(acc), ref w.DataStart, ref w.SumsStart, ref MemoryMarshal.GetReference(xp), w.PaddedCols,
            ref w.ScalesStart, xScale, ref MemoryMarshal.GetReference(bias), ref MemoryMarshal.GetReference(proj), r.Rows);

    private static void StepWithInputAvx2(PackedInt8Matrix r, ReadOnlySpan<byte> hp, Span<int> acc, PackedInt8Matrix w, ReadOnlySpan<byte> xp,
        float xScale, ReadOnlySpan<float> bias, Span<float> proj)
    {
        ref byte h0 = ref MemoryMarshal.GetReference(hp);
        ref byte x0 = ref MemoryMarshal.GetReference(xp);
        Int8Avx2Batch1WithInput(ref r.DataStart, ref h0, ref Unsafe.Add(ref h0, r.PaddedCols), r.PaddedCols, ref MemoryMarshal.GetReference(acc),
            ref w.DataStart, ref x0, ref Unsafe.Add(ref x0, w.PaddedCols), w.PaddedCols,
            ref w.ScalesStart, xScale, ref MemoryMarshal.GetReference(bias), ref MemoryMarshal.GetReference(proj), r.Rows);
    }
}
