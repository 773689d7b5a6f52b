using System.Diagnostics;
using System.Globalization;
using Aha.Checkpoints;
using Aha.Model;
using Aha.Tasks;
using Aha.Tasks.Rewards;
using Aha.Tokenizer;
using TorchSharp;
using static TorchSharp.torch;

namespace Aha.Training;

/// <summary>
/// PPO for language models (Huang et al. 2024; OpenRLHF): sample completions from the policy, score each with the
/// reward functions (a reward model, or rules) on its final token, put a per-token KL penalty to the frozen reference in
/// the reward, estimate advantages with GAE against a separate value model, whiten them, then take several epochs of
/// clipped policy and clipped value updates over minibatches. The verifier's accuracy is logged beside the reward and
/// never trained on, so reward hacking shows.
/// </summary>
public sealed class PpoTrainer : IDisposable
{
    readonly LlamaModel _policy;
    readonly LlamaModel _value;
    readonly LlamaModel? _reference;
    readonly ITokenizer _tokenizer;
    readonly ITask _task;
    readonly RewardSet _rewards;
    readonly PpoOptions _options;
    readonly TorchSharp.Modules.AdamW _optimizer;
    readonly TorchSharp.Modules.AdamW _valueOptimizer;
    readonly ProblemStream _problems;
    readonly KlController _kl;
    readonly long _policyParameters, _valueParameters;

    /// <param name="policy">The causal LM to improve; also copied once as the frozen KL reference. With LoRA adapters attached only
    /// they train, and the reference is the same model with the adapters off (no copy).</param>
    /// <param name="value">The value model (score head read at every token), e.g. a clone of the reward model; trained here.</param>
    public PpoTrainer(LlamaModel policy, LlamaModel value, ITokenizer tokenizer, ITask task, RewardSet rewards, PpoOptions options)
    {
        if (!value.Config.SequenceClassification) throw new ArgumentException("ppo: the value model needs a score head (RewardModels.FromCausalLm or a reward model).", nameof(value));
        _policy = policy;
        _value = value;
        _tokenizer = tokenizer;
        _task = task;
        _rewards = rewards;
        _options = options.Validate();
        _optimizer = Optimizers.AdamW(policy.Trainable, options.LearningRate, options.Beta1, options.Beta2, options.WeightDecay);
        _valueOptimizer = Optimizers.AdamW(value, options.ValueLearningRate, options.Beta1, options.Beta2, options.WeightDecay);
        if (options.KlCoef > 0 && policy.Lora is null)
        {
            _reference = RewardModels.Clone(policy); // frozen for the whole run (no reset, as in Huang et al.)
            _reference.eval();
        }
        _kl = new KlController(options.KlCoef, options.TargetKl, options.KlHorizon);
        _problems = new ProblemStream(task, options.Seed, line => Log(line));
        (_policyParameters, _valueParameters) = (Flops.MatmulParameters(policy), Flops.MatmulParameters(value));
    }

    public string? RunDirectory { get; init; }
    public TrainingState StateTemplate { get; init; } = new() { Step = 0, Trainer = "ppo" };
    public bool TensorBoard { get; init; }
    public Action<string> Log { get; init; } = Console.WriteLine;
    public Action<string> Warn { get; init; } = Console.Error.WriteLine;
    public Action<GrpoStep>? OnStep { get; init; }
    /// <summary>The KL coefficient in use (moves with an adaptive controller).</summary>
    public double KlCoef => _kl.Value;

    /// <summary>The value model's weights and AdamW moments inside a PPO checkpoint.</summary>
    public const string ValueFile = "value.safetensors";
    public const string ValueOptimizerFile = "value_optimizer.safetensors";

    /// <summary>Trains from step 0 or <paramref name="resume"/> (policy, value model, both optimizers, β, problem position, step).</summary>
    public (TrainingResult Result, IReadOnlyList<GrpoStep> Steps) Run(Checkpoint? resume = null, CancellationToken cancel = default) =>
        Run(() => resume is null ? 0 : Restore(RunLoop.Restore(resume, _policy, _optimizer), resume.Directory), cancel);

