using Aha.Checkpoints;
using Aha.Data;
using Aha.Model;
using Aha.Preferences;
using Aha.Tasks;
using Aha.Tasks.Rewards;
using Aha.Tokenizer;
using Aha.Training;
using TorchSharp;

namespace Aha.Constitutional;

/// <summary>Which RL algorithm optimises the policy against the preference model.</summary>
public enum RlAlgorithm
{
    /// <summary>PPO with a value model (the paper's choice): <see cref="PpoTrainer"/>.</summary>
    Ppo,
    /// <summary>GRPO with the preference model as its reward function: <see cref="GrpoTrainer"/> and <see cref="RewardModelReward"/>.</summary>
    Grpo,
}

/// <summary>RL-CAI settings (<c>aha cai rl</c>): what to label, then the reward model's and the RL trainer's own options.</summary>
public sealed record RlCaiOptions
{
    public PreferenceCollectionOptions Collection { get; init; } = new() { Prompts = 256, Samples = 4 };
    public RewardOptions Reward { get; init; } = new() { Steps = 100, SaveEvery = 0, KeepLast = 1 };
    /// <summary>Share of prompts whose pairs are held out of reward-model training (split by prompt, as <c>aha rm</c> does).</summary>
    public double EvalFraction { get; init; } = 0.1;
    public RlAlgorithm Algorithm { get; init; } = RlAlgorithm.Ppo;
    public PpoOptions Ppo { get; init; } = new() { Steps = 30, PromptsPerStep = 32, LearningRate = 1e-4, SaveEvery = 0, KeepLast = 1 };
    public GrpoOptions Grpo { get; init; } = new() { Steps = 30, SaveEvery = 0 };
    /// <summary>Held-out problems for the policy's greedy accuracy before and after (0 = off).</summary>
    public int EvalProblems { get; init; } = 200;
    /// <summary>Stop after labelling (to measure the AI labels alone).</summary>
    public bool LabelsOnly { get; init; }

    public RlCaiOptions Validate()
    {
        Collection.Validate();
        Reward.Validate();
        if (EvalFraction is < 0 or >= 1 || double.IsNaN(EvalFraction)) throw new ArgumentException($"cai rl: --eval-fraction {EvalFraction} must be in [0, 1).");
        if (EvalProblems < 0) throw new ArgumentException($"cai rl: --eval-problems must be ≥ 0 (got {EvalProblems}).");
        if (Algorithm == RlAlgorithm.Ppo) Ppo.Validate(); else Grpo.Validate();
        return this;
    }
}

/// <summary>
/// The quality of the AI labels against the task's verifier, on the pairs it decides (one completion right, one wrong):
/// <see cref="Agreement"/> is the share whose label puts more than half its probability on the right one (a label of exactly
/// 0.5 — a hard judge whose two orders disagree — counts half); <see cref="MeanProbabilityOfCorrect"/> the labels' mean
/// probability on the right one (how confident, not only how often right).
/// </summary>
public sealed record AiLabelQuality(int Labels, int Abstained, int Decisive, double Agreement, double MeanProbabilityOfCorrect, int SoftLabels, long JudgeCalls);

/// <summary>What <see cref="ConstitutionalAi.RunRl"/> did: the labels and their quality, the reward model, and the policy before and after.</summary>
public sealed record RlCaiResult(PreferenceTally Tally, AiLabelQuality LabelQuality, string PairsPath, RewardEvaluation? RewardModel, string? RewardModelCheckpoint,
    double? AccuracyBefore, double? AccuracyAfter, string? PolicyCheckpoint, TrainingResult? Rl);

public static partial class ConstitutionalAi
{
    /// <summary>Measures labelled pairs against the verifier (see <see cref="AiLabelQuality"/>).</summary>
    public static AiLabelQuality Quality(IReadOnlyList<LabeledPair> pairs, PreferenceTally tally, long judgeCalls = 0)
    {
        var onCorrect = pairs.Where(p => p.Chosen.Correct != p.Rejected.Correct)
            .Select(p => p.Chosen.Correct ? p.Label.ChosenProbability : 1 - p.Label.ChosenProbability).ToList();
        double agreement = onCorrect.Count == 0 ? double.NaN : onCorrect.Average(q => q > 0.5 ? 1 : q == 0.5 ? 0.5 : 0);
        double meanCorrect = onCorrect.Count == 0 ? double.NaN : onCorrect.Average();
        return new AiLabelQuality(tally.Labels, tally.Abstained, onCorrect.Count, agreement, meanCorrect, pairs.Count(p => p.Label.ProbabilityA is not null), judgeCalls);
    }

