using Aha.Training;

namespace Aha.Compare;

/// <summary>
/// The settings of <c>aha compare</c>: the budget every trained route gets (training FLOPs, <see cref="Flops"/>), the routes
/// and seeds, the simulated labeler, each route's trainer settings, and the held-out evaluation. Each route's trainer runs
/// step by step until its FLOPs reach <see cref="Budget"/>; its step counts in these options are not used.
/// </summary>
public sealed record CompareOptions
{
    /// <summary>Training FLOPs per route, labelling samples and reward-model training included.</summary>
    public double Budget { get; init; } = 2e12;
    public IReadOnlyList<string> Routes { get; init; } = CompareRoutes.Names;
    public IReadOnlyList<long> Seeds { get; init; } = [1, 2, 3];

    /// <summary>
    /// The RLAIF route's feedback model: null asks the base itself (untaught, near chance on this task), a checkpoint
    /// folder asks that model (e.g. one pretrained with <c>--corpus cai</c>, as <c>dev/runs/cai.sh</c> makes it).
    /// </summary>
    public string? Judge { get; init; }
    /// <summary>The RLAIF route's constitution (a built-in name or a file).</summary>
    public string Constitution { get; init; } = "arithmetic";

    /// <summary>Labels the preference routes buy (each from one pair of samples of a training prompt).</summary>
    public int Labels { get; init; } = 1_000;
    /// <summary>Completions sampled per labelling prompt; every two of them make a pair (K = 4: six labels a prompt).</summary>
    public int LabelSamples { get; init; } = 4;
    public double LabelNoise { get; init; } = 0.2;
    public double LengthBias { get; init; } = 0.5;
    /// <summary>Share of labelling prompts held out to measure the reward model (split by prompt text, as <c>aha rm</c>).</summary>
    public double RewardHeldOut { get; init; } = 0.1;
    /// <summary>Passes of reward-model training over its pairs; its FLOPs are charged to the route before PPO starts.</summary>
    public int RewardEpochs { get; init; } = 1;

    public GrpoOptions Grpo { get; init; } = new() { Steps = int.MaxValue, SaveEvery = 0 };
    public PpoOptions Ppo { get; init; } = new() { Steps = int.MaxValue, LearningRate = 1e-4, SaveEvery = 0 };
    public DpoOptions Dpo { get; init; } = new() { Steps = int.MaxValue, SaveEvery = 0 };
    public RewardOptions Reward { get; init; } = new() { Steps = int.MaxValue, EvalEvery = 0, SaveEvery = 0 };
    /// <summary>SFT on worked solutions: constant learning rate after warmup (the run's length is set by the budget, so no cosine).</summary>
    public LanguageModelTrainerOptions Sft { get; init; } = new()
    {
        Steps = int.MaxValue, BatchSize = 16, SequenceLength = 128, LearningRate = 3e-4, WarmupSteps = 10, MinLrRatio = 1,
        EvalEvery = 0, SaveEvery = 0, LogEvery = 50,
    };
    /// <summary>Worked solutions written for the SFT route (distinct training problems; later passes repeat them).</summary>
    public int Demonstrations { get; init; } = 2_000;

    /// <summary>Longest completion everywhere: rollouts, labelling samples, evaluation.</summary>
    public int MaxCompletionTokens { get; init; } = 64;
    /// <summary>Held-out problems scored greedily at the end (the demo's 200).</summary>
    public int EvalProblems { get; init; } = 200;
    /// <summary>The first of them sampled <see cref="Samples"/> times at T 0.6, top-p 0.95 (the R1 protocol) for pass@k and maj@k.</summary>
    public int SampledProblems { get; init; } = 100;
    public int Samples { get; init; } = 8;
    /// <summary>Greedy accuracy on the first <see cref="CurveProblems"/> held-out problems each time a route passes another 1/<see cref="CurvePoints"/> of the budget.</summary>
    public int CurvePoints { get; init; } = 4;
    public int CurveProblems { get; init; } = 100;

    public static CompareOptions Default { get; } = new();

    /// <summary>
    /// A short run: a quarter of the budget, an eighth of the labels, one seed, a smaller evaluation; GRPO and PPO take
    /// smaller steps so that each route still takes 15+ of them (the last step's overshoot stays well inside the 10% bar).
    /// </summary>
    public static CompareOptions Quick { get; } = new()
    {
        Budget = 5e11, Seeds = [1], Labels = 120, Demonstrations = 500, EvalProblems = 50, SampledProblems = 25, Samples = 4,
        CurvePoints = 2, CurveProblems = 50,
        Grpo = Default.Grpo with { PromptsPerStep = 4 },
        Ppo = Default.Ppo with { PromptsPerStep = 8, MiniBatches = 2 },
    };

    public CompareOptions Validate()
    {
        void Require(bool ok, string message) { if (!ok) throw new ArgumentException($"compare: {message}"); }
        Require(Budget > 0 && double.IsFinite(Budget), $"--budget must be a positive number of FLOPs, e.g. 3.2e12 (got {Budget}).");
        Require(Routes.Count > 0, "--routes names no route; give some of " + string.Join(",", CompareRoutes.Names) + ".");
        foreach (var route in Routes)
            Require(CompareRoutes.Names.Contains(route), $"--routes: unknown route '{route}'; use some of {string.Join(",", CompareRoutes.Names)}.");
        Require(Routes.Distinct().Count() == Routes.Count, "--routes names a route twice.");
        Require(Seeds.Count > 0 && Seeds.Distinct().Count() == Seeds.Count, "--seeds must list distinct seeds, e.g. 1,2,3.");
        Require(Labels > 0, $"--labels must be positive (got {Labels}).");
        Require(LabelSamples >= 2, $"label samples per prompt must be at least 2 (got {LabelSamples}).");
        Require(LabelNoise is >= 0 and <= 1, $"--label-noise must be in [0, 1] (got {LabelNoise}).");
        Require(LengthBias is >= 0 and <= 1, $"--length-bias must be in [0, 1] (got {LengthBias}).");
        Require(RewardHeldOut is > 0 and < 1, $"reward held-out share must be in (0, 1) (got {RewardHeldOut}).");
        Require(RewardEpochs >= 1, $"reward epochs must be at least 1 (got {RewardEpochs}).");
        Require(Demonstrations > 0, $"demonstrations must be positive (got {Demonstrations}).");
        Require(MaxCompletionTokens > 0, $"max completion tokens must be positive (got {MaxCompletionTokens}).");
        Require(EvalProblems > 0 && SampledProblems is > 0 && SampledProblems <= EvalProblems, $"eval problems must be positive and sampled problems in [1, {EvalProblems}] (got {EvalProblems}, {SampledProblems}).");
        Require(Samples >= 2, $"samples per problem must be at least 2 for pass@k (got {Samples}).");
        Require(CurvePoints >= 1 && CurveProblems is > 0 && CurveProblems <= EvalProblems, $"curve points must be ≥ 1 and curve problems in [1, {EvalProblems}] (got {CurvePoints}, {CurveProblems}).");
        Grpo.Validate();
        Ppo.Validate();
        Dpo.Validate();
        Reward.Validate();
        Sft.Validate();
        return this;
    }
}
