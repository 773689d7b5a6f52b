namespace Aha.Generation;

/// <summary>
/// Where an <see cref="Engine"/>'s decode steps spend their time (its prefills timed apart), accumulated over calls while it is
/// attached to <see cref="Engine.Profile"/>. Costs two clock reads per step.
/// </summary>
public sealed class DecodeProfile
{
    /// <summary>Decode steps timed (one new token for every live row each).</summary>
    public int Steps { get; internal set; }

    /// <summary>Seconds in the model forward of those steps.</summary>
    public double ModelSeconds { get; internal set; }

    /// <summary>Seconds in sampling: filtering, drawing and reading the tokens back to the host.</summary>
    public double SamplingSeconds { get; internal set; }

    /// <summary>Seconds in prefills: the prompt's forward pass and the sampling of the first new token.</summary>
    public double PrefillSeconds { get; internal set; }

    /// <summary>Tensor handles created by those steps: about one per libtorch call, the count that per-op overhead multiplies.</summary>
    public long TensorsCreated { get; internal set; }
}
