using System.Diagnostics;
using Aha.Checkpoints;
using Aha.Data;
using Aha.Eval;
using Aha.Model;
using Aha.Tasks;
using Aha.Tasks.Countdown;
using Aha.Tasks.Rewards;
using Aha.Tokenizer;
using TorchSharp;
using static TorchSharp.torch;

namespace Aha.Training;

/// <summary>One point of a held-out curve: greedy completions of the curve problems after <paramref name="Step"/> GRPO steps.</summary>
public sealed record CurvePoint(long Step, ReflectionStats Stats, double MeanTokens);

/// <summary>One GRPO run of the moment demo: its reward, steps, rollout reflection per step, held-out curve and final evaluation.</summary>
public sealed record MomentArm(
    string Name, string Rewards, IReadOnlyList<GrpoStep> Steps, IReadOnlyList<ReflectionStats> RolloutReflection,
    IReadOnlyList<CurvePoint> Curve, EvalReport FinalGreedy, EvalReport FinalSampled, bool Interrupted);

/// <summary>What <c>aha demo --task signs</c> measured.</summary>
public sealed record MomentResult(
    EvalReport BaseGreedy, EvalReport BaseSampled, IReadOnlyList<MomentArm> Arms,
    IReadOnlyDictionary<string, double> PhaseSeconds, double Seconds, bool Interrupted);

