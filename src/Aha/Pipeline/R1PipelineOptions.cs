using Aha.Tasks;
using Aha.Training;

namespace Aha.Pipeline;

/// <summary>Where stage 1's cold-start examples come from.</summary>
public enum ColdStartSource
{
    /// <summary>The built-in generator: readable worked additions (<see cref="Data.ReasoningCorpus.ReadableAddition"/>).</summary>
    Builtin,
    /// <summary>A JSONL file of <c>{"prompt","completion"}</c> rows.</summary>
    File,
    /// <summary>A teacher model's samples, kept by the stage-3 verifier and readability filters.</summary>
    Teacher,
}

/// <summary>
/// The settings of <c>aha pipeline r1</c>, DeepSeek-R1's four stages at toy scale. <see cref="Quick"/> runs end to end in
/// under 20 minutes on 2 cores from the demo's base; <see cref="Full"/> spends about three times as much on RL and SFT.
/// </summary>
public sealed record R1PipelineOptions
{
    /// <summary>The base model built when no <c>--base</c> is given: the demo's pretraining (shape, steps, corpus, seed).</summary>
    public DemoOptions Base { get; init; } = DemoOptions.Full;
    public PromptStyle PromptStyle { get; init; } = PromptStyle.Short;
    /// <summary>Longest completion in every stage's sampling and evaluation (the readable traces are 100–155 byte tokens).</summary>
    public int MaxCompletionTokens { get; init; } = 176;

    // Stage 1: cold start.
    public ColdStartSource ColdStart { get; init; } = ColdStartSource.Builtin;
    /// <summary>The JSONL file (File) or the teacher checkpoint (Teacher).</summary>
    public string? ColdStartPath { get; init; }
    /// <summary>Examples in the cold-start set (R1: a few thousand); a file gives what it has.</summary>
    public int ColdStartExamples { get; init; } = 1000;
    public LanguageModelTrainerOptions ColdStartSft { get; init; } = Sft(steps: 150);

    // Stage 2: reasoning RL.
    public GrpoOptions ReasoningRl { get; init; } = Rl(steps: 30);
    /// <summary>Weight of the language-consistency reward beside accuracy and format (R1 adds it with weight 1).</summary>
    public float LanguageWeight { get; init; } = 1f;

    // Stage 3: rejection sampling and SFT from the base.
    public int RejectionPrompts { get; init; } = 256;
    public int RejectionSamples { get; init; } = 4;
    /// <summary>At most this many distinct accepted samples per prompt.</summary>
    public int KeepPerPrompt { get; init; } = 2;
    public double RejectionTemperature { get; init; } = 0.8;
    public ReadabilityFilter Readability { get; init; } = new(MaxTokens: 160); // the longest readable trace (99+99) is 155 byte tokens with its stop
    /// <summary>Non-reasoning rows (general prompts with plain answers) added to the kept samples (R1: ~200k beside ~600k).</summary>
    public int NonReasoningRows { get; init; } = 128;
    /// <summary>Epochs over the stage-3 set (the SFT runs at least the cold start's steps too). More than R1's 2: the set is small (hundreds of rows).</summary>
    public int RetrainEpochs { get; init; } = 6;
    public LanguageModelTrainerOptions RetrainSft { get; init; } = Sft(steps: 1); // steps come from the set's size and the epochs

    // Stage 4: all-scenario RL.
    public int PreferencePrompts { get; init; } = 64;
    public int PreferenceSamples { get; init; } = 4;
    public double LabelNoise { get; init; } = 0.1;
    public double LengthBias { get; init; } = 0.5;
    public RewardOptions RewardModel { get; init; } = new() { Steps = 60, BatchSize = 16, LearningRate = 3e-4, EvalEvery = 30, SaveEvery = 0 };
    public GrpoOptions AllScenarioRl { get; init; } = Rl(steps: 30);
    /// <summary>Every N-th stage-4 prompt is a general one (4: a quarter).</summary>
    public int GeneralEvery { get; init; } = 4;

