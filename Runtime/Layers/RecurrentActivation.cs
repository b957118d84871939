using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using Edge.Runtime.Ir;

namespace Edge.Runtime.Layers;

/// <summary>The activation functions a recurrent cell may use for its gates (ONNX RNN/GRU/LSTM names, plus Linear).</summary>
internal enum RecurrentActivationKind
{
    Sigmoid,
    Tanh,
    Relu,
    HardSigmoid,
    LeakyRelu,
    ThresholdedRelu,
    ScaledTanh,
    Affine,
    Elu,
    Softsign,
    Softplus,
    Linear,
}

/// <summary>
/// One gate activation with its parameters, applied in place to a span of pre-activations.
/// Sigmoid and Tanh (the common case) go through TensorPrimitives; the others are plain loops.
/// </summary>
internal readonly struct RecurrentActivation
{
    public RecurrentActivation(RecurrentActivationKind kind, float alpha, float beta)
    {
        Kind = kind;
        Alpha = alpha;
        Beta = beta;
    }

    public RecurrentActivationKind Kind { get; }
    public float Alpha { get; }
    public float Beta { get; }

    public void Apply(Span<float> x)
    {
        switch (Kind)
        {
            case RecurrentActivationKind.Sigmoid:
                TensorPrimitives.Sigmoid(x, x);
                break;
            case RecurrentActivationKind.Tanh:
                TensorPrimitives.Tanh(x, x);
                break;
            case RecurrentActivationKind.Relu:
                TensorPrimitives.Max(x, 0f, x);
                break;
            case RecurrentActivationKind.HardSigmoid:
                for (int i = 0; i < x.Length; i++) x[i] = Math.Clamp(Alpha * x[i] + Beta, 0f, 1f);
                break;
            case RecurrentActivationKind.LeakyRelu:
                for (int i = 0; i < x.Length; i++) if (x[i] < 0f) x[i] *= Alpha;
                break;
            case RecurrentActivationKind.ThresholdedRelu:
                for (int i = 0; i < x.Length; i++) if (!(x[i] > Alpha)) x[i] = 0f;
                break;
            case RecurrentActivationKind.ScaledTanh:
                TensorPrimitives.Multiply(x, Beta, x);
                TensorPrimitives.Tanh(x, x);
                TensorPrimitives.Multiply(x, Alpha, x);
                break;
            case RecurrentActivationKind.Affine:
                TensorPrimitives.Multiply(x, Alpha, x);
                TensorPrimitives.Add(x, Beta, x);
                break;
            case RecurrentActivationKind.Elu:
                for (int i = 0; i < x.Length; i++) if (x[i] < 0f) x[i] = Alpha * (MathF.Exp(x[i]) - 1f);
                break;
            case RecurrentActivationKind.Softsign:
                for (int i = 0; i < x.Length; i++) x[i] /= 1f + MathF.Abs(x[i]);
                break;
            case RecurrentActivationKind.Softplus:
                // log(1 + e^x) without overflow for large x: x + log(1 + e^-x).
                for (int i = 0; i < x.Length; i++)
                {
                    float v = x[i];
                    x[i] = v > 0f ? v + MathF.Log(1f + MathF.Exp(-v)) : MathF.Log(1f + MathF.Exp(v));
                }
                break;
            case RecurrentActivationKind.Linear:
                break;
        }
    }

    public override string ToString() => Kind switch
    {
        RecurrentActivationKind.HardSigmoid or RecurrentActivationKind.ScaledTanh or RecurrentActivationKind.Affine => $"{Kind}({Alpha}, {Beta})",
        RecurrentActivationKind.LeakyRelu or RecurrentActivationKind.ThresholdedRelu or RecurrentActivationKind.Elu => $"{Kind}({Alpha})",
        _ => Kind.ToString(),
    };

    /// <summary>
    /// Reads the node's <c>activations</c>, <c>activation_alpha</c> and <c>activation_beta</c>:
    /// <c>perDirection</c> functions per direction (forward first), falling back to
    /// <paramref name="defaults"/>. As in ONNX (and ONNX Runtime), the alpha and beta lists are
    /// consumed in order by the functions that take an alpha (or a beta); a function whose value is
    /// not in the list gets the ONNX default; values left over are ignored, as ONNX Runtime does.
    /// A list of one direction's functions is used for both directions of a bidirectional layer.
    /// </summary>
    public static RecurrentActivation[] Parse(Node node, int directions, ReadOnlySpan<string> defaults)
    {
        int perDirection = defaults.Length;
        string[] names = node.GetStrings("activations") ?? defaults.ToArray();
        if (names.Length == perDirection && directions == 2)
            names = [.. names, .. names];
        if (names.Length != perDirection * directions)
            throw new EdgeException(
                $"node '{node.Name}' ({node.Kind}): attribute 'activations' has {names.Length} functions; " +
                $"expected {perDirection * directions} ({perDirection} per direction, {directions} direction{(directions == 1 ? "" : "s")})");
        float[] alphas = node.GetFloats("activation_alpha") ?? [];
        float[] betas = node.GetFloats("activation_beta") ?? [];
        int nextAlpha = 0, nextBeta = 0;
        var result = new RecurrentActivation[names.Length];
        for (int i = 0; i < names.Length; i++)
        {
            if (!TryParseKind(names[i], out var kind))
                throw new EdgeException(
                    $"node '{node.Name}' ({node.Kind}): activation '{names[i]}' is not supported; use one of " +
                    "Sigmoid, Tanh, Relu, HardSigmoid, LeakyRelu, ThresholdedRelu, ScaledTanh, Affine, Elu, Softsign, Softplus, Linear");
            var (alpha, beta) = Defaults(kind);
            if (TakesAlpha(kind) && nextAlpha < alphas.Length) alpha = alphas[nextAlpha++];
            if (TakesBeta(kind) && nextBeta < betas.Length) beta = betas[nextBeta++];
            result[i] = new RecurrentActivation(kind, alpha, beta);
        }
        return result;
    }

    private static bool TryParseKind(string name, out RecurrentActivationKind kind)
    {
        switch (name.ToLowerInvariant())
        {
            case "sigmoid": kind = RecurrentActivationKind.Sigmoid; return true;
            case "tanh": kind = RecurrentActivationKind.Tanh; return true;
            case "relu": kind = RecurrentActivationKind.Relu; return true;
            case "hardsigmoid": kind = RecurrentActivationKind.HardSigmoid; return true;
            case "leakyrelu": kind = RecurrentActivationKind.LeakyRelu; return true;
            case "thresholdedrelu": kind = RecurrentActivationKind.ThresholdedRelu; return true;
            case "scaledtanh": kind = RecurrentActivationKind.ScaledTanh; return true;
            case "affine": kind = RecurrentActivationKind.Affine; return true;
            case "elu": kind = RecurrentActivationKind.Elu; return true;
            case "softsign": kind = RecurrentActivationKind.Softsign; return true;
            case "softplus": kind = RecurrentActivationKind.Softplus; return true;
            case "linear" or "identity": kind = RecurrentActivationKind.Linear; return true;
            default: kind = default; return false;
        }
    }

    private static bool TakesAlpha(RecurrentActivationKind k) => k is RecurrentActivationKind.HardSigmoid or RecurrentActivationKind.LeakyRelu
        or RecurrentActivationKind.ThresholdedRelu or RecurrentActivationKind.ScaledTanh or RecurrentActivationKind.Affine or RecurrentActivationKind.Elu;

    private static bool TakesBeta(RecurrentActivationKind k) => k is RecurrentActivationKind.HardSigmoid
        or RecurrentActivationKind.ScaledTanh or RecurrentActivationKind.Affine;

    // ONNX operator defaults (HardSigmoid, LeakyRelu, ThresholdedRelu, Elu); ScaledTanh and Affine have
    // no ONNX operator, so their defaults are the identity-like (1, 1) and (1, 0).
    private static (float Alpha, float Beta) Defaults(RecurrentActivationKind k) => k switch
    {
        RecurrentActivationKind.HardSigmoid => (0.2f, 0.5f),
        RecurrentActivationKind.LeakyRelu => (0.01f, 0f),
        RecurrentActivationKind.ThresholdedRelu => (1f, 0f),
        RecurrentActivationKind.ScaledTanh => (1f, 1f),
        RecurrentActivationKind.Affine => (1f, 0f),
        RecurrentActivationKind.Elu => (1f, 0f),
        _ => (0f, 0f),
    };
}