/// <summary>
/// The "aha moment" at toy scale (issue 16): pretrain the demo's base model on sign puzzles whose corpus mixes retry
/// traces (try, check, reject, try again), clean solutions and bare guesses; evaluate; then run the same GRPO three
/// times from the same base weights — verifier reward (accuracy + format), format only, and a seeded random reward —
/// measuring held-out accuracy, length and reflection (keywords and parsed behaviour, with precision and recall against
/// correctness) along the way. <see cref="R1ZeroDemo"/> is untouched: <c>aha demo</c> without --task is that one.
/// </summary>
public static class MomentDemo
{
    public static MomentResult Run(string dir, MomentOptions options, Action<string> log, CancellationToken cancel = default)
    {
        var m = options.Validate();
        var o = m.Demo;
        var total = Stopwatch.StartNew();
        var clock = Stopwatch.StartNew();
        var phases = new Dictionary<string, double>();
        var task = new SignsTask(m.Task);

        LlamaModel model;
        ITokenizer tokenizer;
        var pretrained = true;
        if (m.BaseModel is { } basePath)
        {
            log($"1/4 loading the base model from {basePath} (no pretraining)");
            (model, var checkpoint) = ModelLoader.OpenAndLoad(basePath);
            tokenizer = checkpoint.Tokenizer;
            model.train();
        }
        else
        {
            log($"1/4 pretraining a base model on sign puzzles, {m.Corpus.RetryShare:P0} retry traces ({o.PretrainSteps} steps)");
            var config = o.BaseModelConfig();
            torch.manual_seed(o.Seed);
            model = new LlamaModel(config);
            tokenizer = ModelPresets.Tokenizer(config);
            var pretrain = new LanguageModelTrainerOptions
            {
                Steps = o.PretrainSteps, BatchSize = o.PretrainBatch, SequenceLength = o.SequenceLength, LearningRate = o.PretrainLearningRate,
                WarmupSteps = Math.Min(30, o.PretrainSteps / 10), EvalEvery = 0, SaveEvery = 0, LogEvery = 50, Seed = o.Seed,
            };
            var corpus = new RetryCorpus(task, m.Corpus);
            var source = new PackedBatchSource(tokenizer, corpus.Documents(o.Seed), pretrain.BatchSize, pretrain.SequenceLength, o.Seed);
            var pre = new LanguageModelTrainer(model, tokenizer, pretrain, source)
            {
                RunDirectory = Path.Combine(dir, "pretrain"),
                StateTemplate = new TrainingState { Step = 0, Seed = o.Seed, Trainer = "pretrain" }.WithOptions(pretrain).With("corpus", "retry"),
                PeakFlops = Runtime.MatmulPeak.Measure(),
                Log = log,
            }.Run(cancel: cancel);
            pretrained = pre.Outcome == TrainingOutcome.Completed;
        }
        phases["pretrain"] = Lap(clock);

        var problems = ModelEvaluator.Problems(task, o.EvalProblems);
        var curveProblems = problems.Take(m.CurveProblems).ToList();
        var sampledProblems = problems.Take(o.SampledProblems).ToList();
        EvalReport Greedy(IReadOnlyList<TaskItem> items)
        {
            var report = ModelEvaluator.Evaluate(model, tokenizer, task, items, new EvalOptions { MaxNewTokens = o.Grpo.MaxCompletionTokens, BatchSize = 100, Seed = o.Seed });
            model.train();
            return report;
        }
        (EvalReport Greedy, EvalReport Sampled) Evaluate(string label)
        {
            log($"evaluating the {label} model: {problems.Count} held-out problems greedy, {sampledProblems.Count} × {o.Samples} samples");
            var greedy = Greedy(problems);
            var sampled = ModelEvaluator.Evaluate(model, tokenizer, task, sampledProblems, new EvalOptions
            {
                Samples = o.Samples, MaxNewTokens = o.Grpo.MaxCompletionTokens, BatchSize = 128, Seed = o.Seed,
            });
            model.train();
            return (greedy, sampled);
        }

        log("2/4 evaluating the base model");
        var before = Evaluate("base");
        var baseCurve = Point(0, before.Greedy, curveProblems.Count);
        phases["eval_base"] = Lap(clock);

        var snapshot = model.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone());
        var arms = new List<MomentArm>();
        bool interrupted = !pretrained;
        foreach (var arm in m.Arms)
        {
            if (interrupted) break;
            using (no_grad())
            {
                var weights = model.state_dict();
                foreach (var (name, tensor) in snapshot) weights[name].copy_(tensor);
            }
            var (rewards, description) = Rewards(arm, task, o.Grpo.Seed);
            log($"3/4 GRPO ({arm}): {o.Grpo.Steps} steps of {o.Grpo.PromptsPerStep} prompts × {o.Grpo.GroupSize} samples, reward {description}");
            var rollouts = new List<ReflectionStats>();
            var curve = new List<CurvePoint> { baseCurve };
            using var trainer = new GrpoTrainer(model, tokenizer, task, rewards, o.Grpo)
            {
                RunDirectory = Path.Combine(dir, arm, "grpo"),
                StateTemplate = new TrainingState { Step = 0, Trainer = "grpo" }.With("base_model", Path.GetFullPath(m.BaseModel ?? Path.Combine(dir, "pretrain"))).With("task", task.Name).With("reward", arm),
                Log = log,
                OnStep = step =>
                {
                    rollouts.Add(ReflectionStats.From(step.Samples.Select(s => (s.Completion, s.Correct))));
                    long done = step.Step + 1;
                    if (done % m.CurveEvery == 0 && done < o.Grpo.Steps) curve.Add(Point(done, Greedy(curveProblems), curveProblems.Count));
                },
            };
            var (result, history) = trainer.Run(cancel: cancel);
            interrupted = result.Outcome != TrainingOutcome.Completed;
            phases[$"grpo_{arm}"] = Lap(clock);
            var after = Evaluate($"GRPO ({arm})");
            curve.Add(Point(history.Count, after.Greedy, curveProblems.Count));
            phases[$"eval_{arm}"] = Lap(clock);
            arms.Add(new MomentArm(arm, description, history, rollouts, curve, after.Greedy, after.Sampled, interrupted));
        }
        return new MomentResult(before.Greedy, before.Sampled, arms, phases, total.Elapsed.TotalSeconds, interrupted);
    }

    /// <summary>The reward of each arm; the format and random controls differ from the verifier's only in the reward.</summary>
    public static (RewardSet Rewards, string Description) Rewards(string arm, ITask task, long seed) => arm switch
    {
        "verifier" => (RewardSet.R1Zero(task), "accuracy + format"),
        "format" => (new RewardSet([(new FormatReward(), 1f)]), "format only"),
        "random" => (new RewardSet([(new RandomReward(seed), 1f)]), "random (Bernoulli 0.5, seeded)"),
        _ => throw new ArgumentException($"unknown arm '{arm}'; use one of {string.Join(", ", MomentOptions.ArmNames)}."),
    };

    // The first `count` greedy samples are the curve problems (the curve set is a prefix of the evaluation set).
    static CurvePoint Point(long step, EvalReport greedy, int count)
    {
        var samples = greedy.Samples.Take(count).ToList();
        return new CurvePoint(step, ReflectionStats.From(samples.Select(s => (s.Row.Completion, s.Correct))), samples.Average(s => (double)(s.Row.Tokens ?? 0)));
    }

    static double Lap(Stopwatch clock)
    {
        double seconds = clock.Elapsed.TotalSeconds;
        clock.Restart();
        return seconds;
    }
}
