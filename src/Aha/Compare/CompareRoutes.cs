using Aha.Checkpoints;
using Aha.Constitutional;
using Aha.Preferences;

namespace Aha.Compare;

/// <summary>
/// The routes <c>aha compare</c> knows, by <c>--routes</c> name, in table order. Adding one is one entry here: RLAIF/CAI is
/// RLHF's <see cref="LearnedRewardRoute"/> with an AI labeler, reusing the labelling, preference-model, PPO, budget and report code.
/// </summary>
public static class CompareRoutes
{
    public static IReadOnlyList<string> Names => All.Select(r => r.Name).ToList();

    public static IReadOnlyList<ICompareRoute> All { get; } =
    [
        new BaseRoute(),
        new R1ZeroRoute(),
        new LearnedRewardRoute("rlhf", "RLHF (simulated human labels → RM → PPO)", LabelKind.Human, SimulatedHuman),
        new DpoRoute("dpo", "DPO (the same simulated human labels)", LabelKind.Human, SimulatedHuman),
        new LearnedRewardRoute("rlaif", "RLAIF/CAI (AI labels under the constitution → PM → PPO)", LabelKind.Ai, AiJudge),
        new SftRoute(),
    ];

    public static ICompareRoute Get(string name) => All.FirstOrDefault(r => r.Name == name)
        ?? throw new ArgumentException($"compare: unknown route '{name}'; use some of {string.Join(",", Names)}.");

    /// <summary>The simulated human of <c>aha prefs</c> with the run's noise and length bias, seeded by the route's seed.</summary>
    public static IPreferenceLabeler SimulatedHuman(RouteContext context, Model.LlamaModel baseModel, Tokenizer.ITokenizer tokenizer) =>
        new SimulatedLabeler(context.Options.LabelNoise, context.Options.LengthBias, context.Seed).Validate();

    /// <summary>
    /// Constitutional AI's feedback model as the labeler: <see cref="CompareOptions.Judge"/> (or the base itself) reads the
    /// prompt, both answers and a sampled principle, in both orders, and its A/B probabilities are the soft label. Its
    /// forward passes are charged to the route after labelling (<see cref="LabelSet.Collect"/>).
    /// </summary>
    public static IPreferenceLabeler AiJudge(RouteContext context, Model.LlamaModel baseModel, Tokenizer.ITokenizer tokenizer)
    {
        var o = context.Options;
        ModelJudge judge;
        if (o.Judge is null) judge = new ModelJudge(baseModel, tokenizer, JudgeMode.Soft, "self");
        else
        {
            var (model, checkpoint) = ModelLoader.OpenAndLoad(o.Judge);
            judge = new ModelJudge(model, checkpoint.Tokenizer, JudgeMode.Soft, $"model:{checkpoint.Directory}", ownsModel: true); // disposed after labelling
        }
        return new AiLabeler(judge, Constitutional.Constitution.Resolve(o.Constitution), context.Seed);
    }
}
