namespace Edge.Runtime.Ir;

/// <summary>
/// The operations of the Edge IR. Values are stable (they are written to `.edge` blobs by name).
/// Each entry specifies inputs (in order; "?" = optional, may be ""), attributes (with defaults) and
/// outputs. Conventions that hold for all kinds:
/// <list type="bullet">
/// <item>Axes may be negative (counted from the end). Broadcasting is numpy's.</item>
/// <item>Integer "shape/axes/indices" inputs are int64 (int32 accepted).</item>
/// <item>Recurrent gate orders are the IR's own, whatever the source framework:
///   LSTM i,f,g,o (PyTorch's order; Keras calls g "c"); GRU r,z,n (PyTorch's order).</item>
/// </list>
/// </summary>
internal enum OpKind
{
    // ── recurrent ──────────────────────────────────────────────────────────────────────────────

    /// <summary>
    /// One LSTM layer (ONNX LSTM I/O contract, IR gate order). Inputs: X, W [dirs, 4H, I],
    /// R [dirs, 4H, H], B? [dirs, 8H] (input biases i,f,g,o then recurrent biases i,f,g,o),
    /// sequence_lens? [batch] (int), initial_h? , initial_c?, P? [dirs, 3H] (peepholes i, f, o).
    /// Attributes: hidden_size (int), direction ("forward" | "reverse" | "bidirectional"),
    /// layout (0: X (seq, batch, I), Y (seq, dirs, batch, H), states (dirs, batch, H);
    ///         1: X (batch, seq, I), Y (batch, seq, dirs, H), states (batch, dirs, H)),
    /// activations (strings, 3 per direction: gate f, cell g, output h; default Sigmoid, Tanh, Tanh;
    /// names as ONNX: Sigmoid, Tanh, Relu, HardSigmoid, LeakyRelu, ThresholdedRelu, ScaledTanh,
    /// Affine, Elu, Softsign, Softplus, plus Linear = identity), activation_alpha, activation_beta
    /// (floats, one per activation that takes them, ONNX defaults otherwise), clip (float, 0 = none),
    /// input_forget (int; 1 couples f = 1 - i).
    /// Outputs: Y?, Y_h?, Y_c? (last valid step of each sequence).
    /// c' = f*c + i*g; h' = o*h(c'); i = f_act(x W_i^T + h R_i^T + b_i + p_i*c) etc.
    /// Multi-layer LSTMs are several Lstm nodes in a chain.
    /// </summary>
    Lstm,

    /// <summary>
    /// One GRU layer (ONNX GRU I/O contract, IR gate order r, z, n). Inputs: X, W [dirs, 3H, I],
    /// R [dirs, 3H, H], B? [dirs, 6H] (Wb r,z,n then Rb r,z,n), sequence_lens?, initial_h?.
    /// Attributes: hidden_size, direction, layout (as Lstm), activations (2 per direction: gate f,
    /// candidate g; default Sigmoid, Tanh), activation_alpha/beta, clip,
    /// linear_before_reset (int, default 0):
    ///   1 (PyTorch; Keras reset_after=True): n = g(x W_n^T + b_Wn + r * (h R_n^T + b_Rn))
    ///   0 (ONNX default; Keras reset_after=False): n = g(x W_n^T + b_Wn + (r * h) R_n^T + b_Rn)
    /// h' = (1 - z) * n + z * h. Outputs: Y?, Y_h?.
    /// </summary>
    Gru,

    // ── matrix-bearing layers ─────────────────────────────────────────────────────────────────

    /// <summary>Inputs: X (..., in), W (out, in), B? (out). Y (..., out) = X W^T + B (a torch Linear / Keras Dense).</summary>
    Dense,

    /// <summary>ONNX Gemm: inputs A, B, C?; attributes alpha (1), beta (1), transA (0), transB (0); Y = alpha A' B' + beta C.</summary>
    Gemm,

    /// <summary>numpy matmul (1-D operands promoted and the added axis removed; batch axes broadcast).</summary>
    MatMul,

    /// <summary>
    /// 1-D convolution, channels first. Inputs: X (N, C, L), W (M, C/group, K), B? (M).
    /// Attributes: strides [1], dilations [1], group (1), pads [begin, end] ([0, 0]),
    /// auto_pad ("NOTSET" uses pads; "VALID"; "SAME_UPPER": output ceil(L/stride), odd padding at
    /// the end, as Keras and PyTorch 'same' do (kernel 4: 1 left, 2 right); "SAME_LOWER": odd
    /// padding at the start; "CAUSAL": dilation*(K-1) at the start). Y (N, M, L_out).
    /// </summary>
    Conv1D,

    /// <summary>
    /// Locally connected 1-D layer (unshared weights per output position), channels last.
    /// Inputs: X (..., L, C), W (folds, K*C, F) with the K*C axis in (k, c) row-major order,
    /// B? (folds, F). Attributes: kernel_size K, stride (1), pads [begin, end] ([0, 0], zeros).
    /// folds = (L + begin + end - K) / stride + 1. Y (..., folds, F):
    /// Y[..., p, f] = B[p, f] + sum_{k,c} Xpad[..., p*stride + k, c] W[p, k*C + c, f].
    /// Keras LocallyConnected1D is this with C = input channels; the unfold-based LocalLinear of
    /// (..., in_features) is this with C = 1 (the importer unsqueezes the last axis).
    /// </summary>
    LocallyConnected1D,

    /// <summary>
    /// Bilinear score. Inputs: C (Nc, D1), R (N, D2), M (D1, D2), B? (scalar or (1,)).
    /// Y (N, 1) = sum_ij C[n, i] M[i, j] R[n, j] + B. Nc is N, or 1 to score one context against N
    /// candidates (C^T M is then computed once). The sigmoid is a separate node.
    /// </summary>
    Bilinear,

