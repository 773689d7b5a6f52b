namespace Aha.Eval;

/// <summary>A completion with its verdict: what was read as the answer, its vote key, correctness and reward.</summary>
public sealed record ScoredSample(CompletionRow Row, string? Extracted, string? VoteKey, bool Correct, float Reward);
