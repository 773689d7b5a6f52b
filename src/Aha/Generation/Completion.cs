namespace Aha.Generation;

/// <summary>Why a row ended.</summary>
public enum FinishReason
{
    /// <summary>A stop token was sampled or the caller's stop predicate returned true.</summary>
    Stop,
    /// <summary>The row reached <see cref="SamplingOptions.MaxNewTokens"/> first.</summary>
    Length,
}

/// <summary>
/// What one request produced. <paramref name="LogProbs"/>[i] is log p(TokenIds[i]) under the distribution it was drawn
/// from (after temperature, top-k and top-p); under greedy decoding, under the model's unscaled distribution.
/// </summary>
public sealed record Completion(IReadOnlyList<int> TokenIds, IReadOnlyList<float> LogProbs, FinishReason Finish)
{
    /// <summary>True when the row ended by reaching the token limit rather than by stopping.</summary>
    public bool Truncated => Finish == FinishReason.Length;
}
