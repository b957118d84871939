using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Edge.Quantizer;
using Edge.Runtime;
using Edge.Runtime.Ir;
using Edge.Runtime.Streaming;
using Edge.Runtime.Tensors;

namespace Edge.Perf;

/// <summary>
/// `--fingerprint ROOT OUT`: converts every model file under ROOT (fp32 and int8), runs each blob in a batch
/// session and, where the blob streams, in a ForecastStream (projection cache auto and off), on deterministic
/// inputs, and writes one line per run with the sha256 of the output bytes (or the refusal's type and first
/// line). Run it before and after a refactor that must not change behaviour and diff the two files
/// (tools/fingerprint.sh does both, per EDGE_ISA path). It is a comparison tool, not a golden: the values it
/// hashes come from Edge itself.
/// </summary>
public static class Fingerprint
{
    public static int Run(string[] args)
    {
        if (args.Length != 2)
        {
            Console.Error.WriteLine("usage: --fingerprint ROOT OUT");
            return 2;
        }
        string root = Path.GetFullPath(args[0]);
        s_root = root;
        var lines = new List<string>();
        string work = Directory.CreateTempSubdirectory("edge-fingerprint-").FullName;
        try
        {
            foreach (string model in Models(root))
            {
                string rel = Path.GetRelativePath(root, model).Replace('\\', '/');
                foreach (Precision precision in new[] { Precision.Fp32, Precision.Int8 })
                {
                    string tag = $"{rel} {precision.ToString().ToLowerInvariant()}";
                    string blob = Path.Combine(work, "m.edge");
                    File.Delete(blob);
                    try
                    {
                        string? spec = SpecFor(model);
                        Converter.Convert(new ConvertOptions(model, blob, precision, SpecPath: spec), TextWriter.Null, TextWriter.Null);
                    }
                    catch (Exception e)
                    {
                        lines.Add($"{tag} convert refused {Describe(e)}");
                        continue;
                    }
                    lines.Add($"{tag} blob {Sha(File.ReadAllBytes(blob))}");
                    EdgeModel loaded;
                    try { loaded = EdgeModel.Load(blob); }
                    catch (Exception e) { lines.Add($"{tag} load refused {Describe(e)}"); continue; }
                    lines.Add($"{tag} batch {RunBatch(loaded, rel)}");
                    foreach (ProjectionCache cache in new[] { ProjectionCache.Auto, ProjectionCache.Off })
                        lines.Add($"{tag} stream-{cache.ToString().ToLowerInvariant()} {RunStream(loaded, rel, cache)}");
                }
                Console.Error.WriteLine(rel);
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
        File.WriteAllLines(args[1], lines);
        Console.Error.WriteLine($"{lines.Count} lines -> {args[1]}");
        return 0;
    }

    static IEnumerable<string> Models(string root)
    {
        string[] extensions = [".onnx", ".h5", ".keras", ".pt", ".pth", ".safetensors"];
        return Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Where(f => extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
            .Where(f => !f.Contains("/bin/", StringComparison.Ordinal) && !f.Contains("/obj/", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);
    }

    // A PyTorch state_dict needs the spec beside it: spec.json, or NAME.spec.json / NAME.json for model NAME.pt.
    static string? SpecFor(string model)
    {
        string ext = Path.GetExtension(model).ToLowerInvariant();
        if (ext is not (".pt" or ".pth" or ".safetensors")) return null;
        string dir = Path.GetDirectoryName(model)!;
        string stem = Path.GetFileNameWithoutExtension(model);
        foreach (string candidate in new[] { $"{stem}.spec.json", $"{stem}_spec.json", "spec.json" })
        {
            string path = Path.Combine(dir, candidate);
            if (File.Exists(path)) return path;
        }
        return null;
    }

    static string RunBatch(EdgeModel model, string rel)
    {
        try
        {
            var session = model.CreateSession();
            var inputs = new Dictionary<string, Tensor>();
            var random = new Lcg(rel);
            foreach (ValueInfo input in session.Inputs)
                inputs[input.Name] = MakeInput(input, random);
            var outputs = session.Run(inputs);
            var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            foreach (var (name, tensor) in outputs.OrderBy(o => o.Key, StringComparer.Ordinal))
            {
                hash.AppendData(Encoding.UTF8.GetBytes(name + string.Join(",", tensor.Shape.ToArray())));
                hash.AppendData(tensor.Contiguous().Bytes());
            }
            return Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant()[..16];
        }
        catch (Exception e)
        {
            return "refused " + Describe(e);
        }
    }

    static string RunStream(EdgeModel model, string rel, ProjectionCache cache)
    {
        ForecastStream stream;
        try { stream = model.CreateStream(new StreamOptions { CacheProjections = cache }); }
        catch (Exception e) { return "refused " + Describe(e); }
        var random = new Lcg(rel + "/stream");
        var sample = new float[stream.InputFeatures];
        var forecast = new float[stream.ForecastLength];
        var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        int produced = 0;
        try
        {
            for (int i = 0; i < 2 * stream.Window + 3; i++)
            {
                for (int f = 0; f < sample.Length; f++) sample[f] = random.NextFloat();
                if (stream.TryPush(sample, forecast))
                {
                    produced++;
                    hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(forecast.AsSpan()));
                }
            }
        }
        catch (Exception e)
        {
            return $"failed after {produced} " + Describe(e);
        }
        return $"{produced} {Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant()[..16]}";
    }

    static Tensor MakeInput(ValueInfo input, Lcg random)
    {
        int[] shape = new int[input.Shape.Length];
        for (int i = 0; i < shape.Length; i++)
            shape[i] = input.Shape[i] >= 0 ? input.Shape[i] : (i == 0 ? 2 : 5);
        var tensor = Tensor.Zeros(input.DataType, shape);
        switch (input.DataType)
        {
            case DataType.Float32:
                foreach (ref float v in tensor.Span<float>()) v = random.NextFloat();
                break;
            case DataType.Int64:
                foreach (ref long v in tensor.Span<long>()) v = random.Next(3);
                break;
            case DataType.Int32:
                foreach (ref int v in tensor.Span<int>()) v = random.Next(3);
                break;
        }
        return tensor;
    }

    static string s_root = "";

    // Paths under ROOT are printed relative to it, so two checkouts give the same lines.
    static string Describe(Exception e)
    {
        string message = e.Message.Split('\n')[0].Replace(s_root + "/", "", StringComparison.Ordinal);
        return $"{e.GetType().Name}: {message}";
    }

    static string Sha(byte[] bytes) => Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant()[..16];

    /// <summary>Deterministic across runs and machines (unlike string.GetHashCode or System.Random's seeding).</summary>
    sealed class Lcg
    {
        ulong _state;

        public Lcg(string seed)
        {
            _state = 1469598103934665603UL;
            foreach (byte b in Encoding.UTF8.GetBytes(seed)) _state = (_state ^ b) * 1099511628211UL;
        }

        public int Next(int bound)
        {
            _state = _state * 6364136223846793005UL + 1442695040888963407UL;
            return (int)((_state >> 33) % (ulong)bound);
        }

        public float NextFloat()
        {
            _state = _state * 6364136223846793005UL + 1442695040888963407UL;
            return (float)((_state >> 40) / (double)(1UL << 24) * 2.0 - 1.0);
        }
    }
}
