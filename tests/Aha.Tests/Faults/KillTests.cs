using System.Diagnostics;
using Aha.Faults;
using Aha.Tests.Training;

namespace Aha.Tests.Faults;

/// <summary>
/// kill -9 of the real CLI at seeded random moments (many inside a save), resumed until done: the final weights,
/// optimizer and trainer state and the metrics rows equal an uninterrupted run's, bit for bit at --threads 1.
/// `aha bench faults` runs the same harness with 20 kills per trainer.
/// </summary>
public class KillTests
{
    static readonly KillHarness Harness = new(Start, TimeSpan.FromSeconds(90));

    static ProcessStartInfo Start(IReadOnlyList<string> args)
    {
        var info = new ProcessStartInfo("dotnet");
        info.ArgumentList.Add(CliProcess.Dll);
        foreach (string a in args) info.ArgumentList.Add(a);
        return info;
    }

    static void AssertExact(KillReport report, int kills)
    {
        Assert.True(report.Differences.Count == 0, $"{report.Name}: {string.Join("\n", report.Differences)}");
        Assert.Equal(0, report.Crashes);
        Assert.Equal(kills, report.Kills);
    }

    [Fact]
    public void Pretraining_killed_three_times_ends_bit_identical_to_an_uninterrupted_run()
    {
        using var dir = new TempDirectory();
        AssertExact(Harness.Run(KillCampaigns.Pretrain(kills: 3, steps: 6, threads: 1, seed: 11), dir.Path), 3);
    }

    [Fact]
    public void Sft_killed_twice_ends_bit_identical_to_an_uninterrupted_run()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, CliProcess.Run(TimeSpan.FromSeconds(60), out _, out _, [.. KillCampaigns.BaseModel(dir["base"], 1)]));
        AssertExact(Harness.Run(KillCampaigns.Sft(dir["base"], kills: 2, steps: 5, threads: 1, seed: 12), dir["sft"]), 2);
    }

    /// <summary>
    /// KNOWN GAPS (issue 12, fixed on the run-loop branch, not here): no reference reset, since resuming past one is not
    /// exact yet; and a resume that fails on an orphan step folder (a kill between a save's rename and the 'latest'
    /// update; GRPO refuses to overwrite it) is counted as a known-bug hit and the run restarted, not failed. Once the
    /// run loop is shared, drop KnownBug from KillCampaigns.Grpo and this test checks every kill point.
    /// </summary>
    [Fact]
    public void Grpo_without_a_reference_reset_killed_twice_ends_bit_identical_apart_from_the_known_orphan_bug()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, CliProcess.Run(TimeSpan.FromSeconds(60), out _, out _, [.. KillCampaigns.BaseModel(dir["base"], 1)]));
        AssertExact(Harness.Run(KillCampaigns.Grpo(dir["base"], kills: 2, steps: 5, threads: 1, seed: 13), dir["grpo"]), 2);
    }
}
