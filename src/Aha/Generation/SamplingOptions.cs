namespace Aha.Generation;

/// <summary>How tokens are drawn; shared by every row of a batch (seeds are per request, see <see cref="GenerationRequest"/>).</summary>
public sealed record SamplingOptions
{
    /// <summary>Softmax temperature; 0 means greedy (argmax).</summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>Keep only the K most likely tokens; 0 disables.</summary>
    public int TopK { get; init; }

    /// <summary>Keep the smallest set of most likely tokens whose probability reaches P (nucleus); 1 disables.</summary>
    public double TopP { get; init; } = 1.0;

    /// <summary>Tokens generated per row at most; a row that reaches it without stopping is truncated.</summary>
    public int MaxNewTokens { get; init; } = 256;

    /// <summary>
    /// Alternatives a streamed token carries (<see cref="GeneratedToken.Top"/>): the most likely tokens of the distribution
    /// it was drawn from, with their log-probabilities; 0 = none, at most 20 (OpenAI's <c>top_logprobs</c>).
    /// </summary>
    public int TopLogProbs { get; init; }

    /// <summary>Token ids that end a row (typically eos); the stop token is kept as the row's last token.</summary>
    public IReadOnlyList<int> StopTokenIds { get; init; } = [];

    /// <summary>Throws with a message naming the field and the fix when a value is out of range.</summary>
    public SamplingOptions Validate()
    {
        void Require(bool ok, string message) { if (!ok) throw new ArgumentException($"sampling options: {message}"); }
        Require(Temperature >= 0 && double.IsFinite(Temperature), $"Temperature must be ≥ 0 (0 = greedy), got {Temperature}.");
        Require(TopK >= 0, $"TopK must be ≥ 0 (0 = off), got {TopK}.");
        Require(TopP > 0 && TopP <= 1, $"TopP must be in (0, 1] (1 = off), got {TopP}.");
        Require(MaxNewTokens > 0, $"MaxNewTokens must be positive, got {MaxNewTokens}.");
        Require(TopLogProbs is >= 0 and <= 20, $"TopLogProbs must be between 0 and 20, got {TopLogProbs}.");
        return this;
    }
}
