using System.Diagnostics;
using System.Globalization;
using Aha.Checkpoints;
using Aha.Model;
using Aha.Tasks;
using Aha.Tokenizer;
using TorchSharp;
using static TorchSharp.torch;

namespace Aha.Training;

/// <summary>
/// Reward-model training on preference pairs (TRL's RewardTrainer): each step scores B chosen and B rejected rows with
/// the scalar head at the last non-pad token and takes one AdamW step on the Bradley–Terry loss. Pairs are visited in a
/// seeded order, a fresh permutation each pass; the order is a pure function of (seed, step), so a resume needs no data state.
/// </summary>
public sealed class RewardTrainer : IDisposable
{
    readonly LlamaModel _model;
    readonly ITokenizer _tokenizer;
    readonly IReadOnlyList<RewardPair> _train;
    readonly IReadOnlyList<RewardPair> _heldOut;
    readonly RewardOptions _options;
    readonly TorchSharp.Modules.AdamW _optimizer;
    readonly long _matmulParameters;
    (long Epoch, int[] Order) _permutation = (-1, []);

    /// <param name="model">A reward model (score head), e.g. from <see cref="RewardModels.FromCausalLm"/>.</param>
    /// <param name="heldOut">Pairs never trained on, for the held-out metrics (may be empty).</param>
    public RewardTrainer(LlamaModel model, ITokenizer tokenizer, IReadOnlyList<RewardPair> train, IReadOnlyList<RewardPair> heldOut, RewardOptions options)
    {
        if (!model.Config.SequenceClassification) throw new ArgumentException("rm: the model has no score head; build it with RewardModels.FromCausalLm.", nameof(model));
        if (train.Count == 0) throw new ArgumentException("rm: no training pairs.", nameof(train));
        _model = model;
        _tokenizer = tokenizer;
        _train = train;
        _heldOut = heldOut;
        _options = options.Validate();
        _optimizer = Optimizers.AdamW(model, options.LearningRate, options.Beta1, options.Beta2, options.WeightDecay);
        _matmulParameters = Flops.MatmulParameters(model);
    }

    public string? RunDirectory { get; init; }
    public TrainingState StateTemplate { get; init; } = new() { Step = 0, Trainer = "rm" };
    public bool TensorBoard { get; init; }
    public Action<string> Log { get; init; } = Console.WriteLine;
    public Action<string> Warn { get; init; } = Console.Error.WriteLine;
    public Action<LoopStep>? OnStep { get; init; }
    /// <summary>Test hook: makes chosen steps non-finite (see <see cref="NonFiniteInjection"/>).</summary>
    public NonFiniteInjection? Inject { get; init; }

    /// <summary>Held-out metrics of every evaluation, by step (the last one is after the final step).</summary>
    public List<(long Step, RewardEvaluation Eval)> Evaluations { get; } = [];

    /// <summary>Trains from step 0 or from <paramref name="resume"/> (weights, moments, step) until the last step or cancellation.</summary>
    public (TrainingResult Result, IReadOnlyList<LoopStep> Steps) Run(Checkpoint? resume = null, CancellationToken cancel = default)
    {
        long firstStep = resume is null ? 0 : RunLoop.Restore(resume, _model, _optimizer).Step;
        var steps = new List<LoopStep>();
        var end = new RunLoop
        {
            Steps = _options.Steps, SaveEvery = _options.SaveEvery, MaxBadSteps = _options.MaxBadStepsInARow, RunDirectory = RunDirectory,
            TensorBoard = TensorBoard, Phase = "rm", Warn = Warn, Weights = () => _model.parameters(), Save = Save,
            Step = step =>
            {
                var report = Step(step);
                steps.Add(report);
                return report;
            },
            AfterStep = (report, metrics) =>
            {
                Log(FormatLine(report.Step, _options.Steps, report.Scalars));
                if (_heldOut.Count > 0 && ((_options.EvalEvery > 0 && report.Step % _options.EvalEvery == 0) || report.Step == _options.Steps))
                {
                    var eval = RewardEvaluation.Of(_model, _heldOut, _options.BatchSize * 2);
                    Evaluations.Add((report.Step, eval));
                    metrics?.Write("rm_eval", report.Step, eval.Scalars());
                    Log(string.Create(CultureInfo.InvariantCulture,
                        $"eval {report.Step}: pair accuracy {eval.Accuracy:F3} | margin {eval.MeanMargin:F3} | verifier agreement {eval.VerifierAgreement:F3} ({eval.VerifierPairs} pairs)"));
                }
                OnStep?.Invoke(report);
            },
        }.Run(firstStep, cancel);
        var last = steps.LastOrDefault();
        return (new(end.Outcome, end.Step, last?.Scalars["loss"], null, 0, 0, end.SkippedSteps, end.Checkpoint), steps);
    }

