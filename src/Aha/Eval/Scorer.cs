using Aha.Tasks;
using Aha.Tasks.Answers;
using Aha.Tasks.Rewards;

namespace Aha.Eval;

/// <summary>
/// Scores completions against their task: verdict and reward per sample, pass@k and maj@k per problem, a summary.
/// <c>aha score</c> feeds it rows from a file; <c>aha eval</c> feeds it rows it generated. No model needed.
/// </summary>
public static class Scorer
{
    /// <summary>
    /// <paramref name="ks"/>: the k of pass@k and maj@k; each must be ≤ the fewest samples any problem has
    /// (null: 1, 2, 4, … up to that number). <paramref name="rewards"/>: the reward per sample (null: accuracy).
    /// </summary>
    public static EvalReport Score(ITask task, IReadOnlyList<CompletionRow> rows, IReadOnlyList<int>? ks = null,
        RewardSet? rewards = null, SamplingSettings? sampling = null, int skippedRows = 0)
    {
        if (rows.Count == 0) throw new ArgumentException("no completions to score: the input has no usable rows.");
        var groups = rows.GroupBy(r => r.Id, StringComparer.Ordinal).ToList();
        var fewest = groups.Min(g => g.Count());
        ks ??= DefaultKs(fewest);
        foreach (var k in ks)
            if (k < 1 || k > fewest)
            {
                var smallest = groups.First(g => g.Count() == fewest);
                throw new ArgumentException($"k = {k} needs {k} samples of every problem, but problem '{smallest.Key}' has {fewest}; lower --k or sample more.");
            }

        rewards ??= new RewardSet([(new AccuracyReward(task), 1f)]);
        var samples = new List<ScoredSample>(rows.Count);
        var problems = new List<ProblemResult>(groups.Count);
        foreach (var group in groups)
        {
            var members = group.ToList();
            var gold = members[0].Answer;
            if (members.FirstOrDefault(m => m.Answer != gold) is { } conflict)
                throw new ArgumentException($"{conflict.Location ?? "a row"}: problem '{group.Key}' has two gold answers ('{gold}' and '{conflict.Answer}'); rows sharing an id must share the answer.");
            var item = new TaskItem(group.Key, members[0].Prompt ?? "", gold);
            var batch = members.Select(m => new Completion(m.Prompt ?? "", m.Completion, item, m.Tokens ?? 0, m.Truncated)).ToList();
            var reward = rewards.Score(batch).Total;
            var scored = members.Select((m, i) =>
            {
                var verdict = task.Verify(m.Completion, item);
                var key = verdict.Extracted is { } e ? AnswerNormalizer.Normalize(e)?.Key ?? e.Trim() : null;
                return new ScoredSample(m, verdict.Extracted, key, verdict.Correct, reward[i]);
            }).ToList();
            samples.AddRange(scored);
            problems.Add(Summarise(group.Key, gold, scored, ks));
        }

        var summary = new EvalSummary
        {
            Task = task.Name,
            Problems = problems.Count,
            Samples = samples.Count,
            Accuracy = problems.Average(p => p.Accuracy),
            PassAtK = ks.ToDictionary(k => k, k => problems.Average(p => p.PassAtK[k])),
            MajAtK = ks.ToDictionary(k => k, k => problems.Average(p => p.MajAtK[k] ? 1.0 : 0.0)),
            MeanCompletionChars = samples.Average(s => (double)s.Row.Completion.Length),
            MeanCompletionTokens = rows.All(r => r.Tokens is not null) ? rows.Average(r => (double)r.Tokens!.Value) : null,
            TruncatedShare = samples.Average(s => s.Row.Truncated ? 1.0 : 0.0),
            NoAnswerShare = samples.Average(s => s.Extracted is null ? 1.0 : 0.0),
            SkippedRows = skippedRows,
            Sampling = sampling,
        };
        return new EvalReport(samples, problems, summary);
    }

    /// <summary>1, 2, 4, … below <paramref name="samples"/>, then <paramref name="samples"/> itself.</summary>
    public static IReadOnlyList<int> DefaultKs(int samples)
    {
        var ks = new List<int>();
        for (var k = 1; k < samples; k *= 2) ks.Add(k);
        ks.Add(samples);
        return ks;
    }

    static ProblemResult Summarise(string id, string gold, List<ScoredSample> scored, IReadOnlyList<int> ks)
    {
        var n = scored.Count;
        var c = scored.Count(s => s.Correct);
        var keys = scored.Select(s => s.VoteKey).ToList();
        var passAtK = ks.ToDictionary(k => k, k => PassAtK.Estimate(n, c, k));
        var majAtK = ks.ToDictionary(k => k, k => MajorityVote.Winner(keys, k) is var w and >= 0 && scored[w].Correct);
        var overall = MajorityVote.Winner(keys, n);
        return new ProblemResult(id, gold, n, c, passAtK, majAtK, overall >= 0 ? scored[overall].Extracted : null);
    }
}
