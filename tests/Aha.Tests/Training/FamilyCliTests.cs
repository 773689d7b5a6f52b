using System.Text.Json.Nodes;
using Aha.Tests.Model;

namespace Aha.Tests.Training;

/// <summary>The commands on the committed family checkpoints (BF16, two shards, byte tokenizer); `aha info` on each family is in PublishedCheckpointCliTests.</summary>
public class FamilyCliTests
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [Fact]
    public void Generate_computes_in_bfloat16_when_asked_and_refuses_an_unknown_dtype()
    {
        using var temp = new TempDirectory();
        string folder = FamilyGolden.CopyWithTokenizer("qwen2", temp);
        int code = CliProcess.Run(Timeout, out var stdout, out var stderr, "generate", "--model", folder, "--prompt", "hi",
            "--max-tokens", "4", "--temperature", "0", "--json", "--threads", "1", "--device", "cpu", "--dtype", "bfloat16");
        Assert.True(code == 0, stderr);
        Assert.Equal(4, JsonNode.Parse(stdout.Trim())!["tokens"]!.GetValue<int>());

        code = CliProcess.Run(Timeout, out _, out stderr, "generate", "--model", folder, "--prompt", "hi", "--dtype", "float16");
        Assert.NotEqual(0, code);
        Assert.Contains("--dtype 'float16' is not supported; use float32 or bfloat16.", stderr);
    }

    [Fact]
    public void Continued_pretraining_refuses_a_shape_option_and_a_full_fine_tune_refuses_bfloat16_compute()
    {
        using var temp = new TempDirectory();
        string folder = FamilyGolden.CopyWithTokenizer("qwen2", temp);
        int code = CliProcess.Run(Timeout, out _, out var stderr, "pretrain", "--model", folder, "--model-size", "tiny", "--out", temp["pt"], "--device", "cpu");
        Assert.Equal(1, code);
        Assert.Contains("drop --model-size and --arch", stderr, StringComparison.Ordinal);

        code = CliProcess.Run(Timeout, out _, out stderr, "sft", "--model", folder, "--out", temp["sft"], "--steps", "1", "--batch-size", "1", "--seq-len", "16",
            "--eval-every", "0", "--threads", "1", "--device", "cpu", "--dtype", "bfloat16");
        Assert.NotEqual(0, code);
        Assert.Contains("Train with --dtype float32", stderr, StringComparison.Ordinal);
    }
}
