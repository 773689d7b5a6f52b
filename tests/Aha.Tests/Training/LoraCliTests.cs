using System.Text.Json.Nodes;
using Aha.Checkpoints;

namespace Aha.Tests.Training;

/// <summary>`aha grpo --lora-rank`, its resume, `generate --adapter` and `aha merge`, each in a child process.</summary>
public class LoraCliTests
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(180);

    [Fact]
    public void A_lora_grpo_run_resumes_and_its_merged_checkpoint_generates_what_base_plus_adapter_does()
    {
        using var run = new TempDirectory();
        string baseDir = run["base"], dir = run["grpo"], merged = run["merged"];
        Assert.Equal(0, CliProcess.Run(Timeout, out _, out var stderr, "pretrain", "--model-size", "tiny", "--seq-len", "128", "--batch-size", "2",
            "--steps", "1", "--eval-every", "0", "--threads", "1", "--device", "cpu", "--out", baseDir));
        string[] grpo = ["grpo", "--out", dir, "--model", baseDir, "--task", "arithmetic", "--prompts", "2", "--group-size", "2", "--max-tokens", "4",
            "--save-every", "1", "--threads", "1", "--device", "cpu", "--lora-rank", "4", "--lora-targets", "q_proj,v_proj,down_proj", "--lr", "0.05"];
        Assert.True(CliProcess.Run(Timeout, out _, out stderr, [.. grpo, "--steps", "1"]) == 0, stderr);
        var first = AdapterCheckpoint.TryLoadLatest(dir)!;
        Assert.False(File.Exists(Path.Combine(first.Directory, Checkpoint.ModelFile)));
        Assert.Equal(1, first.State!.Step);

        // Resume: the saved spec supplies the LoRA options; a different rank is refused.
        Assert.Equal(1, CliProcess.Run(Timeout, out _, out stderr, "grpo", "--out", dir, "--resume", "--steps", "2", "--lora-rank", "8", "--threads", "1", "--device", "cpu"));
        Assert.Contains("--lora-rank", stderr, StringComparison.Ordinal);
        Assert.True(CliProcess.Run(Timeout, out _, out stderr, "grpo", "--out", dir, "--resume", "--steps", "2", "--threads", "1", "--device", "cpu") == 0, stderr);
        var adapter = AdapterCheckpoint.TryLoadLatest(dir)!;
        Assert.Equal(2, adapter.State!.Step);
        Assert.Equal(["q_proj", "v_proj", "down_proj"], adapter.Config.Targets);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(adapter.Directory, AdapterCheckpoint.ConfigFile)))!;
        Assert.Equal("LORA", config["peft_type"]!.GetValue<string>());
        Assert.Equal(Path.GetFullPath(baseDir), config["base_model_name_or_path"]!.GetValue<string>());

        // A tiny base rarely gets reward signal in two steps, so B may still be 0; a trained-looking adapter (random B) makes the comparison mean something.
        string perturbed = run["perturbed"];
        Directory.CreateDirectory(perturbed);
        using (var model = ModelLoader.OpenAndLoad(baseDir).Model)
        {
            adapter.AttachTo(model);
            using var noGrad = TorchSharp.torch.no_grad();
            foreach (var (key, t) in model.Lora!.PeftStateDict())
                if (key.Contains("lora_B", StringComparison.Ordinal)) t.copy_(TorchSharp.torch.randn(t.shape, generator: new TorchSharp.torch.Generator(5)) * 0.5);
            AdapterCheckpoint.WriteAdapter(perturbed, model.Lora, Path.GetFullPath(baseDir));
        }
        // The merged folder keeps the base's generation_config.json as it is, fields Aha does not model included.
        string generation = Path.Combine(Checkpoint.LoadLatest(baseDir).Directory, Checkpoint.GenerationConfigFile);
        File.WriteAllText(generation, File.ReadAllText(generation).TrimEnd().TrimEnd('}') + ",\n  \"top_k\": 20\n}\n");
        Assert.True(CliProcess.Run(Timeout, out _, out stderr, "merge", "--model", baseDir, "--adapter", perturbed, "--out", merged) == 0, stderr);
        Assert.Equal(File.ReadAllBytes(generation), File.ReadAllBytes(Path.Combine(merged, Checkpoint.GenerationConfigFile)));
        string[] generate = ["generate", "--prompt", "12+30=", "--prompt", "7*8=", "--max-tokens", "12", "--temperature", "0", "--json", "--threads", "1", "--device", "cpu"];
        Assert.True(CliProcess.Run(Timeout, out var adapted, out stderr, [.. generate, "--model", baseDir, "--adapter", perturbed]) == 0, stderr);
        Assert.True(CliProcess.Run(Timeout, out var fromMerged, out stderr, [.. generate, "--model", merged]) == 0, stderr);
        Assert.Equal(adapted, fromMerged);
        // The adapter changes the greedy path: the plain base, in-process, continues otherwise.
        using var plain = ModelLoader.OpenAndLoad(baseDir).Model;
        var adaptedRow = JsonNode.Parse(adapted.Trim().Split('\n')[0])!;
        var ids = adaptedRow["prompt_ids"]!.AsArray().Select(n => (long)n!.GetValue<int>()).ToList();
        var promptLength = ids.Count;
        using (var noGrad = TorchSharp.torch.no_grad())
            for (int i = 0; i < 12; i++)
            {
                using var logits = plain.forward(TorchSharp.torch.tensor(ids.ToArray()).unsqueeze(0));
                ids.Add(logits[0, -1].argmax().item<long>());
            }
        Assert.NotEqual(adaptedRow["completion_ids"]!.AsArray().Select(n => (long)n!.GetValue<int>()).Take(12), ids.Skip(promptLength).Take(adaptedRow["completion_ids"]!.AsArray().Count));
    }

    [Fact]
    public void A_lora_sft_run_saves_adapters_only_and_resumes_from_them()
    {
        using var run = new TempDirectory();
        string baseDir = run["base"], dir = run["sft"];
        Assert.Equal(0, CliProcess.Run(Timeout, out _, out var stderr, "pretrain", "--model-size", "tiny", "--seq-len", "128", "--batch-size", "2",
            "--steps", "1", "--eval-every", "0", "--threads", "1", "--device", "cpu", "--out", baseDir));
        string[] sft = ["sft", "--model", baseDir, "--out", dir, "--batch-size", "2", "--seq-len", "64", "--eval-every", "0", "--save-every", "1",
            "--keep-last", "0", "--threads", "1", "--device", "cpu", "--lora-rank", "2", "--lora-alpha", "4", "--lr", "1e-2"];
        Assert.True(CliProcess.Run(Timeout, out _, out stderr, [.. sft, "--steps", "3"]) == 0, stderr);
        var whole = AdapterCheckpoint.TryLoadLatest(dir)!;
        Assert.Equal((3L, 2, 4.0), (whole.State!.Step, whole.Config.Rank, whole.Config.Alpha));
        Assert.False(File.Exists(Path.Combine(whole.Directory, Checkpoint.ModelFile)));

        // The same run stopped after step 1 and resumed: its step 3 equals the uninterrupted one byte for byte.
        string split = run["split"];
        Directory.CreateDirectory(split);
        foreach (var name in new[] { "step-000001", Checkpoint.LatestFile })
            if (name == Checkpoint.LatestFile) File.WriteAllText(Path.Combine(split, name), "step-000001\n");
            else CopyFolder(Path.Combine(dir, name), Path.Combine(split, name));
        Assert.True(CliProcess.Run(Timeout, out _, out stderr, "sft", "--out", split, "--resume", "--threads", "1", "--device", "cpu") == 0, stderr);
        Assert.Contains("resuming LoRA adapters from", stderr, StringComparison.Ordinal);
        foreach (var file in new[] { AdapterCheckpoint.WeightsFile, Checkpoint.OptimizerFile })
            Assert.True(File.ReadAllBytes(Path.Combine(whole.Directory, file)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(split, "step-000003", file))),
                $"{file}: the resumed LoRA run differs from the uninterrupted one");
    }

    static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
    }

    [Fact]
    public void An_unknown_lora_target_is_refused_naming_it()
    {
        Assert.Equal(1, CliProcess.Run(Timeout, out _, out var stderr, "grpo", "--model", "nowhere", "--out", Path.Combine(Path.GetTempPath(), $"aha-lora-{Guid.NewGuid():N}"),
            "--lora-rank", "4", "--lora-targets", "q_proj,qkv", "--device", "cpu"));
        Assert.Contains("unknown module 'qkv'", stderr, StringComparison.Ordinal);
    }
}
