using Edge.Runtime.Kernels;

namespace Edge.Runtime.Execution;

/// <summary>
/// How a <see cref="Session"/> runs its graph, fixed when the session is created.
/// <code>
/// var session = model.CreateSession(new SessionOptions { Isa = Isa.Scalar });
/// </code>
/// </summary>
public sealed class SessionOptions
{
    /// <summary>
    /// The kernel set for every matrix product of the session (<see cref="Gemv"/>). Null: <c>EDGE_ISA</c>
    /// when it is set, else the widest path this CPU supports (<see cref="IsaSelector.FromEnvironment"/>).
    /// A path the CPU cannot run is refused when the session is created.
    /// </summary>
    public Isa? Isa { get; init; }

    /// <summary>The kernels these options select: chosen here, once, and shared by every operator of the session.</summary>
    internal Gemv CreateGemv() => Isa is { } isa ? Gemv.Create(isa) : Gemv.FromEnvironment();
}
