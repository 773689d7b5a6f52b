using System.Diagnostics;
using Aha.Generation;
using Aha.Model;
using Aha.Tasks;
using Aha.Checkpoints;
using Aha.Tasks.Rewards;
using Aha.Tokenizer;
using Aha.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Aha.Training;

/// <summary>
/// Group Relative Policy Optimization (DeepSeekMath eq. 3–4) with rule-checked rewards, R1-Zero style. Each step:
/// sample G completions for each of P prompts from the current (old) policy, score them with the reward functions,
/// normalise rewards within each group into advantages, then take μ clipped-ratio updates with a k3 KL penalty to a
/// frozen reference. No value model, no human feedback.
/// </summary>
public sealed class GrpoTrainer : IDisposable
{
    readonly LlamaModel _policy;
    readonly LlamaModel? _reference;
    readonly ITask _task;
    readonly RewardSet _rewards;
    readonly GrpoOptions _options;
    readonly ITokenizer _tokenizer;
    readonly TorchSharp.Modules.AdamW _optimizer;
    readonly ProblemStream _problems;
    readonly long _matmulParameters;
    long _referenceStep; // the step whose policy the reference holds; 0 = the base model

    /// <summary>Problems drawn from the task's train split so far: the data position a resumed run skips to.</summary>
    public long ProblemCursor => _problems.Drawn;
    /// <summary>Passes over a finite train split completed so far (0 during the first pass); each later pass has its own seeded order.</summary>
    public long ProblemEpoch => _problems.Epoch;

    /// <param name="tokenizer">The policy's tokenizer (its checkpoint's): prompts, stop ids, padding, decoding, and the saved checkpoints' tokenizer files.</param>
    public GrpoTrainer(LlamaModel policy, ITokenizer tokenizer, ITask task, RewardSet rewards, GrpoOptions options)
    {
        _policy = policy;
        _tokenizer = tokenizer;
        _task = task;
        _rewards = rewards;
        _options = options.Validate();
        // A LoRA policy optimises its adapters only, and its KL reference is itself with the adapters off (no second model).
        _optimizer = Optimizers.AdamW(policy.Trainable, options.LearningRate, options.Beta1, options.Beta2, options.WeightDecay);
        if (options.Beta > 0 && policy.Lora is null)
        {
            var first = policy.parameters().First();
            _reference = new LlamaModel(policy.Config, first.device, initialize: false).to(first.dtype); // the policy's compute dtype (BF16 stays BF16)
            _reference.eval();
            ResetReference(0);
        }
        _problems = new ProblemStream(task, options.Seed, line => Log(line));
        _matmulParameters = Flops.MatmulParameters(policy);
    }

    /// <summary>The separate KL reference model (null with β 0 or with LoRA, whose reference is the policy with adapters off).</summary>
    internal LlamaModel? Reference => _reference;

    /// <summary>Where checkpoints and metrics.jsonl go; null trains without saving.</summary>
    public string? RunDirectory { get; init; }
    /// <summary>Saved with each checkpoint (trainer name, options, the base model's path, …).</summary>
    public TrainingState StateTemplate { get; init; } = new() { Step = 0, Trainer = "grpo" };
    public bool TensorBoard { get; init; }
    public Action<string> Log { get; init; } = Console.WriteLine;
    public Action<string> Warn { get; init; } = Console.Error.WriteLine;
    public Action<GrpoStep>? OnStep { get; init; }
    /// <summary>Test hook: makes chosen steps non-finite (see <see cref="NonFiniteInjection"/>).</summary>
    public NonFiniteInjection? Inject { get; init; }

    /// <summary>
    /// Trains from step 0 or from <paramref name="resume"/> (weights, optimizer moments, reference, problem position, step)
    /// until the last step or cancellation; the first Ctrl-C finishes the step, saves and returns. The reference model is
    /// the policy as given to the constructor (the base model) until its first reset, so pass the base weights then resume.
    /// </summary>
    public (TrainingResult Result, IReadOnlyList<GrpoStep> Steps) Run(Checkpoint? resume = null, CancellationToken cancel = default) =>
        Run(() => resume is null ? 0 : Restore(RunLoop.Restore(resume, _policy, _optimizer), resume.Directory, resume), cancel);

