using System.Diagnostics;
using System.Globalization;
using Aha.Checkpoints;
using Aha.Model;
using Aha.Preferences;
using Aha.Tasks;
using Aha.Tokenizer;
using TorchSharp;
using static TorchSharp.torch;

namespace Aha.Training;

/// <summary>
/// Direct Preference Optimization (Rafailov et al. 2023): no reward model, no sampling. Each step scores a batch of
/// preference pairs under the policy and under the frozen reference (the starting policy; with LoRA, the same weights with
/// the adapters off) and minimises the DPO, IPO or conservative-DPO loss on the sequence log-probs of the completions.
/// </summary>
public sealed class DpoTrainer : IDisposable
{
    readonly LlamaModel _policy;
    readonly LlamaModel? _reference;
    readonly ITokenizer _tokenizer;
    readonly IReadOnlyList<EncodedPair> _pairs;
    readonly DpoOptions _options;
    readonly TorchSharp.Modules.AdamW _optimizer;
    readonly long _matmulParameters;
    (long Epoch, int[] Order) _order = (-1, []);

    /// <param name="pairs">The training pairs, encoded (<see cref="EncodedPair.Encode"/>); each needs a prompt of at least one token.</param>
    public DpoTrainer(LlamaModel policy, ITokenizer tokenizer, IReadOnlyList<EncodedPair> pairs, DpoOptions options)
    {
        _options = options.Validate();
        if (pairs.Count == 0) throw new ArgumentException("dpo: no preference pairs to train on; check the pairs file.", nameof(pairs));
        if (pairs.Select((p, i) => (p, i)).FirstOrDefault(x => x.p.Prompt.Length == 0 || x.p.Chosen.Length == 0 || x.p.Rejected.Length == 0) is { p: not null } empty)
            throw new ArgumentException($"dpo: pair {empty.i} has an empty prompt or completion after encoding; a completion is scored from the token before it.", nameof(pairs));
        _policy = policy;
        _tokenizer = tokenizer;
        _pairs = pairs;
        _optimizer = Optimizers.AdamW(policy.Trainable, options.LearningRate, options.Beta1, options.Beta2, options.WeightDecay);
        _matmulParameters = Flops.MatmulParameters(policy);
        if (policy.Lora is null)
        {
            // The reference is the policy as given (the starting point), frozen in its compute dtype.
            var first = policy.parameters().First();
            _reference = new LlamaModel(policy.Config, first.device, initialize: false).to(first.dtype);
            _reference.eval();
            using var noGrad = no_grad();
            var source = policy.state_dict();
            foreach (var (name, tensor) in _reference.state_dict()) tensor.copy_(source[name]);
        }
    }

    /// <summary>The separate reference model (null with LoRA, whose reference is the policy with adapters off).</summary>
    internal LlamaModel? Reference => _reference;

    /// <summary>Where checkpoints and metrics.jsonl go; null trains without saving.</summary>
    public string? RunDirectory { get; init; }
    /// <summary>Saved with each checkpoint (trainer name, options, the base model's path, …).</summary>
    public TrainingState StateTemplate { get; init; } = new() { Step = 0, Trainer = "dpo" };
    public bool TensorBoard { get; init; }
    public Action<string> Log { get; init; } = Console.WriteLine;
    public Action<string> Warn { get; init; } = Console.Error.WriteLine;
    public Action<LoopStep>? OnStep { get; init; }
    /// <summary>
    /// Held-out task metrics of the policy as it is now (accuracy, completion length, …), run before the first step of a
    /// fresh run, every <see cref="DpoOptions.EvalEvery"/> steps and after the last; written as <c>eval</c> rows of metrics.jsonl.
    /// </summary>
    public Func<IReadOnlyDictionary<string, double>>? HeldOut { get; init; }
    /// <summary>Test hook: makes chosen steps non-finite (see <see cref="NonFiniteInjection"/>).</summary>
    public NonFiniteInjection? Inject { get; init; }

    /// <summary>Trains from step 0 or from <paramref name="resume"/> (weights, optimizer moments, step) until the last step or cancellation. Pass the base weights, then resume: they are the reference.</summary>
    public (TrainingResult Result, IReadOnlyList<LoopStep> Steps) Run(Checkpoint? resume = null, CancellationToken cancel = default) =>
        Run(() => resume is null ? 0 : Restore(RunLoop.Restore(resume, _policy, _optimizer), resume.Directory), cancel);

    /// <summary>Resumes a LoRA run (adapters attached to the base policy) from its adapter checkpoint.</summary>
    public (TrainingResult Result, IReadOnlyList<LoopStep> Steps) Run(AdapterCheckpoint resume, CancellationToken cancel = default) =>
        Run(() => Restore(AdapterRuns.Restore(resume, _policy, _optimizer), resume.Directory), cancel);

