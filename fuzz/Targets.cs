using Edge.Runtime.Contract;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.Device.Config;
using Edge.Device.Pipeline;
using Edge.Device.Sources;
using Edge.Quantizer.Import.Keras;
using Edge.Quantizer.Import.Onnx;
using Edge.Quantizer.Import.PyTorch;
using Edge.Runtime;
using Edge.Runtime.Format;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;
using Microsoft.Extensions.Logging.Abstractions;

namespace Edge.Fuzz;

/// <summary>
/// One entry point per parser. Each calls the public API the CLIs call on a user's file and lets only
/// the documented refusal (<see cref="EdgeException"/> and its subclasses, which the CLIs print as one
/// line and exit 1) through as a clean outcome; any other exception is a finding (it would be exit 70).
/// </summary>
internal static class Targets
{
    public sealed record Target(string Name, string Seeds, Action<byte[]> Run);

    public static readonly Target[] All =
    [
        new("edge", ".edge blobs: Runtime.Tests/Fixtures and any `edge-quantize convert` output", Edge),
        new("metadata", "the metadata JSON of the .edge seeds (edge-quantize inspect) and docs/config.md's metadata keys", Metadata),
        new("onnx", "*.onnx under Runtime.Tests/Fixtures/models", data => OnnxImporter.Import(data, "fuzz.onnx")),
        new("pt", "*.pt / *.pth (torch.save zips) under Runtime.Tests/Fixtures", data => StateDict.ReadPt(new MemoryStream(data), "fuzz.pt")),
        new("pickle", "the data.pkl member of the .pt fixtures (unzip -p FILE '*/data.pkl')", data => SafeUnpickler.LoadWithPlaceholders(data, "fuzz.pkl", out _)),
        new("safetensors", "*.safetensors under Runtime.Tests/Fixtures", data => SafeTensorsReader.Read(new MemoryStream(data), "fuzz.safetensors")),
        new("h5", "*.h5 under Runtime.Tests/Fixtures (Keras 2 HDF5)", data => KerasImporter.Import(data, "fuzz.h5")),
        new("keras", "*.keras under Runtime.Tests/Fixtures (Keras 3 zips)", data => KerasImporter.Import(data, "fuzz.keras")),
        new("npy", "*.npy under Runtime.Tests/Fixtures", data => Npy.Read(data, "fuzz.npy")),
        new("config", "the JSON example of docs/config.md and samples/*.json", Config),
        new("lines", "recorded sensor logs (samples/forecaster/holdout.csv) with a selector byte in front (see Lines)", Lines),
    ];

    public static Target? Find(string name) => Array.Find(All, t => t.Name == name);

    /// <summary>True for the outcomes a parser is allowed: success, or the documented one-line refusal.</summary>
    public static bool IsClean(Exception e) => e is EdgeException;

    /// <summary>A `.edge` file as `edge run` takes it: the blob, its metadata read as the device reads it, and a session.</summary>
    private static void Edge(byte[] data)
    {
        var (graph, metadata) = EdgeBlob.Read(data, "fuzz.edge");
        var model = new EdgeModel(graph, metadata);
        ModelSpecReader.Read(model, new RunConfig());
        model.CreateSession();
    }

    /// <summary>
    /// The blob's metadata as `edge run` reads it, past the blob's checksums (which a mutated `.edge`
    /// seldom gets past): the input is the metadata JSON, stored with a fixed window model (Dense over
    /// a (batch, window * features) input), read back, turned into the device's model spec and a stream.
    /// Input that is not a JSON object is skipped: the blob writer never stores such metadata.
    /// </summary>
    private static readonly UTF8Encoding StrictUtf8 = new(false, true);

