using TorchSharp;
using static TorchSharp.torch;

namespace Aha.Training;

/// <summary>Where <see cref="NonFiniteInjection"/> puts its value.</summary>
public enum NonFiniteTarget
{
    /// <summary>The loss is multiplied by the value before backward (its gradients follow).</summary>
    Loss,
    /// <summary>One gradient is filled with the value after backward, before clipping and the optimizer step.</summary>
    Gradients,
    /// <summary>One weight (a norm gain) is filled with the value before the forward: every later step is poisoned too.</summary>
    Weights,
}

/// <summary>
/// A fault-injection hook for tests and <c>aha bench faults</c>: makes steps [<see cref="FromStep"/>,
/// <see cref="FromStep"/> + <see cref="Count"/>) non-finite in the chosen place, so the skip-count-abort path and
/// the finite-weights check before a save can be exercised on a real trainer.
/// </summary>
/// <param name="FromStep">The first poisoned step, counted from 0 (steps completed before it).</param>
public sealed record NonFiniteInjection(NonFiniteTarget Target, long FromStep, int Count = 1, float Value = float.NaN)
{
    bool Hits(long step, NonFiniteTarget target) => Target == target && step >= FromStep && step < FromStep + Count;

    /// <summary>The loss to call backward on: <paramref name="loss"/> itself unless this step's loss is poisoned.</summary>
    public Tensor Loss(long step, Tensor loss) => Hits(step, NonFiniteTarget.Loss) ? loss * Value : loss;

    /// <summary>After backward: fills the first parameter's gradient when this step's gradients are poisoned.</summary>
    public void Gradients(long step, nn.Module model)
    {
        if (!Hits(step, NonFiniteTarget.Gradients)) return;
        using var noGrad = no_grad();
        model.parameters().First(p => p.grad is not null).grad!.fill_(Value);
    }

    /// <summary>Before the forward: fills a norm gain when this step's weights are poisoned.</summary>
    public void Weights(long step, nn.Module model)
    {
        if (!Hits(step, NonFiniteTarget.Weights)) return;
        using var noGrad = no_grad();
        model.named_parameters().First(p => p.name.EndsWith("norm.weight", StringComparison.Ordinal)).parameter.fill_(Value);
    }
}
