using System.Text.Json.Nodes;
using Aha.Checkpoints;

namespace Aha.Tests.Training;

/// <summary>`--arch` through the real CLI: pretrain a V3-style model, inspect it with `aha info`, and the `aha bench arch` table.</summary>
public class ArchCliTests
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [Fact]
    public void Pretrain_with_arch_v3_saves_a_deepseek_v3_checkpoint_that_info_describes()
    {
        using var run = new TempDirectory();
        int code = CliProcess.Run(Timeout, out var stdout, out var stderr,
            "pretrain", "--out", run["v3"], "--arch", "v3", "--model-size", "tiny", "--steps", "3", "--batch-size", "2", "--seq-len", "16",
            "--eval-every", "0", "--log-every", "1", "--threads", "1", "--device", "cpu", "--mtp-weight", "0.1", "--bias-gamma", "0.01");
        Assert.True(code == 0, stderr);
        Assert.Contains("| mtp ", stdout + stderr, StringComparison.Ordinal);
        var checkpoint = Checkpoint.LoadLatest(run["v3"]);
        Assert.True(checkpoint.Config.UsesMla && checkpoint.Config.UsesMoe && checkpoint.Config.UsesMtp);
        Assert.Equal(0.1, checkpoint.State!.Options["mtp_weight"]!.GetValue<double>());

        code = CliProcess.Run(Timeout, out stdout, out stderr, "info", "--model", run["v3"]);
        Assert.True(code == 0, stderr);
        Assert.Contains("DeepSeek-V3-style (MLA + MoE + MTP ×1)", stdout, StringComparison.Ordinal);
        Assert.Matches(@"active:\s+[\d,]+ per token", stdout);
        Assert.Matches(@"kv cache:\s+320 bytes per token", stdout); // 2 layers × (d_c 32 + d_R 8) × 4 bytes
    }

    [Fact]
    public void Bench_arch_prints_a_row_per_variant_and_one_json_line_last()
    {
        int code = CliProcess.Run(Timeout, out var stdout, out var stderr, "bench", "arch", "--quick", "--steps", "8", "--threads", "1");
        Assert.True(code == 0, stderr);
        var json = JsonNode.Parse(stdout.TrimEnd().Split('\n')[^1])!;
        Assert.Equal("arch", json["bench"]!.GetValue<string>());
        var variants = json["variants"]!.AsArray();
        Assert.Equal(["llama", "mla", "moe", "moe", "v3"], variants.Select(v => v!["arch"]!.GetValue<string>()));
        Assert.All(variants, v => Assert.True(double.IsFinite(v!["val_loss"]!.GetValue<double>())));
        Assert.Equal(0.3125, variants[1]!["kv_cache_ratio_to_dense"]!.GetValue<double>());
        Assert.Contains("MLA+MoE+MTP", stdout, StringComparison.Ordinal);
    }
}
