namespace Aha.Tasks.Rewards;

/// <summary>
/// A reward that applies to one kind of prompt only: <paramref name="inner"/> scores the completions whose problem
/// <paramref name="applies"/> accepts, the others get 0. R1's all-scenario RL sums rule rewards for reasoning prompts and a
/// preference reward model for general ones in one reward set; GRPO's advantages are relative within a prompt's group,
/// so a reward that is 0 for a whole group changes nothing there.
/// </summary>
public sealed class ScenarioReward(IRewardFunction inner, Func<TaskItem, bool> applies) : IRewardFunction
{
    public string Name => inner.Name;

    public float[] Score(IReadOnlyList<Completion> batch)
    {
        var scores = new float[batch.Count];
        var picked = Enumerable.Range(0, batch.Count).Where(i => applies(batch[i].Item)).ToList();
        if (picked.Count == 0) return scores;
        var inside = inner.Score(picked.Select(i => batch[i]).ToList());
        if (inside.Length != picked.Count)
            throw new InvalidOperationException($"reward '{inner.Name}' returned {inside.Length} scores for {picked.Count} completions; return one per completion.");
        for (int k = 0; k < picked.Count; k++) scores[picked[k]] = inside[k];
        return scores;
    }
}
