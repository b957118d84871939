using Edge.Runtime.Tensors;

namespace Edge.Runtime.Tests.Tensors;

[TestClass]
public sealed class TensorOpsTests
{
    [TestMethod]
    public void CatThenStack_NListsOfMEmbeddings_BecomesNByMBy512()
    {
        const int n = 3, m = 4, d = 512;
        var lists = new List<IReadOnlyList<Tensor>>();
        for (int i = 0; i < n; i++)
        {
            var row = new List<Tensor>();
            for (int j = 0; j < m; j++)
            {
                var data = new float[d];
                for (int k = 0; k < d; k++) data[k] = i * 10000 + j * 1000 + k;
                row.Add(Tensor.FromArray(data, 1, d));
            }
            lists.Add(row);
        }
        var result = TensorOps.CatThenStack(lists);
        CollectionAssert.AreEqual(new[] { n, m, d }, result.ShapeArray());
        Assert.AreEqual(2 * 10000 + 3 * 1000 + 7f, result.Get<float>(2, 3, 7));
        Assert.AreEqual(1 * 10000 + 0 * 1000 + 511f, result.Get<float>(1, 0, 511));
    }

    [TestMethod]
    public void Stack_MismatchedShapes_NamesBothShapes()
    {
        var a = Tensor.Zeros<float>(1, 512);
        var b = Tensor.Zeros<float>(1, 256);
        var e = Assert.ThrowsExactly<EdgeException>(() => TensorOps.Stack(new[] { a, b }));
        StringAssert.Contains(e.Message, "(1, 512)");
        StringAssert.Contains(e.Message, "(1, 256)");
    }

    [TestMethod]
    public void Concat_MismatchedOtherAxis_Refused()
    {
        var a = Tensor.Zeros<float>(2, 3);
        var b = Tensor.Zeros<float>(2, 4);
        Assert.ThrowsExactly<EdgeException>(() => TensorOps.Concat(new[] { a, b }, 0));
        Assert.AreEqual(7, TensorOps.Concat(new[] { a, b }, 1).Dim(1));
    }
}
