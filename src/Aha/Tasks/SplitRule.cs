namespace Aha.Tasks;

/// <summary>
/// Assigns a problem to train or held-out by a stable hash of its canonical text, so the same problem lands in the
/// same split in every process, on every machine, whatever seed or index produced it: the splits cannot overlap.
/// </summary>
public static class SplitRule
{
    /// <summary>Share of problems held out, in percent.</summary>
    public const int HeldOutPercent = 10;

    public static TaskSplit Of(string canonicalText) =>
        StableHash.Fnv1a64(canonicalText) % 100 < HeldOutPercent ? TaskSplit.Test : TaskSplit.Train;

    public static bool Contains(TaskSplit split, string canonicalText) =>
        split == TaskSplit.All || Of(canonicalText) == split;
}
