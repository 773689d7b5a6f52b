using Aha.Data;
using Aha.Model;
using Aha.Preferences;
using Aha.Tasks.Rewards;
using Aha.Tokenizer;
using Aha.Training;
using TorchSharp;

namespace Aha.Compare;

/// <summary>Who labelled a route's pairs: counted in the table's human-labels or AI-labels column.</summary>
public enum LabelKind { Human, Ai }

/// <summary>
/// Makes a route's labeler for one seed. It gets the base model and its tokenizer, which a model-as-judge labeler
/// (RLAIF, Constitutional AI) may read; the simulated human ignores them.
/// </summary>
public delegate IPreferenceLabeler LabelerFactory(RouteContext context, LlamaModel baseModel, ITokenizer tokenizer);

/// <summary>The labels a preference route bought: the pairs, their tally, and who made them.</summary>
public sealed record LabelSet(IReadOnlyList<LabeledPair> Pairs, PreferenceTally Tally, LabelKind Kind)
{
    /// <summary>
    /// Samples <see cref="CompareOptions.LabelSamples"/> completions of enough training prompts for about
    /// <see cref="CompareOptions.Labels"/> labels (every two different completions cost one) and asks the labeler about each
    /// pair; the sampling FLOPs are charged to the route (a labeler's own compute is charged by the caller, if any).
    /// </summary>
    public static LabelSet Collect(RouteContext context, LlamaModel model, ITokenizer tokenizer, IPreferenceLabeler labeler, LabelKind kind)
    {
        var o = context.Options;
        int perPrompt = o.LabelSamples * (o.LabelSamples - 1) / 2;
        int prompts = (o.Labels + perPrompt - 1) / perPrompt;
        var (pairs, tally) = PreferenceCollector.Collect(model, tokenizer, context.Task, labeler, new PreferenceCollectionOptions
        {
            Prompts = prompts, Samples = o.LabelSamples, MaxCompletionTokens = o.MaxCompletionTokens, Seed = context.Seed,
        });
        model.train();
        context.Charge(Flops.Forward(model.Config, Flops.MatmulParameters(model), tally.Sampled.Tokens, tally.Sampled.SquaredTokens),
            $"labelling ({tally.Labels} {labeler.Source} labels on {tally.Prompts} prompts × {o.LabelSamples} samples, {tally.Agreement:P1} agree with the verifier)");
        if (labeler is Constitutional.AiLabeler { Judge: Constitutional.ModelJudge judge })
            context.Charge(judge.Flops, $"AI judge ({judge.Name}: {judge.Calls} judgements)");
        if (pairs.Count == 0) throw new ArgumentException($"compare: the labeler '{labeler.Source}' returned no pairs; raise --labels.");
        return new LabelSet(pairs, tally, kind);
    }

    /// <summary>The pairs as <see cref="PreferencePair"/>s with the verifier's verdicts (the truth a reward model is checked against).</summary>
    public IEnumerable<PreferencePair> Preferences() =>
        Pairs.Select(p => PreferencePair.Text(p.Prompt, p.Chosen.Text, p.Rejected.Text) with
        {
            Correct = (p.Chosen.Correct, p.Rejected.Correct),
            ChosenProbability = p.Label.ProbabilityA is null ? null : p.Label.ChosenProbability, // a judge's soft label trains the soft Bradley–Terry loss
        });

    public RouteOutcome Counted(RouteOutcome outcome) => outcome with
    {
        HumanLabels = Kind == LabelKind.Human ? Tally.Labels : 0,
        AiLabels = Kind == LabelKind.Ai ? Tally.Labels : 0,
        LabelAgreement = Tally.Agreement,
    };
}

/// <summary>A route that learns from labelled pairs: the base is loaded, the labels bought (and counted), then the route trains on them.</summary>
public abstract class PreferenceRoute(string name, string description, LabelKind kind, LabelerFactory labeler) : ICompareRoute
{
    public string Name => name;
    public string Description => description;

    public RouteOutcome Run(RouteContext context)
    {
        var (policy, tokenizer) = context.LoadBase();
        var made = labeler(context, policy, tokenizer);
        LabelSet labels;
        try { labels = LabelSet.Collect(context, policy, tokenizer, made, kind); }
        finally { (made as IDisposable)?.Dispose(); } // e.g. a judge model loaded for the labels
        return labels.Counted(Train(context, policy, tokenizer, labels));
    }

    /// <summary>Trains <paramref name="policy"/> (the base) on the labels through <see cref="RouteContext.Train"/>.</summary>
    protected abstract RouteOutcome Train(RouteContext context, LlamaModel policy, ITokenizer tokenizer, LabelSet labels);
}

