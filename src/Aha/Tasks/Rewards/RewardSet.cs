namespace Aha.Tasks.Rewards;

/// <summary>
/// A weighted sum of reward functions, the form GRPO consumes: total_i = Σ weight_f · f(completion_i).
/// Per-function scores are kept so the trainer can log each column, not only the sum.
/// </summary>
public sealed class RewardSet
{
    readonly List<(IRewardFunction Function, float Weight)> _terms;

    public RewardSet(IEnumerable<(IRewardFunction Function, float Weight)> terms)
    {
        _terms = [.. terms];
        if (_terms.Count == 0) throw new ArgumentException("a reward set needs at least one reward function.");
        var duplicate = _terms.GroupBy(t => t.Function.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"two reward functions are named '{duplicate.Key}'; names must be unique (they are log columns).");
        foreach (var (function, weight) in _terms)
            if (!float.IsFinite(weight)) throw new ArgumentException($"reward '{function.Name}' has weight {weight}; use a finite number.");
    }

    /// <summary>R1-Zero's rewards: accuracy + format, equal weights.</summary>
    public static RewardSet R1Zero(ITask task) => new([(new AccuracyReward(task), 1f), (new FormatReward(), 1f)]);

    public IReadOnlyList<(IRewardFunction Function, float Weight)> Terms => _terms;

    public RewardScores Score(IReadOnlyList<Completion> batch)
    {
        var total = new float[batch.Count];
        var byName = new Dictionary<string, float[]>();
        foreach (var (function, weight) in _terms)
        {
            var scores = function.Score(batch);
            if (scores.Length != batch.Count)
                throw new InvalidOperationException($"reward '{function.Name}' returned {scores.Length} scores for {batch.Count} completions; return one per completion.");
            for (var i = 0; i < total.Length; i++) total[i] += weight * scores[i];
            byName[function.Name] = scores;
        }
        return new RewardScores(total, byName);
    }
}
