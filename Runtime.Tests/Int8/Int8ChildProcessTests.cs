using Edge.Runtime.Kernels;

namespace Edge.Runtime.Tests.Int8;

/// <summary>
/// Runs <see cref="Int8LayerTests"/> and the models' cross-path bit-identity test again in child processes
/// with instruction sets switched off (as Kernels/KernelChildProcessTests does for the kernels): the int8
/// layers then run on the narrower paths and on the runtime's non-accelerated fallbacks (TensorPrimitives
/// without AVX2, or without any hardware intrinsic), and must still match the reference and agree bit for
/// bit across the paths that remain.
/// </summary>
[TestClass]
public sealed class Int8ChildProcessTests
{
    private const string ChildVariable = "EDGE_INT8_CHILD";

    public static IEnumerable<object[]> Switches =>
    [
        ["DOTNET_EnableAVX512F=0;DOTNET_EnableAVX512=0"],
        ["DOTNET_EnableAVX2=0"],
        ["DOTNET_EnableHWIntrinsic=0"],
    ];

    [TestMethod]
    [DynamicData(nameof(Switches))]
    public void Int8LayerAndModelTestsPass_WithIsaSwitchedOff(string environment)
    {
        if (Environment.GetEnvironmentVariable(ChildVariable) is not null) Assert.Inconclusive("already a child process");
        string filter = $"FullyQualifiedName~{typeof(Int8LayerTests).FullName}|FullyQualifiedName~{nameof(Int8ModelTests.Int8Model_TakesEveryInt8WeightAsInt8_AndIsBitIdenticalOnEveryIsa)}";
        ChildTestRun.Run(filter, environment, new Dictionary<string, string> { [ChildVariable] = "1" }, TimeSpan.FromMinutes(5));
    }
}
