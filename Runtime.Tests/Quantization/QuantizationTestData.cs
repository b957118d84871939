using System.Globalization;
using System.Text;
using Edge.Runtime.Tensors;

namespace Edge.Runtime.Tests.Quantization;

/// <summary>Recordings and metadata for the report tests, made by plain code the tests can read.</summary>
internal static class QuantizationTestData
{
    public static string Fixture(string name, string file) => Path.Combine(TestPaths.Fixtures, "models", name, file);

    /// <summary>A smooth 6-feature recording of <paramref name="rows"/> samples in "sensor units" (value = row, feature).</summary>
    public static double Value(int row, int feature) => 20 + 5 * feature + (3 + feature) * Math.Sin(0.3 * row + feature) + 0.01 * row;

    /// <summary>CSV: timestamp, f0..f5 (header names), one row per sample; returns the path.</summary>
    public static string WriteRecordingCsv(string dir, int rows, string name = "recording.csv")
    {
        var sb = new StringBuilder("timestamp,f0,f1,f2,f3,f4,f5\n");
        var t0 = new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        for (int r = 0; r < rows; r++)
        {
            sb.Append(t0.AddMinutes(r).ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture));
            for (int f = 0; f < 6; f++) sb.Append(',').Append(((float)Value(r, f)).ToString("R", CultureInfo.InvariantCulture));
            sb.Append('\n');
        }
        string path = Path.Combine(dir, name);
        File.WriteAllText(path, sb.ToString());
        return path;
    }

    /// <summary>Metadata for the fixture forecaster with features f0..f5 and a min-max normalization over [min, max] of each feature's values.</summary>
    public static string WriteForecasterMetadata(string dir, int rows)
    {
        var min = new double[6];
        var max = new double[6];
        for (int f = 0; f < 6; f++)
        {
            min[f] = double.MaxValue;
            max[f] = double.MinValue;
            for (int r = 0; r < rows; r++) { double v = (float)Value(r, f); min[f] = Math.Min(min[f], v); max[f] = Math.Max(max[f], v); }
        }
        string Arr(double[] a) => "[" + string.Join(", ", a.Select(v => v.ToString("R", CultureInfo.InvariantCulture))) + "]";
        string json = $$"""
            {"task": "forecaster", "features": [{"name": "f0", "unit": "degC"}, {"name": "f1", "unit": "%"}, "f2", "f3", "f4", "f5"],
             "normalization": {"kind": "minmax", "min": {{Arr(min)}}, "max": {{Arr(max)}}}, "horizon": 1}
            """;
        string path = Path.Combine(dir, "meta.json");
        File.WriteAllText(path, json);
        return path;
    }

    /// <summary>The dual encoder fixture's pairs regrouped: each of the first 4 contexts followed by 4 of the responses.</summary>
    public static (string Context, string Response) WriteGroupedPairs(string dir)
    {
        var context = Npy.Read(Fixture("dual_encoder", "context.npy"));
        var response = Npy.Read(Fixture("dual_encoder", "response.npy"));
        int lc = context.Dim(1), lr = response.Dim(1);
        var c = context.ToInt64Array();
        var r = response.ToInt64Array();
        var cc = new long[16 * lc];
        var rr = new long[16 * lr];
        for (int g = 0; g < 4; g++)
            for (int k = 0; k < 4; k++)
            {
                int row = g * 4 + k;
                Array.Copy(c, g * lc, cc, row * lc, lc);
                Array.Copy(r, ((g + k * 5) % 16) * lr, rr, row * lr, lr);
            }
        string cp = Path.Combine(dir, "ctx.npy"), rp = Path.Combine(dir, "resp.npy");
        Npy.Write(cp, Tensor.FromArray(cc, 16, lc));
        Npy.Write(rp, Tensor.FromArray(rr, 16, lr));
        return (cp, rp);
    }
}