    /// <summary><c>step 012/100 | loss 0.6931 | acc 0.500 | margin 0.000 | gnorm 1.23 | 0.8s</c></summary>
    public static string FormatLine(long step, long steps, IReadOnlyDictionary<string, double> r)
    {
        int width = Math.Max(3, steps.ToString(CultureInfo.InvariantCulture).Length);
        return string.Create(CultureInfo.InvariantCulture,
            $"step {step.ToString(CultureInfo.InvariantCulture).PadLeft(width, '0')}/{steps.ToString(CultureInfo.InvariantCulture).PadLeft(width, '0')} | loss {r["loss"]:F4} | acc {r["accuracy"]:F3} | margin {r["margin"]:F3} | gnorm {r["grad_norm"]:F2} | {r["seconds"]:F1}s");
    }

    string? Save(long step)
    {
        if (RunDirectory is null) return null;
        using var scope = NewDisposeScope();
        var state = (StateTemplate with { Step = step, Seed = _options.Seed, Trainer = "rm" }).WithOptions(_options);
        return Checkpoint.Save(RunDirectory, Checkpoint.StepName(step), _model, _model.Config, _tokenizer, state,
            AdamWState.Export(_optimizer, _model), new CheckpointOptions { KeepLast = _options.KeepLast });
    }

    /// <summary>The training pairs of step <paramref name="step"/> (0-based), in the seeded order.</summary>
    public IReadOnlyList<RewardPair> Batch(long step)
    {
        var batch = new List<RewardPair>(_options.BatchSize);
        for (long k = step * _options.BatchSize; k < (step + 1) * _options.BatchSize; k++)
        {
            long epoch = k / _train.Count;
            if (_permutation.Epoch != epoch) _permutation = (epoch, Shuffle(_train.Count, _options.Seed, epoch));
            batch.Add(_train[_permutation.Order[k % _train.Count]]);
        }
        return batch;
    }

    static int[] Shuffle(int count, long seed, long epoch)
    {
        var order = Enumerable.Range(0, count).ToArray();
        var random = StableRandom.For(seed, epoch);
        for (int i = count - 1; i > 0; i--)
        {
            int j = random.Next(0, i);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }

    /// <summary>One optimizer step on the pairs of step <paramref name="step"/> (0-based).</summary>
    public LoopStep Step(long step)
    {
        var clock = Stopwatch.StartNew();
        var pairs = Batch(step);
        using var scope = NewDisposeScope();
        var device = _model.parameters().First().device;
        int b = pairs.Count;
        var rows = pairs.Select(p => (IReadOnlyList<int>)p.ChosenRow).Concat(pairs.Select(p => (IReadOnlyList<int>)p.RejectedRow)).ToList();
        var ids = RewardModels.RightPadded(rows, _model.Config.PadTokenId!.Value, device); // (2B, L): chosen rows, then rejected
        _model.train();
        Inject?.Weights(step, _model);
        var scores = _model.Scores(ids);                                                    // (2B)
        var chosen = scores.narrow(0, 0, b);
        var rejected = scores.narrow(0, b, b);
        var margin = _options.UseMargin ? tensor(pairs.Select(p => (float)p.Margin).ToArray(), device: device) : null;
        // Hard labels (every target 1) take the hard loss's exact path; a batch with a soft label takes the soft one.
        var target = pairs.Any(p => p.Target != 1) ? tensor(pairs.Select(p => (float)p.Target).ToArray(), device: device) : null;
        var loss = RewardLoss.BradleyTerry(chosen, rejected, margin, target);
        _optimizer.zero_grad();
        (Inject is null ? loss : Inject.Loss(step, loss)).backward();
        Inject?.Gradients(step, _model);
        double norm = nn.utils.clip_grad_norm_(_model.parameters(), _options.MaxGradNorm > 0 ? _options.MaxGradNorm : double.PositiveInfinity);
        float lossValue = loss.item<float>();
        bool skipped = !double.IsFinite(norm) || !float.IsFinite(lossValue);
        if (skipped) _optimizer.zero_grad();
        else _optimizer.step();
        using var noGrad = no_grad();
        var gap = (chosen - rejected).detach();
        var scalars = new Dictionary<string, double>
        {
            ["loss"] = skipped ? double.NaN : lossValue,
            ["accuracy"] = gap.gt(0).to(float32).mean().item<float>(),
            ["margin"] = gap.mean().item<float>(),
            ["chosen_score"] = chosen.detach().mean().item<float>(),
            ["rejected_score"] = rejected.detach().mean().item<float>(),
            ["grad_norm"] = norm,
            ["lr"] = _options.LearningRate,
            ["epoch"] = (double)(step + 1) * _options.BatchSize / _train.Count,
            ["skipped"] = skipped ? 1 : 0,
            ["seconds"] = clock.Elapsed.TotalSeconds,
            ["flops"] = 3 * Flops.Forward(_model.Config, _matmulParameters, rows.Select(r => r.Count)), // forward + backward of both rows of every pair
        };
        return new LoopStep(step + 1, scalars, skipped);
    }

    public void Dispose() => _optimizer.Dispose();
}
