// ort-run MODEL.onnx DIR: feeds DIR/in_<i>.npy under the names in DIR/inputs.json (written by
// tools/corpus/reference.py) to ONNX Runtime and writes each output as DIR/ref_<name>.npy.
using System.Text.Json;
using Edge.Runtime.Tensors;
using Microsoft.ML.OnnxRuntime;
using OrtTensors = Microsoft.ML.OnnxRuntime.Tensors;

if (args.Length != 2)
{
    Console.Error.WriteLine("usage: ort-run MODEL.onnx DIR");
    return 2;
}
try
{
    string dir = args[1];
    string[] names = JsonSerializer.Deserialize<string[]>(File.ReadAllText(Path.Combine(dir, "inputs.json")))
        ?? throw new InvalidDataException("inputs.json holds no list of names");
    var feeds = new List<NamedOnnxValue>();
    for (int i = 0; i < names.Length; i++)
    {
        Tensor t = Npy.Read(Path.Combine(dir, $"in_{i}.npy")).Contiguous();
        int[] dims = t.ShapeArray();
        feeds.Add(t.DataType switch
        {
            DataType.Float32 => NamedOnnxValue.CreateFromTensor(names[i], new OrtTensors.DenseTensor<float>(t.ReadOnlySpan<float>().ToArray(), dims)),
            DataType.Int64 => NamedOnnxValue.CreateFromTensor(names[i], new OrtTensors.DenseTensor<long>(t.ReadOnlySpan<long>().ToArray(), dims)),
            DataType.Int32 => NamedOnnxValue.CreateFromTensor(names[i], new OrtTensors.DenseTensor<int>(t.ReadOnlySpan<int>().ToArray(), dims)),
            _ => throw new InvalidDataException($"input '{names[i]}': {t.DataType} is not fed by ort-run"),
        });
    }
    using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
    using var session = new InferenceSession(args[0], options);
    using var results = session.Run(feeds);
    foreach (var r in results)
    {
        Tensor output = r.Value switch
        {
            OrtTensors.Tensor<float> f => Tensor.FromArray(f.ToArray(), f.Dimensions.ToArray()),
            OrtTensors.Tensor<long> l => Tensor.FromArray(l.ToArray().Select(v => (float)v).ToArray(), l.Dimensions.ToArray()),
            _ => throw new InvalidDataException($"output '{r.Name}' has an element type ort-run does not write"),
        };
        Npy.Write(Path.Combine(dir, "ref_" + r.Name.Replace('/', '_').Replace('\\', '_') + ".npy"), output);
    }
    return 0;
}
catch (Exception e) // any failure of a corpus file is a result to record, in one line
{
    Console.Error.WriteLine($"ort-run: {e.GetType().Name}: {e.Message.Split('\n')[0]}");
    return 1;
}
