using Aha.Checkpoints;
using Aha.Model;

namespace Aha.Tests.Training;

/// <summary>The real `aha pretrain` in a child process: crashes, resumes, bad input.</summary>
public class CliTrainingTests
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    static string[] Pretrain(string dir, string[] extra, long steps = 100_000) =>
    [
        "pretrain", "--out", dir, "--model-size", "tiny", "--batch-size", "2", "--seq-len", "32", "--steps", steps.ToString(),
        "--save-every", "1", "--keep-last", "2", "--eval-every", "0", "--log-every", "100000", "--threads", "1", "--device", "cpu", .. extra,
    ];

    [Fact]
    public void A_run_killed_at_random_moments_always_leaves_a_loadable_checkpoint_and_resumes_from_it()
    {
        using var run = new TempDirectory();
        string dir = run["run"];
        var random = new Random(12345);
        for (int kill = 0; kill < 3; kill++)
        {
            using var process = new CliProcess(Pretrain(dir, kill == 0 ? [] : ["--resume"]));
            // Wait for this process's first save (a checkpoint every step: saves are a large share of the time), then kill at a random moment.
            long before = Math.Max(0, SavedStep(dir));
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (SavedStep(dir) <= before && !process.HasExited && clock.Elapsed < Timeout) Thread.Sleep(20);
            Assert.False(process.HasExited, $"aha exited early:\n{process.Stderr}");
            Thread.Sleep(random.Next(0, 600));
            process.Kill();

            var latest = Checkpoint.LoadLatest(dir);
            using var model = new LlamaModel(latest.Config);
            latest.LoadModel(model);
            Assert.True(latest.HasOptimizer);
        }

        long step = Checkpoint.LoadLatest(dir).State!.Step;
        int code = CliProcess.Run(Timeout, out var stdout, out var stderr, Pretrain(dir, ["--resume"], steps: step + 2));
        Assert.True(code == 0, stderr);
        Assert.Contains($"resuming from", stderr, StringComparison.Ordinal);
        Assert.Contains("\"outcome\":\"completed\"", stdout.TrimEnd().Split('\n')[^1], StringComparison.Ordinal);
        Assert.Equal(step + 2, Checkpoint.LoadLatest(dir).State!.Step);
    }

    /// <summary>
    /// The latest saved step, or −1 when the read raced the live process: it prunes old checkpoints (--keep-last) while
    /// we read, so a folder named by `latest` a moment ago can vanish. Only the reads after the kill must succeed.
    /// </summary>
    static long SavedStep(string dir)
    {
        try { return Checkpoint.TryLoadLatest(dir)?.State?.Step ?? 0; }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException) { return -1; }
    }

    [Fact]
    public void Malformed_jsonl_is_reported_with_file_and_line_and_no_stack_trace()
    {
        using var run = new TempDirectory();
        File.WriteAllText(run["bad.jsonl"], "{\"text\":\"one\"}\n\n{\"txt\":2}\n");
        int code = CliProcess.Run(Timeout, out _, out var stderr,
            "pretrain", "--out", run["out"], "--data", run["bad.jsonl"], "--model-size", "tiny", "--steps", "2", "--batch-size", "1", "--seq-len", "8", "--eval-every", "0");
        Assert.Equal(1, code);
        Assert.Contains($"{run["bad.jsonl"]}:3: field \"text\" is missing", stderr, StringComparison.Ordinal);
        Assert.Contains("--skip-bad-rows", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void An_existing_run_folder_is_never_reused_without_resume_or_overwrite()
    {
        using var run = new TempDirectory();
        Directory.CreateDirectory(run["out"]);
        File.WriteAllText(Path.Combine(run["out"], "precious.txt"), "keep me");
        int code = CliProcess.Run(Timeout, out _, out var stderr, "pretrain", "--out", run["out"], "--model-size", "tiny", "--steps", "1");
        Assert.Equal(1, code);
        Assert.Contains("--resume", stderr, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(run["out"], "precious.txt")));
    }

    [Fact]
    public void A_resume_refuses_a_model_size_or_arch_that_differs_from_the_checkpoints()
    {
        using var run = new TempDirectory();
        string dir = run["run"];
        Assert.Equal(0, CliProcess.Run(Timeout, out _, out _, Pretrain(dir, [], steps: 1)));
        long saved = Checkpoint.LoadLatest(dir).State!.Step;

        int code = CliProcess.Run(Timeout, out _, out var stderr, [.. Pretrain(dir, ["--resume"], steps: 2).Select(a => a == "tiny" ? "small" : a)]);
        Assert.Equal(1, code);
        Assert.Contains("--model-size small (the run was started with tiny)", stderr, StringComparison.Ordinal);
        code = CliProcess.Run(Timeout, out _, out stderr, Pretrain(dir, ["--resume", "--arch", "moe"], steps: 2));
        Assert.Equal(1, code);
        Assert.Contains("--arch moe", stderr, StringComparison.Ordinal);
        Assert.Equal(saved, Checkpoint.LoadLatest(dir).State!.Step); // nothing trained, nothing overwritten

        // The same shape typed again (as scripts do) resumes normally.
        Assert.True(CliProcess.Run(Timeout, out _, out stderr, Pretrain(dir, ["--resume", "--arch", "llama"], steps: 2)) == 0, stderr);
        Assert.Equal(2, Checkpoint.LoadLatest(dir).State!.Step);
    }
}
