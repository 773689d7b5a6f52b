using Aha.Tasks;

namespace Aha.Training;

/// <summary>
/// PPO settings. Defaults follow Huang et al. 2024 / TRL / OpenRLHF (KL coefficient 0.05, γ 1, λ 0.95, policy and value
/// clip 0.2, value coefficient 0.1, 4 PPO epochs over minibatches, a penalty for completions without EOS); the learning
/// rate and batch are scaled for a tiny model on a CPU, as GRPO's are.
/// </summary>
public sealed record PpoOptions
{
    public int Steps { get; init; } = 40;
    /// <summary>Prompts per step; each gets <see cref="SamplesPerPrompt"/> completions (PPO needs no group: 1 as Huang et al.).</summary>
    public int PromptsPerStep { get; init; } = 32;
    public int SamplesPerPrompt { get; init; } = 1;
    public int MaxCompletionTokens { get; init; } = 64;
    public double Temperature { get; init; } = 1.0;
    public PromptStyle PromptStyle { get; init; } = PromptStyle.Short;

    public double LearningRate { get; init; } = 3e-5;
    /// <summary>The value model's learning rate.</summary>
    public double ValueLearningRate { get; init; } = 1e-4;
    public double WeightDecay { get; init; }
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.999;
    public double MaxGradNorm { get; init; } = 1.0;

    /// <summary>β of the per-token KL penalty −β·(log π − log π_ref) in the reward; the start value when adaptive.</summary>
    public double KlCoef { get; init; } = 0.05;
    /// <summary>Adapt β toward this mean sequence KL (Ziegler et al.); null keeps β fixed.</summary>
    public double? TargetKl { get; init; }
    public double KlHorizon { get; init; } = 10_000;
    public double Gamma { get; init; } = 1.0;
    public double Lambda { get; init; } = 0.95;
    /// <summary>Policy ratio clip ε.</summary>
    public double ClipRange { get; init; } = 0.2;
    /// <summary>Value clip: V stays within ± this of the rollout's value in the clipped term.</summary>
    public double ValueClipRange { get; init; } = 0.2;
    /// <summary>Scales the value loss (its own optimizer, so it weighs the value model's gradient only).</summary>
    public double ValueCoef { get; init; } = 0.1;
    /// <summary>Passes over the step's rollouts.</summary>
    public int PpoEpochs { get; init; } = 4;
    /// <summary>Optimizer steps per pass, over equal shuffled slices of the rollouts.</summary>
    public int MiniBatches { get; init; } = 4;
    /// <summary>Subtracted from the score of a completion that hit the length limit without ending (TRL's missing_eos_penalty); 0 = off.</summary>
    public double MissingEosPenalty { get; init; } = 1.0;

    public long Seed { get; init; } = 1;
    public int SaveEvery { get; init; } = 20;
    public int KeepLast { get; init; } = 2;
    public int MaxBadStepsInARow { get; init; } = 5;

    public int Rollouts => PromptsPerStep * SamplesPerPrompt;

    public PpoOptions Validate()
    {
        void Require(bool ok, string message) { if (!ok) throw new ArgumentException($"ppo: {message}"); }
        Require(Steps > 0, $"--steps must be positive (got {Steps}).");
        Require(PromptsPerStep > 0 && SamplesPerPrompt > 0, $"--prompts and --samples must be positive (got {PromptsPerStep}, {SamplesPerPrompt}).");
        Require(MaxCompletionTokens > 0, $"--max-tokens must be positive (got {MaxCompletionTokens}).");
        Require(Temperature > 0, $"--temperature must be positive (got {Temperature}).");
        Require(LearningRate > 0 && ValueLearningRate > 0, $"--lr and --value-lr must be positive (got {LearningRate}, {ValueLearningRate}).");
        Require(WeightDecay >= 0, $"--weight-decay must be ≥ 0 (got {WeightDecay}).");
        Require(Beta1 is >= 0 and < 1 && Beta2 is >= 0 and < 1, $"AdamW betas ({Beta1}, {Beta2}) must each be in [0, 1).");
        Require(MaxGradNorm >= 0, $"--grad-clip must be 0 (off) or positive (got {MaxGradNorm}).");
        Require(KlCoef >= 0, $"--kl-coef must be ≥ 0 (got {KlCoef}).");
        Require(TargetKl is null || TargetKl > 0, $"--target-kl must be positive (got {TargetKl}).");
        Require(KlHorizon > 0, $"KL horizon must be positive (got {KlHorizon}).");
        Require(Gamma is > 0 and <= 1 && Lambda is >= 0 and <= 1, $"--gamma must be in (0, 1] and --lambda in [0, 1] (got {Gamma}, {Lambda}).");
        Require(ClipRange is > 0 and < 1 && ValueClipRange > 0, $"--clip must be in (0, 1) and --value-clip positive (got {ClipRange}, {ValueClipRange}).");
        Require(ValueCoef > 0, $"--vf-coef must be positive (got {ValueCoef}).");
        Require(PpoEpochs >= 1, $"--ppo-epochs must be ≥ 1 (got {PpoEpochs}).");
        Require(MiniBatches >= 1 && MiniBatches <= Rollouts, $"--minibatches must be between 1 and the rollouts per step ({Rollouts}) (got {MiniBatches}).");
        Require(MissingEosPenalty >= 0, $"--missing-eos-penalty must be ≥ 0 (got {MissingEosPenalty}).");
        Require(SaveEvery >= 0 && KeepLast >= 0 && MaxBadStepsInARow > 0, "--save-every and --keep-last must be ≥ 0, max bad steps positive.");
        return this;
    }
}