    /// <summary>Inputs: indices (int, any shape), table (V, D). Y (indices.shape..., D). Out-of-range indices are an error.</summary>
    Embedding,

    /// <summary>Input X (N, D); attribute n. Y (N, n, D) (Keras RepeatVector).</summary>
    RepeatVector,

    // ── elementwise ───────────────────────────────────────────────────────────────────────────

    /// <summary>Binary elementwise ops with numpy broadcasting; float32, int64, int32 (integer Div truncates toward zero).</summary>
    Add,
    Sub,
    Mul,
    Div,

    /// <summary>Unary activations on float32. HardSigmoid: max(0, min(1, alpha x + beta)), attributes alpha (0.2), beta (0.5).
    /// LeakyRelu: alpha (0.01). Elu: alpha (1). Relu, Sigmoid, Tanh, Softsign x/(1+|x|), Softplus log(1+e^x), Exp, Neg, Abs, Sqrt.</summary>
    Relu,
    Sigmoid,
    Tanh,
    HardSigmoid,
    LeakyRelu,
    Elu,
    Softsign,
    Softplus,
    Exp,
    Neg,
    Abs,
    Sqrt,

    /// <summary>Attribute axis (-1). With legacy_2d = 1 (ONNX opset &lt; 13) the input is flattened to 2-D at axis first (default axis 1).</summary>
    Softmax,

    /// <summary>As Softmax, log of it.</summary>
    LogSoftmax,

    /// <summary>Copies its input.</summary>
    Identity,

    // ── joining, shape and index glue (the importer folds these when their inputs are constant) ──

    /// <summary>Attribute axis. torch.cat / ONNX Concat.</summary>
    Concat,

    /// <summary>Attribute axis (0). torch.stack: equal shapes, new axis.</summary>
    Stack,

    /// <summary>Inputs X, shape (int64). Attribute allowzero (0): 0 copies the input dimension unless allowzero = 1; -1 is inferred.</summary>
    Reshape,

    /// <summary>Attribute perm (default: reversed axes).</summary>
    Transpose,

    /// <summary>Inputs X, axes? (int64); or attribute axes. No axes: remove every 1.</summary>
    Squeeze,

    /// <summary>Inputs X, axes? (int64); or attribute axes (positions in the output).</summary>
    Unsqueeze,

    /// <summary>Attribute axis (1): Y is 2-D (prod(dims[:axis]), prod(dims[axis:])).</summary>
    Flatten,

    /// <summary>Inputs X, starts, ends, axes?, steps? (int64) with ONNX clamping rules.</summary>
    Slice,

    /// <summary>Inputs data, indices (int); attribute axis (0). numpy take; negative indices count from the end.</summary>
    Gather,

    /// <summary>Y is the int64 shape of X; attributes start (0), end (rank) as ONNX opset 15.</summary>
    Shape,

    /// <summary>Attribute to (int: a <see cref="Tensors.DataType"/> value). float to int truncates toward zero.</summary>
    Cast,

    /// <summary>Input shape (int64); attributes value (float, 0) and dtype (int: DataType, Float32). Y filled with value.</summary>
    ConstantOfShape,

    /// <summary>Inputs X, shape (int64): broadcast X to the broadcast of X's shape and shape.</summary>
    Expand,

    /// <summary>Inputs X, repeats (int64, one per axis): Y[i] = X[i mod X.shape] (ONNX Tile; torch's Tensor.repeat with equal ranks).</summary>
    Tile,

    /// <summary>Inputs X, axes? (int64); attributes keepdims (1), noop_with_empty_axes (0); or attribute axes.</summary>
    ReduceSum,

    /// <summary>Inputs X, pads (int64, [begins..., ends...], may be negative), constant_value? (scalar), axes? (int64);
    /// attribute mode ("constant" | "reflect" | "edge").</summary>
    Pad,

    // ── added later (appended: values are never renumbered) ───────────────────────────────────

    /// <summary>Inputs X, axes? (int64); attributes keepdims (1), noop_with_empty_axes (0); or attribute axes.
    /// ONNX ReduceMax; torch x.max(dim).values / amax. NaN in a group gives NaN; an empty group the lowest value.</summary>
    ReduceMax,

    /// <summary>Inputs X, slope (float32, broadcast to X's shape). Y = X if X &gt;= 0 else slope * X (ONNX PRelu,
    /// torch nn.PReLU with slope (C, 1, ...) on axis 1, Keras PReLU with alpha broadcast over shared_axes).</summary>
    PRelu,

    /// <summary>Elementwise maximum / minimum of two operands with numpy broadcasting (as Add); NaN in either gives NaN. Keras Maximum / Minimum.</summary>
    Max,
    Min,

    /// <summary>
    /// One vanilla RNN layer (ONNX RNN I/O contract). Inputs: X, W [dirs, H, I], R [dirs, H, H],
    /// B? [dirs, 2H] (Wb then Rb), sequence_lens?, initial_h?. Attributes: hidden_size, direction, layout
    /// (as Lstm), activations (1 per direction, default Tanh; names as Lstm: PyTorch nonlinearity 'relu' is
    /// Relu, Keras SimpleRNN 'linear' is Linear), activation_alpha/beta, clip.
    /// h' = f(x W^T + b_W + h R^T + b_R). Outputs: Y?, Y_h?. Multi-layer RNNs are several Rnn nodes in a chain.
    /// </summary>
    Rnn,

    /// <summary>Inputs X, min?, max? (scalars of X's type; absent = no bound): ONNX Clip, torch.clamp.</summary>
    Clip,

    /// <summary>As <see cref="ReduceSum"/> with a product (ONNX ReduceProd; axes an attribute before opset 18).</summary>
    ReduceProd,
}
