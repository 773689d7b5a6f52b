namespace Aha.Training;

/// <summary>
/// One micro-batch on the host, row-major (B, T): the model reads <paramref name="Inputs"/>, and the loss scores
/// <paramref name="Targets"/> where <paramref name="LossMask"/> is true (pretraining: everywhere; SFT: completion tokens
/// only; padding: never). Ids, not tensors, so a source never owns native memory.
/// </summary>
public sealed record TrainingBatch(long[] Inputs, long[] Targets, bool[] LossMask, int BatchSize, int Length)
{
    /// <summary>How many targets the loss scores.</summary>
    public long ScoredTokens => LossMask.Count(m => m);

    /// <summary>Targets with unscored positions set to <see cref="NextTokenLoss.IgnoreIndex"/>, as cross-entropy takes them.</summary>
    public long[] MaskedTargets()
    {
        var result = new long[Targets.Length];
        for (int i = 0; i < result.Length; i++) result[i] = LossMask[i] ? Targets[i] : NextTokenLoss.IgnoreIndex;
        return result;
    }
}
