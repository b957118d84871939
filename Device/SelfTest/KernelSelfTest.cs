using System.Diagnostics;
using System.Runtime.InteropServices;
using Edge.Device.Bench;
using Edge.Runtime.Kernels;

namespace Edge.Device.SelfTest;

/// <summary>
/// <c>edge selftest</c>: on every kernel path this CPU supports, (1) kernel parity against the scalar
/// specification and a plain unpacked reference over a sweep of shapes, and (2) a small int8 and fp32
/// LSTM end to end against an fp64 reference whose output is also stored here, and (3) the runtime's int8 vanilla
/// RNN layer (tanh and relu) bit-identical to the scalar path and close to an fp64 reference. Prints each path and
/// check with PASS or FAIL; returns 1 on any failure. Runs in seconds natively and under qemu-user, so
/// tools/arm64-selftest.sh can run it on emulated Cortex-A53, A72 and A76.
/// </summary>
public static class KernelSelfTest
{
    public static int Run(TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        output.WriteLine($"edge selftest: {RuntimeInformation.ProcessArchitecture}, kernel paths: {IsaSelector.SupportedList} (best {IsaSelector.Name(IsaSelector.Best)})");
        output.WriteLine($"  build: {BuildInfo.Describe(MachineInfo.RuntimeKindOf(new LiveSystem()))}");
        if (IsaSelector.IsSupported(Isa.Neon))
            output.WriteLine($"  neon int8 kernel: {ArmCores.Description}; both variants are checked (neon = out-of-order, neon-io = in-order)");
        int failures = 0;
        var model = new TinyLstm();
        var scalarInt8 = model.Run(Gemv.Create(Isa.Scalar), int8: true);
        var rnn = new TinyRnn();
        var rnnScalar = new[] { rnn.Run(Isa.Scalar, relu: false), rnn.Run(Isa.Scalar, relu: true) };
        var rnnReference = new[] { rnn.Reference(relu: false), rnn.Reference(relu: true) };

        // The fp64 reference against the values stored when this test was written (x64); catches a broken
        // reference or a platform whose Math.Exp/Tanh differ beyond rounding.
        var reference = model.Reference();
        failures += Check(output, "reference", "fp64 LSTM vs stored output", () =>
        {
            for (int i = 0; i < TinyLstm.StoredReference.Length; i++)
                if (Math.Abs(reference[i] - TinyLstm.StoredReference[i]) > 1e-9)
                    return $"h[{i}] = {reference[i]:R}, stored {TinyLstm.StoredReference[i]:R}";
            return null;
        });

        // The neon path twice: each int8 variant (ArmCores) must equal the scalar one on every CPU, whichever it runs.
        var kernels = IsaSelector.Supported.SelectMany(isa => isa == Isa.Neon
            ? new[] { (Gemv.CreateNeon(inOrder: false), "neon"), (Gemv.CreateNeon(inOrder: true), "neon-io") }
            : new[] { (Gemv.Create(isa), IsaSelector.Name(isa)) });
        foreach (var (kernel, name) in kernels)
        {
            failures += Check(output, name, "int8 gemv parity", () => Int8Parity(kernel));
            failures += Check(output, name, "int8 extreme values", () => Int8Extremes(kernel));
            failures += Check(output, name, "int8 dequantize parity", () => DequantizeParity(kernel));
            failures += Check(output, name, "activation quantize parity", () => QuantizeParity(kernel));
            failures += Check(output, name, "fp32 gemv", () => Fp32Check(kernel));
            failures += Check(output, name, "int8 LSTM end to end", () =>
            {
                var h = model.Run(kernel, int8: true);
                for (int i = 0; i < h.Length; i++)
                {
                    if (BitConverter.SingleToInt32Bits(h[i]) != BitConverter.SingleToInt32Bits(scalarInt8[i]))
                        return $"h[{i}] = {h[i]:R}, scalar path {scalarInt8[i]:R}";
                    if (Math.Abs(h[i] - reference[i]) > 0.03)
                        return $"h[{i}] = {h[i]:R}, fp64 reference {reference[i]:R}: int8 error above 0.03";
                }
                return null;
            });
            failures += Check(output, name, "int8 RNN tanh, relu", () =>
            {
                for (int k = 0; k < 2; k++)
                {
                    var y = rnn.Run(kernel.Isa, relu: k == 1); // a session: the neon variant ArmCores picks
                    string act = k == 1 ? "relu" : "tanh";
                    for (int i = 0; i < y.Length; i++)
                    {
                        if (BitConverter.SingleToInt32Bits(y[i]) != BitConverter.SingleToInt32Bits(rnnScalar[k][i]))
                            return $"{act} y[{i}] = {y[i]:R}, scalar path {rnnScalar[k][i]:R}";
                        if (Math.Abs(y[i] - rnnReference[k][i]) > 0.05)
                            return $"{act} y[{i}] = {y[i]:R}, fp64 reference {rnnReference[k][i]:R}: int8 error above 0.05";
                    }
                }
                return null;
            });
            failures += Check(output, name, "fp32 LSTM end to end", () =>
            {
                var h = model.Run(kernel, int8: false);
                for (int i = 0; i < h.Length; i++)
                    if (Math.Abs(h[i] - reference[i]) > 1e-4)
                        return $"h[{i}] = {h[i]:R}, fp64 reference {reference[i]:R}";
                return null;
            });
        }
        output.WriteLine(failures == 0 ? "selftest: PASS" : $"selftest: FAIL ({failures} check{(failures == 1 ? "" : "s")} failed)");
        return failures == 0 ? 0 : 1;
    }

