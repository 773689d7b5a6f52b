using Aha.Faults;
using Aha.Tests.Training;

namespace Aha.Tests.Faults;

/// <summary>
/// NaN and ∞ injected (AHA_INJECT_NONFINITE) into real CLI runs: one bad step is skipped and counted; a streak, or
/// poisoned weights, aborts with exit 3 and the last good checkpoint kept as 'latest'; no checkpoint holds a non-finite
/// tensor. `aha bench faults` runs all five cases for each of pretrain, SFT and GRPO.
/// </summary>
public class NonFiniteTests
{
    static (int, string) Execute(IReadOnlyList<string> args, IReadOnlyDictionary<string, string> env)
    {
        using var cli = new CliProcess(env, [.. args]);
        int code = cli.Wait(TimeSpan.FromSeconds(90));
        return (code, cli.Stderr);
    }

    static void AssertPassed(IReadOnlyList<NonFiniteOutcome> outcomes)
    {
        var failed = outcomes.Where(o => !o.Passed).Select(o => $"{o.Case.Trainer} {o.Case.Injection}: {o.Problem}").ToList();
        Assert.True(failed.Count == 0, string.Join("\n", failed));
    }

    [Fact]
    public void Pretraining_skips_one_bad_loss_and_aborts_a_gradient_streak_keeping_the_last_good_checkpoint()
    {
        using var dir = new TempDirectory();
        var cases = NonFiniteCases.Cases(dir["base"], threads: 1, seed: 3)
            .Where(c => c.Trainer == "pretrain" && (c.Injection == $"loss@{NonFiniteCase.FirstBadStep}" || c.Injection.StartsWith("gradients", StringComparison.Ordinal) && c.Aborts))
            .ToList();
        Assert.Equal(2, cases.Count);
        AssertPassed(NonFiniteCases.Run(cases, dir.Path, Execute));
    }

    [Fact]
    public void Sft_and_grpo_abort_on_poisoned_weights_and_grpo_skips_an_infinite_gradient()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, CliProcess.Run(TimeSpan.FromSeconds(60), out _, out _, [.. KillCampaigns.BaseModel(dir["base"], 1)]));
        var cases = NonFiniteCases.Cases(dir["base"], threads: 1, seed: 3)
            .Where(c => c.Trainer != "pretrain" && c.Injection.StartsWith("weights", StringComparison.Ordinal)
                        || c.Trainer == "grpo" && c.Injection == $"gradients@{NonFiniteCase.FirstBadStep}:inf")
            .ToList();
        Assert.Equal(3, cases.Count);
        AssertPassed(NonFiniteCases.Run(cases, dir.Path, Execute));
    }
}
