using System.Diagnostics;
using Aha.Checkpoints;
using Aha.Eval;
using Aha.Model;
using Aha.Runtime;
using Aha.Tasks;
using Aha.Tokenizer;
using Aha.Training;

namespace Aha.Compare;

/// <summary>
/// One way from the base checkpoint to a better model that <c>aha compare</c> measures. A route loads its own copy of the
/// base, trains it through <see cref="RouteContext.Train"/> (which charges every step's FLOPs and stops at the budget), and
/// reports what it consumed (labels, demonstrations) and, when it optimised a learned reward, the proxy beside the truth.
/// </summary>
public interface ICompareRoute
{
    /// <summary>The name <c>--routes</c> takes (e.g. <c>rlhf</c>).</summary>
    string Name { get; }
    /// <summary>The table's description of the route.</summary>
    string Description { get; }
    /// <summary>False when training does not depend on the seed (the untrained base): it runs once and serves every seed.</summary>
    bool Seeded => true;
    /// <summary>Trains from the base within the budget; the context evaluates the returned model.</summary>
    RouteOutcome Run(RouteContext context);
}

/// <summary>What a route hands back: the trained model and what it consumed; the evaluation is the context's.</summary>
public sealed record RouteOutcome(LlamaModel Model)
{
    public int HumanLabels { get; init; }
    public int AiLabels { get; init; }
    /// <summary>Worked solutions trained on (the SFT route).</summary>
    public int Demonstrations { get; init; }
    /// <summary>Share of the labels agreeing with the verifier where it decides (one completion right, one wrong).</summary>
    public double? LabelAgreement { get; init; }
    /// <summary>The reward (preference) model's agreement with the verifier on held-out labelled pairs where it decides.</summary>
    public double? RewardModelAgreement { get; init; }
    /// <summary>Per RL step: FLOPs spent so far, the mean proxy reward it optimised and the verifier's accuracy on the same rollouts.</summary>
    public IReadOnlyList<ProxyPoint> Proxy { get; init; } = [];
    /// <summary>At the end: share of the last step's rollouts the optimised reward accepts, minus the share the verifier accepts.</summary>
    public double? HackingGap { get; init; }
    /// <summary>What the proxy was (for the report), e.g. "reward-model score".</summary>
    public string? ProxyName { get; init; }
    /// <summary>The proxy is a learned model (reward or preference model), not a rule: the proxy-vs-truth plot shows it.</summary>
    public bool LearnedProxy { get; init; }
    public long Steps { get; init; }
}

public sealed record ProxyPoint(double Flops, double Proxy, double Truth);

public sealed record CurvePoint(double Flops, double Accuracy);

/// <summary>
/// What a route works with: the base checkpoint, the task, the options, its seed and folder, and the budget meter. Every
/// trainer step goes through <see cref="Train"/>; fixed costs (labelling samples, reward-model training) through <see cref="Charge"/>.
/// </summary>
public sealed class RouteContext(string baseModel, ITask task, CompareOptions options, long seed, string directory,
    IReadOnlyList<TaskItem> curveProblems, double baseAccuracy, Action<string> log, CancellationToken cancel)
{
    readonly List<CurvePoint> _curve = [new CurvePoint(0, baseAccuracy)];
    readonly Stopwatch _evalClock = new();
    int _nextCurvePoint = 1;

    public string BaseModel => baseModel;
    public ITask Task => task;
    public CompareOptions Options => options;
    public long Seed => seed;
    public string Directory => directory;
    public Action<string> Log => log;
    public CancellationToken Cancel => cancel;
    public double Budget => options.Budget;
    /// <summary>Training FLOPs charged so far.</summary>
    public double Spent { get; private set; }
    public bool Exhausted => Spent >= options.Budget;
    /// <summary>Greedy accuracy on the curve problems: the base's at 0, then each time the spend passed another 1/CurvePoints of the budget.</summary>
    public IReadOnlyList<CurvePoint> Curve => _curve;
    /// <summary>Seconds spent on the curve's evaluations (not training: taken out of the route's wall time).</summary>
    public double EvalSeconds => _evalClock.Elapsed.TotalSeconds;

    /// <summary>A fresh copy of the base model in training mode, and its tokenizer.</summary>
    public (LlamaModel Model, ITokenizer Tokenizer) LoadBase()
    {
        var (model, checkpoint) = ModelLoader.OpenAndLoad(baseModel);
        model.train();
        return (model, checkpoint.Tokenizer);
    }

    /// <summary>Charges a fixed cost (labelling samples, reward-model training); fails when it alone exceeds the budget.</summary>
    public void Charge(double flops, string what)
    {
        Spent += flops;
        // The policy has not moved yet: the fractions a fixed cost passes get the base's accuracy, without evaluating.
        while (_nextCurvePoint < options.CurvePoints && Spent >= options.Budget * _nextCurvePoint / options.CurvePoints)
        {
            _nextCurvePoint++;
            _curve.Add(new CurvePoint(Spent, baseAccuracy));
        }
        log($"{what}: {flops:0.00e+00} FLOPs charged ({Spent / options.Budget:P0} of the budget)");
        if (Exhausted)
            throw new ArgumentException($"compare: {what} alone costs {Spent:0.00e+00} FLOPs, the whole --budget {options.Budget:0.00e+00}; raise --budget or lower --labels.");
    }

    /// <summary>
    /// Runs <paramref name="step"/> (steps done before it → the step's FLOPs) until the spend reaches the budget — the step
    /// that reaches it is the last — recording the curve on <paramref name="policy"/> as it passes each point; five non-finite
    /// steps in a row stop the route. Returns the steps run.
    /// </summary>
    public long Train(LlamaModel policy, ITokenizer tokenizer, Func<long, (double Flops, bool Skipped)> step, Action<long>? after = null)
    {
        long done = 0;
        int bad = 0;
        while (!Exhausted)
        {
            cancel.ThrowIfCancellationRequested();
            var (flops, skipped) = step(done);
            done++;
            bad = skipped ? bad + 1 : 0;
            if (bad >= 5) throw new InvalidOperationException($"compare: {bad} non-finite steps in a row at step {done}; lower the route's learning rate.");
            NativeMemory.TrimOnCadence(done);
            Account(policy, tokenizer, flops);
            after?.Invoke(done);
        }
        return done;
    }

    /// <summary>
    /// Charges one finished training step and records the curve on <paramref name="policy"/> for every budget fraction the
    /// spend has passed; true once the budget is reached (for a trainer that owns its loop: stop it then).
    /// </summary>
    public bool Account(LlamaModel policy, ITokenizer tokenizer, double flops)
    {
        Spent += flops;
        RecordCurve(policy, tokenizer);
        return Exhausted;
    }

    /// <summary>Adds a curve point for every budget fraction the spend has passed (the final point is the last step's).</summary>
    void RecordCurve(LlamaModel policy, ITokenizer tokenizer)
    {
        while (_nextCurvePoint < options.CurvePoints && Spent >= options.Budget * _nextCurvePoint / options.CurvePoints)
        {
            _nextCurvePoint++;
            _evalClock.Start();
            _curve.Add(new CurvePoint(Spent, GreedyAccuracy(policy, tokenizer)));
            _evalClock.Stop();
        }
    }

    double GreedyAccuracy(LlamaModel policy, ITokenizer tokenizer)
    {
        bool training = policy.training;
        var report = ModelEvaluator.Evaluate(policy, tokenizer, task, curveProblems, new EvalOptions { MaxNewTokens = options.MaxCompletionTokens, BatchSize = 100 });
        if (training) policy.train();
        return report.Summary.Accuracy;
    }
}
