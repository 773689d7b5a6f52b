namespace Aha.Tasks.Rewards;

/// <summary>
/// The "Spurious Rewards" control (arXiv 2506.10947): 1 with probability <paramref name="probability"/>, else 0,
/// whatever the completion says. Seeded: call n of a run draws from its own stream (seed, n), so a re-run scores the
/// same batches the same way. A lift under this reward cannot come from the verifier.
/// </summary>
public sealed class RandomReward(long seed, double probability = 0.5) : IRewardFunction
{
    long _calls;

    public double Probability { get; } = probability is >= 0 and <= 1 ? probability
        : throw new ArgumentOutOfRangeException(nameof(probability), probability, "the chance of reward 1 must be in [0, 1].");

    public string Name => "random";

    public float[] Score(IReadOnlyList<Completion> batch)
    {
        var random = StableRandom.For(seed, _calls++);
        return batch.Select(_ => (random.NextULong() >> 11) * (1.0 / (1UL << 53)) < Probability ? 1f : 0f).ToArray();
    }
}
