using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Edge.Runtime.Kernels;

/// <summary>
/// The float operations of one vector width (<see cref="Simd128"/>, <see cref="Simd256"/>, <see cref="Simd512"/>), so
/// that a width-independent kernel (gate math, the packed fp32 product, activation quantization) is written once as a
/// generic method over <c>TWidth : ISimd&lt;TVec&gt;</c> and compiled once per width: the type arguments are structs,
/// so the JIT and NativeAOT specialise every instantiation and inline these one-instruction members, leaving the same
/// machine code as a loop written against <see cref="Vector256{T}"/> by hand. Each member is the same
/// <c>VectorNNN</c> operation at every width, hence the same bits per lane; the few width-specific instructions
/// (vscalefps) live in the leaf that uses them.
/// </summary>
internal interface ISimd<TVec> where TVec : struct
{
    /// <summary>floats per vector.</summary>
    static abstract int Count { get; }
    static abstract TVec Create(float value);
    static abstract TVec One { get; }
    static abstract TVec Load(ref float source, nuint offset);
    /// <summary><see cref="Count"/> int32 values at source[offset..], converted to float.</summary>
    static abstract TVec LoadAsSingle(ref int source, nuint offset);
    static abstract void Store(TVec value, ref float destination, nuint offset);
    static abstract float GetElement(TVec value, int index);
    static abstract TVec Add(TVec a, TVec b);
    static abstract TVec Subtract(TVec a, TVec b);
    static abstract TVec Multiply(TVec a, TVec b);
    static abstract TVec Divide(TVec a, TVec b);
    static abstract TVec Negate(TVec a);
    /// <summary>a · b + c rounded once, on every machine.</summary>
    static abstract TVec FusedMultiplyAdd(TVec a, TVec b, TVec c);
    /// <summary>a · b + c, fused where the hardware fuses (FMA3, AVX-512, NEON), else a multiply then an add.</summary>
    static abstract TVec MultiplyAddEstimate(TVec a, TVec b, TVec c);
    static abstract TVec MinNative(TVec a, TVec b);
    static abstract TVec MaxNative(TVec a, TVec b);
    static abstract TVec Clamp(TVec value, TVec min, TVec max);
    /// <summary>Round half to even.</summary>
    static abstract TVec Round(TVec a);
    static abstract float Sum(TVec a);
    /// <summary>p · 2^n for integral n in [-126, 126] (so 2^n is a normal float): one rounding of the product.</summary>
    static abstract TVec ScaleByPowerOfTwo(TVec p, TVec n);
    /// <summary>Four vectors of integral floats in [-127, 127] as 4 x <see cref="Count"/> sbytes at destination[offset..].</summary>
    static abstract void StoreAsSByte(TVec a, TVec b, TVec c, TVec d, ref sbyte destination, nuint offset);
}