/// <summary>
/// A learned-reward route: labels from <paramref name="labeler"/> → a Bradley–Terry reward (preference) model trained on
/// them → PPO against it. With the simulated human it is RLHF; with an AI labeler under a constitution it is RLAIF/CAI.
/// Labelling samples and reward-model training are charged to the route before PPO spends the rest of the budget.
/// </summary>
public sealed class LearnedRewardRoute(string name, string description, LabelKind kind, LabelerFactory labeler)
    : PreferenceRoute(name, description, kind, labeler)
{
    protected override RouteOutcome Train(RouteContext context, LlamaModel policy, ITokenizer tokenizer, LabelSet labels)
    {
        var o = context.Options;

        var rmOptions = o.Reward with { Seed = context.Seed };
        var pairs = labels.Preferences().Select(p => (Prompt: p.PromptText!, Pair: RewardPair.From(tokenizer, p, rmOptions.MaxLength))).ToList();
        // Held out by prompt, as aha rm splits; a label set too small for the hash to pick any prompt holds out its last one.
        var held = pairs.Select(p => p.Prompt).Distinct().Where(prompt => TrainValidationSplit.IsValidation(prompt, o.RewardHeldOut, context.Seed)).ToHashSet();
        if (held.Count == 0) held.Add(pairs[^1].Prompt);
        var train = pairs.Where(p => !held.Contains(p.Prompt)).Select(p => p.Pair).ToList();
        var heldOut = pairs.Where(p => held.Contains(p.Prompt)).Select(p => p.Pair).ToList();
        if (train.Count == 0) throw new ArgumentException($"compare: the labels cover one prompt, which the reward model's held-out check needs; raise --labels.");
        torch.manual_seed(context.Seed); // the score head's draw
        var rm = RewardModels.FromCausalLm(policy, tokenizer.PadId);
        long rmSteps = ((long)o.RewardEpochs * train.Count + rmOptions.BatchSize - 1) / rmOptions.BatchSize;
        double rmFlops = 0;
        using (var rmTrainer = new RewardTrainer(rm, tokenizer, train, heldOut, rmOptions) { Log = _ => { }, Warn = context.Log })
            for (long step = 0; step < rmSteps; step++) rmFlops += rmTrainer.Step(step).Scalars["flops"];
        var rmEval = RewardEvaluation.Of(rm, heldOut, 32);
        context.Charge(rmFlops, $"reward model ({rmSteps} steps on {train.Count} pairs; {rmEval.VerifierAgreement:P1} agree with the verifier on {rmEval.VerifierPairs} held-out pairs)");

        var value = RewardModels.Clone(rm);
        var reward = new RewardModelReward(rm, tokenizer, rm.Config.MaxPositionEmbeddings);
        long rmParameters = Flops.MatmulParameters(rm);
        double RewardFlops() => Flops.Forward(rm.Config, rmParameters, reward.Scored.Tokens, reward.Scored.SquaredTokens);
        var options = o.Ppo with { Seed = context.Seed, MaxCompletionTokens = o.MaxCompletionTokens };
        using var ppo = new PpoTrainer(policy, value, tokenizer, context.Task, new RewardSet([(reward, 1f)]), options) { Log = _ => { }, Warn = context.Log };
        GrpoStep last = null!;
        var proxy = new List<ProxyPoint>();
        long steps = context.Train(policy, tokenizer, step =>
        {
            double scoredBefore = RewardFlops();
            last = ppo.Step(step);
            return (last["flops"] + RewardFlops() - scoredBefore, last["skipped"] > 0);
        }, done =>
        {
            proxy.Add(new ProxyPoint(context.Spent, last["score"], last["accuracy"]));
            context.Log($"{Name} seed {context.Seed} | budget {context.Spent / context.Budget:P0} | {PpoTrainer.FormatLine(done, done, last)}");
        });
        value.Dispose();
        // The RM "accepts" a completion scoring above the midpoint of its held-out correct and wrong means.
        double threshold = (rmEval.CorrectMean + rmEval.WrongMean) / 2;
        double? gap = double.IsFinite(threshold)
            ? last.Samples.Average(s => s.Reward > threshold ? 1.0 : 0.0) - last.Samples.Average(s => s.Correct ? 1.0 : 0.0)
            : null;
        rm.Dispose();
        return new RouteOutcome(policy)
        {
            Steps = steps, Proxy = proxy, ProxyName = "reward-model score", LearnedProxy = true, HackingGap = gap, RewardModelAgreement = rmEval.VerifierAgreement,
        };
    }
}

/// <summary>DPO on the same kind of labels: no reward model, no sampling after labelling; the policy's own log-ratios are the reward.</summary>
public sealed class DpoRoute(string name, string description, LabelKind kind, LabelerFactory labeler)
    : PreferenceRoute(name, description, kind, labeler)
{
    protected override RouteOutcome Train(RouteContext context, LlamaModel policy, ITokenizer tokenizer, LabelSet labels)
    {
        var options = context.Options.Dpo with { Seed = context.Seed };
        var pairs = labels.Preferences().Select(p => EncodedPair.Encode(tokenizer, p, options.MaxLength)).ToList();
        using var dpo = new DpoTrainer(policy, tokenizer, pairs, options) { Log = _ => { }, Warn = context.Log };
        long steps = context.Train(policy, tokenizer, step =>
        {
            var report = dpo.Step(step);
            if ((step + 1) % 25 == 0) context.Log($"{Name} seed {context.Seed} | budget {context.Spent / context.Budget:P0} | {DpoTrainer.FormatLine(step + 1, step + 1, report.Scalars)}");
            return (report.Scalars["flops"], report.Skipped);
        });
        return new RouteOutcome(policy) { Steps = steps };
    }
}
