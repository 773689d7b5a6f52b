using System.Diagnostics;
using System.Globalization;
using Aha.Checkpoints;
using Aha.Model;
using Aha.Runtime;
using Aha.Tokenizer;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Aha.Training;

/// <summary>
/// Next-token training, shared by pretraining (every target scored) and SFT (completion targets only): AdamW,
/// warmup-cosine learning rate, gradient clipping and accumulation, periodic validation and checkpoints, exact resume,
/// non-finite steps skipped (and the run aborted after several in a row), cancellation saved as a checkpoint.
/// </summary>
/// <remarks>One loop, top to bottom; what differs between pretraining and SFT lives in the <see cref="IBatchSource"/>.</remarks>
/// <param name="tokenizer">The model's tokenizer, written into every checkpoint beside the weights.</param>
public sealed class LanguageModelTrainer(LlamaModel model, ITokenizer tokenizer, LanguageModelTrainerOptions options, IBatchSource train)
{
    /// <summary>Fixed validation batches; empty skips validation.</summary>
    public IReadOnlyList<TrainingBatch> Validation { get; init; } = [];
    /// <summary>Where checkpoints and metrics.jsonl go; null runs without either (benchmarks, tests).</summary>
    public string? RunDirectory { get; init; }
    /// <summary>Trainer name, seed, options and the caller's payload for trainer_state.json; step and data position are filled in per save.</summary>
    public TrainingState StateTemplate { get; init; } = new() { Step = 0 };
    /// <summary>Matmul FLOP/s to compute MFU against (see Runtime.MatmulPeak); 0 reports MFU as 0.</summary>
    public double PeakFlops { get; init; }
    /// <summary>Receives the fixed-format progress lines.</summary>
    public Action<string> Log { get; init; } = Console.WriteLine;
    /// <summary>Receives warnings (skipped steps, removed orphan checkpoints, interrupts).</summary>
    public Action<string> Warn { get; init; } = Console.Error.WriteLine;
    /// <summary>Called after every step.</summary>
    public Action<StepReport>? OnStep { get; init; }

    /// <summary>Test hook: makes chosen steps non-finite (see <see cref="NonFiniteInjection"/>).</summary>
    public NonFiniteInjection? Inject { get; init; }

    /// <summary>Trains from step 0, or from <paramref name="resume"/> (weights, optimizer moments, data position, step) until the last step or cancellation.</summary>
    public TrainingResult Run(Checkpoint? resume = null, CancellationToken cancel = default) =>
        Run(optimizer => resume is null ? 0 : Restore(RunLoop.Restore(resume, model, optimizer)), cancel);

    /// <summary>Resumes a LoRA run (adapters attached to the base model) from its adapter checkpoint.</summary>
    public TrainingResult Run(AdapterCheckpoint resume, CancellationToken cancel = default) =>
        Run(optimizer => Restore(AdapterRuns.Restore(resume, model, optimizer)), cancel);

