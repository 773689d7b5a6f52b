using System.Text.Json.Nodes;
using Aha.Checkpoints;
using Aha.Eval;
using Aha.Model;
using Aha.Reports;
using Aha.Tasks;
using Aha.Tasks.Arithmetic;
using Aha.Tasks.Rewards;
using Aha.Tokenizer;
using Aha.Training;

namespace Aha.Pipeline;

/// <summary>
/// One row of the pipeline's table: a stage's model on the held-out problems. Reasoning numbers come from the greedy run
/// (pass@k and maj@k from K samples at T 0.6, top-p 0.95 on the first problems); <see cref="Language"/> is the mean
/// language-consistency share of the greedy completions; the general columns are the same model on held-out general prompts.
/// </summary>
public sealed record StageMetrics(
    double Accuracy, int K, double? PassAtK, double? MajAtK, double? MeanTokens, double ThinkFraction, double FormatFraction,
    double Language, double TruncatedFraction, double ReflectiveWords, double GeneralAccuracy, double GeneralThink, double? GeneralMeanTokens)
{
    public static string Line(StageMetrics m) =>
        $"acc {Pct(m.Accuracy)} | pass@{m.K} {Pct(m.PassAtK)} | maj@{m.K} {Pct(m.MajAtK)} | len {ReportMarkdown.Number(m.MeanTokens ?? double.NaN, "F1")} | think {Pct(m.ThinkFraction)} | " +
        $"format {Pct(m.FormatFraction)} | lang {ReportMarkdown.Number(m.Language, "F3")} | general acc {Pct(m.GeneralAccuracy)}, think {Pct(m.GeneralThink)}";

    static string Pct(double? share) => ReportMarkdown.Percent(share ?? double.NaN);
}

/// <summary>What every stage shares: the run's options, log and cancellation, the tasks, and the one held-out evaluation.</summary>
sealed class StageContext(string dir, R1PipelineOptions options, Action<string> log, CancellationToken cancel)
{
    public string Dir => dir;
    public R1PipelineOptions Options => options;
    public Action<string> Log => log;
    public CancellationToken Cancel => cancel;
    public ArithmeticTask Task { get; } = TaskRegistry.Addition();
    public LargerTask General { get; } = new();
    double? _peak;

    /// <summary>Matmul FLOP/s for the SFT stages' MFU column, measured once per run.</summary>
    public double PeakFlops => _peak ??= Runtime.MatmulPeak.Measure();

    /// <summary>Evaluates the checkpoint at <paramref name="checkpoint"/>: the same problems and seeds for every stage.</summary>
    public StageMetrics Evaluate(string checkpoint, out JsonArray examples)
    {
        var (model, loaded) = ModelLoader.OpenAndLoad(checkpoint);
        using var _ = model;
        var tokenizer = loaded.Tokenizer;
        var o = options;
        var problems = ModelEvaluator.Problems(Task, o.EvalProblems);
        var greedy = ModelEvaluator.Evaluate(model, tokenizer, Task, problems, Eval(1, 100));
        var sampled = o.SampledProblems == 0 ? null
            : ModelEvaluator.Evaluate(model, tokenizer, Task, problems.Take(o.SampledProblems).ToList(), Eval(o.Samples, 128));
        var general = ModelEvaluator.Evaluate(model, tokenizer, General, ModelEvaluator.Problems(General, o.GeneralEvalProblems), Eval(1, 100));
        var m = ModelMetrics.From(new ModelEvaluation(greedy, sampled));
        var language = new LanguageConsistencyReward(o.Readability.Script);
        var rows = greedy.Samples.Select(s => s.Row).ToList();
        examples =
        [
            Example(greedy.Samples.FirstOrDefault(s => s.Correct) ?? greedy.Samples[0]), Example(greedy.Samples.FirstOrDefault(s => !s.Correct) ?? greedy.Samples[^1]), Example(general.Samples[0]),
        ];
        return new StageMetrics(
            m.Accuracy, o.Samples, sampled is null ? null : m.PassAtK.GetValueOrDefault(o.Samples), sampled is null ? null : m.MajAtK.GetValueOrDefault(o.Samples),
            m.MeanCompletionTokens, m.ThinkFraction, m.FormatFraction,
            language.Score(rows.Select(r => new Completion(r.Prompt ?? "", r.Completion, new TaskItem(r.Id, "", r.Answer))).ToList()).Average(s => (double)s),
            m.TruncatedFraction, m.ReflectiveWords, general.Summary.Accuracy,
            general.Samples.Average(s => s.Row.Completion.Contains("<think>", StringComparison.Ordinal) ? 1.0 : 0.0), general.Summary.MeanCompletionTokens);

        EvalOptions Eval(int samples, int batch) => new()
        {
            Samples = samples, MaxNewTokens = o.MaxCompletionTokens, BatchSize = batch, Seed = o.Seed, PromptStyle = o.PromptStyle,
        };
    }

    static JsonObject Example(ScoredSample s) => new()
    {
        ["prompt"] = s.Row.Prompt, ["completion"] = s.Row.Completion, ["gold"] = s.Row.Answer, ["correct"] = s.Correct,
    };

    /// <summary>SFT of <paramref name="model"/> on prompt-template rows into <paramref name="runDir"/>; null when interrupted.</summary>
    public string? Sft(LlamaModel model, ITokenizer tokenizer, IReadOnlyList<(int[] Ids, bool[] IsCompletion)> rows, LanguageModelTrainerOptions sft, string runDir, string stage)
    {
        sft = sft with { SequenceLength = Math.Min(sft.SequenceLength, model.Config.MaxPositionEmbeddings), Seed = options.Seed };
        var source = new ChatBatchSource(rows, tokenizer.PadId, sft.BatchSize, sft.SequenceLength, sft.Seed);
        var result = new LanguageModelTrainer(model, tokenizer, sft, source)
        {
            RunDirectory = runDir, PeakFlops = PeakFlops, Log = log, Warn = log,
            StateTemplate = new TrainingState { Step = 0, Seed = sft.Seed, Trainer = "sft" }.WithOptions(sft).With("pipeline_stage", stage),
        }.Run(cancel: cancel);
        return result.Outcome == TrainingOutcome.Completed ? result.Checkpoint : null;
    }

    /// <summary>GRPO settings of an RL stage: the pipeline's template, completion limit and seed.</summary>
    public GrpoOptions Rl(GrpoOptions rl, int stage) =>
        rl with { MaxCompletionTokens = options.MaxCompletionTokens, PromptStyle = options.PromptStyle, Seed = options.Seed + stage };

    /// <summary>The first and last GRPO step's headline scalars (NaN as null), for done.json and the report.</summary>
    public static JsonObject StepSummary(IReadOnlyList<GrpoStep> steps)
    {
        string[] keys = ["reward", "accuracy", "think_fraction", "completion_tokens", "kl", "reward_accuracy", "reward_format", "reward_language", "reward_rm"];
        JsonObject Of(GrpoStep s) => new(keys.Where(k => s.Scalars.ContainsKey(k))
            .Select(k => KeyValuePair.Create(k, double.IsFinite(s[k]) ? JsonValue.Create(Math.Round(s[k], 4)) : (JsonNode?)null)));
        return steps.Count == 0 ? new JsonObject() : new JsonObject { ["steps"] = steps.Count, ["first"] = Of(steps[0]), ["last"] = Of(steps[^1]) };
    }
}
