using System.Text.Json;
using System.Text.Json.Nodes;
using Aha.Checkpoints;
using Aha.Data;
using Aha.Eval;
using Aha.Model;
using Aha.Preferences;
using Aha.Tasks;
using Aha.Tasks.Arithmetic;
using Aha.Tasks.Rewards;
using Aha.Training;
using TorchSharp;

namespace Aha.Pipeline;

/// <summary>
/// The five stages of <see cref="R1Pipeline"/>, each from the previous stage's checkpoint to its own, in its own folder.
/// Each returns its final checkpoint folder and what it did, or null when cancelled (nothing is marked done then).
/// </summary>
static class Stages
{
    static readonly JsonSerializerOptions Readable = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Stage 0: the given checkpoint, or the demo's base model pretrained into <c>pretrain/</c>.</summary>
    public static (string, JsonObject)? Base(StageContext c, string folder, string? basePath)
    {
        if (basePath is not null)
        {
            var checkpoint = ModelLoader.Open(basePath);
            return (checkpoint.Directory, new JsonObject { ["source"] = "given", ["path"] = checkpoint.Directory });
        }
        var b = c.Options.Base;
        c.Log($"no --base: pretraining the demo's base model ({b.PretrainSteps} steps on the built-in reasoning corpus)");
        var (model, _, result) = R1ZeroDemo.Pretrain(Path.Combine(folder, "pretrain"), b, c.Log, c.Cancel);
        model.Dispose();
        if (result.Outcome != TrainingOutcome.Completed || result.Checkpoint is null) return null;
        return (result.Checkpoint, new JsonObject { ["source"] = "pretrained", ["steps"] = b.PretrainSteps, ["final_loss"] = result.Loss });
    }

    /// <summary>Stage 1: SFT of the base on long, readable reasoning examples in the fixed format.</summary>
    public static (string, JsonObject)? ColdStart(StageContext c, string folder, string basePath)
    {
        var o = c.Options;
        List<(TaskItem Item, string Completion)> examples;
        switch (o.ColdStart)
        {
            case ColdStartSource.File:
                examples = JsonlReader.ReadPromptCompletions(o.ColdStartPath!).Take(o.ColdStartExamples)
                    .Select((row, i) => (new TaskItem($"cold-{i}", row.Prompt, ""), row.Completion)).ToList();
                break;
            case ColdStartSource.Teacher:
                var (teacher, loaded) = ModelLoader.OpenAndLoad(o.ColdStartPath!);
                using (teacher)
                {
                    c.Log($"cold start from the teacher {loaded.Directory}: {o.ColdStartExamples} prompts × {o.RejectionSamples} samples, verified and filtered");
                    var (kept, tally) = RejectionSampler.Sample(teacher, loaded.Tokenizer, c.Task,
                        ModelEvaluator.Problems(c.Task, o.ColdStartExamples, TaskSplit.Train, o.Seed + 1), Rejection(o, keepPerPrompt: 1), c.Log);
                    c.Log(Tally(tally));
                    examples = kept.Select(k => (k.Item, k.Completion)).ToList();
                }
                break;
            default:
                examples = ModelEvaluator.Problems(c.Task, o.ColdStartExamples, TaskSplit.Train, o.Seed + 1)
                    .Select(item => (item, ReasoningCorpus.ReadableCompletion(item))).ToList();
                break;
        }
        if (examples.Count == 0) throw new InvalidOperationException($"the cold-start set from {o.ColdStart.ToString().ToLowerInvariant()} {o.ColdStartPath} is empty; give rows or a stronger teacher.");
        WriteRows(Path.Combine(folder, "cold_start.jsonl"), examples.Select(e => (e.Item.Prompt, e.Completion, "reasoning")));

        var (model, checkpoint) = ModelLoader.OpenAndLoad(basePath);
        using var _ = model;
        var rows = examples.Select(e => ChatBatchSource.Encode(checkpoint.Tokenizer, c.Task, e.Item, e.Completion, o.PromptStyle)).ToList();
        c.Log($"cold start: SFT on {rows.Count} {o.ColdStart.ToString().ToLowerInvariant()} examples, {o.ColdStartSft.Steps} steps of {o.ColdStartSft.BatchSize}");
        string? done = c.Sft(model, checkpoint.Tokenizer, rows, o.ColdStartSft, Path.Combine(folder, "sft"), "cold_start");
        return done is null ? null : (done, new JsonObject
        {
            ["source"] = o.ColdStart.ToString().ToLowerInvariant(), ["examples"] = rows.Count, ["sft_steps"] = o.ColdStartSft.Steps,
            ["mean_example_tokens"] = Math.Round(rows.Average(r => r.IsCompletion.Count(x => x)), 1),
        });
    }

