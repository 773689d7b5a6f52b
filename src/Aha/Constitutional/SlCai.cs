using System.Text.Json;
using Aha.Checkpoints;
using Aha.Eval;
using Aha.Generation;
using Aha.Model;
using Aha.Tasks;
using Aha.Tokenizer;
using Aha.Training;

namespace Aha.Constitutional;

/// <summary>SL-CAI settings (<c>aha cai sl</c>).</summary>
public sealed record SlCaiOptions
{
    /// <summary>Distinct training problems to answer, critique and revise.</summary>
    public int Prompts { get; init; } = 256;
    /// <summary>Critique → revision rounds per response, each with a freshly sampled principle (the paper used up to 4).</summary>
    public int Rounds { get; init; } = 1;
    /// <summary>Temperature of the first response.</summary>
    public double Temperature { get; init; } = 1.0;
    /// <summary>Temperature of critiques and revisions (0 = greedy).</summary>
    public double RevisionTemperature { get; init; }
    public int MaxCompletionTokens { get; init; } = 64;
    public int MaxCritiqueTokens { get; init; } = 64;
    public PromptStyle PromptStyle { get; init; } = PromptStyle.Short;
    public long Seed { get; init; } = 1;
    /// <summary>Prompts decoded together (the results do not depend on it).</summary>
    public int BatchPrompts { get; init; } = 32;
    /// <summary>The SFT on (prompt, final revision); Steps 0 revises only.</summary>
    public LanguageModelTrainerOptions Sft { get; init; } = new()
    {
        Steps = 100, BatchSize = 16, SequenceLength = 256, LearningRate = 1e-4, WarmupSteps = 10, EvalEvery = 0, SaveEvery = 0, KeepLast = 1, LogEvery = 10,
    };
    /// <summary>Held-out problems for greedy accuracy before and after (0 = off).</summary>
    public int EvalProblems { get; init; } = 200;

    public SlCaiOptions Validate()
    {
        void Require(bool ok, string message) { if (!ok) throw new ArgumentException($"cai sl: {message}"); }
        Require(Prompts > 0, $"--prompts must be positive (got {Prompts}).");
        Require(Rounds > 0, $"--rounds must be positive (got {Rounds}).");
        Require(Temperature >= 0 && RevisionTemperature >= 0, $"temperatures must be ≥ 0 (got {Temperature}, {RevisionTemperature}).");
        Require(MaxCompletionTokens > 0 && MaxCritiqueTokens > 0, "--max-tokens and the critique length must be positive.");
        Require(BatchPrompts > 0, $"batch prompts must be positive (got {BatchPrompts}).");
        Require(EvalProblems >= 0, $"--eval-problems must be ≥ 0 (got {EvalProblems}).");
        return this;
    }
}

/// <summary>One critique → revision round: the principle sampled, the critique, the revised response and its verdict.</summary>
public sealed record SlCaiRound(string Principle, string Critique, string Revision, bool Correct);

/// <summary>A response and its rounds; <see cref="Final"/> is what SFT trains on.</summary>
public sealed record SlCaiExample(TaskItem Item, string Prompt, string Initial, bool InitialCorrect, IReadOnlyList<SlCaiRound> Rounds)
{
    public string Final => Rounds.Count == 0 ? Initial : Rounds[^1].Revision;
    public bool FinalCorrect => Rounds.Count == 0 ? InitialCorrect : Rounds[^1].Correct;
}

/// <summary>How revisions changed the verifier's verdict, first response to final revision, and per round.</summary>
public sealed record SlCaiTally(int Examples, int InitialCorrect, int FinalCorrect, int WrongToRight, int RightToWrong, int TextChanged, int EmptyRevisions,
    IReadOnlyList<(int WrongToRight, int RightToWrong)> PerRound);

/// <summary>What <see cref="ConstitutionalAi.RunSl"/> measured and where the fine-tuned model is.</summary>
public sealed record SlCaiResult(SlCaiTally Tally, double? AccuracyBefore, double? AccuracyAfter, string? Checkpoint, string RevisionsPath, TrainingResult? Sft);