    TrainingResult Run(Func<AdamW, long> restore, CancellationToken cancel)
    {
        var o = options.Validate();
        model.train();
        // A LoRA run optimises its adapters only; the frozen base gets no gradient and no moments.
        var trainable = model.Trainable;
        using var optimizer = Optimizers.AdamW(trainable, o.LearningRate, o.Beta1, o.Beta2, o.WeightDecay);
        long firstStep = restore(optimizer);
        var config = model.Config;
        bool useMtp = config.UsesMtp && o.MtpWeight > 0, useBalance = config.UsesMoe && o.BalanceWeight > 0;
        var size = ModelSize.Of(config);
        // MFU counts the weights a token passes through: its experts, not all of them; and the MTP modules while they train.
        double flopsPerToken = Flops.TrainingPerToken(config, size.ActiveParameters + (useMtp ? size.MtpParameters : 0), o.SequenceLength);
        long matmulParameters = Flops.MatmulParameters(config, size.ActiveParameters + (useMtp ? size.MtpParameters : 0));
        var session = Stopwatch.StartNew();
        long windowTokens = 0;
        double windowSeconds = 0, tokensPerSecond = 0, mfu = 0, peak = PeakFlops;
        double? lastLoss = null, validationLoss = null;
        IReadOnlyList<ExpertLoad> lastLoads = [];
        double lastSeconds = 0;

        LoopStep Step(long step)
        {
            var clock = Stopwatch.StartNew();
            double lr = LearningRate.WarmupCosine(step, o.Steps, o.WarmupSteps, o.LearningRate, o.MinLrRatio);
            foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;
            var batches = Enumerable.Range(0, o.GradAccum).Select(_ => train.Next()).ToList();
            long scored = Math.Max(1, batches.Sum(b => b.ScoredTokens));
            double loss = 0, mtpLoss = 0, balanceLoss = 0, gradNorm;
            bool finite;
            using (var scope = NewDisposeScope())
            {
                optimizer.zero_grad();
                Inject?.Weights(step, model);
                foreach (var batch in batches)
                {
                    // Dividing every micro-batch by the step's total scored tokens makes B×k ≡ (kB)×1, even for ragged SFT rows.
                    if (useMtp || useBalance)
                    {
                        var (total, main, mtp, balance) = NextTokenLoss.SumWithAuxiliary(model, batch, useMtp ? o.MtpWeight : 0, useBalance ? o.BalanceWeight : 0);
                        var scaled = total / scored;
                        (Inject is null ? scaled : Inject.Loss(step, scaled)).backward();
                        loss += main.item<float>() / scored;
                        mtpLoss += mtp.item<float>() / scored;
                        balanceLoss += balance.item<float>() / scored;
                    }
                    else
                    {
                        var part = NextTokenLoss.Sum(model, batch) / scored;
                        if (Inject is not null) part = Inject.Loss(step, part);
                        part.backward();
                        loss += part.item<float>();
                    }
                }
                Inject?.Gradients(step, model);
                gradNorm = nn.utils.clip_grad_norm_(trainable.parameters(), o.GradClip > 0 ? o.GradClip : double.PositiveInfinity);
                finite = double.IsFinite(loss + mtpLoss + balanceLoss) && double.IsFinite(gradNorm);
                if (finite) optimizer.step();
            }
            // Auxiliary-loss-free balancing: the bias follows the load this step measured; a skipped step only forgets it.
            var loads = model.UpdateRouterBias(finite ? o.BiasGamma : 0);
            double seconds = clock.Elapsed.TotalSeconds;
            long tokens = batches.Sum(b => (long)b.Inputs.Length);
            (windowTokens, windowSeconds) = (windowTokens + tokens, windowSeconds + seconds);
            if (finite) lastLoss = loss;
            else Warn($"step {step + 1}: loss {loss}, gradient norm {gradNorm}.");
            var scalars = new Dictionary<string, double>
            {
                ["loss"] = loss, ["lr"] = lr, ["grad_norm"] = gradNorm, ["tokens_per_second"] = tokens / seconds,
                ["mfu"] = peak > 0 ? Math.Min(1, tokens / seconds * flopsPerToken / peak) : 0,
                // Model FLOPs of the real tokens (a row ends at its last scored target; SFT's padding after it is not counted).
                ["flops"] = batches.Sum(b => 3 * Flops.Forward(config, matmulParameters, RowLengths(b))),
            };
            if (useMtp) scalars["mtp_loss"] = mtpLoss;
            if (useBalance) scalars["balance_loss"] = balanceLoss;
            if (loads.Count > 0)
            {
                scalars["expert_load_max_over_mean"] = loads.Max(l => l.MaxOverMean); // the worst MoE layer this step: 1 = balanced
                foreach (var load in loads) scalars[$"expert_load_max_over_mean_layer{load.Layer}"] = load.MaxOverMean;
            }
            (lastLoads, lastSeconds) = (loads, seconds);
            return new LoopStep(step + 1, scalars, Skipped: !finite);
        }

        void AfterStep(LoopStep report, MetricsLog? metrics)
        {
            long step = report.Step;
            var s = report.Scalars;
            if (step % o.LogEvery == 0 || step == firstStep + 1 || step == o.Steps)
            {
                tokensPerSecond = windowTokens / windowSeconds;
                // Above 1, the peak was timed while the cores were busy: time it again and keep the best; never print more than 100%.
                if (peak > 0 && tokensPerSecond * flopsPerToken > peak) peak = Math.Max(peak, MatmulPeak.Measure(device: model.parameters().First().device));
                mfu = peak > 0 ? Math.Min(1, tokensPerSecond * flopsPerToken / peak) : 0;
                double eta = (o.Steps - step) * session.Elapsed.TotalSeconds / (step - firstStep);
                string extra = (useMtp ? string.Create(CultureInfo.InvariantCulture, $" | mtp {s["mtp_loss"]:F4}") : "")
                    + (lastLoads.Count > 0 ? string.Create(CultureInfo.InvariantCulture, $" | load {s["expert_load_max_over_mean"]:F2}") : "");
                Log(FormatLine(step, o.Steps, s["loss"], s["lr"], s["grad_norm"], tokensPerSecond, mfu, eta) + extra);
                (windowTokens, windowSeconds) = (0, 0);
            }
            if (!report.Skipped && o.EvalEvery > 0 && Validation.Count > 0 && (step % o.EvalEvery == 0 || step == o.Steps))
            {
                validationLoss = ValidationLoss();
                Log($"{StepText(step, o.Steps)} | val loss {validationLoss:F4}");
                metrics?.Write("val", step, new Dictionary<string, double> { ["loss"] = validationLoss.Value });
            }
            OnStep?.Invoke(new StepReport(step, s["loss"], s["lr"], s["grad_norm"], report.Skipped, s["tokens_per_second"], s["mfu"], lastSeconds)
                { MtpLoss = useMtp ? s["mtp_loss"] : 0, ExpertLoads = lastLoads, Flops = s["flops"] });
        }

        var end = new RunLoop
        {
            Steps = o.Steps, SaveEvery = o.SaveEvery, MaxBadSteps = o.MaxBadSteps, RunDirectory = RunDirectory, TensorBoard = o.TensorBoard,
            Phase = "train", Warn = Warn, Step = Step, AfterStep = AfterStep, Weights = () => trainable.parameters(),
            Save = step => Save(step, optimizer),
        }.Run(firstStep, cancel);
        return new(end.Outcome, end.Step, lastLoss, validationLoss, tokensPerSecond, mfu, end.SkippedSteps, end.Checkpoint);
    }

