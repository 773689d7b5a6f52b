using Aha.Eval;
using Aha.Model;
using Aha.Tasks;
using Aha.Tasks.Rewards;
using Aha.Tokenizer;

namespace Aha.Pipeline;

/// <summary>One accepted sample: the problem and the completion text that passed every filter.</summary>
public sealed record AcceptedSample(TaskItem Item, string Completion, int Tokens);

/// <summary>
/// What rejection sampling did with every sample: how many each filter rejected, in the order the filters run
/// (<see cref="RejectionSampler.Filters"/>), and how many were kept. Rejected counts plus kept equal sampled.
/// </summary>
public sealed record RejectionTally(int Prompts, int Sampled, IReadOnlyDictionary<string, int> Rejected, int Kept, int PromptsWithAKeep);

/// <summary>How <see cref="RejectionSampler"/> samples and what it keeps.</summary>
public sealed record RejectionOptions
{
    public int Samples { get; init; } = 4;
    /// <summary>At most this many distinct accepted completions per prompt.</summary>
    public int KeepPerPrompt { get; init; } = 2;
    public double Temperature { get; init; } = 0.8;
    public int MaxCompletionTokens { get; init; } = 160;
    public PromptStyle PromptStyle { get; init; } = PromptStyle.Short;
    public ReadabilityFilter Readability { get; init; } = new();
    public long Seed { get; init; }
}

/// <summary>
/// R1's rejection sampling (stage 3), also the teacher route of the cold start: K samples per prompt from a model, kept
/// when the task's verifier accepts the answer, the completion is in the think-then-answer format, and it passes the
/// <see cref="ReadabilityFilter"/>; duplicates of an already kept text and samples past the per-prompt quota are dropped.
/// Sampling goes through <see cref="ModelEvaluator.Generate"/> (sample s of prompt p seeded <c>Seed + p·1009 + s</c>).
/// </summary>
public static class RejectionSampler
{
    public const string Wrong = "wrong_answer";
    public const string BadFormat = "bad_format";
    public const string Duplicate = "duplicate";
    public const string OverQuota = "over_quota";

    /// <summary>Every filter in the order it is applied; a sample is counted under the first one that rejects it.</summary>
    public static IReadOnlyList<string> Filters { get; } = [Wrong, BadFormat, .. ReadabilityFilter.Rules, Duplicate, OverQuota];

    public static (IReadOnlyList<AcceptedSample> Kept, RejectionTally Tally) Sample(LlamaModel model, ITokenizer tokenizer, ITask task,
        IReadOnlyList<TaskItem> items, RejectionOptions options, Action<string>? log = null)
    {
        var rows = ModelEvaluator.Generate(model, tokenizer, task, items, new EvalOptions
        {
            Samples = options.Samples, Temperature = options.Temperature, TopP = 1, MaxNewTokens = options.MaxCompletionTokens,
            BatchSize = 64, Seed = options.Seed, PromptStyle = options.PromptStyle,
        }, (done, all) => { if (done == all || done % 512 == 0) log?.Invoke($"rejection sampling: {done}/{all} samples"); });
        var byId = items.ToDictionary(i => i.Id, StringComparer.Ordinal);
        var (kept, tally) = Filter(rows.Select(r => (byId[r.Id], r.Prompt ?? "", r.Completion, r.Tokens ?? 0, r.Truncated)), task, options);
        return (kept, tally with { Prompts = items.Count });
    }

    /// <summary>The filters alone, over samples in prompt order (all samples of a prompt together).</summary>
    public static (IReadOnlyList<AcceptedSample> Kept, RejectionTally Tally) Filter(
        IEnumerable<(TaskItem Item, string Prompt, string Completion, int Tokens, bool Truncated)> samples, ITask task, RejectionOptions options)
    {
        var format = new FormatReward();
        var rejected = Filters.ToDictionary(f => f, _ => 0);
        var kept = new List<AcceptedSample>();
        var keptTexts = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        int sampled = 0;
        foreach (var (item, prompt, completion, tokens, truncated) in samples)
        {
            sampled++;
            var texts = keptTexts.TryGetValue(item.Id, out var set) ? set : keptTexts[item.Id] = new HashSet<string>(StringComparer.Ordinal);
            string? reason = !task.Verify(completion, item).Correct ? Wrong
                : !format.IsWellFormed(prompt, completion) ? BadFormat
                : options.Readability.Reject(completion, tokens, truncated)
                  ?? (texts.Contains(completion) ? Duplicate : texts.Count >= options.KeepPerPrompt ? OverQuota : null);
            if (reason is not null) { rejected[reason]++; continue; }
            texts.Add(completion);
            kept.Add(new AcceptedSample(item, completion, tokens));
        }
        return (kept, new RejectionTally(keptTexts.Count, sampled, rejected, kept.Count, keptTexts.Count(k => k.Value.Count > 0)));
    }
}