    /// <summary>Stage 2: GRPO from the cold-start model with accuracy + format + language-consistency rewards.</summary>
    public static (string, JsonObject)? ReasoningRl(StageContext c, string folder, string coldStart)
    {
        var o = c.Options;
        var (model, checkpoint) = ModelLoader.OpenAndLoad(coldStart);
        using var _ = model;
        var rewards = new RewardSet([(new AccuracyReward(c.Task), 1f), (new FormatReward(), 1f), (new LanguageConsistencyReward(o.Readability.Script), o.LanguageWeight)]);
        var rl = c.Rl(o.ReasoningRl, 2);
        c.Log($"reasoning RL: {rl.Steps} GRPO steps of {rl.PromptsPerStep} prompts × {rl.GroupSize} samples, rewards accuracy + format + {o.LanguageWeight:0.##}·language");
        model.train();
        using var trainer = new GrpoTrainer(model, checkpoint.Tokenizer, c.Task, rewards, rl)
        {
            RunDirectory = Path.Combine(folder, "grpo"), Log = c.Log, Warn = c.Log,
            StateTemplate = new TrainingState { Step = 0, Trainer = "grpo" }.With("base_model", checkpoint.Directory).With("task", c.Task.Name),
        };
        var (result, steps) = trainer.Run(cancel: c.Cancel);
        return result.Outcome != TrainingOutcome.Completed || result.Checkpoint is null ? null
            : (result.Checkpoint, new JsonObject { ["rewards"] = "accuracy + format + language", ["grpo"] = StageContext.StepSummary(steps) });
    }

    /// <summary>Stage 3: rejection sampling from the stage-2 model plus non-reasoning rows, then SFT of the base on them.</summary>
    public static (string, JsonObject)? RejectionSft(StageContext c, string folder, string reasoningRl, string basePath)
    {
        var o = c.Options;
        IReadOnlyList<AcceptedSample> kept;
        RejectionTally tally;
        var (policy, policyCheckpoint) = ModelLoader.OpenAndLoad(reasoningRl);
        using (policy)
        {
            c.Log($"rejection sampling: {o.RejectionPrompts} training prompts × {o.RejectionSamples} samples at T {o.RejectionTemperature} from {policyCheckpoint.Directory}");
            (kept, tally) = RejectionSampler.Sample(policy, policyCheckpoint.Tokenizer, c.Task,
                ModelEvaluator.Problems(c.Task, o.RejectionPrompts, TaskSplit.Train, o.Seed + 3), Rejection(o, o.KeepPerPrompt), c.Log);
        }
        c.Log(Tally(tally));
        var general = ModelEvaluator.Problems(c.General, Math.Max(1, o.NonReasoningRows), TaskSplit.Train, o.Seed + 4).Take(o.NonReasoningRows).ToList();
        var set = kept.Select(k => (Task: (ITask)c.Task, k.Item, k.Completion, Kind: "reasoning"))
            .Concat(general.Select(g => (Task: (ITask)c.General, Item: g, Completion: LargerTask.PlainAnswer(g), Kind: "non_reasoning"))).ToList();
        if (set.Count == 0)
            throw new InvalidOperationException($"stage 3 has nothing to train on: {tally.Sampled} samples, none kept, and no non-reasoning rows; train stage 2 longer or loosen the filters.");
        WriteRows(Path.Combine(folder, "sft_data.jsonl"), set.Select(s => (s.Item.Prompt, s.Completion, s.Kind)));

        var (model, checkpoint) = ModelLoader.OpenAndLoad(basePath);
        using var _ = model;
        var rows = set.Select(s => ChatBatchSource.Encode(checkpoint.Tokenizer, s.Task, s.Item, s.Completion, o.PromptStyle)).ToList();
        // At least the cold start's steps: the base needs about that many to learn the format again, whatever number of traces survive.
        int steps = Math.Max(o.ColdStartSft.Steps, (int)Math.Ceiling((double)rows.Count * o.RetrainEpochs / o.RetrainSft.BatchSize));
        var sft = o.RetrainSft with { Steps = steps, WarmupSteps = Math.Min(o.RetrainSft.WarmupSteps, steps / 10) };
        c.Log($"SFT of the base ({checkpoint.Directory}) on {kept.Count} kept + {general.Count} non-reasoning rows, {steps} steps (≥ {o.RetrainEpochs} epochs, ≥ the cold start's {o.ColdStartSft.Steps})");
        string? done = c.Sft(model, checkpoint.Tokenizer, rows, sft, Path.Combine(folder, "sft"), "rejection_sft");
        var filters = new JsonObject(tally.Rejected.Select(r => KeyValuePair.Create(r.Key, (JsonNode?)r.Value)));
        return done is null ? null : (done, new JsonObject
        {
            ["prompts"] = tally.Prompts, ["sampled"] = tally.Sampled, ["rejected"] = filters, ["kept"] = tally.Kept,
            ["prompts_with_a_keep"] = tally.PromptsWithAKeep, ["non_reasoning_rows"] = general.Count, ["sft_rows"] = rows.Count,
            ["epochs"] = o.RetrainEpochs, ["sft_steps"] = steps, ["sft_from"] = checkpoint.Directory,
        });
    }

