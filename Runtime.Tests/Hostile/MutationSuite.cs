using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.IO.Hashing;
using System.Text.Json.Nodes;
using Edge.Quantizer.Import.Keras;
using Edge.Quantizer.Import.Onnx;
using Edge.Quantizer.Import.PyTorch;
using Edge.Runtime.Execution;
using Edge.Runtime.Format;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Tests.Hostile;

/// <summary>
/// Seeded mutation fuzzing of every reader, in CI: thousands of mutants per format made from the
/// repo's own fixtures (byte flips, truncations, huge length fields, repeated and nested chunks, zeroed
/// ranges; for .edge and .pt also mutants whose checksums and CRCs are fixed up, so that the parsers
/// behind them are reached). The only acceptable outcomes are success or an <see cref="EdgeException"/>
/// (format, unsupported model), within a memory cap (bytes allocated by the reading thread) and a time
/// cap that only a hang breaks. A failure lists the seed, mutant index and mutation, and saves the mutant.
/// <para>
/// EDGE_MUTANTS (per format, default <see cref="DefaultMutants"/>) and EDGE_MUTATION_SEED make a
/// longer run: <c>EDGE_MUTANTS=200000 EDGE_MUTATION_SEED=7 dotnet test --project Runtime.Tests/Edge.Runtime.Tests.csproj
/// --filter "FullyQualifiedName~MutationSuite"</c> (docs/format.md, "Hostile input").
/// </para>
/// </summary>
[TestClass]
public sealed class MutationSuite
{
    public const int DefaultMutants = 2000;

    /// <summary>What one mutant may allocate on the reading thread: above every reader's budget for these small seeds.</summary>
    private const long MemoryCapBytes = 400L << 20;

    private static readonly TimeSpan TimeCap = TimeSpan.FromSeconds(30);

    private static int Mutants => int.TryParse(Environment.GetEnvironmentVariable("EDGE_MUTANTS"), out int n) && n > 0 ? n : DefaultMutants;

    private static int BaseSeed => int.TryParse(Environment.GetEnvironmentVariable("EDGE_MUTATION_SEED"), out int s) ? s : 15;

    private static string Fixture(params string[] parts) => Path.Combine([TestPaths.Fixtures, .. parts]);

    // ── one test per format ─────────────────────────────────────────────────────────────────────

    [TestMethod]
    public void Npy() => Fuzz("npy",
        Directory.GetFiles(Fixture("npy"), "*.npy").Select(File.ReadAllBytes).Where(b => Loads(() => Edge.Runtime.Tensors.Npy.Read(b, "seed.npy"))).ToArray(),
        bytes => Edge.Runtime.Tensors.Npy.Read(bytes, "mutant.npy"));

    [TestMethod]
    public void Safetensors() => Fuzz("safetensors",
        [File.ReadAllBytes(Fixture("pt", "special", "dtypes.safetensors"))],
        bytes => SafeTensorsReader.Read(new MemoryStream(bytes), "mutant.safetensors"));

    [TestMethod]
    public void Pt() => Fuzz("pt",
        new[] { "small.pt", "views.pt", "nested.pt", "dtypes.pt" }.Select(f => File.ReadAllBytes(Fixture("pt", "special", f))).ToArray(),
        bytes => StateDict.ReadPt(new MemoryStream(bytes), "mutant.pt"),
        RezipMutant);

    /// <summary>Issue 17's readers: the legacy (non-zip) format, a whole pickled nn.Module and a checkpoint with a foreign object (placeholders).</summary>
    [TestMethod]
    public void PtLegacyAndPlaceholders() => Fuzz("pt-legacy",
        new[] { ("foreign", "legacy_state_dict.pt"), ("foreign", "legacy_checkpoint.pt"), ("foreign", "whole_module.pt"), ("foreign", "checkpoint_scaler.pt"), ("special", "hostile.pt") }
            .Select(f => File.ReadAllBytes(Fixture("pt", f.Item1, f.Item2))).ToArray(),
        bytes => StateDict.ReadPt(new MemoryStream(bytes), "mutant.pt"),
        (original, rng) => original[0] == 'P' ? RezipMutant(original, rng) : null,
        mutants: Math.Max(Mutants / 2, 1));

