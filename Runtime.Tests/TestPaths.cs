using System.Reflection;

namespace Edge.Runtime.Tests;

/// <summary>Where the repository, its fixtures and the shared real models are, wherever the tests were built to.</summary>
internal static class TestPaths
{
    public static string RepoRoot { get; } = Path.GetFullPath(
        typeof(TestPaths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().First(a => a.Key == "RepoRoot").Value!);

    /// <summary>Runtime.Tests/Fixtures, made by tools/make_fixtures.py.</summary>
    public static string Fixtures => Path.Combine(RepoRoot, "Runtime.Tests", "Fixtures");

    /// <summary>../shared/models: real Keras models published by other people (not part of the product).</summary>
    public static string SharedModels => Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "models"));

    /// <summary>ONNX's node conformance tests (Debian libonnx-testdata).</summary>
    public const string OnnxNodeTests = "/usr/share/libonnx-testdata/data/node";

    public static string NewTempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "edge-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