    /// <summary>Each row's length up to and including its last scored target (a row with none scored counts 0).</summary>
    static IEnumerable<int> RowLengths(TrainingBatch batch)
    {
        for (int b = 0; b < batch.BatchSize; b++)
        {
            int last = Array.LastIndexOf(batch.LossMask, true, (b + 1) * batch.Length - 1, batch.Length);
            yield return last < 0 ? 0 : last - b * batch.Length + 1;
        }
    }

    /// <summary>Mean loss per scored token over <see cref="Validation"/>, without gradients.</summary>
    public double ValidationLoss()
    {
        using var noGrad = no_grad();
        model.eval();
        double sum = 0;
        long count = 0;
        foreach (var batch in Validation)
        {
            using var scope = NewDisposeScope();
            sum += NextTokenLoss.Sum(model, batch).item<float>();
            count += batch.ScoredTokens;
        }
        model.train();
        return sum / Math.Max(1, count);
    }

    /// <summary><c>step 00042/01000 | loss 1.2345 | lr 3.00e-04 | gnorm 0.812 | tok/s 12,345 | mfu 12.3% | eta 1m23s</c></summary>
    public static string FormatLine(long step, long steps, double loss, double lr, double gradNorm, double tokensPerSecond, double mfu, double etaSeconds) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{StepText(step, steps)} | loss {loss:F4} | lr {lr:0.00e+00} | gnorm {gradNorm:F3} | tok/s {tokensPerSecond:N0} | mfu {mfu * 100:F1}% | eta {Duration(etaSeconds)}");

    static string StepText(long step, long steps)
    {
        int width = Math.Max(5, steps.ToString(CultureInfo.InvariantCulture).Length);
        return $"step {step.ToString(CultureInfo.InvariantCulture).PadLeft(width, '0')}/{steps.ToString(CultureInfo.InvariantCulture).PadLeft(width, '0')}";
    }

    static string Duration(double seconds)
    {
        if (!double.IsFinite(seconds) || seconds < 0) return "?";
        var t = TimeSpan.FromSeconds(Math.Round(seconds));
        return t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:D2}m" : t.TotalMinutes >= 1 ? $"{t.Minutes}m{t.Seconds:D2}s" : $"{t.Seconds}s";
    }

    long Restore(TrainingState state)
    {
        if (state.Payload["data_position"] is { } position) train.Seek(position);
        return state.Step;
    }

    string? Save(long step, AdamW optimizer)
    {
        if (RunDirectory is null) return null;
        using var scope = NewDisposeScope();
        var state = (StateTemplate with { Step = step }).With("data_position", train.Position);
        if (model.Lora is not null) return AdapterRuns.Save(RunDirectory, step, model, tokenizer, state, optimizer, options.KeepLast);
        return Checkpoint.Save(RunDirectory, Checkpoint.StepName(step), model, model.Config, tokenizer, state,
            AdamWState.Export(optimizer, model), new CheckpointOptions { KeepLast = options.KeepLast });
    }
}