    [TestMethod]
    public void Onnx() => Fuzz("onnx",
        [File.ReadAllBytes(Fixture("models", "lstm_bidir", "model.onnx")), File.ReadAllBytes(Fixture("models", "gru2_batchfirst", "model_opset9.onnx"))],
        bytes => OnnxImporter.Import(bytes, "mutant.onnx"),
        mutants: Math.Max(Mutants / 2, 1));

    internal static byte[][] KerasSeeds() =>
        [File.ReadAllBytes(Fixture("keras", "gru_reset_before", "model.h5")), File.ReadAllBytes(Fixture("keras", "hard_sigmoid_k3_keras", "model.keras"))];

    [TestMethod]
    public void Keras() => Fuzz("h5/keras", KerasSeeds(),
        bytes => KerasImporter.Import(bytes, bytes.Length > 1 && bytes[0] == 'P' ? "mutant.keras" : "mutant.h5"),
        mutants: Math.Max(Mutants / 2, 1));

    [TestMethod]
    public void EdgeBlobs()
    {
        var seeds = new[] { "lstm_bidir/model.onnx", "gru2_batchfirst/model_opset13.onnx" }
            .Select(f => EdgeBlob.ToBytes(OnnxImporter.Import(Fixture("models", f)), new JsonObject { ["window"] = 3 }))
            .ToArray();
        Fuzz("edge", seeds, bytes =>
        {
            var (graph, _) = EdgeBlob.Read(bytes, "mutant.edge");
            _ = new Session(graph); // operators check their attributes when they are created
        }, FixEdgeChecksums);
    }

    /// <summary>
    /// The generator of mutant <paramref name="index"/>: the same in every process (HashCode.Combine and
    /// string.GetHashCode are randomised per process, which made "seed 15 mutant 82" name a different
    /// mutant in each run), so a failure's seed and index regenerate its mutant in a regression test.
    /// </summary>
    internal static Random MutantRandom(int seed, string format, int index)
    {
        ulong h = 14695981039346656037UL; // FNV-1a over the format, then the numbers
        foreach (char c in format) h = (h ^ c) * 1099511628211UL;
        h = (h ^ (uint)seed) * 1099511628211UL;
        h = (h ^ (uint)index) * 1099511628211UL;
        return new Random((int)(h ^ (h >> 32)));
    }

    private static bool Loads(Action read)
    {
        try { read(); return true; }
        catch (EdgeException) { return false; }
    }

    // ── the harness ─────────────────────────────────────────────────────────────────────────────

