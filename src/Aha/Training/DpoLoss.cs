using TorchSharp;
using static TorchSharp.torch;

namespace Aha.Training;

/// <summary>The preference losses <c>aha dpo</c> offers.</summary>
public enum DpoLossType
{
    /// <summary>DPO (Rafailov et al. 2023): −log σ(βh); with label smoothing ε, conservative DPO: −(1−ε) log σ(βh) − ε log σ(−βh).</summary>
    Sigmoid,
    /// <summary>IPO (Azar et al. 2023): (h − 1/(2β))², a squared loss that stops pushing once the margin reaches its target.</summary>
    Ipo,
}

/// <summary>
/// The DPO family's loss on sequence log-probs, h = (log π(y_w) − log π_ref(y_w)) − (log π(y_l) − log π_ref(y_l)), and the
/// metrics TRL's DPOTrainer logs: the implicit rewards β(log π − log π_ref) of chosen and rejected, their margin, and how often
/// the chosen one is ahead. Log-probs are sums over the completion tokens (DOMAIN.md; IPO too, where TRL averages per token).
/// </summary>
public static class DpoLoss
{
    /// <summary>Batch means of what the loss saw, named as TRL names them in its logs.</summary>
    public readonly record struct Stats(double Loss, double RewardChosen, double RewardRejected, double Accuracy, double Margin, double LogpChosen, double LogpRejected);

    /// <param name="policyChosen">(B) Σ log π over each chosen completion; differentiable.</param>
    /// <param name="referenceChosen">(B) the same under the frozen reference.</param>
    /// <param name="labelSmoothing">ε: the share of labels assumed flipped (conservative DPO); sigmoid loss only.</param>
    public static (Tensor Loss, Stats Stats) Compute(Tensor policyChosen, Tensor policyRejected, Tensor referenceChosen, Tensor referenceRejected,
        double beta, DpoLossType type = DpoLossType.Sigmoid, double labelSmoothing = 0)
    {
        using var scope = NewDisposeScope();
        var chosenRatio = policyChosen - referenceChosen;        // (B)
        var rejectedRatio = policyRejected - referenceRejected;  // (B)
        var h = chosenRatio - rejectedRatio;                      // (B)
        var losses = type switch
        {
            DpoLossType.Ipo => (h - 1 / (2 * beta)).pow(2),
            _ => -(1 - labelSmoothing) * nn.functional.logsigmoid(beta * h) - labelSmoothing * nn.functional.logsigmoid(-beta * h),
        };
        var loss = losses.mean();
        using var noGrad = no_grad();
        var rewardChosen = beta * chosenRatio.detach();
        var rewardRejected = beta * rejectedRatio.detach();
        var stats = new Stats(
            loss.item<float>(),
            rewardChosen.mean().item<float>(),
            rewardRejected.mean().item<float>(),
            (rewardChosen > rewardRejected).to(float32).mean().item<float>(),
            (rewardChosen - rewardRejected).mean().item<float>(),
            policyChosen.detach().mean().item<float>(),
            policyRejected.detach().mean().item<float>());
        return (scope.MoveToOuter(loss), stats);
    }
}