    private static void Metadata(byte[] data)
    {
        JsonObject metadata;
        try
        {
            // JsonNode checks a string's UTF-8 only when it is read: refuse invalid text up front, as
            // any JSON file Edge reads would be (the blob writer would fail on it, not the reader).
            StrictUtf8.GetString(data);
            if (JsonNode.Parse(data, documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false, MaxDepth = 64 }) is not JsonObject o) return;
            metadata = o;
        }
        catch (Exception e) when (e is JsonException or DecoderFallbackException)
        {
            return;
        }
        const int window = 4, features = 3;
        var g = new Graph { Name = "fuzz" };
        g.Inputs.Add(new ValueInfo("x", DataType.Float32, [ValueInfo.Dynamic, window * features]));
        g.Outputs.Add(new ValueInfo("y", DataType.Float32, [ValueInfo.Dynamic, features]));
        g.Constants["W"] = Tensor.FromArray(new float[features * window * features], features, window * features);
        g.Constants["B"] = Tensor.FromArray(new float[features], features);
        g.Nodes.Add(new Node(OpKind.Dense, "head", ["x", "W", "B"], ["y"]));
        var (graph, meta) = EdgeBlob.Read(EdgeBlob.ToBytes(g, metadata), "fuzz.edge");
        var model = new EdgeModel(graph, meta);
        ModelSpecReader.Read(model, new RunConfig());
        model.CreateStream();
    }

    private static void Config(byte[] data) => RunConfigLoader.Parse(Encoding.UTF8.GetString(data), "fuzz.json");


    /// <summary>
    /// A device's byte stream through the serial source's path: <see cref="BoundedLineReader"/> then a
    /// line parser. Byte 0 picks the parser (csv by position, csv with configured columns and a time
    /// field, json, key=value), byte 1 the line limit (1..256), byte 2 the size of each read (1..256);
    /// the rest is the stream. Line parsers never throw: any exception at all is a finding.
    /// </summary>
    private static void Lines(byte[] data)
    {
        if (data.Length < 3) return;
        // Built here, not in a static field: instrumented code must not run before the fuzzer's
        // shared memory exists (SharpFuzz's coverage writes would crash the process at start-up).
        var spec = new ModelSpec(
            [new Feature("temperature", "°C"), new Feature("humidity", "%")], [0, 1], Normalization.Identity(2), TimeSpan.FromSeconds(60), 1);
        var map = new FieldMap(spec, new Dictionary<string, string> { ["t"] = "temperature", ["h"] = "humidity" }, "time");
        ILineParser parser = (data[0] % 4) switch
        {
            0 => new CsvLineParser(map),
            1 => new CsvLineParser(map, ["time", "h", "skip", "t"], ';'),
            2 => new JsonLineParser(map),
            _ => new KeyValueLineParser(map),
        };
        var counters = new DeviceCounters();
        var reader = new LineSampleReader(parser, 2, counters, new LogLimiter(NullLogger.Instance, TimeSpan.FromSeconds(30)), "fuzz");
        var lines = new BoundedLineReader(new ChunkedStream(data.AsMemory(3), 1 + data[2]), 1 + data[1], partialLastLineIsLine: data[0] % 8 >= 4);
        // Every line consumes at least one byte (its newline) except the last: this many reads end it.
        for (int i = 0; i <= data.Length; i++)
        {
            var line = lines.ReadLineAsync().AsTask().GetAwaiter().GetResult();
            if (line.Status == LineStatus.End) return;
            if (line.Status == LineStatus.Line && Encoding.UTF8.GetByteCount(line.Text!) > 1 + data[1])
                throw new InvalidOperationException($"a line of {line.Text!.Length} chars passed a limit of {1 + data[1]} bytes");
            if (reader.TryConvert(line, out var sample) && sample.Values.Length != 2)
                throw new InvalidOperationException("a sample without one value per feature");
        }
        throw new InvalidOperationException("the line reader did not reach the end of a finite stream");
    }

    private sealed class ChunkedStream(ReadOnlyMemory<byte> data, int chunk) : Stream
    {
        private int _at;

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            int n = Math.Min(Math.Min(buffer.Length, chunk), data.Length - _at);
            data.Span.Slice(_at, n).CopyTo(buffer);
            _at += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => new(Read(buffer.Span));

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => data.Length;
        public override long Position { get => _at; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
