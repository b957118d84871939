using Edge.Device;
using Edge.Runtime.Kernels;

namespace Edge.Runtime.Tests.Kernels;

[TestClass]
public sealed class SelfTestCommandTests
{
    [TestMethod]
    public void EdgeSelftest_PassesAndNamesEveryPath()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int rc = DeviceCli.Run(["selftest"], stdout, stderr);
        string text = stdout.ToString();
        Assert.AreEqual(0, rc, text + stderr);
        StringAssert.Contains(text, "selftest: PASS");
        Assert.DoesNotContain("FAIL", text);
        foreach (var isa in IsaSelector.Supported)
        {
            string name = IsaSelector.Name(isa);
            Assert.IsTrue(text.Split('\n').Any(l => l.TrimStart().StartsWith(name + " ", StringComparison.Ordinal) && l.Contains("int8 LSTM end to end", StringComparison.Ordinal) && l.Contains("PASS", StringComparison.Ordinal)),
                $"no passing end-to-end line for {name}:\n{text}");
            Assert.IsTrue(text.Split('\n').Any(l => l.TrimStart().StartsWith(name + " ", StringComparison.Ordinal) && l.Contains("int8 RNN tanh, relu", StringComparison.Ordinal) && l.Contains("PASS", StringComparison.Ordinal)),
                $"no passing RNN line for {name}:\n{text}");
        }
    }
}