    /// <summary>Resumes a LoRA run (adapters attached to the base policy) from its adapter checkpoint.</summary>
    public (TrainingResult Result, IReadOnlyList<GrpoStep> Steps) Run(AdapterCheckpoint resume, CancellationToken cancel = default) =>
        Run(() => Restore(AdapterRuns.Restore(resume, _policy, _optimizer), resume.Directory), cancel);

    (TrainingResult Result, IReadOnlyList<GrpoStep> Steps) Run(Func<long> restore, CancellationToken cancel)
    {
        long firstStep = restore();
        var steps = new List<GrpoStep>();
        var end = new RunLoop
        {
            Steps = _options.Steps, SaveEvery = _options.SaveEvery, MaxBadSteps = _options.MaxBadStepsInARow, RunDirectory = RunDirectory,
            TensorBoard = TensorBoard, Phase = "ppo", Warn = Warn, Save = Save,
            Weights = () => _policy.Trainable.parameters().Concat(_value.parameters()),
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
        return (new(end.Outcome, end.Step, last?["policy_loss"], null, last?["tokens_per_second"] ?? 0, 0, end.SkippedSteps, end.Checkpoint), steps);
    }

    /// <summary><c>step 012/040 | score 0.412 | acc 0.250 | kl 0.123 | len 12.3 | pg -0.0123 | vf 0.0456 | ev 0.32 | clip 0.05 | ent 0.52 | gen 1.2s upd 3.4s</c></summary>
    public static string FormatLine(long step, long steps, GrpoStep r)
    {
        int width = Math.Max(3, steps.ToString(CultureInfo.InvariantCulture).Length);
        string F(string name, string format) => double.IsNaN(r[name]) ? "-" : r[name].ToString(format, CultureInfo.InvariantCulture);
        return string.Create(CultureInfo.InvariantCulture,
            $"step {step.ToString(CultureInfo.InvariantCulture).PadLeft(width, '0')}/{steps.ToString(CultureInfo.InvariantCulture).PadLeft(width, '0')} | score {r["score"]:F3} | acc {r["accuracy"]:F3} | kl {r["kl"]:F3} | len {r["completion_tokens"]:F1} | pg {F("policy_loss", "F4")} | vf {F("value_loss", "F4")} | ev {F("explained_variance", "F2")} | clip {F("clipfrac", "F3")} | ent {F("entropy", "F3")} | gen {r["seconds_generation"]:F1}s upd {r["seconds_update"]:F1}s");
    }

    long Restore(TrainingState state, string directory)
    {
        using (NewDisposeScope())
        using (no_grad())
        {
            string path = Path.Combine(directory, ValueFile), moments = Path.Combine(directory, ValueOptimizerFile);
            foreach (var file in new[] { path, moments })
                if (!File.Exists(file)) throw new FileNotFoundException($"{file} is missing: this checkpoint cannot resume PPO's value model. Resume from another checkpoint of the run.", file);
            var saved = SafeTensors.Load(path);
            var target = _value.state_dict();
            if (!saved.Keys.ToHashSet().SetEquals(target.Keys))
                throw new InvalidDataException($"{path} holds other weights than this run's value model ({saved.Count} vs {target.Count} tensors); resume with the run's --reward-model and --value-init.");
            foreach (var (name, tensor) in saved) target[name].copy_(tensor);
            AdamWState.Import(_valueOptimizer, _value, SafeTensors.Load(moments), moments);
        }
        _problems.Restore(state, Path.Combine(directory, Checkpoint.StateFile));
        _kl.Value = state.Get<double>("kl_coef");
        return state.Step;
    }

    string? Save(long step)
    {
        if (RunDirectory is null) return null;
        using var scope = NewDisposeScope();
        var state = _problems.SaveTo((StateTemplate with { Step = step, Seed = _options.Seed, Trainer = "ppo" }).WithOptions(_options))
            .With("kl_coef", _kl.Value);
        var extra = new Dictionary<string, IReadOnlyDictionary<string, Tensor>>
        {
            [ValueFile] = _value.state_dict(),
            [ValueOptimizerFile] = AdamWState.Export(_valueOptimizer, _value),
        };
        if (_policy.Lora is not null) return AdapterRuns.Save(RunDirectory, step, _policy, _tokenizer, state, _optimizer, _options.KeepLast, extra);
        return Checkpoint.Save(RunDirectory, Checkpoint.StepName(step), _policy, _policy.Config, _tokenizer, state,
            AdamWState.Export(_optimizer, _policy), new CheckpointOptions { KeepLast = _options.KeepLast, ExtraTensorFiles = extra });
    }

    /// <summary>One PPO step (<paramref name="step"/> steps done before it): rollouts, scores, KL-penalised rewards, GAE, PPO epochs.</summary>
    public GrpoStep Step(long step)
    {
        var clock = Stopwatch.StartNew();
        var seconds = new Dictionary<string, double>();
        var problems = Enumerable.Range(0, _options.PromptsPerStep).Select(_ => _problems.Next()).ToList();
        var rollouts = Rollouts.Sample(_policy, _tokenizer, _task, problems, _options.SamplesPerPrompt, _options.PromptStyle,
            _options.Temperature, _options.MaxCompletionTokens, _options.Seed, step);
        seconds["generation"] = clock.Elapsed.TotalSeconds;

        clock.Restart();
        Rollouts.Score(rollouts, _rewards, _task);
        // The score on the final token: the reward functions' total, less the penalty for never ending.
        var scores = rollouts.Select(r => (float)(r.Reward - (r.Truncated ? _options.MissingEosPenalty : 0))).ToArray();
        seconds["reward"] = clock.Elapsed.TotalSeconds;

        using var scope = NewDisposeScope();
        var device = _policy.parameters().First().device;
        var (ids, mask) = Rollouts.Batch(rollouts, _tokenizer.PadId, device);   // (N, L), (N, L−1)
        clock.Restart();
        Tensor oldLogProbs, refLogProbs, oldValues;
        using (no_grad())
        {
            _policy.eval();
            oldLogProbs = TokenLogProbs.Compute(_policy, ids, temperature: _options.Temperature);           // (N, L−1)
            if (_reference is not null) refLogProbs = TokenLogProbs.Compute(_reference, ids, temperature: _options.Temperature);
            else if (_policy.Lora is not null && _options.KlCoef > 0)
                using (_policy.Lora.Disabled()) refLogProbs = TokenLogProbs.Compute(_policy, ids, temperature: _options.Temperature); // the base: adapters off
            else refLogProbs = oldLogProbs; // β 0: no penalty, no reference
            _value.eval();
            oldValues = ValuesOf(ids);                                                                       // (N, L−1)
        }
        seconds["scoring"] = clock.Elapsed.TotalSeconds;

        var (advantages, returns, nonScore, klSum) = Advantages(rollouts, scores, oldLogProbs, refLogProbs, oldValues, mask);
        advantages = PpoLoss.Whiten(advantages, mask);
        double explained = PpoLoss.ExplainedVariance(oldValues, returns, mask);

        clock.Restart();
        var update = Update(step, ids, mask, oldLogProbs, oldValues, advantages, returns);
        seconds["update"] = clock.Elapsed.TotalSeconds;
        double klMean = klSum;
        double klCoef = _kl.Value;
        _kl.Update(klMean, rollouts.Count);

        long sampledTokens = rollouts.Sum(r => (long)r.CompletionIds.Count);
        // Model FLOPs of the step: sampling, the old and reference forwards of the policy, the value forward, then per epoch a
        // forward+backward of both models over every rollout. The reward functions count their own (a reward model's forwards).
        var lengths = rollouts.Select(r => r.PromptIds.Length + r.CompletionIds.Count).ToList();
        double policyPass = Flops.Forward(_policy.Config, _policyParameters, lengths), valuePass = Flops.Forward(_value.Config, _valueParameters, lengths);
        bool referencePass = _reference is not null || (_policy.Lora is not null && _options.KlCoef > 0);
        double flops = policyPass * (2 + (referencePass ? 1 : 0)) + valuePass + _options.PpoEpochs * 3 * (policyPass + valuePass);
        var scalars = new Dictionary<string, double>
        {
            ["score"] = rollouts.Average(r => r.Reward),
            ["reward"] = scores.Average(s => (double)s),
            ["accuracy"] = rollouts.Average(r => r.Correct ? 1.0 : 0.0),
            ["kl"] = klMean,
            ["kl_coef"] = klCoef,
            ["non_score_reward"] = nonScore,
            ["policy_loss"] = update.PolicyLoss,
            ["value_loss"] = update.ValueLoss,
            ["value_clipfrac"] = update.ValueClip,
            ["explained_variance"] = explained,
            ["entropy"] = update.Entropy,
            ["approx_kl"] = update.ApproxKl,
            ["clipfrac"] = update.ClipFraction,
            ["grad_norm"] = update.GradNorm,
            ["value_grad_norm"] = update.ValueGradNorm,
            ["skipped"] = update.Skipped ? 1 : 0,
            ["completion_tokens"] = rollouts.Average(r => r.CompletionIds.Count),
            ["truncated_fraction"] = rollouts.Average(r => r.Truncated ? 1.0 : 0.0),
            ["seconds_generation"] = seconds["generation"],
            ["seconds_reward"] = seconds["reward"],
            ["seconds_scoring"] = seconds["scoring"],
            ["seconds_update"] = seconds["update"],
            ["tokens_per_second"] = sampledTokens / Math.Max(seconds["generation"], 1e-9),
            ["flops"] = flops,
        };
        foreach (var name in rollouts[0].ByName.Keys) scalars[$"reward_{name}"] = rollouts.Average(r => r.ByName[name]);
        var samples = rollouts.Select(r => new GrpoSample(r.Prompt, r.Text, r.Reward, r.Correct, r.CompletionIds.Count)).ToList();
        return new GrpoStep(step, scalars, samples);
    }

    /// <summary>The value model's V(s) at each target position: the head on the hidden state of the token before it. (N, L−1)</summary>
    Tensor ValuesOf(Tensor ids) => _value.TokenScores(ids).narrow(1, 0, ids.shape[1] - 1);

    /// <summary>Per-token rewards (KL penalty + final score), GAE advantages and returns on the completion tokens; the mean non-score reward and mean sequence KL.</summary>
    (Tensor Advantages, Tensor Returns, double NonScore, double Kl) Advantages(List<Rollout> rollouts, float[] scores,
        Tensor logProbs, Tensor refLogProbs, Tensor values, Tensor mask)
    {
        long width = mask.shape[1];
        var lp = logProbs.cpu().data<float>().ToArray();
        var rp = refLogProbs.cpu().data<float>().ToArray();
        var v = values.cpu().data<float>().ToArray();
        var advantages = new float[lp.Length];
        var returns = new float[lp.Length];
        double nonScore = 0, kl = 0;
        for (int i = 0; i < rollouts.Count; i++)
        {
            int start = (int)(i * width) + rollouts[i].PromptIds.Length - 1, count = rollouts[i].CompletionIds.Count;
            if (count == 0) continue;
            var rewards = PpoLoss.TokenRewards(lp.AsSpan(start, count), rp.AsSpan(start, count), scores[i], _kl.Value);
            for (int t = 0; t < count; t++) kl += lp[start + t] - rp[start + t];
            nonScore += rewards.Sum() - scores[i];
            var (a, r) = PpoLoss.Gae(rewards, v.AsSpan(start, count), _options.Gamma, _options.Lambda);
            a.CopyTo(advantages, start);
            r.CopyTo(returns, start);
        }
        var device = mask.device;
        return (tensor(advantages, mask.shape, device: device), tensor(returns, mask.shape, device: device), nonScore / rollouts.Count, kl / rollouts.Count);
    }

    record struct UpdateStats(double PolicyLoss, double ValueLoss, double ValueClip, double Entropy, double ApproxKl, double ClipFraction,
        double GradNorm, double ValueGradNorm, bool Skipped);

    UpdateStats Update(long step, Tensor ids, Tensor mask, Tensor oldLogProbs, Tensor oldValues, Tensor advantages, Tensor returns)
    {
        _policy.train();
        _value.train();
        int rows = (int)ids.shape[0];
        double pg = 0, vf = 0, vclip = 0, entropy = 0, approx = 0, clip = 0, norm = 0, valueNorm = 0;
        int updates = 0;
        bool skipped = false;
        for (int epoch = 0; epoch < _options.PpoEpochs; epoch++)
        {
            // A fresh seeded order each epoch, so minibatches mix differently (a pure function of seed, step and epoch).
            var order = Enumerable.Range(0, rows).ToArray();
            var random = StableRandom.For(_options.Seed + step * PromptSpec.StepSeedStride, epoch);
            for (int i = rows - 1; i > 0; i--) { int j = random.Next(0, i); (order[i], order[j]) = (order[j], order[i]); }
            for (int m = 0; m < _options.MiniBatches; m++)
            {
                int start = rows * m / _options.MiniBatches, end = rows * (m + 1) / _options.MiniBatches;
                if (end <= start) continue;
                using var stepScope = NewDisposeScope();
                var index = tensor(order[start..end].Select(x => (long)x).ToArray(), device: ids.device);
                var mbIds = ids.index_select(0, index);
                var mbMask = mask.index_select(0, index);
                var (logProbs, ent) = TokenLogProbs.ComputeWithEntropy(_policy, mbIds, temperature: _options.Temperature);
                var (policyLoss, stats) = PpoLoss.Policy(logProbs, oldLogProbs.index_select(0, index), advantages.index_select(0, index), mbMask, _options.ClipRange);
                _optimizer.zero_grad();
                policyLoss.backward();
                double n = nn.utils.clip_grad_norm_(_policy.Trainable.parameters(), _options.MaxGradNorm > 0 ? _options.MaxGradNorm : double.PositiveInfinity);

                var values = ValuesOf(mbIds);
                var (valueLoss, valueStats) = PpoLoss.Value(values, oldValues.index_select(0, index), returns.index_select(0, index), mbMask, _options.ValueClipRange);
                _valueOptimizer.zero_grad();
                (valueLoss * _options.ValueCoef).backward();
                double vn = nn.utils.clip_grad_norm_(_value.parameters(), _options.MaxGradNorm > 0 ? _options.MaxGradNorm : double.PositiveInfinity);

                if (!double.IsFinite(n) || !double.IsFinite(vn) || !float.IsFinite(stats.Loss) || !float.IsFinite(valueStats.Loss))
                {
                    _optimizer.zero_grad();
                    _valueOptimizer.zero_grad();
                    skipped = true;
                    continue;
                }
                _optimizer.step();
                _valueOptimizer.step();
                pg += stats.Loss; vf += valueStats.Loss; vclip += valueStats.ClipFraction; approx += stats.ApproxKl; clip += stats.ClipFraction;
                norm += n; valueNorm += vn;
                entropy += PpoLoss.MaskedMean(ent.detach(), mbMask).item<float>();
                updates++;
            }
        }
        if (updates == 0) return new UpdateStats(double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, skipped);
        return new UpdateStats(pg / updates, vf / updates, vclip / updates, entropy / updates, approx / updates, clip / updates, norm / updates, valueNorm / updates, skipped);
    }

    public void Dispose()
    {
        _problems.Dispose();
        _optimizer.Dispose();
        _valueOptimizer.Dispose();
        _reference?.Dispose();
    }
}