/// <summary>
/// Constitutional AI (Bai et al. 2022, arXiv 2212.08073) on Aha's models: SL-CAI (<see cref="RunSl"/>: the model critiques
/// and revises its own responses against sampled principles, then is fine-tuned on the revisions) and RL-CAI
/// (<see cref="RunRl"/>: AI preference labels → reward model → PPO or GRPO), each measured against the task's verifier.
/// </summary>
public static partial class ConstitutionalAi
{
    /// <summary>
    /// Samples one response per training problem, then <see cref="SlCaiOptions.Rounds"/> times asks the model to critique
    /// the latest response against a sampled principle (<see cref="CaiText.Critique"/>) and to revise it (<see cref="CaiText.Revision"/>).
    /// An empty revision keeps the response it was asked to revise. Every response is checked by the task's verifier.
    /// </summary>
    public static (IReadOnlyList<SlCaiExample> Examples, SlCaiTally Tally) Revise(LlamaModel model, ITokenizer tokenizer, ITask task, Constitution constitution,
        SlCaiOptions options, Action<string>? log = null)
    {
        options.Validate();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var items = task.Items(TaskSplit.Train, options.Seed).Where(i => seen.Add(i.Prompt)).Take(options.Prompts).ToList();
        if (items.Count == 0) throw new ArgumentException($"task '{task.Name}' has no training problems.");
        var engine = new Engine(model);
        model.eval();
        var examples = new List<SlCaiExample>();
        var perRound = new (int WrongToRight, int RightToWrong)[options.Rounds];
        int empty = 0;
        for (int start = 0; start < items.Count; start += options.BatchPrompts)
        {
            var batch = items.Skip(start).Take(options.BatchPrompts).ToList();
            var specs = batch.Select(i => PromptSpec.For(tokenizer, task, i, options.PromptStyle)).ToList();
            var first = Generate(engine, tokenizer, specs.Select(s => s.Text).ToList(), options.Temperature, options.MaxCompletionTokens, PromptSpec.AnswerEnd,
                p => PromptSpec.SampleSeed(options.Seed, 0, start + p, 0));
            var current = first.ToArray();
            var correct = batch.Select((item, p) => task.Verify(current[p], item).Correct).ToArray();
            var initialCorrect = correct.ToArray();
            var rounds = batch.Select(_ => new List<SlCaiRound>()).ToArray();
            for (int round = 0; round < options.Rounds; round++)
            {
                var principles = batch.Select((_, p) => constitution.Sample(options.Seed, (start + p) * (long)options.Rounds + round)).ToArray();
                var critiquePrompts = specs.Select((s, p) => CaiText.Critique(s.Text, current[p], principles[p])).ToList();
                var critiques = Generate(engine, tokenizer, critiquePrompts, options.RevisionTemperature, options.MaxCritiqueTokens, CaiText.CritiqueEnd,
                    p => PromptSpec.SampleSeed(options.Seed, 1 + 2 * round, start + p, 0));
                var revisionPrompts = critiquePrompts.Select((c, p) => CaiText.Revision(c, critiques[p], principles[p])).ToList();
                var revisions = Generate(engine, tokenizer, revisionPrompts, options.RevisionTemperature, options.MaxCompletionTokens, PromptSpec.AnswerEnd,
                    p => PromptSpec.SampleSeed(options.Seed, 2 + 2 * round, start + p, 0));
                for (int p = 0; p < batch.Count; p++)
                {
                    string revision = revisions[p];
                    if (string.IsNullOrWhiteSpace(revision)) { empty++; revision = current[p]; }
                    bool now = task.Verify(revision, batch[p]).Correct;
                    if (!correct[p] && now) perRound[round].WrongToRight++;
                    if (correct[p] && !now) perRound[round].RightToWrong++;
                    rounds[p].Add(new SlCaiRound(principles[p].Name, critiques[p].Trim(), revision, now));
                    (current[p], correct[p]) = (revision, now);
                }
            }
            for (int p = 0; p < batch.Count; p++) examples.Add(new SlCaiExample(batch[p], specs[p].Text, first[p], initialCorrect[p], rounds[p]));
            log?.Invoke($"revised {examples.Count}/{items.Count} | first correct {examples.Count(e => e.InitialCorrect)} | final correct {examples.Count(e => e.FinalCorrect)}");
        }
        var tally = new SlCaiTally(examples.Count, examples.Count(e => e.InitialCorrect), examples.Count(e => e.FinalCorrect),
            examples.Count(e => !e.InitialCorrect && e.FinalCorrect), examples.Count(e => e.InitialCorrect && !e.FinalCorrect),
            examples.Count(e => e.Final != e.Initial), empty, perRound);
        return (examples, tally);
    }