    (TrainingResult Result, IReadOnlyList<LoopStep> Steps) Run(Func<long> restore, CancellationToken cancel)
    {
        long firstStep = restore();
        var steps = new List<LoopStep>();
        if (firstStep == 0 && HeldOut is not null)
        {
            using var metrics = RunDirectory is null ? null : new MetricsLog(RunDirectory, TensorBoard);
            Evaluate(0, metrics);
        }
        _policy.train();
        var end = new RunLoop
        {
            Steps = _options.Steps, SaveEvery = _options.SaveEvery, MaxBadSteps = _options.MaxBadStepsInARow, RunDirectory = RunDirectory,
            TensorBoard = TensorBoard, Phase = "dpo", Warn = Warn, Weights = () => _policy.Trainable.parameters(), Save = Save,
            Step = step =>
            {
                var report = Step(step);
                steps.Add(report);
                return report;
            },
            AfterStep = (report, metrics) =>
            {
                Log(FormatLine(report.Step, _options.Steps, report.Scalars));
                if (HeldOut is not null && !report.Skipped && (report.Step == _options.Steps || (_options.EvalEvery > 0 && report.Step % _options.EvalEvery == 0)))
                    Evaluate(report.Step, metrics);
                OnStep?.Invoke(report);
            },
        }.Run(firstStep, cancel);
        var last = steps.LastOrDefault();
        return (new(end.Outcome, end.Step, last?.Scalars["loss"], null, last?.Scalars["tokens_per_second"] ?? 0, 0, end.SkippedSteps, end.Checkpoint), steps);
    }

