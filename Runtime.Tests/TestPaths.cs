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

    /// <summary>
    /// ../shared/models/<paramref name="file"/>, or the calling test is skipped (Inconclusive, the same in
    /// the parent and in child test processes): those third-party models are extra checks when the checkout
    /// sits next to them; the repository's own fixtures (tools/make_keras_fixtures.py) cover the same layer
    /// kinds, so a plain clone passes without them.
    /// </summary>
    public static string SharedModel(string file)
    {
        string path = Path.Combine(SharedModels, file);
        if (!File.Exists(path)) SkippedTests.Inconclusive(SkippedTests.SharedModels, $"{path} is not present (third-party model, an extra check)");
        return path;
    }

    /// <summary>ONNX's node conformance tests (Debian libonnx-testdata).</summary>
    public const string OnnxNodeTests = "/usr/share/libonnx-testdata/data/node";

    public static string NewTempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "edge-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
