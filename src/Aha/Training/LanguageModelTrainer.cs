using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
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
public sealed partial class LanguageModelTrainer(LlamaModel model, ITokenizer tokenizer, LanguageModelTrainerOptions options, IBatchSource train)
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

    /// <summary>Trains from step 0, or from <paramref name="resume"/> (weights, optimizer moments, data position, step) until the last step or cancellation.</summary>
    public TrainingResult Run(Checkpoint? resume = null, CancellationToken cancel = default)
    {
        var o = options.Validate();
        model.train();
        using var optimizer = NewOptimizer(o);
        long step = resume is null ? 0 : Restore(resume, optimizer);
        RemoveCheckpointsAfter(step);
        using var metrics = RunDirectory is null ? null : new MetricsLog(RunDirectory, o.TensorBoard);
        var config = model.Config;
        bool useMtp = config.UsesMtp && o.MtpWeight > 0, useBalance = config.UsesMoe && o.BalanceWeight > 0;
        var size = ModelSize.Of(config);
        // MFU counts the weights a token passes through: its experts, not all of them; and the MTP modules while they train.
        double flopsPerToken = Flops.TrainingPerToken(config, size.ActiveParameters + (useMtp ? size.MtpParameters : 0), o.SequenceLength);
        var session = Stopwatch.StartNew();
        long firstStep = step, skipped = 0, windowTokens = 0;
        int badInRow = 0;
        double windowSeconds = 0, tokensPerSecond = 0, mfu = 0;
        double? lastLoss = null, validationLoss = null;
        string? saved = null;
        long savedStep = -1;

        while (step < o.Steps)
        {
            if (cancel.IsCancellationRequested)
            {
                // A bad streak means the weights may be poisoned: the last good checkpoint is worth more than this state.
                if (badInRow == 0 && savedStep != step) saved = Save(step, optimizer);
                Warn($"interrupted at step {step}; {(badInRow == 0 ? $"saved {saved}" : "not saved (the last step was non-finite)")}. Resume with --resume.");
                return new(TrainingOutcome.Interrupted, step, lastLoss, validationLoss, tokensPerSecond, mfu, skipped, saved);
            }

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
                foreach (var batch in batches)
                {
                    // Dividing every micro-batch by the step's total scored tokens makes B×k ≡ (kB)×1, even for ragged SFT rows.
                    if (useMtp || useBalance)
                    {
                        var (total, main, mtp, balance) = NextTokenLoss.SumWithAuxiliary(model, batch, useMtp ? o.MtpWeight : 0, useBalance ? o.BalanceWeight : 0);
                        (total / scored).backward();
                        loss += main.item<float>() / scored;
                        mtpLoss += mtp.item<float>() / scored;
                        balanceLoss += balance.item<float>() / scored;
                    }
                    else
                    {
                        var part = NextTokenLoss.Sum(model, batch) / scored;
                        part.backward();
                        loss += part.item<float>();
                    }
                }
                gradNorm = nn.utils.clip_grad_norm_(model.parameters(), o.GradClip > 0 ? o.GradClip : double.PositiveInfinity);
                finite = double.IsFinite(loss + mtpLoss + balanceLoss) && double.IsFinite(gradNorm);
                if (finite) optimizer.step();
            }
            // Auxiliary-loss-free balancing: the bias follows the load this step measured; a skipped step only forgets it.
            var loads = model.UpdateRouterBias(finite ? o.BiasGamma : 0);
            double loadMax = loads.Count == 0 ? 0 : loads.Max(l => l.MaxOverMean);
            step++;
            double seconds = clock.Elapsed.TotalSeconds;
            long tokens = batches.Sum(b => (long)b.Inputs.Length);
            (windowTokens, windowSeconds) = (windowTokens + tokens, windowSeconds + seconds);
            double stepMfu = PeakFlops > 0 ? tokens / seconds * flopsPerToken / PeakFlops : 0;

            if (finite) { badInRow = 0; lastLoss = loss; }
            else
            {
                skipped++;
                badInRow++;
                Warn($"step {step}: non-finite loss ({loss}) or gradient norm ({gradNorm}); update skipped ({badInRow} of {o.MaxBadSteps} allowed in a row).");
                if (badInRow >= o.MaxBadSteps)
                {
                    Warn($"aborting: {badInRow} non-finite steps in a row. The last good checkpoint is kept{(RunDirectory is null ? "" : $" in {RunDirectory}")}; lower --lr or check the data.");
                    return new(TrainingOutcome.Diverged, step, lastLoss, validationLoss, tokensPerSecond, mfu, skipped, saved);
                }
            }
            var scalars = new Dictionary<string, double>
            {
                ["loss"] = loss, ["lr"] = lr, ["grad_norm"] = gradNorm, ["tokens_per_second"] = tokens / seconds, ["mfu"] = stepMfu,
            };
            if (useMtp) scalars["mtp_loss"] = mtpLoss;
            if (useBalance) scalars["balance_loss"] = balanceLoss;
            if (loads.Count > 0)
            {
                scalars["expert_load_max_over_mean"] = loadMax; // the worst MoE layer this step: 1 = balanced
                foreach (var load in loads) scalars[$"expert_load_max_over_mean_layer{load.Layer}"] = load.MaxOverMean;
            }
            metrics?.Write("train", step, scalars);

            if (step % o.LogEvery == 0 || step == firstStep + 1 || step == o.Steps)
            {
                tokensPerSecond = windowTokens / windowSeconds;
                mfu = PeakFlops > 0 ? tokensPerSecond * flopsPerToken / PeakFlops : 0;
                double eta = (o.Steps - step) * session.Elapsed.TotalSeconds / (step - firstStep);
                string extra = (useMtp ? string.Create(CultureInfo.InvariantCulture, $" | mtp {mtpLoss:F4}") : "")
                    + (loads.Count > 0 ? string.Create(CultureInfo.InvariantCulture, $" | load {loadMax:F2}") : "");
                Log(FormatLine(step, o.Steps, loss, lr, gradNorm, tokensPerSecond, mfu, eta) + extra);
                (windowTokens, windowSeconds) = (0, 0);
            }
            if (o.EvalEvery > 0 && Validation.Count > 0 && (step % o.EvalEvery == 0 || step == o.Steps))
            {
                validationLoss = ValidationLoss();
                Log($"{StepText(step, o.Steps)} | val loss {validationLoss:F4}");
                metrics?.Write("val", step, new Dictionary<string, double> { ["loss"] = validationLoss.Value });
            }
            if (badInRow == 0 && ((o.SaveEvery > 0 && step % o.SaveEvery == 0) || step == o.Steps))
            {
                saved = Save(step, optimizer) ?? saved;
                savedStep = step;
            }
            if (step % NativeMemory.TrimEvery == 0) NativeMemory.Trim();
            OnStep?.Invoke(new StepReport(step, loss, lr, gradNorm, !finite, tokens / seconds, stepMfu, seconds) { MtpLoss = mtpLoss, ExpertLoads = loads });
        }
        if (badInRow > 0) Warn($"the last step was non-finite, so it was not saved; the newest checkpoint is {saved ?? "none"}.");
        return new(TrainingOutcome.Completed, step, lastLoss, validationLoss, tokensPerSecond, mfu, skipped, saved);
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

    AdamW NewOptimizer(LanguageModelTrainerOptions o)
    {
        // Decay pulls matrices toward zero; norm gains (and biases) are not weights in that sense, as in nanoGPT/nanochat.
        var all = model.parameters().ToList();
        var groups = new[]
        {
            new AdamW.ParamGroup(all.Where(p => p.dim() >= 2).ToList(), new AdamW.Options { weight_decay = o.WeightDecay }),
            new AdamW.ParamGroup(all.Where(p => p.dim() < 2).ToList(), new AdamW.Options { weight_decay = 0.0 }),
        };
        return optim.AdamW(groups, o.LearningRate, o.Beta1, o.Beta2, eps: 1e-8, weight_decay: o.WeightDecay);
    }

    long Restore(Checkpoint resume, AdamW optimizer)
    {
        var state = resume.State ?? throw new InvalidDataException(
            $"{resume.Directory} has no {Checkpoint.StateFile}, so it cannot be resumed; start a new run from its weights instead.");
        resume.LoadModel(model);
        using (var scope = NewDisposeScope())
            AdamWState.Import(optimizer, model, resume.LoadOptimizer(), Path.Combine(resume.Directory, Checkpoint.OptimizerFile));
        if (state.Payload["data_position"] is { } position) train.Seek(position);
        return state.Step;
    }

    string? Save(long step, AdamW optimizer)
    {
        if (RunDirectory is null) return null;
        using var scope = NewDisposeScope();
        var state = (StateTemplate with { Step = step }).With("data_position", train.Position);
        return Checkpoint.Save(RunDirectory, Checkpoint.StepName(step), model, model.Config, tokenizer, state,
            AdamWState.Export(optimizer, model), new CheckpointOptions { KeepLast = options.KeepLast });
    }

    /// <summary>
    /// A step folder newer than the starting point is the orphan of a save killed before <c>latest</c> moved to it;
    /// the resumed run rewrites it identically, and leaving it would block that save.
    /// </summary>
    void RemoveCheckpointsAfter(long step)
    {
        if (RunDirectory is null || !Directory.Exists(RunDirectory)) return;
        foreach (var dir in Directory.EnumerateDirectories(RunDirectory))
        {
            var match = StepFolder().Match(Path.GetFileName(dir));
            if (!match.Success || long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) <= step) continue;
            Warn($"removing {dir}: newer than the checkpoint this run starts from (a save interrupted before 'latest' moved); it will be written again.");
            Directory.Delete(dir, recursive: true);
        }
    }

    [GeneratedRegex(@"^step-(\d+)$")]
    private static partial Regex StepFolder();
}
