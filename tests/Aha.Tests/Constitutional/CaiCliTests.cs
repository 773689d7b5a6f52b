using System.Text.Json.Nodes;
using Aha.Checkpoints;
using Aha.Model;
using Aha.Tests.Model;
using Aha.Tests.Training;
using Aha.Tokenizer;

namespace Aha.Tests.Constitutional;

/// <summary>The real `aha cai sl` and `aha cai rl` in child processes on a tiny base: summaries, files, and a bad constitution named by line.</summary>
public class CaiCliTests
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(180);

    static JsonNode Last(string stdout) => JsonNode.Parse(stdout.Trim().Split('\n')[^1])!;

    static string Base(TempDirectory dir)
    {
        var config = new ModelConfig
        {
            VocabSize = ByteTokenizer.VocabSize, HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2, MaxPositionEmbeddings = 256,
        }.Validate();
        using var model = TinyModels.Random(config);
        return Checkpoint.Save(dir.Path, "base", model, config, ByteTokenizer.Default);
    }

    [Fact]
    public void Cai_sl_then_cai_rl_with_ppo_run_end_to_end_and_report_what_they_measured()
    {
        using var dir = new TempDirectory();
        string model = Base(dir);
        Assert.True(CliProcess.Run(Timeout, out var stdout, out var stderr, "cai", "sl", "--model", model, "--out", dir["sl"], "--prompts", "4", "--rounds", "2",
            "--max-tokens", "8", "--steps", "2", "--batch-size", "2", "--eval-problems", "3", "--threads", "1") == 0, stderr);
        var sl = Last(stdout);
        Assert.Equal("cai sl", sl["command"]!.GetValue<string>());
        Assert.Equal(4, sl["prompts"]!.GetValue<int>());
        Assert.Equal(2, sl["per_round"]!.AsArray().Count);
        Assert.NotNull(sl["accuracy_after"]);
        Assert.True(Directory.Exists(sl["checkpoint"]!.GetValue<string>()));
        Assert.Equal(4, File.ReadAllLines(Path.Combine(dir["sl"], "revisions.jsonl")).Length);

        Assert.True(CliProcess.Run(Timeout, out stdout, out stderr, "cai", "rl", "--model", model, "--judge", sl["checkpoint"]!.GetValue<string>(), "--out", dir["rl"],
            "--prompts", "6", "--samples", "2", "--max-tokens", "6", "--rm-steps", "2", "--rm-batch-size", "2", "--steps", "1", "--rl-prompts", "2", "--eval-problems", "2", "--threads", "1") == 0, stderr);
        var rl = Last(stdout);
        Assert.Equal("cai rl", rl["command"]!.GetValue<string>());
        Assert.Equal(2 * rl["ai_labels"]!.GetValue<int>(), rl["judge_calls"]!.GetValue<int>()); // both orders
        Assert.Equal(rl["ai_labels"]!.GetValue<int>(), rl["soft_labels"]!.GetValue<int>());
        Assert.NotNull(rl["reward_model"]);
        Assert.NotNull(rl["checkpoint"]);
        Assert.All(File.ReadAllLines(Path.Combine(dir["rl"], "pairs.jsonl")), line => Assert.NotNull(JsonNode.Parse(line)!["chosen_probability"]));

        Assert.True(CliProcess.Run(Timeout, out _, out stderr, "cai", "rl", "--model", model, "--out", dir["rl"], "--threads", "1") != 0);
        Assert.Contains("--out", stderr);
        Assert.Contains("--overwrite", stderr);
    }

    [Fact]
    public void A_bad_constitution_file_stops_the_command_before_loading_and_names_its_line()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir["c.md"], "## sum\ncritique: Is it right?\nrevisoin: Fix it.\n");
        Assert.True(CliProcess.Run(Timeout, out _, out var stderr, "cai", "sl", "--model", dir["missing"], "--constitution", dir["c.md"], "--out", dir["out"]) != 0);
        Assert.Contains($"{dir["c.md"]}:3: expected '## name' or a 'critique:', 'revision:' or 'choice:' line, got 'revisoin: Fix it.'", stderr);
    }
}
