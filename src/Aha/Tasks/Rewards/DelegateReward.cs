namespace Aha.Tasks.Rewards;

/// <summary>A reward from a lambda, for one-off rules: <c>new DelegateReward("short", c =&gt; c.TokenCount &lt; 64 ? 1 : 0)</c>.</summary>
public sealed class DelegateReward(string name, Func<Completion, float> score) : IRewardFunction
{
    public string Name { get; } = name;

    public float[] Score(IReadOnlyList<Completion> batch) => batch.Select(score).ToArray();
}
