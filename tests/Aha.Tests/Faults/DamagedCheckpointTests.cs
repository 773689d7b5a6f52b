using Aha.Checkpoints;
using Aha.Tests.Training;
using Aha.Training;

namespace Aha.Tests.Faults;

/// <summary>
/// A resume that falls back past a damaged newer checkpoint: the run loop's cleanup of newer step folders must keep the
/// damaged one as evidence (moved aside to step-N.damaged, with a message that says why) and delete only true orphans.
/// </summary>
public class DamagedCheckpointTests
{
    static void FlipLastByte(string file)
    {
        byte[] bytes = File.ReadAllBytes(file);
        bytes[^1] ^= 0x40;
        File.WriteAllBytes(file, bytes);
    }

    [Fact]
    public void A_damaged_newer_checkpoint_is_moved_aside_with_its_reason_and_the_resumed_run_redoes_its_step()
    {
        using var dir = new TempDirectory();
        string run = dir["run"];
        FaultRuns.TrainTiny(run, steps: 3);
        string damaged = Path.Combine(run, "step-000003");
        FlipLastByte(Path.Combine(damaged, Checkpoint.ModelFile));

        var warnings = new List<string>();
        var resume = Checkpoint.TryLoadNewestValid(run, warnings.Add);
        Assert.Equal(2, resume!.State!.Step);

        using var model = TrainerFixtures.NewModel();
        var result = TrainerFixtures.Trainer(model, TrainerFixtures.Options with { Steps = 3, SaveEvery = 1 }, runDir: run, warnings: warnings).Run(resume);
        Assert.Equal(3, result.Step);

        string aside = damaged + RunLoop.DamagedSuffix;
        Assert.True(Directory.Exists(aside), string.Join("\n", warnings));
        Assert.NotNull(Checkpoint.Validate(aside)); // the evidence is the damaged bytes themselves
        string message = Assert.Single(warnings, w => w.Contains("aside", StringComparison.Ordinal));
        Assert.Contains("damaged", message, StringComparison.Ordinal);
        Assert.Contains(Checkpoint.ModelFile, message, StringComparison.Ordinal); // why: the file that failed
        Assert.DoesNotContain("interrupted", message, StringComparison.Ordinal);
        Assert.DoesNotContain(warnings, w => w.StartsWith("removing", StringComparison.Ordinal));

        // The step was trained and saved again; loads and pruning ignore the folder set aside.
        Assert.Null(Checkpoint.Validate(damaged));
        var again = new List<string>();
        Assert.Equal(3, Checkpoint.TryLoadNewestValid(run, again.Add)!.State!.Step);
        Assert.Empty(again);
    }

    [Fact]
    public void A_sound_orphan_newer_than_latest_is_removed_as_an_interrupted_save()
    {
        using var dir = new TempDirectory();
        string run = dir["run"];
        FaultRuns.TrainTiny(run, steps: 3);
        File.WriteAllText(Path.Combine(run, Checkpoint.LatestFile), "step-000002\n"); // killed between the rename and the pointer

        var warnings = new List<string>();
        var resume = Checkpoint.TryLoadNewestValid(run, warnings.Add);
        using var model = TrainerFixtures.NewModel();
        TrainerFixtures.Trainer(model, TrainerFixtures.Options with { Steps = 3, SaveEvery = 1 }, runDir: run, warnings: warnings).Run(resume);

        Assert.Contains(warnings, w => w.StartsWith("removing", StringComparison.Ordinal) && w.Contains("interrupted", StringComparison.Ordinal));
        Assert.False(Directory.Exists(Path.Combine(run, "step-000003" + RunLoop.DamagedSuffix)));
    }

    [Fact]
    public void A_kill_after_the_move_aside_resumes_from_the_start_checkpoint_without_a_dangling_latest()
    {
        using var dir = new TempDirectory();
        string run = dir["run"];
        FaultRuns.TrainTiny(run, steps: 3);
        FlipLastByte(Path.Combine(run, "step-000003", Checkpoint.ModelFile));
        var resume = Checkpoint.TryLoadNewestValid(run, _ => { });
        using var model = TrainerFixtures.NewModel();
        // Steps = 2: nothing left to train, so only the cleanup runs, as in a run killed before its next save.
        TrainerFixtures.Trainer(model, TrainerFixtures.Options with { Steps = 2, SaveEvery = 1 }, runDir: run).Run(resume);
        Assert.Equal("step-000002", File.ReadAllText(Path.Combine(run, Checkpoint.LatestFile)).Trim());
    }
}