    private static int Check(TextWriter output, string path, string what, Func<string?> check)
    {
        var sw = Stopwatch.StartNew();
        string? error;
        try { error = check(); }
        catch (Exception e) when (e is not OutOfMemoryException) { error = $"{e.GetType().Name}: {e.Message}"; }
        output.WriteLine($"  {path,-9} {what,-28} {(error is null ? "PASS" : "FAIL")}  ({sw.ElapsedMilliseconds} ms){(error is null ? "" : "  " + error)}");
        return error is null ? 0 : 1;
    }

    private static IEnumerable<(int M, int K, int Batch)> Shapes()
    {
        int[] rows = [1, 3, 7, 8, 9, 13, 17, 31, 32, 33, 47];
        int i = 0;
        foreach (int k in Enumerable.Range(1, 70).Concat([96, 127, 128, 129, 200, 208, 255, 256, 257, 300, 333]))
            yield return (rows[i++ % rows.Length], k, 1 + k % 8);
        yield return (803, 208, 2);
        yield return (256, 1024, 1);
    }

    private static string? Int8Parity(Gemv kernel)
    {
        var scalar = Gemv.Create(Isa.Scalar);
        var rng = new Random(20);
        int count = 0;
        foreach (var (m, k, batch) in Shapes())
        {
            var w = RandomInt8(rng, m * k);
            var packed = PackedInt8Matrix.Pack(w, new float[m], m, k);
            int xStride = k + 3, yStride = m + 1;
            var x = RandomInt8(rng, (batch - 1) * xStride + k);
            const int poison = 0x5EED5EED;
            var ys = Enumerable.Repeat(poison, (batch - 1) * yStride + m + 2).ToArray();
            var yk = (int[])ys.Clone();
            scalar.MultiplyInt8(packed, x, xStride, batch, ys, yStride);
            kernel.MultiplyInt8(packed, x, xStride, batch, yk, yStride);
            for (int i = 0; i < ys.Length; i++)
            {
                int b = i / yStride, r = i % yStride;
                if (b >= batch || r >= m)
                {
                    if (yk[i] != poison || ys[i] != poison) return $"{m}x{batch}x{k}: wrote outside the output at {i}";
                    continue;
                }
                long exact = 0;
                for (int j = 0; j < k; j++) exact += (long)w[r * k + j] * x[b * xStride + j];
                if (ys[i] != exact) return $"{m}x{batch}x{k} batch {b} row {r}: scalar {ys[i]}, reference {exact}";
                if (yk[i] != ys[i]) return $"{m}x{batch}x{k} batch {b} row {r}: {yk[i]}, scalar {ys[i]}";
            }
            count++;
        }
        return count > 80 ? null : $"only {count} shapes ran";
    }

