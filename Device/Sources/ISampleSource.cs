using System.Threading.Channels;
using Edge.Device.Pipeline;

namespace Edge.Device.Sources;

/// <summary>Produces samples until cancelled (or, for a finite source such as a replay, until done).</summary>
public interface ISampleSource
{
    /// <summary>True when the source already delivers one sample per model period (sensor polling), so no resampling is needed.</summary>
    bool Periodic { get; }

    /// <summary>Writes samples; waits when the pipeline is behind (never drops what it accepted); returns when done or cancelled.</summary>
    Task RunAsync(ChannelWriter<Sample> output, CancellationToken cancellationToken);
}