internal readonly struct Simd128 : ISimd<Vector128<float>>
{
    public static int Count => Vector128<float>.Count;
    public static Vector128<float> One => Vector128<float>.One;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Create(float value) => Vector128.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Load(ref float source, nuint offset) => Vector128.LoadUnsafe(ref source, offset);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> LoadAsSingle(ref int source, nuint offset) => Vector128.ConvertToSingle(Vector128.LoadUnsafe(ref source, offset));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector128<float> value, ref float destination, nuint offset) => value.StoreUnsafe(ref destination, offset);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float GetElement(Vector128<float> value, int index) => value.GetElement(index);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Subtract(Vector128<float> a, Vector128<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Multiply(Vector128<float> a, Vector128<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Divide(Vector128<float> a, Vector128<float> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Negate(Vector128<float> a) => -a;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> FusedMultiplyAdd(Vector128<float> a, Vector128<float> b, Vector128<float> c) => Vector128.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> MultiplyAddEstimate(Vector128<float> a, Vector128<float> b, Vector128<float> c) => Vector128.MultiplyAddEstimate(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> MinNative(Vector128<float> a, Vector128<float> b) => Vector128.MinNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> MaxNative(Vector128<float> a, Vector128<float> b) => Vector128.MaxNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Clamp(Vector128<float> value, Vector128<float> min, Vector128<float> max) => Vector128.Clamp(value, min, max);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Round(Vector128<float> a) => Vector128.Round(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector128<float> a) => Vector128.Sum(a);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> ScaleByPowerOfTwo(Vector128<float> p, Vector128<float> n) =>
        p * Vector128.ShiftLeft(Vector128.ConvertToInt32Native(n) + Vector128.Create(127), 23).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreAsSByte(Vector128<float> a, Vector128<float> b, Vector128<float> c, Vector128<float> d, ref sbyte destination, nuint offset) =>
        Vector128.Narrow(Vector128.Narrow(Vector128.ConvertToInt32(a), Vector128.ConvertToInt32(b)),
            Vector128.Narrow(Vector128.ConvertToInt32(c), Vector128.ConvertToInt32(d))).StoreUnsafe(ref destination, offset);
}

internal readonly struct Simd256 : ISimd<Vector256<float>>
{
    public static int Count => Vector256<float>.Count;
    public static Vector256<float> One => Vector256<float>.One;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Create(float value) => Vector256.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Load(ref float source, nuint offset) => Vector256.LoadUnsafe(ref source, offset);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> LoadAsSingle(ref int source, nuint offset) => Vector256.ConvertToSingle(Vector256.LoadUnsafe(ref source, offset));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector256<float> value, ref float destination, nuint offset) => value.StoreUnsafe(ref destination, offset);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float GetElement(Vector256<float> value, int index) => value.GetElement(index);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Subtract(Vector256<float> a, Vector256<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Multiply(Vector256<float> a, Vector256<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Divide(Vector256<float> a, Vector256<float> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Negate(Vector256<float> a) => -a;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> FusedMultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> MultiplyAddEstimate(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.MultiplyAddEstimate(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> MinNative(Vector256<float> a, Vector256<float> b) => Vector256.MinNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> MaxNative(Vector256<float> a, Vector256<float> b) => Vector256.MaxNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Clamp(Vector256<float> value, Vector256<float> min, Vector256<float> max) => Vector256.Clamp(value, min, max);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Round(Vector256<float> a) => Vector256.Round(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector256<float> a) => Vector256.Sum(a);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ScaleByPowerOfTwo(Vector256<float> p, Vector256<float> n) =>
        p * Vector256.ShiftLeft(Vector256.ConvertToInt32Native(n) + Vector256.Create(127), 23).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreAsSByte(Vector256<float> a, Vector256<float> b, Vector256<float> c, Vector256<float> d, ref sbyte destination, nuint offset) =>
        Vector256.Narrow(Vector256.Narrow(Vector256.ConvertToInt32(a), Vector256.ConvertToInt32(b)),
            Vector256.Narrow(Vector256.ConvertToInt32(c), Vector256.ConvertToInt32(d))).StoreUnsafe(ref destination, offset);
}

internal readonly struct Simd512 : ISimd<Vector512<float>>
{
    public static int Count => Vector512<float>.Count;
    public static Vector512<float> One => Vector512<float>.One;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Create(float value) => Vector512.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Load(ref float source, nuint offset) => Vector512.LoadUnsafe(ref source, offset);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> LoadAsSingle(ref int source, nuint offset) => Vector512.ConvertToSingle(Vector512.LoadUnsafe(ref source, offset));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector512<float> value, ref float destination, nuint offset) => value.StoreUnsafe(ref destination, offset);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float GetElement(Vector512<float> value, int index) => value.GetElement(index);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Subtract(Vector512<float> a, Vector512<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Multiply(Vector512<float> a, Vector512<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Divide(Vector512<float> a, Vector512<float> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Negate(Vector512<float> a) => -a;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> FusedMultiplyAdd(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> MultiplyAddEstimate(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.MultiplyAddEstimate(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> MinNative(Vector512<float> a, Vector512<float> b) => Vector512.MinNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> MaxNative(Vector512<float> a, Vector512<float> b) => Vector512.MaxNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Clamp(Vector512<float> value, Vector512<float> min, Vector512<float> max) => Vector512.Clamp(value, min, max);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Round(Vector512<float> a) => Vector512.Round(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector512<float> a) => Vector512.Sum(a);

    /// <summary>vscalefps where there is one (AVX-512: three operations fewer), else 2^n built in the exponent bits;
    /// both round p · 2^n once, so the bits are the same.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ScaleByPowerOfTwo(Vector512<float> p, Vector512<float> n) =>
        Avx512F.IsSupported ? Avx512F.Scale(p, n) : p * Vector512.ShiftLeft(Vector512.ConvertToInt32Native(n) + Vector512.Create(127), 23).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreAsSByte(Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d, ref sbyte destination, nuint offset) =>
        Vector512.Narrow(Vector512.Narrow(Vector512.ConvertToInt32(a), Vector512.ConvertToInt32(b)),
            Vector512.Narrow(Vector512.ConvertToInt32(c), Vector512.ConvertToInt32(d))).StoreUnsafe(ref destination, offset);
}