    void Evaluate(long step, MetricsLog? metrics)
    {
        var scalars = HeldOut!();
        _policy.train();
        metrics?.Write("eval", step, scalars);
        Log(string.Create(CultureInfo.InvariantCulture, $"{StepText(step, _options.Steps)} | held-out {string.Join(" | ", scalars.Select(kv => $"{kv.Key} {kv.Value:0.###}"))}"));
    }

    /// <summary>One DPO step (<paramref name="step"/> steps done before it) on the pairs that step draws.</summary>
    public LoopStep Step(long step)
    {
        var clock = Stopwatch.StartNew();
        var batch = Enumerable.Range(0, _options.BatchSize).Select(b => _pairs[PairAt(step * _options.BatchSize + b)]).ToList();
        int rows = batch.Count;
        using var scope = NewDisposeScope();
        var (ids, mask) = Sequences(batch);                                   // (2B, L), (2B, L−1): chosen rows, then rejected
        Tensor reference;
        using (no_grad())
        {
            if (_reference is not null) reference = SequenceLogProbs(_reference, ids, mask);
            else using (_policy.Lora!.Disabled()) reference = SequenceLogProbs(_policy, ids, mask); // the base: same weights, adapters off
        }
        Inject?.Weights(step, _policy);
        var logp = SequenceLogProbs(_policy, ids, mask);                      // (2B)
        var (loss, stats) = DpoLoss.Compute(logp[..rows], logp[rows..], reference[..rows], reference[rows..],
            _options.Beta, _options.Loss, _options.LabelSmoothing);
        _optimizer.zero_grad();
        if (Inject is not null) loss = Inject.Loss(step, loss);
        loss.backward();
        Inject?.Gradients(step, _policy);
        double norm = nn.utils.clip_grad_norm_(_policy.Trainable.parameters(), _options.MaxGradNorm > 0 ? _options.MaxGradNorm : double.PositiveInfinity);
        double lossValue = loss.item<float>();
        bool finite = double.IsFinite(norm) && double.IsFinite(lossValue);
        _policy.UpdateRouterBias(0); // MoE policies: forget this forward's expert loads (DPO does not move the routing bias)
        if (finite) _optimizer.step();
        else _optimizer.zero_grad();
        long tokens = batch.Sum(p => (long)p.Prompt.Length * 2 + p.Chosen.Length + p.Rejected.Length);
        // Model FLOPs: the reference forward and the policy's forward+backward over both rows of every pair.
        double flops = 4 * Flops.Forward(_policy.Config, _matmulParameters, batch.SelectMany(p => new[] { p.Prompt.Length + p.Chosen.Length, p.Prompt.Length + p.Rejected.Length }));
        double seconds = clock.Elapsed.TotalSeconds;
        var scalars = new Dictionary<string, double>
        {
            ["loss"] = lossValue,
            ["rewards/chosen"] = stats.RewardChosen,
            ["rewards/rejected"] = stats.RewardRejected,
            ["rewards/accuracies"] = stats.Accuracy,
            ["rewards/margins"] = stats.Margin,
            ["logps/chosen"] = stats.LogpChosen,
            ["logps/rejected"] = stats.LogpRejected,
            ["grad_norm"] = norm,
            ["skipped"] = finite ? 0 : 1,
            ["completion_tokens"] = batch.Average(p => (p.Chosen.Length + p.Rejected.Length) / 2.0),
            ["seconds"] = seconds,
            ["tokens_per_second"] = tokens / Math.Max(seconds, 1e-9),
            ["flops"] = flops,
        };
        return new LoopStep(step + 1, scalars, !finite);
    }

    /// <summary>Σ log π over each row's completion tokens: (N) from ids (N, L) and the completion-target mask (N, L−1).</summary>
    internal static Tensor SequenceLogProbs(LlamaModel model, Tensor ids, Tensor mask)
    {
        using var scope = NewDisposeScope();
        // Right padding needs no attention mask: a causal model's real tokens never attend to the pads after them.
        var logp = TokenLogProbs.Compute(model, ids);                         // (N, L−1)
        return scope.MoveToOuter((logp * mask).sum(1));
    }

    /// <summary>Σ log <paramref name="model"/>(completion | prompt), as a training step scores it (tests, diagnostics).</summary>
    internal double Score(LlamaModel model, int[] prompt, int[] completion)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (ids, mask) = Sequences([new EncodedPair(prompt, completion, completion)]);
        return SequenceLogProbs(model, ids[..1], mask[..1]).item<float>();
    }

    /// <summary>Each pair's prompt + chosen, then each pair's prompt + rejected, right-padded: ids (2B, L) and the mask (2B, L−1) of completion targets.</summary>
    (Tensor Ids, Tensor Mask) Sequences(IReadOnlyList<EncodedPair> batch)
    {
        var rows = batch.Select(p => (p.Prompt, Completion: p.Chosen)).Concat(batch.Select(p => (p.Prompt, Completion: p.Rejected))).ToList();
        int width = rows.Max(r => r.Prompt.Length + r.Completion.Length);
        var ids = new long[rows.Count * width];
        var mask = new float[rows.Count * (width - 1)];
        Array.Fill(ids, (long)_tokenizer.PadId);
        for (int i = 0; i < rows.Count; i++)
        {
            var (prompt, completion) = rows[i];
            for (int t = 0; t < prompt.Length; t++) ids[i * width + t] = prompt[t];
            for (int t = 0; t < completion.Length; t++)
            {
                ids[i * width + prompt.Length + t] = completion[t];
                mask[i * (width - 1) + prompt.Length - 1 + t] = 1; // target j predicts token j+1
            }
        }
        var device = _policy.parameters().First().device;
        return (tensor(ids, [rows.Count, width], device: device), tensor(mask, [rows.Count, width - 1], device: device));
    }

    /// <summary>The pair drawn at position <paramref name="index"/> of the run: each pass over the pairs has its own seeded order, so the step alone fixes the batch.</summary>
    int PairAt(long index)
    {
        long epoch = index / _pairs.Count;
        if (_order.Epoch != epoch)
        {
            var order = Enumerable.Range(0, _pairs.Count).ToArray();
            StableRandom.For(_options.Seed, epoch).Shuffle(order);
            _order = (epoch, order);
        }
        return _order.Order[index % _pairs.Count];
    }

    /// <summary><c>step 012/100 | loss 0.6931 | acc 0.500 | margin 0.012 | chosen 0.010 | rejected -0.002 | gnorm 0.812 | 1.2s</c></summary>
    public static string FormatLine(long step, long steps, IReadOnlyDictionary<string, double> s) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{StepText(step, steps)} | loss {s["loss"]:F4} | acc {s["rewards/accuracies"]:F3} | margin {s["rewards/margins"]:F3} | chosen {s["rewards/chosen"]:F3} | rejected {s["rewards/rejected"]:F3} | gnorm {s["grad_norm"]:F3} | len {s["completion_tokens"]:F1} | {s["seconds"]:F1}s");

    static string StepText(long step, long steps)
    {
        int width = Math.Max(3, steps.ToString(CultureInfo.InvariantCulture).Length);
        return $"step {step.ToString(CultureInfo.InvariantCulture).PadLeft(width, '0')}/{steps.ToString(CultureInfo.InvariantCulture).PadLeft(width, '0')}";
    }

    long Restore(TrainingState state, string directory)
    {
        long saved = state.Get<long>("pairs");
        if (saved != 0 && saved != _pairs.Count)
            throw new InvalidDataException($"{Path.Combine(directory, Checkpoint.StateFile)}: the run trained on {saved} pairs, this one has {_pairs.Count}; resume with the same --data, or start a new run.");
        return state.Step;
    }

    string? Save(long step)
    {
        if (RunDirectory is null) return null;
        using var scope = NewDisposeScope();
        var state = (StateTemplate with { Step = step, Seed = _options.Seed, Trainer = "dpo" }).WithOptions(_options).With("pairs", (long)_pairs.Count);
        if (_policy.Lora is not null) return AdapterRuns.Save(RunDirectory, step, _policy, _tokenizer, state, _optimizer, _options.KeepLast);
        return Checkpoint.Save(RunDirectory, Checkpoint.StepName(step), _policy, _policy.Config, _tokenizer, state,
            AdamWState.Export(_optimizer, _policy), new CheckpointOptions { KeepLast = _options.KeepLast });
    }

    public void Dispose()
    {
        _optimizer.Dispose();
        _reference?.Dispose();
    }
}
