namespace Aha.Tasks.Rewards;

/// <summary>Weighted totals per completion, and each function's unweighted scores by name for logging.</summary>
public sealed record RewardScores(float[] Total, IReadOnlyDictionary<string, float[]> ByName);
