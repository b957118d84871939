using System.Globalization;
using Edge.Runtime;
using Edge.Runtime.Format;
using Google.Protobuf;
using Onnx;
using OnnxType = Onnx.TensorProto.Types.DataType;

namespace Edge.Quantizer.Import.Onnx;

/// <summary>
/// ONNX external data (onnx.save_model(..., save_as_external_data=True), what torch 2.x exports large
/// models with): a tensor whose data_location is EXTERNAL names a file by its external_data entries
/// <c>location</c> (a path relative to the model's folder), <c>offset</c> and <c>length</c>. Its bytes are
/// read into raw_data before conversion, so the rest of the importer sees a self-contained model. The
/// file must lie in the model's own folder or below it: no absolute path, no "..", no symlink (of the file
/// or a folder on the way) whose target leaves the folder. offset + length must lie inside the file,
/// length must equal the tensor's elements x item size (checked in overflow-safe arithmetic before a byte
/// is allocated), and all external tensors together may hold at most <see cref="MaxTotalBytes"/>.
/// </summary>
internal static class OnnxExternalData
{
    /// <summary>External bytes read for one model at most: a model for a Raspberry Pi is far smaller.</summary>
    public const long MaxTotalBytes = 1L << 30;

    private const int MaxGraphDepth = 16;

    /// <summary>True when some tensor of <paramref name="model"/> keeps its data outside the model file.</summary>
    public static bool Any(ModelProto model) => Tensors(model.Graph, 0).Any(IsExternal);