    private static string? Int8Extremes(Gemv kernel)
    {
        foreach (int k in new[] { 1, 16, 17, 300, 1024 })
            foreach (sbyte v in new sbyte[] { 127, -127 })
            {
                const int m = 35;
                var packed = PackedInt8Matrix.Pack(Enumerable.Repeat(v, m * k).ToArray(), new float[m], m, k);
                var y = new int[m];
                kernel.MultiplyInt8(packed, Enumerable.Repeat((sbyte)-127, k).ToArray(), k, 1, y, m);
                for (int r = 0; r < m; r++)
                    if (y[r] != k * v * -127) return $"{m}x1x{k} w={v} x=-127 row {r}: {y[r]}, expected {k * v * -127}";
            }
        return null;
    }

    private static string? DequantizeParity(Gemv kernel)
    {
        var scalar = Gemv.Create(Isa.Scalar);
        var rng = new Random(21);
        foreach (var (m, k, batch) in new[] { (9, 33, 3), (800, 208, 1), (300, 8, 8) })
            foreach (bool accumulate in new[] { false, true })
            {
                var packed = PackedInt8Matrix.Quantize(RandomFloats(rng, m * k), m, k);
                var x = RandomInt8(rng, batch * k);
                var scales = RandomFloats(rng, batch).Select(Math.Abs).ToArray();
                var bias = RandomFloats(rng, m);
                var ys = RandomFloats(rng, batch * m);
                var yk = (float[])ys.Clone();
                scalar.MultiplyInt8Dequantize(packed, x, k, scales, batch, bias, ys, m, accumulate);
                kernel.MultiplyInt8Dequantize(packed, x, k, scales, batch, bias, yk, m, accumulate);
                for (int i = 0; i < ys.Length; i++)
                    if (BitConverter.SingleToInt32Bits(ys[i]) != BitConverter.SingleToInt32Bits(yk[i]))
                        return $"{m}x{batch}x{k} accumulate={accumulate} index {i}: {yk[i]:R}, scalar {ys[i]:R}";
            }
        return null;
    }

    private static string? QuantizeParity(Gemv kernel)
    {
        var rng = new Random(22);
        for (int n = 1; n <= 300; n += 7)
        {
            var x = RandomFloats(rng, n);
            var qs = new sbyte[n];
            var qk = new sbyte[n];
            float ss = PackedInt8Matrix.QuantizeRow(x, qs);
            float sk = kernel.QuantizeActivations(x, qk);
            if (ss != sk) return $"n={n}: scale {sk:R}, scalar {ss:R}";
            for (int i = 0; i < n; i++) if (qs[i] != qk[i]) return $"n={n} index {i}: {qk[i]}, scalar {qs[i]}";
        }
        return null;
    }

    private static string? Fp32Check(Gemv kernel)
    {
        var rng = new Random(23);
        foreach (var (m, k, batch) in Shapes())
        {
            var w = RandomFloats(rng, m * k);
            var x = RandomFloats(rng, batch * k);
            var y = new float[batch * m];
            kernel.MultiplyFp32(w, m, k, k, x, k, batch, default, y, m, accumulate: false);
            for (int b = 0; b < batch; b++)
                for (int r = 0; r < m; r++)
                {
                    double exact = 0, mag = 0;
                    for (int j = 0; j < k; j++) { exact += (double)w[r * k + j] * x[b * k + j]; mag += Math.Abs((double)w[r * k + j] * x[b * k + j]); }
                    double bound = (k + 2) * Math.Pow(2, -24) * 1.01 * mag + 1e-30; // γ_(K+2)·Σ|w·x|, any summation order
                    if (Math.Abs(y[b * m + r] - exact) > bound) return $"{m}x{batch}x{k} batch {b} row {r}: {y[b * m + r]:R}, exact {exact:R}";
                }
        }
        return null;
    }

    internal static sbyte[] RandomInt8(Random rng, int n)
    {
        var a = new sbyte[n];
        for (int i = 0; i < n; i++) a[i] = (sbyte)rng.Next(-127, 128);
        return a;
    }

    internal static float[] RandomFloats(Random rng, int n)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)(rng.NextDouble() * 2 - 1);
        return a;
    }
}
