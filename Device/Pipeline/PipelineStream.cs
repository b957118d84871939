using Edge.Runtime;
using Edge.Runtime.Streaming;

namespace Edge.Device.Pipeline;

/// <summary>
/// Opens the <see cref="ForecastStream"/> a <see cref="ForecastPipeline"/> pushes its normalized steps into,
/// and is the one place the device checks the horizon and rollout: window models keep the last n samples in
/// the stream's ring (with the first recurrent layer's input projections cached per sample when the graph
/// allows), stateful models carry their state from sample to sample, and beyond the model's own output
/// steps the stream rolls out autoregressively. The model runs once on zeros here, so a shape error shows
/// before the first sample arrives.
/// </summary>
internal static class PipelineStream
{
    /// <param name="horizon">Steps per forecast; null takes the blob's "horizon", else the model's own output length.</param>
    public static ForecastStream Open(EdgeModel model, ModelSpec spec, string? inputName, string? outputName, int? horizon)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(spec);
        int f = spec.Features.Count, t = spec.Targets.Count;
        if (horizon is < 1) throw new EdgeException($"horizon must be at least 1, got {horizon}");
        // The stream refuses a rollout the model cannot feed (fewer outputs than inputs); with as many, they must
        // also be the inputs in input order, which only the spec knows.
        var stream = model.CreateStream(new StreamOptions
        {
            Window = spec.Window, Input = inputName, Output = outputName, OutputFeatures = t, NonFinite = NonFinitePolicy.Reject, Horizon = horizon,
        });
        if (stream.InputFeatures != f)
            throw new EdgeException($"input '{stream.InputName}' takes {stream.InputFeatures} feature(s) per sample, but the model spec has {f}");
        if (stream.Horizon > stream.ModelSteps && !spec.OutputsAllFeatures)
            throw new EdgeException($"a horizon of {stream.Horizon} needs autoregressive rollout beyond the model's {stream.ModelSteps} step(s), which needs a model that forecasts every input feature in input order; this one forecasts {string.Join(", ", spec.Targets.Select(i => spec.Features[i].Name))} of {string.Join(", ", spec.Features.Select(x => x.Name))}");
        return stream;
    }
}
