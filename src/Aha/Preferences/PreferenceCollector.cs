using System.Text.Json;
using Aha.Checkpoints;
using Aha.Generation;
using Aha.Model;
using Aha.Tasks;
using Aha.Tokenizer;

namespace Aha.Preferences;

/// <summary>How <see cref="PreferenceCollector"/> samples: prompts from the task's train split, K completions each, every two of them judged.</summary>
public sealed record PreferenceCollectionOptions
{
    /// <summary>Distinct training problems to sample for.</summary>
    public int Prompts { get; init; } = 64;
    /// <summary>K completions per prompt; each of the K(K−1)/2 pairs with different texts costs one label.</summary>
    public int Samples { get; init; } = 4;
    public int MaxCompletionTokens { get; init; } = 64;
    public double Temperature { get; init; } = 1.0;
    public PromptStyle PromptStyle { get; init; } = PromptStyle.Short;
    public long Seed { get; init; } = 1;
    /// <summary>Prompts decoded together (the results do not depend on it).</summary>
    public int BatchPrompts { get; init; } = 16;

    public PreferenceCollectionOptions Validate()
    {
        void Require(bool ok, string message) { if (!ok) throw new ArgumentException($"prefs: {message}"); }
        Require(Prompts > 0, $"--prompts must be positive (got {Prompts}).");
        Require(Samples is >= 2 and <= PromptSpec.PromptSeedStride, $"--samples must be between 2 and {PromptSpec.PromptSeedStride} (got {Samples}); a pair needs two.");
        Require(MaxCompletionTokens > 0, $"--max-tokens must be positive (got {MaxCompletionTokens}).");
        Require(Temperature > 0 && double.IsFinite(Temperature), $"--temperature must be positive (got {Temperature}); greedy decoding would give K equal completions.");
        Require(BatchPrompts > 0, $"batch prompts must be positive (got {BatchPrompts}).");
        return this;
    }
}

/// <summary>One labelled pair and what the verifier says of each side (metadata for measuring label quality later).</summary>
public sealed record LabeledPair(TaskItem Item, string Prompt, LabelCandidate Chosen, LabelCandidate Rejected, PreferenceLabel Label, string Source);

/// <summary>
/// Every label counted. <see cref="Labels"/> is the cost (one human judgement each); <see cref="Agreement"/> is the share of
/// the labels the verifier has an opinion on (one answer right, one wrong) that chose the right one.
/// </summary>
public sealed record PreferenceTally(int Prompts, int Completions, int CorrectCompletions, int Labels, int SkippedIdentical, int Abstained,
    int Decisive, int DecisiveAgreeing, int Flipped, int ByLength, int ByCoin)
{
    public double Agreement => Decisive == 0 ? double.NaN : (double)DecisiveAgreeing / Decisive;
    public double SampleAccuracy => Completions == 0 ? double.NaN : (double)CorrectCompletions / Completions;
    /// <summary>Prompt + completion tokens of every sampled row, and Σ of the rows' squared lengths: what sampling them cost (Training.Flops.Forward).</summary>
    public (long Tokens, double SquaredTokens) Sampled { get; init; }
}

