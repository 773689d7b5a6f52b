using static TorchSharp.torch;

namespace Aha.Training;

/// <summary>
/// The pieces of PPO for language models as Huang et al. 2024 ("The N implementation details of RLHF with PPO") and
/// OpenRLHF compute them: the per-token KL penalty in the reward, GAE, masked whitening, the clipped policy loss and the
/// clipped value loss. Tensors are (B, T) over target positions; <c>mask</c> is 1 on completion tokens.
/// </summary>
public static class PpoLoss
{
    /// <summary>Scalars of a policy-loss evaluation.</summary>
    /// <param name="ClipFraction">Share of tokens where the ratio left [1 − ε, 1 + ε] (the clipped term was taken).</param>
    /// <param name="ApproxKl">½·mean((log π − log π_old)²), TRL's approx-KL between the updated and the sampling policy.</param>
    public readonly record struct PolicyStats(float Loss, float ClipFraction, float ApproxKl);

    /// <summary>Scalars of a value-loss evaluation; <see cref="ClipFraction"/> is the share of tokens whose clipped error was the larger.</summary>
    public readonly record struct ValueStats(float Loss, float ClipFraction);

    /// <summary>
    /// Per-token rewards of one completion: −β·(log π_old − log π_ref) at every token (the k1 estimate of the KL, as in
    /// the reward of Ziegler et al. and TRL), plus <paramref name="score"/> on the last token.
    /// </summary>
    public static float[] TokenRewards(ReadOnlySpan<float> logProbs, ReadOnlySpan<float> refLogProbs, float score, double beta)
    {
        var rewards = new float[logProbs.Length];
        for (int t = 0; t < rewards.Length; t++) rewards[t] = (float)(-beta * (logProbs[t] - refLogProbs[t]));
        if (rewards.Length > 0) rewards[^1] += score;
        return rewards;
    }

    /// <summary>
    /// Generalised advantage estimation over one completion: δ_t = r_t + γ·V_{t+1} − V_t (V after the last token is 0),
    /// A_t = δ_t + γλ·A_{t+1}; returns R_t = A_t + V_t (the value target).
    /// </summary>
    public static (float[] Advantages, float[] Returns) Gae(ReadOnlySpan<float> rewards, ReadOnlySpan<float> values, double gamma, double lambda)
    {
        if (rewards.Length != values.Length) throw new ArgumentException($"{rewards.Length} rewards but {values.Length} values; give one of each per token.");
        var advantages = new float[rewards.Length];
        var returns = new float[rewards.Length];
        double next = 0, running = 0;
        for (int t = rewards.Length - 1; t >= 0; t--)
        {
            double delta = rewards[t] + gamma * next - values[t];
            running = delta + gamma * lambda * running;
            advantages[t] = (float)running;
            returns[t] = (float)(running + values[t]);
            next = values[t];
        }
        return (advantages, returns);
    }

    /// <summary>(x − mean) / sqrt(var + 1e-8) over the masked entries (unbiased variance, as TRL's masked_whiten); 0 off the mask.</summary>
    public static Tensor Whiten(Tensor values, Tensor mask)
    {
        using var scope = NewDisposeScope();
        var count = mask.sum();
        var mean = (values * mask).sum() / count;
        var centred = (values - mean) * mask;
        var variance = (centred * centred).sum() / (count - 1).clamp_min(1);
        return scope.MoveToOuter(centred * (variance + 1e-8).rsqrt());
    }

    /// <summary>Masked mean over every token of the batch (TRL's masked_mean).</summary>
    public static Tensor MaskedMean(Tensor values, Tensor mask) => (values * mask).sum() / mask.sum().clamp_min(1);

    /// <summary>Clipped surrogate: mean over tokens of max(−A·ρ, −A·clip(ρ, 1 − ε, 1 + ε)), ρ = π/π_old.</summary>
    public static (Tensor Loss, PolicyStats Stats) Policy(Tensor logProbs, Tensor oldLogProbs, Tensor advantages, Tensor mask, double clip)
    {
        using var scope = NewDisposeScope();
        var logRatio = logProbs - oldLogProbs;
        var ratio = logRatio.exp();
        var unclipped = -advantages * ratio;
        var clipped = -advantages * ratio.clamp(1 - clip, 1 + clip);
        var loss = MaskedMean(maximum(unclipped, clipped), mask);
        using var noGrad = no_grad();
        var stats = new PolicyStats(loss.item<float>(),
            MaskedMean(clipped.gt(unclipped).to(float32), mask).item<float>(),
            MaskedMean(0.5 * logRatio.square(), mask).item<float>());
        return (scope.MoveToOuter(loss), stats);
    }

    /// <summary>
    /// Clipped value loss: ½·mean over tokens of max((V − R)², (V_old + clip(V − V_old, −c, c) − R)²).
    /// </summary>
    public static (Tensor Loss, ValueStats Stats) Value(Tensor values, Tensor oldValues, Tensor returns, Tensor mask, double clip)
    {
        using var scope = NewDisposeScope();
        var clippedValues = oldValues + (values - oldValues).clamp(-clip, clip);
        var unclipped = (values - returns).square();
        var clipped = (clippedValues - returns).square();
        var loss = 0.5 * MaskedMean(maximum(unclipped, clipped), mask);
        using var noGrad = no_grad();
        var stats = new ValueStats(loss.item<float>(), MaskedMean(clipped.gt(unclipped).to(float32), mask).item<float>());
        return (scope.MoveToOuter(loss), stats);
    }

    /// <summary>1 − Var(R − V) / Var(R) over the masked tokens: how much of the return the value model explains (1 perfect, ≤ 0 useless).</summary>
    public static double ExplainedVariance(Tensor values, Tensor returns, Tensor mask)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor Var(Tensor x) { var m = MaskedMean(x, mask); return MaskedMean((x - m).square(), mask); }
        double total = Var(returns).item<float>();
        return total == 0 ? double.NaN : 1 - Var(returns - values).item<float>() / total;
    }
}

/// <summary>
/// The KL coefficient β of PPO's reward penalty: fixed, or adapted toward a target KL as Ziegler et al. 2019 do
/// (e = clip(KL / target − 1, ±0.2); β ← β·(1 + e·n / horizon), n = rollouts of the step).
/// </summary>
public sealed class KlController(double initial, double? target, double horizon = 10_000)
{
    public double Value { get; set; } = initial;

    /// <summary>Moves β after a step whose rollouts had mean sequence KL <paramref name="kl"/>; a fixed controller keeps it.</summary>
    public void Update(double kl, int rollouts)
    {
        if (target is not { } t || !double.IsFinite(kl)) return;
        double error = Math.Clamp(kl / t - 1, -0.2, 0.2);
        Value *= 1 + error * rollouts / horizon;
    }
}