    /// <summary>
    /// Stage 4: preference pairs on general prompts from the stage-3 model (simulated labels), a reward model on them, then
    /// GRPO on reasoning and general prompts with one reward set: accuracy, format and language for reasoning, the RM for general.
    /// </summary>
    public static (string, JsonObject)? AllScenarioRl(StageContext c, string folder, string rejectionSft)
    {
        var o = c.Options;
        var (policy, checkpoint) = ModelLoader.OpenAndLoad(rejectionSft);
        using var _ = policy;
        var tokenizer = checkpoint.Tokenizer;
        var labeler = new SimulatedLabeler(o.LabelNoise, o.LengthBias, o.Seed).Validate();
        c.Log($"preference pairs: {o.PreferencePrompts} general prompts × {o.PreferenceSamples} samples, labeler {labeler.Source} (noise {o.LabelNoise}, length bias {o.LengthBias})");
        var (pairs, prefs) = PreferenceCollector.Collect(policy, tokenizer, c.General, labeler, new PreferenceCollectionOptions
        {
            Prompts = o.PreferencePrompts, Samples = o.PreferenceSamples, MaxCompletionTokens = o.MaxCompletionTokens, Temperature = 1.0,
            PromptStyle = o.PromptStyle, Seed = o.Seed + 5,
        }, c.Log);
        PreferenceCollector.WriteJsonl(Path.Combine(folder, "prefs.jsonl"), pairs);
        if (pairs.Count < 2)
            throw new InvalidOperationException($"stage 4 got {pairs.Count} preference pairs from {prefs.Completions} completions ({prefs.SkippedIdentical} identical pairs skipped); raise --preference-prompts or the sampling temperature.");

        var encoded = pairs.Select(p => (p.Prompt, Pair: RewardPair.From(tokenizer,
            PreferencePair.Text(p.Prompt, p.Chosen.Text, p.Rejected.Text) with { Correct = (p.Chosen.Correct, p.Rejected.Correct) }, o.RewardModel.MaxLength))).ToList();
        var train = encoded.Where(e => !TrainValidationSplit.IsValidation(e.Prompt, 0.1, o.Seed)).Select(e => e.Pair).ToList();
        var heldOut = encoded.Where(e => TrainValidationSplit.IsValidation(e.Prompt, 0.1, o.Seed)).Select(e => e.Pair).ToList();
        if (train.Count == 0) (train, heldOut) = (heldOut, []);
        torch.manual_seed(o.RewardModel.Seed); // the score head's N(0, 0.02) draw
        using var rm = RewardModels.FromCausalLm(policy, tokenizer.PadId);
        c.Log($"reward model: {train.Count} training pairs, {heldOut.Count} held out, {o.RewardModel.Steps} steps");
        RewardEvaluation? rmEval;
        using (var rmTrainer = new RewardTrainer(rm, tokenizer, train, heldOut, o.RewardModel)
        {
            RunDirectory = Path.Combine(folder, "rm"), Log = c.Log, Warn = c.Log,
            StateTemplate = new TrainingState { Step = 0, Trainer = "rm" }.With("base_model", checkpoint.Directory).With("data", Path.Combine(folder, "prefs.jsonl")),
        })
        {
            var (rmResult, _) = rmTrainer.Run(cancel: c.Cancel);
            if (rmResult.Outcome != TrainingOutcome.Completed) return null;
            rmEval = rmTrainer.Evaluations.LastOrDefault().Eval;
        }

        var mixed = new ScenarioTask(c.Task, c.General, o.GeneralEvery);
        Func<TaskItem, bool> reasoning = i => !ScenarioTask.IsGeneral(i);
        var rewards = new RewardSet(
        [
            (new ScenarioReward(new AccuracyReward(mixed), reasoning), 1f),
            (new ScenarioReward(new FormatReward(), reasoning), 1f),
            (new ScenarioReward(new LanguageConsistencyReward(o.Readability.Script), reasoning), o.LanguageWeight),
            (new ScenarioReward(new RewardModelReward(rm, tokenizer, o.RewardModel.MaxLength), ScenarioTask.IsGeneral), 1f),
        ]);
        var rl = c.Rl(o.AllScenarioRl, 4);
        c.Log($"all-scenario RL: {rl.Steps} GRPO steps, every {o.GeneralEvery}th prompt general; rules for reasoning, the reward model for general");
        policy.train();
        using var trainer = new GrpoTrainer(policy, tokenizer, mixed, rewards, rl)
        {
            RunDirectory = Path.Combine(folder, "grpo"), Log = c.Log, Warn = c.Log,
            StateTemplate = new TrainingState { Step = 0, Trainer = "grpo" }.With("base_model", checkpoint.Directory).With("task", mixed.Name),
        };
        var (result, steps) = trainer.Run(cancel: c.Cancel);
        if (result.Outcome != TrainingOutcome.Completed || result.Checkpoint is null) return null;
        return (result.Checkpoint, new JsonObject
        {
            ["rewards"] = "reasoning: accuracy + format + language; general: reward model",
            ["preference_pairs"] = pairs.Count, ["labels"] = prefs.Labels, ["sample_accuracy"] = Round(prefs.SampleAccuracy),
            ["label_verifier_agreement"] = Round(prefs.Agreement),
            ["rm_train_pairs"] = train.Count, ["rm_eval_pairs"] = heldOut.Count,
            ["rm_eval_accuracy"] = Round(rmEval?.Accuracy), ["rm_eval_verifier_agreement"] = Round(rmEval?.VerifierAgreement),
            ["grpo"] = StageContext.StepSummary(steps),
        });
    }

    static JsonNode? Round(double? value) => value is { } v && double.IsFinite(v) ? Math.Round(v, 4) : null;

    static RejectionOptions Rejection(R1PipelineOptions o, int keepPerPrompt) => new()
    {
        Samples = o.RejectionSamples, KeepPerPrompt = keepPerPrompt, Temperature = o.RejectionTemperature,
        MaxCompletionTokens = o.MaxCompletionTokens, PromptStyle = o.PromptStyle, Readability = o.Readability, Seed = o.Seed + 3,
    };

    static string Tally(RejectionTally t) =>
        $"rejection sampling: {t.Sampled} samples of {t.Prompts} prompts; rejected {string.Join(", ", t.Rejected.Select(r => $"{r.Key} {r.Value}"))}; kept {t.Kept} ({t.PromptsWithAKeep} prompts)";

    static void WriteRows(string path, IEnumerable<(string Prompt, string Completion, string Kind)> rows) =>
        Durable.ReplaceText(path, string.Concat(rows.Select(r => JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["prompt"] = r.Prompt, ["completion"] = r.Completion, ["kind"] = r.Kind,
        }, Readable) + "\n")));
}
