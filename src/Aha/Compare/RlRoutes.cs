using Aha.Model;
using Aha.Tasks.Rewards;
using Aha.Training;

namespace Aha.Compare;

/// <summary>The untrained base: the row every route starts from (no FLOPs, no labels).</summary>
public sealed class BaseRoute : ICompareRoute
{
    public string Name => "base";
    public string Description => "base (no training)";
    public bool Seeded => false;
    public RouteOutcome Run(RouteContext context) => new(context.LoadBase().Model);
}

/// <summary>R1-Zero: GRPO with the rule rewards (accuracy + format), no labels, no learned reward.</summary>
public sealed class R1ZeroRoute : ICompareRoute
{
    public string Name => "r1zero";
    public string Description => "R1-Zero (GRPO + accuracy/format rules)";

    public RouteOutcome Run(RouteContext context)
    {
        var (policy, tokenizer) = context.LoadBase();
        var options = context.Options.Grpo with { Seed = context.Seed, MaxCompletionTokens = context.Options.MaxCompletionTokens };
        using var grpo = new GrpoTrainer(policy, tokenizer, context.Task, RewardSet.R1Zero(context.Task), options) { Log = _ => { }, Warn = context.Log };
        GrpoStep last = null!;
        var proxy = new List<ProxyPoint>();
        long steps = context.Train(policy, tokenizer, step =>
        {
            last = grpo.Step(step);
            return (last["flops"], last["skipped"] > 0);
        }, done =>
        {
            proxy.Add(new ProxyPoint(context.Spent, last["reward"], last["accuracy"]));
            context.Log($"{Name} seed {context.Seed} | budget {context.Spent / context.Budget:P0} | {GrpoTrainer.FormatLine(done, done, last)}");
        });
        // The accuracy reward is the verifier's verdict, so the gap is 0 unless they disagree: measured, not assumed.
        return new RouteOutcome(policy)
        {
            Steps = steps, Proxy = proxy, ProxyName = "accuracy + format reward",
            HackingGap = last["reward_accuracy"] - last["accuracy"],
        };
    }
}
