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
    /// <summary>The environment variable the CLI trainers read the injection from (fault-injection runs of the real CLI).</summary>
    public const string EnvironmentVariable = "AHA_INJECT_NONFINITE";

    /// <summary>
    /// Reads <c>TARGET@STEP[xCOUNT][:VALUE]</c>, e.g. <c>loss@4</c>, <c>gradients@10x2:inf</c>, <c>weights@3:nan</c>
    /// (STEP counted from 0; VALUE nan, inf or -inf, default nan). Throws naming the text and the form on anything else.
    /// </summary>
    public static NonFiniteInjection Parse(string text)
    {
        var match = System.Text.RegularExpressions.Regex.Match(text.Trim(), @"^(loss|gradients|weights)@(\d+)(?:x(\d+))?(?::(nan|inf|-inf))?$",
            System.Text.RegularExpressions.RegexOptions.IgnoreCase);
        if (!match.Success)
            throw new ArgumentException($"{EnvironmentVariable}='{text}': expected TARGET@STEP[xCOUNT][:VALUE], TARGET loss, gradients or weights, VALUE nan, inf or -inf (e.g. loss@4x2:inf).");
        var target = Enum.Parse<NonFiniteTarget>(match.Groups[1].Value, ignoreCase: true);
        int count = match.Groups[3].Success ? int.Parse(match.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture) : 1;
        float value = match.Groups[4].Value.ToLowerInvariant() switch { "inf" => float.PositiveInfinity, "-inf" => float.NegativeInfinity, _ => float.NaN };
        return new(target, long.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture), count, value);
    }

    /// <summary>The injection <see cref="EnvironmentVariable"/> asks for, or null when it is unset.</summary>
    public static NonFiniteInjection? FromEnvironment() =>
        Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } text ? Parse(text) : null;

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
