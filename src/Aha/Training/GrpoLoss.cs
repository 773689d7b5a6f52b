using TorchSharp;
using static TorchSharp.torch;

namespace Aha.Training;

/// <summary>How the per-token losses of a batch are reduced to one number.</summary>
public enum LossAggregation
{
    /// <summary>GRPO (DeepSeekMath eq. 3): mean over samples of each sample's per-token mean.</summary>
    Sequence,
    /// <summary>DAPO: sum over all tokens of all samples ÷ total tokens, so long answers weigh by their length.</summary>
    Token,
    /// <summary>Dr. GRPO: sum over all tokens ÷ (samples × a constant such as the max completion length); no length bias.</summary>
    Constant,
}

/// <summary>The clipped-ratio policy loss of GRPO and its variants, with the k3 KL penalty.</summary>
public static class GrpoLoss
{
    /// <summary>Scalars measured while computing the loss, for metrics.</summary>
    public readonly record struct Stats(float Loss, float Kl, float ClipLow, float ClipHigh, float RatioMean);

    /// <summary>
    /// Group-relative advantages: (r − mean(group)) / (std(group) + eps), or r − mean with <paramref name="scaleByStd"/> false
    /// (Dr. GRPO). <paramref name="rewards"/> holds consecutive groups of <paramref name="groupSize"/>. A group whose rewards are
    /// all equal carries no signal: its advantages are exactly zero, and it is counted in <paramref name="zeroSignalGroups"/>.
    /// The std is the population std (divide by G), as in TRL; eps keeps a group of near-equal rewards finite.
    /// </summary>
    public static float[] Advantages(ReadOnlySpan<float> rewards, int groupSize, bool scaleByStd, out int zeroSignalGroups, float eps = 1e-4f)
    {
        if (groupSize < 1 || rewards.Length % groupSize != 0)
            throw new ArgumentException($"{rewards.Length} rewards do not split into groups of {groupSize}.");
        var advantages = new float[rewards.Length];
        zeroSignalGroups = 0;
        for (int g = 0; g < rewards.Length; g += groupSize)
        {
            var group = rewards.Slice(g, groupSize);
            double mean = 0;
            foreach (var r in group) mean += r;
            mean /= groupSize;
            double variance = 0;
            bool allEqual = true;
            foreach (var r in group)
            {
                variance += (r - mean) * (r - mean);
                allEqual &= r == group[0];
            }
            if (allEqual) { zeroSignalGroups++; continue; }
            double std = Math.Sqrt(variance / groupSize);
            for (int i = 0; i < groupSize; i++)
                advantages[g + i] = (float)(scaleByStd ? (group[i] - mean) / (std + eps) : group[i] - mean);
        }
        return advantages;
    }

    /// <summary>
    /// The loss to minimise (the negated GRPO objective).
    /// </summary>
    /// <param name="logProbs">(B, T) log π_θ of the sampled tokens, with grad.</param>
    /// <param name="oldLogProbs">(B, T) log π_old, from the policy that sampled; equal to logProbs (detached) when μ = 1.</param>
    /// <param name="refLogProbs">(B, T) log π_ref, or null when β = 0.</param>
    /// <param name="advantages">(B) one advantage per sample, applied to every token.</param>
    /// <param name="mask">(B, T) 1 for completion tokens that count, 0 for prompt, padding and filtered samples.</param>
    /// <param name="constantNormalizer">The constant of <see cref="LossAggregation.Constant"/>, e.g. the max completion length.</param>
    public static (Tensor Loss, Stats Stats) Compute(
        Tensor logProbs, Tensor oldLogProbs, Tensor? refLogProbs, Tensor advantages, Tensor mask,
        float epsLow, float epsHigh, float beta, LossAggregation aggregation, float constantNormalizer = 1f)
    {
        using var scope = NewDisposeScope();
        var adv = advantages.unsqueeze(1);                                   // (B, 1)
        var ratio = (logProbs - oldLogProbs).exp();                          // (B, T)
        var unclipped = ratio * adv;
        var clipped = ratio.clamp(1 - epsLow, 1 + epsHigh) * adv;
        var perToken = -minimum(unclipped, clipped);                         // (B, T)

        Tensor kl = zeros_like(perToken);
        if (refLogProbs is not null && beta != 0)
        {
            var logRatio = refLogProbs - logProbs;                           // log(π_ref / π_θ)
            kl = logRatio.exp() - logRatio - 1;                              // k3 estimator, ≥ 0
            perToken = perToken + beta * kl;
        }

        var loss = Reduce(perToken, mask, aggregation, constantNormalizer);

        using (no_grad())
        {
            var tokens = mask.sum().clamp_min(1);
            var ratioDetached = ratio.detach();
            var advB = adv.expand_as(ratioDetached);
            var clipLow = ((ratioDetached < 1 - epsLow) & (advB < 0)).to(float32) * mask;
            var clipHigh = ((ratioDetached > 1 + epsHigh) & (advB > 0)).to(float32) * mask;
            var stats = new Stats(
                Loss: loss.item<float>(),
                Kl: ((kl.detach() * mask).sum() / tokens).item<float>(),
                ClipLow: (clipLow.sum() / tokens).item<float>(),
                ClipHigh: (clipHigh.sum() / tokens).item<float>(),
                RatioMean: ((ratioDetached * mask).sum() / tokens).item<float>());
            return (scope.MoveToOuter(loss), stats);
        }
    }

    /// <summary>Reduces masked per-token losses (B, T) to a scalar by the chosen aggregation.</summary>
    public static Tensor Reduce(Tensor perToken, Tensor mask, LossAggregation aggregation, float constantNormalizer = 1f)
    {
        using var scope = NewDisposeScope();
        var masked = perToken * mask;
        Tensor result = aggregation switch
        {
            // Samples with no counted token (filtered) do not dilute the mean.
            LossAggregation.Sequence => (masked.sum(1) / mask.sum(1).clamp_min(1)).sum() / (mask.sum(1) > 0).sum().clamp_min(1),
            LossAggregation.Token => masked.sum() / mask.sum().clamp_min(1),
            LossAggregation.Constant => masked.sum() / (perToken.shape[0] * constantNormalizer),
            _ => throw new ArgumentOutOfRangeException(nameof(aggregation)),
        };
        return scope.MoveToOuter(result);
    }
}
