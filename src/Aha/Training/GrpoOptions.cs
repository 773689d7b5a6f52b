using Aha.Tasks;

namespace Aha.Training;

/// <summary>
/// GRPO settings. Defaults follow DeepSeekMath/R1-Zero where they fit a CPU run (clip ε 0.2, β 0.001 with a reference
/// reset every 400 steps as in R1-Zero, temperature 1, group-normalised advantages, per-sequence loss); the learning
/// rate and group size are scaled for a tiny model. DAPO (clip-higher, token loss, dynamic sampling, overlong filtering)
/// and Dr. GRPO (no std scaling, constant loss normaliser) are options.
/// </summary>
public sealed record GrpoOptions
{
    public int Steps { get; init; } = 60;
    /// <summary>P: prompts per step (R1-Zero: 32).</summary>
    public int PromptsPerStep { get; init; } = 16;
    /// <summary>G: samples per prompt (R1-Zero: 16; DeepSeekMath: 64).</summary>
    public int GroupSize { get; init; } = 8;
    public int MaxCompletionTokens { get; init; } = 64;
    public double Temperature { get; init; } = 1.0;
    public PromptStyle PromptStyle { get; init; } = PromptStyle.Short;

    public double LearningRate { get; init; } = 1e-4;
    /// <summary>AdamW decoupled weight decay on matrices (norm gains and biases never decay); 0 as in R1-Zero-style recipes.</summary>
    public double WeightDecay { get; init; }
    /// <summary>AdamW β₁, β₂ (GRPO's are 0.9, 0.99 as in TRL's GRPO examples; pretraining uses 0.9, 0.95).</summary>
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.99;
    /// <summary>Global gradient-norm clip (--grad-clip); 0 disables clipping (the norm is still measured).</summary>
    public double MaxGradNorm { get; init; } = 1.0;
    /// <summary>μ: policy updates per batch of rollouts; old-policy log-probs are kept for the ratio.</summary>
    public int UpdatesPerBatch { get; init; } = 1;
    /// <summary>Rollouts are split into this many minibatches, one optimiser step each, per update (R1-Zero: 16).</summary>
    public int MiniBatches { get; init; } = 1;

    public float EpsLow { get; init; } = 0.2f;
    /// <summary>DAPO's clip-higher uses 0.28.</summary>
    public float EpsHigh { get; init; } = 0.2f;
    /// <summary>KL coefficient β (k3 estimator, in the loss). 0 keeps no reference model in memory.</summary>
    public float Beta { get; init; } = 0.001f;
    /// <summary>Copy the policy into the reference every N steps (R1-Zero: 400); 0 never.</summary>
    public int ReferenceResetEvery { get; init; } = 400;
    /// <summary>Divide advantages by the group's std (GRPO); false centres only (Dr. GRPO).</summary>
    public bool ScaleRewards { get; init; } = true;
    public LossAggregation LossAggregation { get; init; } = LossAggregation.Sequence;
    /// <summary>DAPO: drop groups whose rewards are all equal and sample more prompts until the batch is full.</summary>
    public bool DynamicSampling { get; init; }
    /// <summary>Rounds of extra sampling allowed per step with dynamic sampling.</summary>
    public int MaxSamplingRounds { get; init; } = 3;
    /// <summary>DAPO: truncated completions count for nothing (masked from the loss).</summary>
    public bool MaskTruncated { get; init; }

    /// <summary>MoE policies: the auxiliary-loss-free balancing step γ applied after each update (DeepSeek-V3: 0.001; 0 = off).</summary>
    public double RouterBiasGamma { get; init; } = 0.001;

    public long Seed { get; init; } = 1;
    /// <summary>Checkpoint every N steps; the end of the run and an interrupt always save. 0 = only those. The CLI's default too.</summary>
    public int SaveEvery { get; init; } = 20;
    public int KeepLast { get; init; } = 2;
    public int MaxBadStepsInARow { get; init; } = 5;

    public GrpoOptions Validate()
    {
        void Require(bool ok, string message) { if (!ok) throw new ArgumentException($"grpo: {message}"); }
        Require(Steps > 0, $"--steps must be positive (got {Steps}).");
        Require(PromptsPerStep > 0, $"--prompts must be positive (got {PromptsPerStep}).");
        Require(GroupSize >= 2, $"--group-size must be at least 2 for group-relative advantages (got {GroupSize}).");
        Require(MaxCompletionTokens > 0, $"--max-tokens must be positive (got {MaxCompletionTokens}).");
        Require(Temperature > 0, $"--temperature must be positive for sampling rollouts (got {Temperature}).");
        Require(LearningRate > 0 && double.IsFinite(LearningRate), $"--lr must be positive (got {LearningRate}).");
        Require(UpdatesPerBatch >= 1, $"--updates must be ≥ 1 (got {UpdatesPerBatch}).");
        Require(MiniBatches >= 1 && MiniBatches <= PromptsPerStep * GroupSize, $"--minibatches must be between 1 and prompts × group size (got {MiniBatches}).");
        Require(EpsLow is > 0 and < 1, $"--eps-low must be in (0, 1) (got {EpsLow}).");
        Require(EpsHigh > 0, $"--eps-high must be positive (got {EpsHigh}).");
        Require(Beta >= 0, $"--beta must be ≥ 0 (got {Beta}).");
        Require(ReferenceResetEvery >= 0, $"--ref-reset must be ≥ 0 (got {ReferenceResetEvery}).");
        Require(MaxSamplingRounds >= 1, $"max sampling rounds must be ≥ 1 (got {MaxSamplingRounds}).");
        Require(RouterBiasGamma >= 0 && double.IsFinite(RouterBiasGamma), $"router bias γ must be ≥ 0 (got {RouterBiasGamma}).");
        Require(SaveEvery >= 0, $"--save-every must be ≥ 0 (got {SaveEvery}).");
        Require(KeepLast >= 0, $"--keep-last must be ≥ 0, 0 keeping all (got {KeepLast}).");
        Require(MaxBadStepsInARow > 0, $"max bad steps in a row must be positive (got {MaxBadStepsInARow}).");
        Require(WeightDecay >= 0 && double.IsFinite(WeightDecay), $"--weight-decay must be ≥ 0 (got {WeightDecay}).");
        Require(MaxGradNorm >= 0 && !double.IsNaN(MaxGradNorm), $"--grad-clip must be 0 (off) or positive (got {MaxGradNorm}).");
        Require(Beta1 is >= 0 and < 1 && Beta2 is >= 0 and < 1, $"AdamW betas ({Beta1}, {Beta2}) must each be in [0, 1).");
        return this;
    }
}
