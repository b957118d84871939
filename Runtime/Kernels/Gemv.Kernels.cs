using System.Runtime.Intrinsics;

namespace Edge.Runtime.Kernels;

// The per-ISA kernel table: which int8 product, fp32 product, activation quantizer and activation preparation an
// Isa runs, chosen once when a Gemv is created (the only switch over Isa for these entry points). Function
// pointers, not delegates: no allocation and no closure, and each entry is a whole kernel call, so the indirect
// call costs nothing next to the product it starts.
internal sealed partial class Gemv
{
    private readonly Kernels _kernels;

    private sealed unsafe class Kernels
    {
        /// <summary>int32 accumulators of row blocks [blockStart, blockEnd) (see <see cref="Int8Core"/>).</summary>
        public delegate*<PackedInt8Matrix, ReadOnlySpan<byte>, int, int, int, Span<int>, int, void> Int8;

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

        public static Kernels For(Isa isa) => For(isa, isa == Isa.Neon && ArmCores.InOrder);

        public static Kernels For(Isa isa, bool neonInOrder) => isa switch
        {
            Isa.Scalar => new Kernels { Int8 = &Int8Scalar, Fp32 = &Fp32Scalar },
            Isa.Avx2 => new Kernels
            {
                Int8 = &Int8Avx2, Fp32 = &Fp32Vector<Simd256, Vector256<float>>, Quantize = &QuantizeVector256,
                Prepare = &PrepareRowAvx2, PreparedCopies = 2,
            },
            Isa.Avx512Vnni => new Kernels
            {
                Int8 = &Int8Avx512Vnni, Fp32 = &Fp32Vector<Simd512, Vector512<float>>, Quantize = &QuantizeVector512,
                Prepare = &PrepareRowVnni,
            },
            Isa.Neon => new Kernels
            {
                Int8 = neonInOrder ? &Int8NeonInOrder : &Int8Neon, NeonInOrder = neonInOrder,
                Fp32 = &Fp32Vector<Simd128, Vector128<float>>, Quantize = &QuantizeVector128,
            },
            Isa.NeonDot => new Kernels { Int8 = &Int8NeonDot, Fp32 = &Fp32Vector<Simd128, Vector128<float>>, Quantize = &QuantizeVector128 },
            _ => throw new ArgumentOutOfRangeException(nameof(isa), isa, "no kernels for this path"),
        };
    }
}
