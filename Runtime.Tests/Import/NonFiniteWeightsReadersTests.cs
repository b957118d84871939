using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using Edge.Runtime.Tests.EndToEnd;
using Google.Protobuf;
using Onnx;

namespace Edge.Runtime.Tests.Import;

/// <summary>
/// A model whose float weights are all NaN (issue 17): fp32 and int8 must give the same one-line refusal,
/// naming the file and the weights, whichever reader the weights came through (ONNX, a safetensors
/// state_dict with a spec).
/// </summary>
[TestClass]
public sealed class NonFiniteWeightsReadersTests
{
    private static string AllNanOnnx()
    {
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(TestPaths.Fixtures, "models", "lstm_multilayer", "model.onnx")));
        int floats = 0;
        foreach (var t in model.Graph.Initializer.Where(t => t.DataType == (int)TensorProto.Types.DataType.Float))
        {
            var bytes = t.RawData.ToByteArray();
            for (int i = 0; i + 4 <= bytes.Length; i += 4) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i), float.NaN);
            t.RawData = ByteString.CopyFrom(bytes);
            floats++;
        }
        Assert.IsGreaterThan(0, floats);
        string path = Path.Combine(TestPaths.NewTempDir(), "allnan.onnx");
        File.WriteAllBytes(path, model.ToByteArray());
        return path;
    }

    private static string AllNanSafetensors()
    {
        string src = Path.Combine(TestPaths.Fixtures, "pt", "dual_encoder");
        var bytes = File.ReadAllBytes(Path.Combine(src, "model.safetensors"));
        long headerLength = BinaryPrimitives.ReadInt64LittleEndian(bytes);
        var header = JsonNode.Parse(Encoding.UTF8.GetString(bytes, 8, (int)headerLength))!.AsObject();
        int floats = 0;
        foreach (var (name, entry) in header)
        {
            if (name == "__metadata__" || entry!["dtype"]!.GetValue<string>() != "F32") continue;
            var range = entry["data_offsets"]!.AsArray();
            for (long at = 8 + headerLength + range[0]!.GetValue<long>(); at < 8 + headerLength + range[1]!.GetValue<long>(); at += 4)
                BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan((int)at), float.NaN);
            floats++;
        }
        Assert.IsGreaterThan(0, floats);
        string dir = TestPaths.NewTempDir();
        File.WriteAllBytes(Path.Combine(dir, "allnan.safetensors"), bytes);
        File.Copy(Path.Combine(src, "spec.json"), Path.Combine(dir, "spec.json"));
        return Path.Combine(dir, "allnan.safetensors");
    }

    [TestMethod]
    public void AllNanModel_GetsTheSameNamedRefusalInBothPrecisions()
    {
        foreach (var (model, extra) in new[] { (AllNanOnnx(), Array.Empty<string>()), (AllNanSafetensors(), new[] { "--spec", "" }) })
        {
            var args = extra.Length == 0 ? extra : ["--spec", Path.Combine(Path.GetDirectoryName(model)!, "spec.json")];
            var messages = new List<string>();
            foreach (var precision in new[] { "fp32", "int8" })
            {
                var r = EdgeCli.Quantize(["convert", model, "--output", Path.Combine(TestPaths.NewTempDir(), "m.edge"), "--precision", precision, "--quiet", .. args]);
                Assert.AreEqual(1, r.ExitCode, r.ToString());
                Assert.AreEqual(1, r.Stderr.TrimEnd().Split('\n').Length, r.ToString());
                StringAssert.Contains(r.Stderr, $"{Path.GetFileName(model)}: weight '", r.ToString());
                StringAssert.Contains(r.Stderr, "NaN values", r.ToString());
                messages.Add(r.Stderr[..r.Stderr.IndexOf("; ", StringComparison.Ordinal)]);
            }
            Assert.AreEqual(messages[0], messages[1], $"{model}: fp32 and int8 name different weights");
        }
    }
}
