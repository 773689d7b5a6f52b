using Aha.Checkpoints;
using Aha.Model;
using Aha.Tests.Training;

namespace Aha.Tests.Faults;

/// <summary>A full disk at each file of a save: a clear error, the previous checkpoint intact and 'latest', and a resume that ends where an uninterrupted run does.</summary>
public class DiskFullTests
{
    const int FilesPerSave = 8; // config, generation config, tokenizer, weights, optimizer, state, manifest, latest

    [Fact]
    public void A_full_disk_at_any_file_of_a_save_keeps_the_previous_checkpoint_and_the_run_resumes_exactly()
    {
        using var dir = new TempDirectory();
        FaultRuns.TrainTiny(dir["straight"], steps: 2);
        byte[] expected = File.ReadAllBytes(Path.Combine(dir["straight"], "step-000002", Checkpoint.ModelFile));

        for (int failAt = 1; failAt <= FilesPerSave + 1; failAt++)
        {
            string run = dir[$"full-{failAt}"];
            FaultRuns.TrainTiny(run, steps: 1);
            int writes = 0;
            var written = new List<string>();
            Exception? error = null;
            SaveFaults.Inject(path =>
            {
                written.Add(Path.GetFileName(path));
                return ++writes == failAt ? SaveFaults.DiskFull(path) : null;
            }, () =>
            {
                try { Resume(run, steps: 2); }
                catch (IOException e) { error = e; }
            });
            if (failAt == FilesPerSave + 1)
            {
                Assert.Null(error); // every write of a save passed the seam, so every one of them was tried above
                Assert.Equal(FilesPerSave, writes);
                continue;
            }
            Assert.NotNull(error);
            string where = $"failing write {failAt} ({written[^1]})";
            Assert.True(error.Message.Contains("No space left on device", StringComparison.Ordinal), where + ": " + error.Message);
            Assert.True(error.Message.Contains("step-000001) is intact", StringComparison.Ordinal), where + ": " + error.Message);
            Assert.DoesNotContain('\n', error.Message);
            Assert.Equal("step-000001", File.ReadAllText(Path.Combine(run, "latest")).Trim());
            Assert.Empty(Directory.GetFileSystemEntries(run, ".tmp-*"));
            Assert.Null(Checkpoint.Validate(Path.Combine(run, "step-000001")));

            // Space is back: the resume ends bit for bit where the uninterrupted run did.
            Resume(run, steps: 2);
            Assert.Equal(expected, File.ReadAllBytes(Path.Combine(run, "step-000002", Checkpoint.ModelFile)));
        }
    }

    static void Resume(string run, int steps)
    {
        var options = TrainerFixtures.Options with { Steps = steps, SaveEvery = 1 };
        var checkpoint = Checkpoint.TryLoadNewestValid(run, _ => { })!;
        using var model = new LlamaModel(checkpoint.Config);
        TrainerFixtures.Trainer(model, options, runDir: run).Run(checkpoint);
    }

    [Fact]
    public void The_cli_reports_a_full_disk_in_one_line_and_resumes_once_space_returns()
    {
        using var dir = new TempDirectory();
        string[] args = ["pretrain", "--out", dir["run"], "--model-size", "tiny", "--batch-size", "2", "--seq-len", "32", "--steps", "3",
            "--save-every", "1", "--eval-every", "0", "--threads", "1", "--device", "cpu"];
        // The second save's weights file (file 4 of 8 in a save, the 12th write of the process) finds the disk full.
        using (var full = new CliProcess(new Dictionary<string, string> { ["AHA_FAULT_DISK_FULL_AT"] = "12" }, args))
        {
            Assert.Equal(1, full.Wait(TimeSpan.FromSeconds(60)));
            string error = full.Stderr.Split('\n').Single(l => l.StartsWith("error:", StringComparison.Ordinal));
            Assert.Contains("saving checkpoint step-000002", error, StringComparison.Ordinal);
            Assert.Contains("No space left on device", error, StringComparison.Ordinal);
            Assert.Contains("model.safetensors", error, StringComparison.Ordinal);
            Assert.Contains("(step-000001) is intact", error, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", full.Stderr, StringComparison.Ordinal);
        }
        Assert.Equal("step-000001", File.ReadAllText(Path.Combine(dir["run"], "latest")).Trim());
        int code = CliProcess.Run(TimeSpan.FromSeconds(60), out _, out var stderr, [.. args, "--resume"]);
        Assert.True(code == 0, stderr);
        Assert.Equal(3, Checkpoint.LoadLatest(dir["run"]).State!.Step);
    }
}