    /// <summary>Resumes a LoRA run (adapters attached to the base policy) from its adapter checkpoint.</summary>
    public (TrainingResult Result, IReadOnlyList<GrpoStep> Steps) Run(AdapterCheckpoint resume, CancellationToken cancel = default) =>
        Run(() => Restore(AdapterRuns.Restore(resume, _policy, _optimizer), resume.Directory, null), cancel);

    (TrainingResult Result, IReadOnlyList<GrpoStep> Steps) Run(Func<long> restore, CancellationToken cancel)
    {
        long firstStep = restore();
        var steps = new List<GrpoStep>();
        var end = new RunLoop
        {
            Steps = _options.Steps, SaveEvery = _options.SaveEvery, MaxBadSteps = _options.MaxBadStepsInARow, RunDirectory = RunDirectory,
            TensorBoard = TensorBoard, Phase = "grpo", Warn = Warn, Weights = () => _policy.Trainable.parameters(), Save = Save,
            Step = step =>
            {
                var report = Step(step);
                steps.Add(report);
                return new LoopStep(step + 1, report.Scalars, report["skipped"] > 0);
            },
            AfterStep = (report, _) =>
            {
                Log(FormatLine(report.Step, _options.Steps, steps[^1]));
                OnStep?.Invoke(steps[^1]);
            },
        }.Run(firstStep, cancel);
        var last = steps.LastOrDefault();
        return (new(end.Outcome, end.Step, last?["loss"], null, last?["tokens_per_second"] ?? 0, 0, end.SkippedSteps, end.Checkpoint), steps);
    }