    private static void Fuzz(string format, byte[][] seeds, Action<byte[]> read, Func<byte[], Random, byte[]?>? structured = null, int? mutants = null)
    {
        int count = mutants ?? Mutants;
        int seed = BaseSeed;
        // every seed must load as it is, or the mutants would test nothing beyond the first refusal
        foreach (var s in seeds) read(s);

        var failures = new List<string>();
        long maxAllocated = 0;
        int refused = 0, loaded = 0;
        for (int i = 0; i < count && failures.Count < 10; i++)
        {
            var rng = MutantRandom(seed, format, i);
            var original = seeds[rng.Next(seeds.Length)];
            string how;
            byte[] mutant;
            if (structured is not null && rng.Next(2) == 0 && structured(original, rng) is { } s)
            {
                mutant = s;
                how = "structure-aware";
            }
            else (mutant, how) = Mutate(original, rng);

            Exception? unexpected = null;
            bool ok = false;
            long allocated = 0;
            var task = Task.Factory.StartNew(() =>
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                try { read(mutant); ok = true; }
                catch (EdgeException) { }
#pragma warning disable CA1031 // any other exception is exactly what this test reports
                catch (Exception e) { unexpected = e; }
#pragma warning restore CA1031
                allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            string id = string.Create(CultureInfo.InvariantCulture, $"{format} seed {seed} mutant {i} ({how})");
            if (!task.Wait(TimeCap))
            {
                failures.Add($"{id}: still running after {TimeCap.TotalSeconds} s{Save(format, i, mutant)}");
                break; // the thread cannot be stopped; the rest of the run would share the machine with it
            }
            maxAllocated = Math.Max(maxAllocated, allocated);
            if (unexpected is not null)
                failures.Add($"{id}: {unexpected.GetType().Name}: {unexpected.Message}{Save(format, i, mutant)}\n{unexpected.StackTrace}");
            else if (allocated > MemoryCapBytes)
                failures.Add($"{id}: allocated {allocated} bytes (cap {MemoryCapBytes}){Save(format, i, mutant)}");
            if (ok) loaded++; else refused++;
        }
        Console.WriteLine($"{format}: {loaded} mutants loaded, {refused} refused cleanly, max {maxAllocated} bytes allocated by one");
        if (failures.Count > 0) Assert.Fail(string.Join("\n\n", failures));
        Assert.IsGreaterThan(0, refused, "no mutant was refused: the mutations do not reach the reader");
    }

    private static string Save(string format, int index, byte[] mutant)
    {
        string path = Path.Combine(TestPaths.NewTempDir(), string.Create(CultureInfo.InvariantCulture, $"mutant-{index}.{format.Replace('/', '-')}"));
        File.WriteAllBytes(path, mutant);
        return $" (saved as {path})";
    }

    /// <summary>One to three mutations of the kinds issue 15 lists.</summary>
    internal static (byte[] Mutant, string How) Mutate(byte[] original, Random rng)
    {
        var b = (byte[])original.Clone();
        var how = new List<string>();
        int rounds = 1 + rng.Next(3);
        for (int r = 0; r < rounds && b.Length > 0; r++)
        {
            int at = rng.Next(b.Length);
            switch (rng.Next(7))
            {
                case 0: // flip bits
                    b[at] ^= (byte)(1 << rng.Next(8));
                    how.Add($"flip@{at}");
                    break;
                case 1: // a random byte
                    b[at] = (byte)rng.Next(256);
                    how.Add($"set@{at}");
                    break;
                case 2: // truncate
                    b = b[..at];
                    how.Add($"truncate@{at}");
                    break;
                case 3: // a huge or boundary length field, 4 or 8 bytes
                {
                    ulong[] values = [0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFFFFFFFFFF, 0x7FFFFFFFFFFFFFFF, 1UL << 40, 0, (ulong)b.Length + 1];
                    ulong v = values[rng.Next(values.Length)];
                    int width = rng.Next(2) == 0 ? 4 : 8;
                    if (at + width > b.Length) break;
                    if (width == 4) BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(at), (uint)v);
                    else BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(at), v);
                    how.Add($"u{width * 8}={v}@{at}");
                    break;
                }
                case 4: // a chunk repeated in place (nested and recursive structures)
                {
                    int len = 1 + rng.Next(Math.Min(64, b.Length - at));
                    int times = 1 + rng.Next(rng.Next(2) == 0 ? 8 : 2000);
                    var chunk = b.AsSpan(at, len).ToArray();
                    var grown = new byte[b.Length + len * times];
                    b.AsSpan(0, at + len).CopyTo(grown);
                    for (int t = 0; t < times; t++) chunk.CopyTo(grown, at + len + t * len);
                    b.AsSpan(at + len).CopyTo(grown.AsSpan(at + len + len * times));
                    b = grown;
                    how.Add($"repeat{len}x{times}@{at}");
                    break;
                }
                case 5: // a range zeroed or filled with 0xFF
                {
                    int len = 1 + rng.Next(Math.Min(256, b.Length - at));
                    b.AsSpan(at, len).Fill(rng.Next(2) == 0 ? (byte)0 : (byte)0xFF);
                    how.Add($"fill{len}@{at}");
                    break;
                }
                default: // a chunk copied from elsewhere in the file
                {
                    int from = rng.Next(b.Length);
                    int len = 1 + rng.Next(Math.Min(32, Math.Min(b.Length - at, b.Length - from)));
                    b.AsSpan(from, len).ToArray().CopyTo(b, at);
                    how.Add($"copy{len}:{from}->{at}");
                    break;
                }
            }
        }
        return (b, string.Join(",", how));
    }

    /// <summary>
    /// A .pt mutant that keeps its zip valid: one member (usually data.pkl) mutated, the archive rewritten
    /// with correct sizes and CRCs, so that the pickle and tensor readers behind the zip are reached.
    /// </summary>
    private static byte[]? RezipMutant(byte[] original, Random rng)
    {
        var members = new List<(string Name, byte[] Bytes)>();
        using (var zip = new ZipArchive(new MemoryStream(original), ZipArchiveMode.Read))
        {
            foreach (var e in zip.Entries)
            {
                using var s = e.Open();
                var m = new MemoryStream();
                s.CopyTo(m);
                members.Add((e.FullName, m.ToArray()));
            }
        }
        int pkl = members.FindIndex(m => m.Name.EndsWith("/data.pkl", StringComparison.Ordinal));
        int target = pkl >= 0 && rng.Next(4) != 0 ? pkl : rng.Next(members.Count);
        if (members[target].Bytes.Length == 0) return null;
        members[target] = (members[target].Name, Mutate(members[target].Bytes, rng).Mutant);
        var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, bytes) in members)
            {
                using var s = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
                s.Write(bytes);
            }
        }
        return ms.ToArray();
    }

    /// <summary>
    /// A .edge mutant whose section checksums and header checksum are recomputed after mutating one
    /// section's bytes, so that the JSON, tensor table and graph checks are reached (docs/format.md).
    /// </summary>
    private static byte[]? FixEdgeChecksums(byte[] original, Random rng)
    {
        var b = (byte[])original.Clone();
        int sections = (int)BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(16));
        int pick = rng.Next(sections);
        int entry = 32 + 32 * pick;
        long offset = (long)BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(entry + 8));
        long length = (long)BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(entry + 16));
        if (length == 0) return null;
        // mutate inside the section only (no truncation or growth: the layout stays valid)
        int rounds = 1 + rng.Next(3);
        for (int r = 0; r < rounds; r++)
        {
            long at = offset + rng.NextInt64(length);
            switch (rng.Next(3))
            {
                case 0: b[at] ^= (byte)(1 << rng.Next(8)); break;
                case 1: b[at] = (byte)"0123456789-\"{}[],:e."[rng.Next(20)]; break;
                default:
                    if (at + 4 <= offset + length)
                        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan((int)at), rng.Next(2) == 0 ? 0xFFFFFFFF : (uint)rng.Next(1 << 20));
                    break;
            }
        }
        return RewriteChecksums(b);
    }

    /// <summary>Recomputes a .edge file's section checksums and header checksum after its sections were edited in place.</summary>
    internal static byte[] RewriteChecksums(byte[] b)
    {
        int sections = (int)BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(16));
        for (int s = 0; s < sections; s++)
        {
            int e = 32 + 32 * s;
            long o = (long)BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(e + 8));
            long l = (long)BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(e + 16));
            BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(e + 24), XxHash64.HashToUInt64(b.AsSpan((int)o, (int)l)));
        }
        var hash = new XxHash64();
        hash.Append(b.AsSpan(0, 24));
        hash.Append(b.AsSpan(32, 32 * sections));
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(24), hash.GetCurrentHashAsUInt64());
        return b;
    }
}