    /// <summary>
    /// SL-CAI end to end: <see cref="Revise"/>, write <c>revisions.jsonl</c>, fine-tune the model in place on (prompt, final
    /// revision) with the SFT trainer (checkpoints in <c>out/sft</c>), and evaluate greedy accuracy on held-out problems before and after.
    /// </summary>
    public static SlCaiResult RunSl(LlamaModel model, ITokenizer tokenizer, ITask task, Constitution constitution, SlCaiOptions options, string outDir,
        Action<string>? log = null, CancellationToken cancel = default)
    {
        options.Validate();
        Directory.CreateDirectory(outDir);
        double? before = Accuracy(model, tokenizer, task, options.EvalProblems, options.MaxCompletionTokens, options.Seed, options.PromptStyle, log, "before SL-CAI");
        var (examples, tally) = Revise(model, tokenizer, task, constitution, options, log);
        string revisionsPath = Path.Combine(outDir, "revisions.jsonl");
        WriteRevisions(revisionsPath, examples);
        log?.Invoke($"revisions: {tally.Examples} responses, correct {tally.InitialCorrect} → {tally.FinalCorrect} (wrong → right {tally.WrongToRight}, right → wrong {tally.RightToWrong}); text changed {tally.TextChanged}, empty revisions {tally.EmptyRevisions}");
        if (options.Sft.Steps == 0) return new SlCaiResult(tally, before, null, null, revisionsPath, null);

        var rows = examples.Select(e => (PromptSpec.For(tokenizer, task, e.Item, options.PromptStyle).Ids, WithEos(tokenizer, tokenizer.Encode(e.Final))));
        var source = ChatBatchSource.PromptCompletion(tokenizer, rows, options.Sft.BatchSize, options.Sft.SequenceLength, options.Sft.Seed);
        var sft = new LanguageModelTrainer(model, tokenizer, options.Sft, source)
        {
            RunDirectory = Path.Combine(outDir, "sft"),
            StateTemplate = new TrainingState { Step = 0, Seed = options.Sft.Seed, Trainer = "sft" }.WithOptions(options.Sft).With("data", revisionsPath).With("constitution", constitution.Name),
            Log = log ?? (_ => { }),
        }.Run(cancel: cancel);
        double? after = Accuracy(model, tokenizer, task, options.EvalProblems, options.MaxCompletionTokens, options.Seed, options.PromptStyle, log, "after SL-CAI");
        return new SlCaiResult(tally, before, after, sft.Checkpoint, revisionsPath, sft);
    }

    static int[] WithEos(ITokenizer tokenizer, int[] ids) => tokenizer.EosId is { } eos ? [.. ids, eos] : ids;

    /// <summary>Continues each text prompt; prompts longer than the context (less the new tokens) keep their end.</summary>
    static List<string> Generate(Engine engine, ITokenizer tokenizer, IReadOnlyList<string> prompts, double temperature, int maxNew, string stop, Func<int, long> seed)
    {
        int context = engine.Model.Config.MaxPositionEmbeddings;
        int newTokens = Math.Min(maxNew, Math.Max(1, context / 4));
        var requests = prompts.Select((text, p) =>
        {
            var ids = tokenizer.Encode(text, addSpecialTokens: true);
            int room = Math.Max(1, context - newTokens);
            return new GenerationRequest(ids.Length > room ? ids[^room..] : ids, seed(p));
        }).ToList();
        var outputs = engine.Generate(requests, new SamplingOptions { Temperature = temperature, MaxNewTokens = Math.Min(maxNew, context - requests.Max(r => r.PromptIds.Count)), StopTokenIds = tokenizer.StopIds },
            StopStrings.After(tokenizer, [stop]));
        return outputs.Select(o =>
        {
            string text = tokenizer.Decode(o.TokenIds, skipSpecialTokens: true);
            return stop == CaiText.CritiqueEnd && text.EndsWith(stop, StringComparison.Ordinal) ? text[..^stop.Length] : text;
        }).ToList();
    }

    static double? Accuracy(LlamaModel model, ITokenizer tokenizer, ITask task, int problems, int maxTokens, long seed, PromptStyle style, Action<string>? log, string label)
    {
        if (problems <= 0) return null;
        var report = ModelEvaluator.Evaluate(model, tokenizer, task, ModelEvaluator.Problems(task, problems), new EvalOptions
            { MaxNewTokens = maxTokens, BatchSize = 100, Seed = seed, PromptStyle = style });
        log?.Invoke($"{label}: held-out greedy accuracy {report.Summary.Accuracy:P1} on {problems} problems");
        return report.Summary.Accuracy;
    }

    static readonly JsonSerializerOptions Readable = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    static void WriteRevisions(string path, IReadOnlyList<SlCaiExample> examples)
    {
        var lines = examples.Select(e => JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["problem_id"] = e.Item.Id, ["prompt"] = e.Prompt, ["completion"] = e.Final, ["initial"] = e.Initial, ["initial_correct"] = e.InitialCorrect,
            ["final_correct"] = e.FinalCorrect,
            ["rounds"] = e.Rounds.Select(r => new Dictionary<string, object> { ["principle"] = r.Principle, ["critique"] = r.Critique, ["revision"] = r.Revision, ["correct"] = r.Correct }).ToList(),
        }, Readable));
        Durable.ReplaceText(path, string.Concat(lines.Select(l => l + "\n")));
    }
}
