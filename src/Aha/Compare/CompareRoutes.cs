using Aha.Preferences;

namespace Aha.Compare;

/// <summary>
/// The routes <c>aha compare</c> knows, by <c>--routes</c> name, in table order. Adding one is one entry here: e.g. RLAIF/CAI
/// is <c>new LearnedRewardRoute("rlaif", "RLAIF/CAI (AI labels under the constitution → PM → PPO)", LabelKind.Ai,
/// (context, model, tokenizer) => its AI labeler)</c>, which reuses the labelling, preference-model, PPO, budget and report code.
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
        new SftRoute(),
    ];

    public static ICompareRoute Get(string name) => All.FirstOrDefault(r => r.Name == name)
        ?? throw new ArgumentException($"compare: unknown route '{name}'; use some of {string.Join(",", Names)}.");

    /// <summary>The simulated human of <c>aha prefs</c> with the run's noise and length bias, seeded by the route's seed.</summary>
    public static IPreferenceLabeler SimulatedHuman(RouteContext context, Model.LlamaModel baseModel, Tokenizer.ITokenizer tokenizer) =>
        new SimulatedLabeler(context.Options.LabelNoise, context.Options.LengthBias, context.Seed).Validate();
}
