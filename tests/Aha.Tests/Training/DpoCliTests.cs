using System.Text.Json.Nodes;
using Aha.Checkpoints;

namespace Aha.Tests.Training;

/// <summary>`aha prefs` then `aha dpo` in child processes: the pairs file, its summary, the run folder, and a resume from the saved spec.</summary>
public class DpoCliTests
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [Fact]
    public void Prefs_writes_counted_pairs_and_dpo_trains_on_them_evaluates_and_resumes()
    {
        using var run = new TempDirectory();
        string baseDir = run["base"], pairs = run["pairs.jsonl"], dir = run["dpo"];
        string[] cpu = ["--threads", "1", "--device", "cpu"];
        Assert.Equal(0, CliProcess.Run(Timeout, out _, out var stderr,
            ["pretrain", "--model-size", "tiny", "--seq-len", "128", "--batch-size", "2", "--steps", "1", "--eval-every", "0", "--out", baseDir, .. cpu]));

        Assert.True(CliProcess.Run(Timeout, out var stdout, out stderr,
            ["prefs", "--model", baseDir, "--task", "addition", "--prompts", "3", "--samples", "3", "--max-tokens", "6", "--out", pairs, .. cpu]) == 0, stderr);
        var summary = JsonNode.Parse(stdout.Trim().Split('\n')[^1])!.AsObject();
        int labels = summary["human_labels"]!.GetValue<int>();
        Assert.Equal(3 * 3, labels + summary["skipped_identical"]!.GetValue<int>()); // 3 prompts × 3 pairs of 3 samples
        Assert.Equal(labels, File.ReadAllLines(pairs).Length);
        Assert.True(File.Exists(run["pairs.summary.json"]));
        Assert.True(labels > 0, "a 1-step model sampled identical completions for every pair; raise --max-tokens in this test");

        string[] dpo = ["dpo", "--model", baseDir, "--data", pairs, "--out", dir, "--batch-size", "2", "--eval-problems", "4", "--eval-max-tokens", "4", .. cpu];
        Assert.True(CliProcess.Run(Timeout, out stdout, out stderr, [.. dpo, "--steps", "2", "--lr", "0.001"]) == 0, stderr);
        var result = JsonNode.Parse(stdout.Trim().Split('\n')[^1])!.AsObject();
        Assert.Equal("completed", result["outcome"]!.GetValue<string>());
        Assert.NotNull(result["heldout_accuracy_before"]);
        Assert.NotNull(result["heldout_accuracy_after"]);
        Assert.True(File.Exists(Path.Combine(dir, "dpo_rewards.png")));
        var rows = File.ReadAllLines(Path.Combine(dir, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.Equal(["eval:0", "dpo:1", "dpo:2", "eval:2"], rows.Select(r => $"{r["phase"]}:{r["step"]}"));
        Assert.Contains("rewards/margins", rows[1].Select(kv => kv.Key));

        // The resume takes --lr, --data and the rest from the saved spec; a different --beta is refused.
        Assert.Equal(1, CliProcess.Run(Timeout, out _, out stderr, ["dpo", "--out", dir, "--resume", "--steps", "3", "--beta", "0.5", .. cpu]));
        Assert.Contains("--beta 0.5 (the run was started with 0.1)", stderr, StringComparison.Ordinal);
        Assert.True(CliProcess.Run(Timeout, out _, out stderr, ["dpo", "--out", dir, "--resume", "--steps", "3", .. cpu]) == 0, stderr);
        Assert.Equal(3, Checkpoint.LoadLatest(dir).State!.Step);
        Assert.Equal(0.001, Checkpoint.LoadLatest(dir).State!.GetOptions<Aha.Training.DpoOptions>().LearningRate);
    }
}
