namespace Aha.Tasks.Rewards;

/// <summary>
/// A rule that scores completions, one float per completion, in batch order. Implement it to add a reward in C#
/// and pass it, weighted, in a <see cref="RewardSet"/>; the trainer needs no change. Must not throw on any text.
/// </summary>
public interface IRewardFunction
{
    /// <summary>Short name used as the log column, e.g. "accuracy".</summary>
    string Name { get; }

    float[] Score(IReadOnlyList<Completion> batch);
}