    /// <summary>
    /// RL-CAI (RLAIF) end to end, from the existing pieces: <see cref="PreferenceCollector.Collect"/> samples K completions per
    /// training prompt from <paramref name="policy"/> and has <paramref name="labeler"/> (an <see cref="AiLabeler"/>, or any
    /// labeler) judge every two; the pairs go to <c>out/pairs.jsonl</c>; a reward model (the policy's trunk with a score head)
    /// is trained on them by <see cref="RewardTrainer"/> (soft labels as soft targets; <c>out/rm</c>); then the policy is
    /// trained in place by PPO (<c>out/ppo</c>) or GRPO (<c>out/grpo</c>) against it. The verifier only measures.
    /// </summary>
    public static RlCaiResult RunRl(LlamaModel policy, ITokenizer tokenizer, ITask task, IPreferenceLabeler labeler, RlCaiOptions options, string outDir,
        Action<string>? log = null, CancellationToken cancel = default)
    {
        options.Validate();
        log ??= _ => { };
        Directory.CreateDirectory(outDir);
        var (pairs, tally) = PreferenceCollector.Collect(policy, tokenizer, task, labeler, options.Collection, log);
        string pairsPath = Path.Combine(outDir, "pairs.jsonl");
        PreferenceCollector.WriteJsonl(pairsPath, pairs);
        var quality = Quality(pairs, tally, labeler is AiLabeler ai ? ai.JudgeCalls : 0);
        log($"AI labels: {quality.Labels} ({quality.Abstained} abstained, {quality.SoftLabels} soft); verifier agreement {quality.Agreement:P1} on {quality.Decisive} decisive pairs, mean p(correct) {quality.MeanProbabilityOfCorrect:F3}");
        if (options.LabelsOnly || pairs.Count == 0)
        {
            if (pairs.Count == 0) log("no labelled pairs: nothing to train a reward model on.");
            return new RlCaiResult(tally, quality, pairsPath, null, null, null, null, null, null);
        }

        var encoded = pairs.Select(p => (p.Prompt, Pair: RewardPair.From(tokenizer, ToPreferencePair(p), options.Reward.MaxLength))).ToList();
        var train = encoded.Where(p => !TrainValidationSplit.IsValidation(p.Prompt, options.EvalFraction, options.Reward.Seed)).Select(p => p.Pair).ToList();
        var heldOut = encoded.Where(p => TrainValidationSplit.IsValidation(p.Prompt, options.EvalFraction, options.Reward.Seed)).Select(p => p.Pair).ToList();
        if (train.Count == 0) throw new ArgumentException($"cai rl: all {encoded.Count} pairs fell in the held-out share {options.EvalFraction}; lower it or label more prompts.");
        log($"reward model: {train.Count} training pairs, {heldOut.Count} held out ({heldOut.Count(p => p.Decisive)} decisive)");
        torch.manual_seed(options.Reward.Seed); // the head's N(0, 0.02) draw, as aha rm
        using var rm = RewardModels.FromCausalLm(policy, tokenizer.PadId);
        string rmDir = Path.Combine(outDir, "rm");
        RewardEvaluation? rmEval;
        string? rmCheckpoint;
        using (var trainer = new RewardTrainer(rm, tokenizer, train, heldOut, options.Reward) { RunDirectory = rmDir, Log = log, Warn = log })
        {
            var (result, _) = trainer.Run(cancel: cancel);
            rmEval = trainer.Evaluations.Count > 0 ? trainer.Evaluations[^1].Eval : null;
            rmCheckpoint = result.Checkpoint;
            if (result.Outcome != TrainingOutcome.Completed) return new RlCaiResult(tally, quality, pairsPath, rmEval, rmCheckpoint, null, null, null, result);
        }
        rm.eval();

        var style = options.Algorithm == RlAlgorithm.Ppo ? options.Ppo.PromptStyle : options.Grpo.PromptStyle;
        int maxTokens = options.Algorithm == RlAlgorithm.Ppo ? options.Ppo.MaxCompletionTokens : options.Grpo.MaxCompletionTokens;
        long seed = options.Algorithm == RlAlgorithm.Ppo ? options.Ppo.Seed : options.Grpo.Seed;
        double? before = Accuracy(policy, tokenizer, task, options.EvalProblems, maxTokens, seed, style, log, "before RL-CAI");
        var rewards = new RewardSet([(new RewardModelReward(rm, tokenizer, rm.Config.MaxPositionEmbeddings), 1f)]);
        TrainingResult rl;
        if (options.Algorithm == RlAlgorithm.Ppo)
        {
            using var value = RewardModels.Clone(rm); // the value model starts as the reward model (aha ppo's default)
            using var ppo = new PpoTrainer(policy, value, tokenizer, task, rewards, options.Ppo) { RunDirectory = Path.Combine(outDir, "ppo"), Log = log, Warn = log };
            rl = ppo.Run(cancel: cancel).Result;
        }
        else
        {
            using var grpo = new GrpoTrainer(policy, tokenizer, task, rewards, options.Grpo) { RunDirectory = Path.Combine(outDir, "grpo"), Log = log, Warn = log };
            rl = grpo.Run(cancel: cancel).Result;
        }
        double? after = rl.Outcome == TrainingOutcome.Completed ? Accuracy(policy, tokenizer, task, options.EvalProblems, maxTokens, seed, style, log, "after RL-CAI") : null;
        return new RlCaiResult(tally, quality, pairsPath, rmEval, rmCheckpoint, before, after, rl.Checkpoint, rl);
    }

    /// <summary>A labelled pair as the reward trainer reads it: text, verifier verdicts, and the soft label when there is one.</summary>
    public static PreferencePair ToPreferencePair(LabeledPair pair) =>
        PreferencePair.Text(pair.Prompt, pair.Chosen.Text, pair.Rejected.Text) with
        {
            Origin = pair.Source, Correct = (pair.Chosen.Correct, pair.Rejected.Correct),
            ChosenProbability = pair.Label.ProbabilityA is null ? null : pair.Label.ChosenProbability,
        };
}
