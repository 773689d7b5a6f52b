using System.Text.Json;
using System.Text.Json.Nodes;
using Aha.Checkpoints;
using Aha.Model;
using Aha.Tests.Model;
using Aha.Tokenizer;

namespace Aha.Tests.Training;

/// <summary>The real `aha rm`, `aha rm score` and `aha ppo` in child processes, on a tiny base: summaries, folders, resume.</summary>
public class RlhfCliTests
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    static string Last(string stdout) => stdout.Trim().Split('\n')[^1];

    [Fact]
    public void Rm_then_rm_score_then_ppo_run_end_to_end_and_resume()
    {
        using var dir = new TempDirectory();
        var config = new ModelConfig
        {
            VocabSize = ByteTokenizer.VocabSize, HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2, MaxPositionEmbeddings = 96,
        }.Validate();
        using (var model = TinyModels.Random(config)) Checkpoint.Save(dir.Path, "base", model, config, ByteTokenizer.Default);
        var rows = Enumerable.Range(0, 24).Select(i => new JsonObject
        {
            ["prompt"] = $"User: What is {i}+1?\nAssistant:", ["chosen"] = $" <answer>{i + 1}</answer>", ["rejected"] = $" <answer>{i + 2}</answer>",
            ["chosen_correct"] = i % 5 != 0, ["rejected_correct"] = i % 5 == 0, // every fifth label is flipped
        }.ToJsonString());
        File.WriteAllLines(dir["pairs.jsonl"], rows);

        string[] Rm(int steps, params string[] extra) => ["rm", "--model", dir["base"], "--data", dir["pairs.jsonl"], "--out", dir["rm"], "--steps", steps.ToString(),
            "--batch-size", "4", "--eval-every", "2", "--eval-fraction", "0.3", "--save-every", "1", "--threads", "1", .. extra];
        Assert.True(CliProcess.Run(Timeout, out var stdout, out var stderr, Rm(3)) == 0, stderr);
        var summary = JsonNode.Parse(Last(stdout))!;
        Assert.Equal("rm", summary["command"]!.GetValue<string>());
        Assert.NotNull(summary["eval_verifier_agreement"]);
        Assert.True(summary["eval_pairs"]!.GetValue<int>() > 0);
        Assert.True(File.Exists(Path.Combine(dir["rm"], "rm_eval.png")));
        var rm = Checkpoint.LoadLatest(dir["rm"]);
        Assert.Contains("LlamaForSequenceClassification", File.ReadAllText(Path.Combine(rm.Directory, "config.json")), StringComparison.Ordinal);
        Assert.True(CliProcess.Run(Timeout, out stdout, out stderr, Rm(4, "--resume")) == 0, stderr);
        Assert.Contains("resuming from", stderr, StringComparison.Ordinal);
        Assert.Equal(4, JsonNode.Parse(Last(stdout))!["step"]!.GetValue<int>());

        File.WriteAllLines(dir["completions.jsonl"], ["{\"prompt\":\"User: 1+1?\\nAssistant:\",\"completion\":\" <answer>2</answer>\",\"id\":\"a\"}"]);
        Assert.True(CliProcess.Run(Timeout, out stdout, out stderr, "rm", "score", "--model", dir["rm"], "--in", dir["completions.jsonl"], "--threads", "1") == 0, stderr);
        var scored = stdout.Trim().Split('\n');
        Assert.Equal(2, scored.Length);
        Assert.Equal("a", JsonNode.Parse(scored[0])!["id"]!.GetValue<string>()); // other fields pass through
        Assert.Equal(JsonValueKind.Number, JsonNode.Parse(scored[0])!["score"]!.GetValueKind());

        string[] Ppo(int steps, params string[] extra) => ["ppo", "--model", dir["base"], "--reward-model", dir["rm"], "--out", dir["ppo"], "--steps", steps.ToString(), "--prompts", "2",
            "--samples", "2", "--max-tokens", "6", "--ppo-epochs", "1", "--minibatches", "2", "--eval-problems", "3", "--save-every", "1", "--threads", "1", .. extra];
        Assert.True(CliProcess.Run(Timeout, out stdout, out stderr, Ppo(2)) == 0, stderr);
        summary = JsonNode.Parse(Last(stdout))!;
        Assert.Equal("ppo", summary["command"]!.GetValue<string>());
        Assert.NotNull(summary["accuracy_before"]);
        Assert.NotNull(summary["accuracy_after"]);
        Assert.True(File.Exists(Path.Combine(dir["ppo"], "reward_vs_accuracy.png")));
        var ppo = Checkpoint.LoadLatest(dir["ppo"]);
        Assert.True(File.Exists(Path.Combine(ppo.Directory, "value.safetensors")));
        Assert.Contains("LlamaForCausalLM", File.ReadAllText(Path.Combine(ppo.Directory, "config.json")), StringComparison.Ordinal);
        Assert.True(CliProcess.Run(Timeout, out stdout, out stderr, Ppo(3, "--resume")) == 0, stderr);
        Assert.Equal(3, JsonNode.Parse(Last(stdout))!["step"]!.GetValue<int>());

        // A causal LM is not a reward model: refused with the fix, no stack trace.
        Assert.Equal(1, CliProcess.Run(Timeout, out _, out stderr, [.. Ppo(2, "--overwrite").Select(a => a == dir["rm"] ? dir["base"] : a)]));
        Assert.Contains("not a reward model", stderr, StringComparison.Ordinal);
    }
}
