namespace Edge.Quantizer.Report;

/// <summary>Where the report of FILE.edge goes: FILE.report.json and FILE.report.html next to it.</summary>
internal static class ReportFiles
{
    public static (string Json, string Html) PathsFor(string blobPath)
    {
        ArgumentNullException.ThrowIfNull(blobPath);
        string stem = Path.GetExtension(blobPath).Equals(".edge", StringComparison.OrdinalIgnoreCase) ? blobPath[..^5] : blobPath;
        return (stem + ".report.json", stem + ".report.html");
    }

    public static void WriteJson(AccuracyReport report, string path) => File.WriteAllText(path, report.ToJsonString());

    public static void WriteHtml(AccuracyReport report, string path) => File.WriteAllText(path, HtmlReport.Render(report));
}
