using Aha.Checkpoints;
using Aha.Faults;
using Aha.Model;
using Aha.Tests.Training;

namespace Aha.Tests.Faults;

/// <summary>
/// Every case of the corruption table against a real tiny run: the resume falls back to the newest checkpoint that
/// validates with a warning naming the damaged file, or stops with one line naming it; never a crash or a wrong model.
/// </summary>
public class CorruptCheckpointTests
{
    [Fact]
    public void Every_damaged_file_is_caught_by_name_and_resume_falls_back_to_the_newest_sound_checkpoint()
    {
        using var dir = new TempDirectory();
        FaultRuns.TrainTiny(dir["run"]);
        var cases = CheckpointCorruptions.Cases(randomFlips: 2);
        var outcomes = CheckpointCorruptions.Run(dir["run"], dir.Path, cases);

        var failed = outcomes.Where(o => !o.Passed).Select(o => $"{o.Case} [{o.Setting}]: {o.Detail}").ToList();
        Assert.True(failed.Count == 0, $"{failed.Count} of {outcomes.Count} failed:\n{string.Join("\n", failed)}");
        Assert.True(outcomes.Count >= 100, $"only {outcomes.Count} cases ran"); // 45 named + 14 flips, in up to three settings
    }

    [Fact]
    public void Every_damaged_adapter_file_is_caught_by_name_and_a_lora_resume_falls_back_to_the_newest_sound_adapter()
    {
        using var dir = new TempDirectory();
        FaultRuns.TrainTinyLora(dir["run"]);
        var outcomes = CheckpointCorruptions.Run(dir["run"], dir.Path, CheckpointCorruptions.AdapterCases(randomFlips: 2));
        var failed = outcomes.Where(o => !o.Passed).Select(o => $"{o.Case} [{o.Setting}]: {o.Detail}").ToList();
        Assert.True(failed.Count == 0, $"{failed.Count} of {outcomes.Count} failed:\n{string.Join("\n", failed)}");
        Assert.True(outcomes.Count >= 60, $"only {outcomes.Count} cases ran");
    }

    [Fact]
    public void A_lora_resume_moves_a_damaged_newer_adapter_checkpoint_aside_and_removes_a_sound_orphan()
    {
        using var dir = new TempDirectory();
        FaultRuns.TrainTinyLora(dir["run"], steps: 3);
        // step 3 damaged (a flipped bit), step 2 sound but 'latest' still names step 1 (a save killed before the pointer moved).
        string run = dir["run"], weights = Path.Combine(run, "step-000003", AdapterCheckpoint.WeightsFile);
        byte[] bytes = File.ReadAllBytes(weights);
        bytes[^5] ^= 0x08;
        File.WriteAllBytes(weights, bytes);
        var warnings = new List<string>();
        var chosen = AdapterCheckpoint.TryLoadNewestValid(run, warnings.Add)!;
        Assert.Equal(3 - 1, chosen.State!.Step);
        Assert.Contains(warnings, w => w.Contains("skipping", StringComparison.Ordinal) && w.Contains(AdapterCheckpoint.WeightsFile, StringComparison.Ordinal));
        File.WriteAllText(Path.Combine(run, Checkpoint.LatestFile), "step-000001\n");
        chosen = AdapterCheckpoint.TryLoadNewestValid(run, warnings.Add)!;
        Assert.Equal(1, chosen.State!.Step);

        var model = TrainerFixtures.NewModel();
        model.AttachLora(chosen.Config);
        var log = new List<string>();
        TrainerFixtures.Trainer(model, TrainerFixtures.Options with { Steps = 1, SaveEvery = 1 }, runDir: run, warnings: log).Run(chosen);
        Assert.True(Directory.Exists(Path.Combine(run, "step-000003" + Aha.Training.RunLoop.DamagedSuffix)), string.Join("\n", log));
        Assert.False(Directory.Exists(Path.Combine(run, "step-000002")), "the sound orphan is removed, to be written again");
    }

    [Fact]
    public void A_checkpoint_without_a_manifest_still_opens_and_resume_warns_that_it_is_unhashed()
    {
        using var dir = new TempDirectory();
        FaultRuns.TrainTiny(dir["run"], steps: 1);
        File.Delete(Path.Combine(dir["run"], "step-000001", CheckpointManifest.FileName));
        var warnings = new List<string>();
        var chosen = Checkpoint.TryLoadNewestValid(dir["run"], warnings.Add);
        Assert.Equal(1, chosen!.State!.Step);
        Assert.Contains(warnings, w => w.Contains("has no manifest.json", StringComparison.Ordinal));
        using var model = new LlamaModel(chosen.Config);
        chosen.LoadModel(model);
    }

    [Fact]
    public void The_manifest_lists_every_file_of_the_checkpoint_with_its_size_and_sha256()
    {
        using var dir = new TempDirectory();
        FaultRuns.TrainTiny(dir["run"], steps: 1);
        string folder = Path.Combine(dir["run"], "step-000001");
        var manifest = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "manifest.json")))!["files"]!.AsObject();
        var files = Directory.GetFiles(folder).Select(f => Path.GetFileName(f)!).Where(n => n != "manifest.json").Order().ToList();
        Assert.Equal(files, manifest.Select(p => p.Key).Order().ToList());
        // Independent hash: the system's sha256sum, not our own code.
        foreach (var (name, entry) in manifest)
        {
            Assert.Equal(new FileInfo(Path.Combine(folder, name)).Length, entry!["size"]!.GetValue<long>());
            Assert.Equal(Sha256Sum(Path.Combine(folder, name)), entry["sha256"]!.GetValue<string>());
        }
        Assert.Null(Checkpoint.Validate(folder));
    }

    [Fact]
    public void Open_verified_refuses_a_flipped_bit_that_a_plain_open_would_load()
    {
        using var dir = new TempDirectory();
        FaultRuns.TrainTiny(dir["run"], steps: 1);
        string folder = Path.Combine(dir["run"], "step-000001"), weights = Path.Combine(folder, Checkpoint.ModelFile);
        byte[] bytes = File.ReadAllBytes(weights);
        bytes[^10] ^= 0x10;
        File.WriteAllBytes(weights, bytes);

        using var model = new LlamaModel(Checkpoint.Open(folder).Config);
        Checkpoint.Open(folder).LoadModel(model); // structurally sound: only the hash can tell
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.OpenVerified(folder));
        Assert.Contains("model.safetensors: SHA-256 differs", e.Message, StringComparison.Ordinal);
    }

    static string Sha256Sum(string path)
    {
        var info = new System.Diagnostics.ProcessStartInfo("sha256sum", [path]) { RedirectStandardOutput = true };
        using var process = System.Diagnostics.Process.Start(info)!;
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return output.Split(' ')[0];
    }
}