    // Evaluation after every stage, on the same held-out problems.
    public int EvalProblems { get; init; } = 200;
    public int SampledProblems { get; init; } = 50;
    public int Samples { get; init; } = 4;
    public int GeneralEvalProblems { get; init; } = 100;

    public long Seed { get; init; } = 42;

    public static R1PipelineOptions Full { get; } = new()
    {
        ColdStartSft = Sft(steps: 300), ReasoningRl = Rl(steps: 60), AllScenarioRl = Rl(steps: 60),
        RejectionPrompts = 512, NonReasoningRows = 256, SampledProblems = 100, Samples = 8,
    };

    public static R1PipelineOptions Quick { get; } = new()
    {
        Base = DemoOptions.Quick,
        ReasoningRl = Rl(steps: 15) with { PromptsPerStep = 8 }, AllScenarioRl = Rl(steps: 15) with { PromptsPerStep = 8 },
        NonReasoningRows = 96,
        EvalProblems = 100, GeneralEvalProblems = 50,
    };

    static LanguageModelTrainerOptions Sft(int steps) => new()
    {
        Steps = steps, BatchSize = 16, SequenceLength = 224, LearningRate = 1e-3, WarmupSteps = Math.Min(20, steps / 10),
        EvalEvery = 0, SaveEvery = 0, LogEvery = 25, Seed = 42,
    };

    static GrpoOptions Rl(int steps) => new() { Steps = steps, SaveEvery = 0, Seed = 42 }; // template, completion limit and seed come from the pipeline

    public R1PipelineOptions Validate()
    {
        void Require(bool ok, string message) { if (!ok) throw new ArgumentException($"pipeline r1: {message}"); }
        Base.Validate();
        Require(MaxCompletionTokens > 0, $"max completion tokens must be positive (got {MaxCompletionTokens}).");
        Require(ColdStart == ColdStartSource.Builtin || !string.IsNullOrWhiteSpace(ColdStartPath),
            $"cold start from {ColdStart.ToString().ToLowerInvariant()} needs a path (--cold-start-{(ColdStart == ColdStartSource.File ? "data FILE.jsonl" : "teacher CHECKPOINT")}).");
        Require(ColdStartExamples > 0, $"cold-start examples must be positive (got {ColdStartExamples}).");
        ColdStartSft.Validate();
        ReasoningRl.Validate();
        Require(LanguageWeight >= 0 && float.IsFinite(LanguageWeight), $"language weight must be ≥ 0 (got {LanguageWeight}).");
        Require(RejectionPrompts > 0, $"rejection prompts must be positive (got {RejectionPrompts}).");
        Require(RejectionSamples >= 1, $"rejection samples per prompt must be ≥ 1 (got {RejectionSamples}).");
        Require(KeepPerPrompt >= 1, $"keep per prompt must be ≥ 1 (got {KeepPerPrompt}).");
        Require(RejectionTemperature > 0 && double.IsFinite(RejectionTemperature), $"rejection temperature must be positive (got {RejectionTemperature}).");
        Readability.Validate();
        Require(NonReasoningRows >= 0, $"non-reasoning rows must be ≥ 0 (got {NonReasoningRows}).");
        Require(RetrainEpochs >= 1, $"retrain epochs must be ≥ 1 (got {RetrainEpochs}).");
        RetrainSft.Validate();
        Require(PreferencePrompts > 0, $"preference prompts must be positive (got {PreferencePrompts}).");
        Require(PreferenceSamples >= 2, $"preference samples per prompt must be ≥ 2 (got {PreferenceSamples}); a pair needs two.");
        RewardModel.Validate();
        AllScenarioRl.Validate();
        Require(GeneralEvery >= 2, $"general every must be ≥ 2 (got {GeneralEvery}).");
        Require(EvalProblems > 0 && GeneralEvalProblems > 0, $"eval problems must be positive (got {EvalProblems} and {GeneralEvalProblems} general).");
        Require(SampledProblems >= 0 && SampledProblems <= EvalProblems, $"sampled problems must be in [0, {EvalProblems}] (got {SampledProblems}).");
        Require(Samples >= 2, $"samples per problem must be ≥ 2 for pass@k (got {Samples}).");
        return this;
    }
}