    /// <summary><c>step 012/060 | reward 1.234 | acc 0.456 | think 0.50 | len 34.5 | kl 0.0012 | clip 0.010/0.000 | ent 0.520 | aha 0.031 | gen 1.2s upd 0.8s | tok/s 1,234</c></summary>
    public static string FormatLine(long step, long steps, GrpoStep r)
    {
        int width = Math.Max(3, steps.ToString(System.Globalization.CultureInfo.InvariantCulture).Length);
        // A step without an update (no advantage and no KL term) has no kl, clip or entropy: "-", not a made-up 0.
        string F(string name, string format) => double.IsNaN(r[name]) ? "-" : r[name].ToString(format, System.Globalization.CultureInfo.InvariantCulture);
        return string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"step {step.ToString().PadLeft(width, '0')}/{steps.ToString().PadLeft(width, '0')} | reward {r["reward"]:F3} | acc {r["accuracy"]:F3} | think {r["think_fraction"]:F2} | len {r["completion_tokens"]:F1} | kl {F("kl", "F4")} | clip {F("clip_low", "F3")}/{F("clip_high", "F3")} | ent {F("entropy", "F3")} | aha {r["reflective_words"]:F3} | gen {r["seconds_generation"]:F1}s upd {r["seconds_update"]:F1}s | tok/s {r["tokens_per_second"]:N0}");
    }

    long Restore(TrainingState state, string directory, Checkpoint? resume)
    {
        _problems.Restore(state, Path.Combine(directory, Checkpoint.StateFile));
        _referenceStep = state.Get<long>("reference_step");
        if (_reference is not null && _referenceStep > 0 && resume is not null)
        {
            // The reference was reset to the policy of that step: its weights travel with the checkpoint.
            using var noGrad = no_grad();
            resume.LoadInto(_reference.state_dict(), ReferenceFile);
        }
        return state.Step;
    }

    /// <summary>The reference model's weights, saved when they are no longer the base model's (after a reset).</summary>
    public const string ReferenceFile = "reference.safetensors";

    string? Save(long step)
    {
        if (RunDirectory is null) return null;
        using var scope = NewDisposeScope();
        var state = _problems.SaveTo((StateTemplate with { Step = step, Seed = _options.Seed, Trainer = "grpo" }).WithOptions(_options))
            .With("reference_step", _referenceStep);
        if (_policy.Lora is not null) return AdapterRuns.Save(RunDirectory, step, _policy, _tokenizer, state, _optimizer, _options.KeepLast);
        var extra = new Dictionary<string, IReadOnlyDictionary<string, Tensor>>();
        if (_reference is not null && _referenceStep > 0) extra[ReferenceFile] = _reference.state_dict();
        return Checkpoint.Save(RunDirectory, Checkpoint.StepName(step), _policy, _policy.Config, _tokenizer, state,
            AdamWState.Export(_optimizer, _policy), new CheckpointOptions { KeepLast = _options.KeepLast, ExtraTensorFiles = extra });
    }

    /// <summary>
    /// One GRPO step (<paramref name="step"/> steps done before it): rollouts, rewards, advantages, reference log-probs,
    /// policy update. <see cref="Run"/> calls it inside the run loop; a caller driving steps itself also trims the heap
    /// (<see cref="NativeMemory.TrimOnCadence"/>).
    /// </summary>
    public GrpoStep Step(long step)
    {
        if (_reference is not null && _options.ReferenceResetEvery > 0 && step > 0 && step % _options.ReferenceResetEvery == 0)
            ResetReference(step);

        var clock = Stopwatch.StartNew();
        var seconds = new Dictionary<string, double> { ["generation"] = 0, ["reward"] = 0, ["reference"] = 0, ["update"] = 0 };
        var kept = new List<Rollout>();
        var allRollouts = new List<Rollout>();
        int groups = 0, zeroSignal = 0, promptIndex = 0;
        int rounds = _options.DynamicSampling ? _options.MaxSamplingRounds : 1;
        for (int round = 0; round < rounds && kept.Count < _options.PromptsPerStep * _options.GroupSize; round++)
        {
            int wanted = _options.PromptsPerStep - kept.Count / _options.GroupSize;
            var problems = Enumerable.Range(0, wanted).Select(_ => _problems.Next()).ToList();
            clock.Restart();
            var rollouts = Sample(step, problems, promptIndex);
            promptIndex += wanted;
            seconds["generation"] += clock.Elapsed.TotalSeconds;

            clock.Restart();
            Score(rollouts);
            seconds["reward"] += clock.Elapsed.TotalSeconds;
            allRollouts.AddRange(rollouts);
            foreach (var group in rollouts.Chunk(_options.GroupSize))
            {
                groups++;
                bool noSignal = group.All(r => r.Reward == group[0].Reward);
                if (noSignal) zeroSignal++;
                if (!(noSignal && _options.DynamicSampling)) kept.AddRange(group);
            }
        }

        var advantages = GrpoLoss.Advantages(kept.Select(r => r.Reward).ToArray(), _options.GroupSize, _options.ScaleRewards, out _);
        // With no advantage the policy-gradient term is 0, but β·KL still pulls toward the reference.
        bool klTerm = (_reference is not null || _policy.Lora is not null) && _options.Beta > 0;
        bool updating = kept.Count > 0 && (klTerm || advantages.Any(a => a != 0));
        var update = updating ? Update(step, kept, advantages, seconds) : UpdateStats.NotComputed;
        // Model FLOPs of the step: sampling every rollout, then on the kept ones the reference and (μ > 1 or minibatches) old
        // forwards and μ forward+backward passes. Reward functions count their own (a reward model's forwards).
        double Pass(IEnumerable<Rollout> rows) => Flops.Forward(_policy.Config, _matmulParameters, rows.Select(r => r.PromptIds.Length + r.CompletionIds.Count));
        bool reuseOld = _options.UpdatesPerBatch == 1 && _options.MiniBatches == 1;
        double flops = Pass(allRollouts) + (updating ? Pass(kept) * ((klTerm ? 1 : 0) + (reuseOld ? 0 : 1) + 3 * _options.UpdatesPerBatch) : 0);

        long sampledTokens = allRollouts.Sum(r => (long)r.CompletionIds.Count);
        var scalars = new Dictionary<string, double>
        {
            ["reward"] = allRollouts.Average(r => r.Reward),
            ["reward_std"] = Std(allRollouts.Select(r => (double)r.Reward)),
            ["accuracy"] = allRollouts.Average(r => r.Correct ? 1.0 : 0.0),
            ["zero_signal_fraction"] = groups == 0 ? 0 : (double)zeroSignal / groups,
            ["loss"] = update.Loss,
            ["kl"] = update.Kl,
            ["clip_low"] = update.ClipLow,
            ["clip_high"] = update.ClipHigh,
            ["entropy"] = update.Entropy,
            ["grad_norm"] = update.GradNorm,
            ["skipped"] = update.Skipped ? 1 : 0,
            ["completion_tokens"] = allRollouts.Average(r => r.CompletionIds.Count),
            ["completion_tokens_max"] = allRollouts.Max(r => r.CompletionIds.Count),
            ["truncated_fraction"] = allRollouts.Average(r => r.Truncated ? 1.0 : 0.0),
            ["reflective_words"] = allRollouts.Average(r => (double)ReflectiveWords.Count(r.Text)),
            ["think_fraction"] = allRollouts.Average(r => r.Text.Contains("<think>", StringComparison.Ordinal) ? 1.0 : 0.0),
            ["seconds_generation"] = seconds["generation"],
            ["seconds_reward"] = seconds["reward"],
            ["seconds_reference"] = seconds["reference"],
            ["seconds_update"] = seconds["update"],
            ["tokens_per_second"] = sampledTokens / Math.Max(seconds["generation"], 1e-9),
            ["flops"] = flops,
        };
        foreach (var name in allRollouts[0].ByName.Keys)
            scalars[$"reward_{name}"] = allRollouts.Average(r => r.ByName[name]);
        var samples = allRollouts.Select(r => new GrpoSample(r.Prompt, r.Text, r.Reward, r.Correct, r.CompletionIds.Count)).ToList();
        return new GrpoStep(step, scalars, samples);
    }

    record struct UpdateStats(double Loss, double Kl, double ClipLow, double ClipHigh, double Entropy, double GradNorm, bool Skipped)
    {
        /// <summary>No update ran: NaN is "not computed" (null in metrics.jsonl, "-" on the console), not a measured 0.</summary>
        public static UpdateStats NotComputed => new(double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, false);
    }

    List<Rollout> Sample(long step, IReadOnlyList<TaskItem> problems, int firstPromptIndex) =>
        Rollouts.Sample(_policy, _tokenizer, _task, problems, _options.GroupSize, _options.PromptStyle, _options.Temperature,
            _options.MaxCompletionTokens, _options.Seed, step, firstPromptIndex);

    void Score(List<Rollout> rollouts) => Rollouts.Score(rollouts, _rewards, _task);

    UpdateStats Update(long step, List<Rollout> rollouts, float[] advantages, Dictionary<string, double> seconds)
    {
        using var scope = NewDisposeScope();
        var (ids, mask) = Batch(rollouts);                                   // (N, L), (N, L−1)
        var adv = tensor(advantages, device: ids.device);                     // (N)
        var clock = Stopwatch.StartNew();
        bool reuseOld = _options.UpdatesPerBatch == 1 && _options.MiniBatches == 1;
        Tensor? old = null, reference = null;
        using (no_grad())
        {
            if (!reuseOld) old = ScoreTokens(_policy, ids, _options);
            seconds["update"] += clock.Elapsed.TotalSeconds;
            clock.Restart();
            if (_reference is not null) reference = ScoreTokens(_reference, ids, _options);
            else if (_policy.Lora is not null && _options.Beta > 0)
                using (_policy.Lora.Disabled()) reference = ScoreTokens(_policy, ids, _options); // the base: same weights, adapters off
            seconds["reference"] += clock.Elapsed.TotalSeconds;
        }

        clock.Restart();
        int rows = (int)ids.shape[0];
        var chunks = Enumerable.Range(0, _options.MiniBatches)
            .Select(m => (Start: rows * m / _options.MiniBatches, End: rows * (m + 1) / _options.MiniBatches))
            .Where(c => c.End > c.Start).ToList();
        double loss = 0, kl = 0, clipLow = 0, clipHigh = 0, entropy = 0, gradNorm = 0;
        int updates = 0;
        bool skipped = false;
        for (int u = 0; u < _options.UpdatesPerBatch; u++)
        {
            foreach (var (start, end) in chunks)
            {
                using var stepScope = NewDisposeScope();
                var rowsIds = ids[start..end];
                var rowsMask = mask[start..end];
                Inject?.Weights(step, _policy);
                var (logp, ent) = TokenLogProbs.ComputeWithEntropy(_policy, rowsIds, temperature: _options.Temperature); // as ScoreTokens
                var oldLogp = reuseOld ? logp.detach() : old![start..end];
                var (l, stats) = GrpoLoss.Compute(logp, oldLogp, reference?[start..end], adv[start..end], rowsMask,
                    _options.EpsLow, _options.EpsHigh, _options.Beta, _options.LossAggregation, _options.MaxCompletionTokens);
                _optimizer.zero_grad();
                (Inject is null ? l : Inject.Loss(step, l)).backward();
                Inject?.Gradients(step, _policy);
                double norm = nn.utils.clip_grad_norm_(_policy.Trainable.parameters(), _options.MaxGradNorm > 0 ? _options.MaxGradNorm : double.PositiveInfinity);
                bool finite = double.IsFinite(norm) && float.IsFinite(stats.Loss);
                // MoE policies: move the routing bias toward balance from the loads of this forward (resets the counts; γ 0 on a skipped step).
                _policy.UpdateRouterBias(finite ? _options.RouterBiasGamma : 0);
                if (!finite)
                {
                    _optimizer.zero_grad();
                    skipped = true;
                    continue;
                }
                _optimizer.step();
                loss += stats.Loss; kl += stats.Kl; clipLow += stats.ClipLow; clipHigh += stats.ClipHigh; gradNorm += norm;
                entropy += ((ent.detach() * rowsMask).sum() / rowsMask.sum().clamp_min(1)).item<float>();
                updates++;
            }
        }
        seconds["update"] += clock.Elapsed.TotalSeconds;
        if (updates == 0) return UpdateStats.NotComputed with { Skipped = skipped };
        return new UpdateStats(loss / updates, kl / updates, clipLow / updates, clipHigh / updates, entropy / updates, gradNorm / updates, skipped);
    }

    /// <summary>Old and reference log-probs of rollout tokens from logits / T, the distribution they were sampled from (as TRL and verl).</summary>
    internal static Tensor ScoreTokens(LlamaModel model, Tensor ids, GrpoOptions options) =>
        TokenLogProbs.Compute(model, ids, temperature: options.Temperature);

    (Tensor Ids, Tensor Mask) Batch(List<Rollout> rollouts) =>
        Rollouts.Batch(rollouts, _tokenizer.PadId, _policy.parameters().First().device, _options.MaskTruncated);

    /// <summary>The reference becomes the policy after <paramref name="step"/> steps (0: the base model).</summary>
    void ResetReference(long step)
    {
        using var _ = no_grad();
        var source = _policy.state_dict();
        foreach (var (name, tensor) in _reference!.state_dict()) tensor.copy_(source[name]);
        _referenceStep = step;
    }

    static double Std(IEnumerable<double> values)
    {
        var list = values.ToList();
        double mean = list.Average();
        return Math.Sqrt(list.Sum(v => (v - mean) * (v - mean)) / list.Count);
    }

    public void Dispose()
    {
        _problems.Dispose();
        _optimizer.Dispose();
        _reference?.Dispose();
    }
}
