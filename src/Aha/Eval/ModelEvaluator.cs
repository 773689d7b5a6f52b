using Aha.Generation;
using Aha.Model;
using Aha.Tasks;
using Aha.Tokenizer;

namespace Aha.Eval;

/// <summary>
/// Evaluates a model on a task's problems: generates completions in batches through the <see cref="Engine"/> and
/// scores them with the <see cref="Scorer"/>, so a generated report and <c>aha score</c> of the same completions agree
/// exactly. The GRPO trainer and <c>aha demo</c> call it to compare the base and trained model on the same problems.
/// </summary>
public static class ModelEvaluator
{
    /// <summary>
    /// Greedy pass@1 (one sample) or pass@k and maj@k over <see cref="EvalOptions.Samples"/> samples per problem,
    /// mean completion length in tokens, and per-problem results.
    /// </summary>
    /// <param name="progress">called after each batch with (completions done, completions in all)</param>
    /// <param name="tokenizer">The model's tokenizer (its checkpoint's <c>Tokenizer</c>): it encodes the prompts and decodes the completions.</param>
    public static EvalReport Evaluate(LlamaModel model, ITokenizer tokenizer, ITask task, IReadOnlyList<TaskItem> items, EvalOptions options,
        Action<int, int>? progress = null)
    {
        var rows = Generate(model, tokenizer, task, items, options, progress);
        return Scorer.Score(task, rows, options.Ks, sampling: options.Sampling);
    }

    /// <summary>
    /// The completions alone, one row per (problem, sample) in problem order, with the rendered prompt, the token count
    /// (stop token included: it is a token the model chose) and whether the row hit <see cref="EvalOptions.MaxNewTokens"/>.
    /// Sample s of problem p (its index in <paramref name="items"/>) is drawn with seed <c>Seed + p · 1_009 + s</c>
    /// (<see cref="PromptSpec.SampleSeed"/> at step 0), so two models evaluated on the same list face the same random draws.
    /// </summary>
    public static IReadOnlyList<CompletionRow> Generate(LlamaModel model, ITokenizer tokenizer, ITask task, IReadOnlyList<TaskItem> items, EvalOptions options,
        Action<int, int>? progress = null)
    {
        options.Validate();
        if (items.Count == 0) throw new ArgumentException("no problems to evaluate; take at least one item from the task.", nameof(items));
        if (items.GroupBy(i => i.Id, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new ArgumentException($"problem id '{twice.Key}' appears {twice.Count()} times; the scorer groups samples by id, so ids must be unique (see {nameof(Problems)}).", nameof(items));

        var specs = items.Select(item => PromptSpec.For(tokenizer, task, item, options.PromptStyle)).ToList();
        var sampling = options.Sampling;
        var generation = new SamplingOptions
        {
            Temperature = sampling.Temperature,
            TopP = sampling.TopP,
            MaxNewTokens = sampling.MaxNewTokens,
            // The tokenizer's stop ids (end of text and end of turn), the same set generation_config.json lists.
            StopTokenIds = specs[0].StopIds,
        };
        var jobs = Enumerable.Range(0, items.Count)
            .SelectMany(problem => Enumerable.Range(0, options.Samples).Select(sample => (Problem: problem, Sample: sample)))
            .ToList();

        var engine = new Engine(model);
        var stop = StopStrings.After(tokenizer, specs[0].StopStrings);
        var rows = new List<CompletionRow>(jobs.Count);
        progress?.Invoke(0, jobs.Count);
        foreach (var batch in jobs.Chunk(options.BatchSize))
        {
            var requests = batch.Select(j => new GenerationRequest(specs[j.Problem].Ids, PromptSpec.SampleSeed(options.Seed, 0, j.Problem, j.Sample))).ToList();
            var completions = engine.Generate(requests, generation, stop);
            for (int i = 0; i < batch.Length; i++)
            {
                var item = items[batch[i].Problem];
                var completion = completions[i];
                // Special tokens (the final eos or end-of-turn) are not text the verifier should see.
                var text = tokenizer.Decode(completion.TokenIds, skipSpecialTokens: true);
                rows.Add(new CompletionRow(item.Id, item.Answer, text)
                {
                    Prompt = specs[batch[i].Problem].Text,
                    Tokens = completion.TokenIds.Count,
                    Truncated = completion.Truncated,
                });
            }
            progress?.Invoke(rows.Count, jobs.Count);
        }
        return rows;
    }

    /// <summary>
    /// The first <paramref name="count"/> distinct problems of a split, in the task's order: a problem whose prompt
    /// already appeared (a generator can repeat itself, a dataset can hold duplicates) is skipped, so no problem
    /// counts twice. Fewer come back when the split runs out, or when a generated task stops producing new problems.
    /// </summary>
    public static IReadOnlyList<TaskItem> Problems(ITask task, int count, TaskSplit split = TaskSplit.Test, long seed = 0)
    {
        if (count <= 0) throw new ArgumentOutOfRangeException(nameof(count), count, "ask for at least one problem.");
        var seenPrompts = new HashSet<string>(StringComparer.Ordinal);
        var seenIds = new HashSet<string>(StringComparer.Ordinal);
        var result = new List<TaskItem>(count);
        // Generated tasks never end; a small level can have fewer distinct problems than asked, so give up after
        // a long run of repeats instead of looping forever.
        int repeats = 0, patience = 1_000 + 100 * count;
        foreach (var item in task.Items(split, seed))
        {
            if (seenPrompts.Add(item.Prompt) && seenIds.Add(item.Id))
            {
                result.Add(item);
                repeats = 0;
                if (result.Count == count) break;
            }
            else if (++repeats > patience) break;
        }
        return result;
    }
}
