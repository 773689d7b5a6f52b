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

    /// <summary>
    /// SFT with LoRA: its checkpoints are adapter folders (the base is named, not copied), resumed through the same
    /// validation and orphan rules. (Full SFT shares pretraining's trainer and checkpoint writer, killed above; `aha bench
    /// faults` kills both.)
    /// </summary>
    [Fact]
    public void Lora_sft_killed_twice_ends_bit_identical_to_an_uninterrupted_run()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, CliProcess.Run(TimeSpan.FromSeconds(60), out _, out _, [.. KillCampaigns.BaseModel(dir["base"], 1)]));
        AssertExact(Harness.Run(KillCampaigns.Sft(dir["base"], kills: 2, steps: 5, threads: 1, seed: 12, lora: true), dir["sft"]), 2);
        Assert.True(File.Exists(Path.Combine(dir["sft"], "killed", "step-000005", Aha.Checkpoints.AdapterCheckpoint.WeightsFile)),
            "the final checkpoint is an adapter folder, so the comparison covered the adapters");
    }

    /// <summary>
    /// With a reference reset every 3 steps: resumes before and past the reset must restore the reset reference
    /// (reference.safetensors), and a kill between a save's rename and the 'latest' update must not block the run.
    /// </summary>
    [Fact]
    public void Grpo_with_a_reference_reset_killed_three_times_ends_bit_identical_to_an_uninterrupted_run()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, CliProcess.Run(TimeSpan.FromSeconds(60), out _, out _, [.. KillCampaigns.BaseModel(dir["base"], 1)]));
        var report = Harness.Run(KillCampaigns.Grpo(dir["base"], kills: 3, steps: 6, threads: 1, seed: 13), dir["grpo"]);
        AssertExact(report, 3);
        Assert.True(File.Exists(Path.Combine(dir["grpo"], "killed", "step-000006", Aha.Training.GrpoTrainer.ReferenceFile)),
            "the final checkpoint carries the reset reference, so the comparison covered it");
    }
}
