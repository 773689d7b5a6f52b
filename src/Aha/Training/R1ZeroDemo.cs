using System.Diagnostics;
using Aha.Checkpoints;
using Aha.Data;
using Aha.Eval;
using Aha.Model;
using Aha.Tasks;
using Aha.Tasks.Rewards;
using TorchSharp;

namespace Aha.Training;

/// <summary>What the demo measured: the base and GRPO models on the same held-out problems, the GRPO steps, the time per phase.</summary>
public sealed record DemoResult(
    EvalReport BaseGreedy, EvalReport BaseSampled, EvalReport FinalGreedy, EvalReport FinalSampled,
    IReadOnlyList<GrpoStep> Steps, IReadOnlyDictionary<string, double> PhaseSeconds, double Seconds, bool Interrupted);

/// <summary>
/// R1-Zero in miniature, start to finish: pretrain a base model on the built-in reasoning corpus (worked additions
/// mixed with bare, often wrong answers), evaluate it on held-out problems, reinforce it with GRPO and rule-checked
/// rewards (accuracy + format, no human feedback, no value model), evaluate again on the same problems.
/// </summary>
public static class R1ZeroDemo
{
    public static DemoResult Run(string dir, DemoOptions options, Action<string> log, CancellationToken cancel = default)
    {
        var o = options.Validate();
        var total = Stopwatch.StartNew();
        var clock = Stopwatch.StartNew();
        var phases = new Dictionary<string, double>();
        var task = TaskRegistry.Addition();

        log($"1/4 pretraining a base model{(o.Arch == "llama" ? "" : $" ({Architectures.Describe(o.Arch)})")} on the built-in reasoning corpus ({o.PretrainSteps} steps)");
        var (model, tokenizer, pre) = Pretrain(Path.Combine(dir, "pretrain"), o, log, cancel);
        phases["pretrain"] = Lap(clock);

        var problems = ModelEvaluator.Problems(task, o.EvalProblems);
        var sampledProblems = problems.Take(o.SampledProblems).ToList();
        (EvalReport Greedy, EvalReport Sampled) Evaluate(string label)
        {
            log($"evaluating the {label} model: {problems.Count} held-out problems greedy, {sampledProblems.Count} × {o.Samples} samples");
            var greedy = ModelEvaluator.Evaluate(model, tokenizer, task, problems, new EvalOptions { MaxNewTokens = o.Grpo.MaxCompletionTokens, BatchSize = 100, Seed = o.Seed });
            var sampled = ModelEvaluator.Evaluate(model, tokenizer, task, sampledProblems, new EvalOptions
            {
                Samples = o.Samples, MaxNewTokens = o.Grpo.MaxCompletionTokens, BatchSize = 128, Seed = o.Seed,
            });
            model.train();
            return (greedy, sampled);
        }

        log("2/4 evaluating the base model");
        var before = Evaluate("base");
        phases["eval_base"] = Lap(clock);

        IReadOnlyList<GrpoStep> steps = [];
        bool interrupted = pre.Outcome != TrainingOutcome.Completed;
        if (!interrupted)
        {
            log($"3/4 GRPO: {o.Grpo.Steps} steps of {o.Grpo.PromptsPerStep} prompts × {o.Grpo.GroupSize} samples, rewards accuracy + format");
            using var trainer = new GrpoTrainer(model, tokenizer, task, RewardSet.R1Zero(task), o.Grpo)
            {
                RunDirectory = Path.Combine(dir, "grpo"),
                StateTemplate = new TrainingState { Step = 0, Trainer = "grpo" }.With("base_model", Path.GetFullPath(Path.Combine(dir, "pretrain"))).With("task", task.Name),
                Log = log,
            };
            var (result, history) = trainer.Run(cancel: cancel);
            steps = history;
            interrupted = result.Outcome != TrainingOutcome.Completed;
        }
        phases["grpo"] = Lap(clock);

        log("4/4 evaluating the GRPO model on the same problems");
        var after = Evaluate("GRPO");
        phases["eval_final"] = Lap(clock);
        return new DemoResult(before.Greedy, before.Sampled, after.Greedy, after.Sampled, steps, phases, total.Elapsed.TotalSeconds, interrupted);
    }

    /// <summary>
    /// The demo's base model: a fresh model of <paramref name="options"/>' shape pretrained on the built-in reasoning corpus
    /// (<see cref="ReasoningCorpus"/>, train split only) into <paramref name="runDir"/>. <c>aha pipeline r1</c> builds its base the same way.
    /// </summary>
    public static (LlamaModel Model, Tokenizer.ITokenizer Tokenizer, TrainingResult Result) Pretrain(string runDir, DemoOptions options, Action<string> log, CancellationToken cancel = default)
    {
        var o = options.Validate();
        var config = o.BaseModelConfig();
        torch.manual_seed(o.Seed);
        var model = new LlamaModel(config);
        var tokenizer = ModelPresets.Tokenizer(config);
        var pretrain = new LanguageModelTrainerOptions
        {
            Steps = o.PretrainSteps, BatchSize = o.PretrainBatch, SequenceLength = o.SequenceLength, LearningRate = o.PretrainLearningRate,
            WarmupSteps = Math.Min(30, o.PretrainSteps / 10), EvalEvery = 0, SaveEvery = 0, LogEvery = 50, Seed = o.Seed,
        };
        var source = new PackedBatchSource(tokenizer, BuiltinCorpus.Documents("reasoning", TaskSplit.Train, o.Seed), pretrain.BatchSize, pretrain.SequenceLength, o.Seed);
        var result = new LanguageModelTrainer(model, tokenizer, pretrain, source)
        {
            RunDirectory = runDir,
            StateTemplate = new TrainingState { Step = 0, Seed = o.Seed, Trainer = "pretrain" }.WithOptions(pretrain).With("corpus", "reasoning"),
            PeakFlops = Runtime.MatmulPeak.Measure(),
            Log = log,
        }.Run(cancel: cancel);
        return (model, tokenizer, result);
    }

    static double Lap(Stopwatch clock)
    {
        double seconds = clock.Elapsed.TotalSeconds;
        clock.Restart();
        return seconds;
    }
}