    /// <summary>Reads every external tensor of <paramref name="model"/> from the folder of <paramref name="modelPath"/>.</summary>
    public static void Resolve(ModelProto model, string modelPath)
    {
        string name = Path.GetFileName(modelPath);
        string folder = RealPath(Path.GetDirectoryName(Path.GetFullPath(modelPath))!);
        long total = 0;
        foreach (var t in Tensors(model.Graph, 0).Where(IsExternal).ToList())
        {
            string what = $"{name}: tensor '{MessageText.Printable(t.Name, 120)}'";
            string? location = null;
            long? offset = null, length = null;
            foreach (var e in t.ExternalData)
            {
                switch (e.Key)
                {
                    case "location": location = e.Value; break;
                    case "offset": offset = Number(e.Value, what, "offset"); break;
                    case "length": length = Number(e.Value, what, "length"); break;
                }
            }
            if (string.IsNullOrEmpty(location)) throw new EdgeFormatException($"{what} keeps its data externally but names no 'location'");
            string file = Inside(folder, location, what);
            long fileLength = new FileInfo(file).Length;
            long start = offset ?? 0;
            long count = length ?? fileLength - start;
            if (start > fileLength || count > fileLength - start)
                throw new EdgeFormatException($"{what}: offset {start} + length {count} runs past the end of '{MessageText.Printable(location, 120)}' ({fileLength} bytes)");
            long expected = ExpectedBytes(t, what);
            if (count != expected)
                throw new EdgeFormatException($"{what}: its external data holds {count} bytes, but its shape and type need {expected}");
            if (count > MaxTotalBytes - total)
                throw new EdgeFormatException($"{what}: the external data of this model would pass {MaxTotalBytes} bytes; Edge reads models for small devices");
            total += count;
            var bytes = new byte[count];
            using (var s = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read))
            {
                s.Position = start;
                s.ReadExactly(bytes);
            }
            t.RawData = ByteString.CopyFrom(bytes);
            t.ExternalData.Clear();
            t.DataLocation = TensorProto.Types.DataLocation.Default;
        }
    }

    private static bool IsExternal(TensorProto t) => t.DataLocation == TensorProto.Types.DataLocation.External;

    /// <summary>Initializers and tensor-valued node attributes, in subgraphs too (where onnx's external-data helper looks).</summary>
    private static IEnumerable<TensorProto> Tensors(GraphProto? graph, int depth)
    {
        if (graph is null || depth > MaxGraphDepth) yield break;
        foreach (var t in graph.Initializer) yield return t;
        foreach (var node in graph.Node)
        {
            foreach (var a in node.Attribute)
            {
                if (a.T is not null) yield return a.T;
                foreach (var t in a.Tensors) yield return t;
                foreach (var t in Tensors(a.G, depth + 1)) yield return t;
                foreach (var g in a.Graphs)
                    foreach (var t in Tensors(g, depth + 1)) yield return t;
            }
        }
    }

    private static long Number(string text, string what, string key) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long v)
            ? v
            : throw new EdgeFormatException($"{what}: external data '{key}' is '{MessageText.Printable(text, 40)}', not a non-negative integer");

    private static long ExpectedBytes(TensorProto t, string what)
    {
        int itemSize = (OnnxType)t.DataType switch
        {
            OnnxType.Float or OnnxType.Int32 or OnnxType.Uint32 => 4,
            OnnxType.Double or OnnxType.Int64 or OnnxType.Uint64 => 8,
            OnnxType.Float16 or OnnxType.Bfloat16 or OnnxType.Int16 or OnnxType.Uint16 => 2,
            OnnxType.Int8 or OnnxType.Uint8 or OnnxType.Bool => 1,
            _ => throw new UnsupportedModelException($"{what} has data type {OnnxTensors.TypeName(t.DataType)} in external data; Edge supports FLOAT, DOUBLE (read as float32), INT64, INT32 and INT8"),
        };
        long bytes = itemSize;
        foreach (long d in t.Dims)
        {
            if (d < 0 || (d > 0 && bytes > MaxTotalBytes / d))
                throw new EdgeFormatException($"{what}: shape [{string.Join(", ", t.Dims)}] is negative or larger than Edge reads ({MaxTotalBytes} bytes)");
            bytes *= d;
        }
        return bytes;
    }

    /// <summary>The file <paramref name="location"/> names, checked to lie inside <paramref name="folder"/> (a real path).</summary>
    private static string Inside(string folder, string location, string what)
    {
        string shown = MessageText.Printable(location, 120);
        if (Path.IsPathRooted(location) || location.Contains(':', StringComparison.Ordinal) || location.Contains('\0', StringComparison.Ordinal))
            throw new EdgeFormatException($"{what}: external data location '{shown}' is not a path relative to the model's folder");
        var parts = location.Split('/', '\\');
        if (parts.Any(p => p is ".." || p.Length == 0))
            throw new EdgeFormatException($"{what}: external data location '{shown}' leaves the model's folder (or has an empty part); Edge reads external data only from the model's folder");
        string path = folder;
        foreach (var part in parts)
        {
            if (part == ".") continue;
            path = Path.Combine(path, part);
            // a symlink may point anywhere: follow it, and the target must still be inside the folder
            FileSystemInfo info = Directory.Exists(path) ? new DirectoryInfo(path) : new FileInfo(path);
            if (info.LinkTarget is not null)
            {
                string target = info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path;
                if (!IsUnder(folder, RealPath(target)))
                    throw new EdgeFormatException($"{what}: external data location '{shown}' is a symlink that leaves the model's folder");
            }
        }
        if (!File.Exists(path))
            throw new EdgeFormatException($"{what}: its external data file '{shown}' is not in the model's folder (copy it next to the model)");
        // the file itself, not a link to it (a link's own length is that of its target path)
        string real = RealPath(path);
        if (!IsUnder(folder, real))
            throw new EdgeFormatException($"{what}: external data location '{shown}' resolves outside the model's folder");
        return real;
    }

    private static bool IsUnder(string folder, string path) =>
        path.StartsWith(folder.EndsWith(Path.DirectorySeparatorChar) ? folder : folder + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    /// <summary>The full path with every symlink on the way resolved (the model's folder may itself be reached through one).</summary>
    private static string RealPath(string path)
    {
        string full = Path.GetFullPath(path);
        string root = Path.GetPathRoot(full)!;
        string current = root;
        foreach (var part in full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            current = Path.Combine(current, part);
            FileSystemInfo info = Directory.Exists(current) ? new DirectoryInfo(current) : new FileInfo(current);
            if (info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is { } target)
                current = RealPath(target.FullName);
        }
        return current;
    }
}
