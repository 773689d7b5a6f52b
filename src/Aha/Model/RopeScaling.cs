namespace Aha.Model;

/// <summary>
/// Llama 3's frequency-dependent RoPE scaling (config.json <c>rope_scaling</c> with <c>rope_type</c> "llama3"):
/// wavelengths longer than original_max_position_embeddings / low_freq_factor are slowed by <see cref="Factor"/>,
/// shorter than original / high_freq_factor are kept, and those between are blended smoothly.
/// </summary>
public sealed record RopeScaling(double Factor, double LowFreqFactor, double HighFreqFactor, int OriginalMaxPositionEmbeddings)
{
    /// <summary>The rope_type this record stands for; the only scaling Aha implements.</summary>
    public const string Llama3 = "llama3";
}
