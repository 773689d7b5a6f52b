using static TorchSharp.torch;

namespace Aha.Training;

/// <summary>The reward model's Bradley–Terry loss on preference pairs.</summary>
public static class RewardLoss
{
    /// <summary>
    /// mean over pairs of −log σ(r_chosen − r_rejected − margin) (TRL's RewardTrainer; the margin, when the data gives
    /// one, asks for a larger gap on clearer pairs, as Llama 2's reward model).
    /// </summary>
    /// <param name="chosen">(B) rewards of the chosen completions</param>
    /// <param name="rejected">(B) rewards of the rejected completions</param>
    /// <param name="margin">(B) or null</param>
    /// <param name="target">(B) soft labels, or null for hard ones: the probability p that chosen is better; the loss is then
    /// the cross-entropy −[p·log σ(gap) + (1 − p)·log σ(−gap)] (Constitutional AI's preference model on AI soft labels), which
    /// equals the hard loss at p = 1</param>
    public static Tensor BradleyTerry(Tensor chosen, Tensor rejected, Tensor? margin = null, Tensor? target = null)
    {
        using var scope = NewDisposeScope();
        var gap = chosen - rejected;
        if (margin is not null) gap = gap - margin;
        if (target is null) return scope.MoveToOuter(-nn.functional.logsigmoid(gap).mean());
        var soft = target * nn.functional.logsigmoid(gap) + (1 - target) * nn.functional.logsigmoid(-gap);
        return scope.MoveToOuter(-soft.mean());
    }
}