/// <summary>
/// <c>aha prefs</c>: samples K completions per training prompt from a model with the <see cref="Engine"/> (sample k of prompt p
/// drawn with <see cref="PromptSpec.SampleSeed"/>(seed, 0, p, k)), checks each with the task's verifier, and asks a labeler
/// about every two of them. Pairs of identical text are skipped without a label.
/// </summary>
public static class PreferenceCollector
{
    public static (IReadOnlyList<LabeledPair> Pairs, PreferenceTally Tally) Collect(LlamaModel model, ITokenizer tokenizer, ITask task,
        IPreferenceLabeler labeler, PreferenceCollectionOptions options, Action<string>? log = null)
    {
        options.Validate();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var items = task.Items(TaskSplit.Train, options.Seed).Where(i => seen.Add(i.Prompt)).Take(options.Prompts).ToList();
        if (items.Count == 0) throw new ArgumentException($"task '{task.Name}' has no training problems; check --data and its split.");
        if (items.Count < options.Prompts) log?.Invoke($"note: only {items.Count} distinct training problems (asked for {options.Prompts}).");

        var pairs = new List<LabeledPair>();
        int completions = 0, correct = 0, labels = 0, identical = 0, abstained = 0, decisive = 0, agreeing = 0, flipped = 0, byLength = 0, byCoin = 0;
        long index = 0, sampledTokens = 0;
        double sampledSquared = 0;
        var engine = new Engine(model);
        model.eval();
        for (int start = 0; start < items.Count; start += options.BatchPrompts)
        {
            var batch = items.Skip(start).Take(options.BatchPrompts).ToList();
            var specs = batch.Select(i => PromptSpec.For(tokenizer, task, i, options.PromptStyle)).ToList();
            var requests = Enumerable.Range(0, batch.Count).SelectMany(p => Enumerable.Range(0, options.Samples)
                .Select(k => new GenerationRequest(specs[p].Ids, PromptSpec.SampleSeed(options.Seed, 0, start + p, k)))).ToList();
            var outputs = engine.Generate(requests, new SamplingOptions
            {
                Temperature = options.Temperature, MaxNewTokens = options.MaxCompletionTokens, StopTokenIds = specs[0].StopIds,
            }, StopStrings.After(tokenizer, specs[0].StopStrings));
            for (int i = 0; i < outputs.Count; i++)
            {
                int n = specs[i / options.Samples].Ids.Length + outputs[i].TokenIds.Count;
                (sampledTokens, sampledSquared) = (sampledTokens + n, sampledSquared + (double)n * n);
            }
            for (int p = 0; p < batch.Count; p++)
            {
                var candidates = outputs.Skip(p * options.Samples).Take(options.Samples).Select(c =>
                {
                    string text = tokenizer.Decode(c.TokenIds, skipSpecialTokens: true);
                    return new LabelCandidate(text, c.TokenIds.Count, task.Verify(text, batch[p]).Correct);
                }).ToList();
                completions += candidates.Count;
                correct += candidates.Count(c => c.Correct);
                for (int a = 0; a < candidates.Count; a++)
                    for (int b = a + 1; b < candidates.Count; b++)
                    {
                        if (candidates[a].Text == candidates[b].Text) { identical++; continue; }
                        var label = labeler.Label(new LabelRequest(specs[p].Text, candidates[a], candidates[b], index++));
                        labels++;
                        if (label is null) { abstained++; continue; }
                        var (chosen, rejected) = label.PrefersA ? (candidates[a], candidates[b]) : (candidates[b], candidates[a]);
                        pairs.Add(new LabeledPair(batch[p], specs[p].Text, chosen, rejected, label, labeler.Source));
                        if (chosen.Correct != rejected.Correct) { decisive++; if (chosen.Correct) agreeing++; }
                        if (label.Flipped) flipped++;
                        if (label.Reason == "length") byLength++;
                        if (label.Reason == "coin") byCoin++;
                    }
            }
            log?.Invoke($"prompts {start + batch.Count}/{items.Count} | completions {completions} ({correct} correct) | labels {labels} | identical skipped {identical}");
        }
        return (pairs, new PreferenceTally(items.Count, completions, correct, labels, identical, abstained, decisive, agreeing, flipped, byLength, byCoin)
            { Sampled = (sampledTokens, sampledSquared) });
    }

    /// <summary>
    /// The pairs as TRL standard JSON Lines (<c>prompt</c>, <c>chosen</c>, <c>rejected</c>) plus what was known when each was
    /// labelled: <c>chosen_correct</c>, <c>rejected_correct</c>, <c>label_source</c>, <c>flipped</c>, <c>label_reason</c>,
    /// <c>problem_id</c>, <c>chosen_tokens</c>, <c>rejected_tokens</c>, and for a soft label <c>chosen_probability</c>. Written whole or not at all.
    /// </summary>
    // "</answer>" stays readable in the file instead of "\u003C/answer\u003E".
    static readonly JsonSerializerOptions Readable = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void WriteJsonl(string path, IReadOnlyList<LabeledPair> pairs)
    {
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        var lines = pairs.Select(p =>
        {
            var row = new Dictionary<string, object>
            {
                ["prompt"] = p.Prompt, ["chosen"] = p.Chosen.Text, ["rejected"] = p.Rejected.Text,
                ["chosen_correct"] = p.Chosen.Correct, ["rejected_correct"] = p.Rejected.Correct,
                ["label_source"] = p.Source, ["flipped"] = p.Label.Flipped, ["label_reason"] = p.Label.Reason,
                ["problem_id"] = p.Item.Id, ["chosen_tokens"] = p.Chosen.Tokens, ["rejected_tokens"] = p.Rejected.Tokens,
            };
            if (p.Label.ProbabilityA is not null) row["chosen_probability"] = Math.Round(p.Label.ChosenProbability, 6);
            return JsonSerializer.Serialize(row, Readable);
        });
        Durable.ReplaceText(path, string.Concat(lines.Select(l => l + "\n")));
    }
}
