using Aha.Checkpoints;
using Aha.Tests.Model;

namespace Aha.Tests.Training;

/// <summary>
/// A run started from a BF16-stored checkpoint saves its step checkpoints in BF16 (the family layout) and keeps the float32
/// master weights in optimizer.safetensors, so `aha sft --resume` continues bit-identically to the uninterrupted run.
/// </summary>
public class Bf16ResumeTests
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    static string[] Sft(string model, string data, string dir, int steps, params string[] extra) =>
    [
        "sft", "--model", model, "--out", dir, "--data", data, "--val-fraction", "0", "--steps", steps.ToString(), "--batch-size", "2",
        "--seq-len", "32", "--lr", "1e-3", "--warmup", "1", "--eval-every", "0", "--save-every", "2", "--threads", "1", "--device", "cpu", .. extra,
    ];

    [Fact]
    public void An_sft_run_resumed_from_a_bf16_step_checkpoint_equals_the_uninterrupted_run_bit_for_bit()
    {
        using var temp = new TempDirectory();
        string model = FamilyGolden.CopyWithTokenizer("qwen2", temp); // BF16, two shards, byte tokenizer
        string data = temp["chat.jsonl"];
        File.WriteAllLines(data, Enumerable.Range(0, 6).Select(i =>
            $$"""{"messages": [{"role": "user", "content": "{{i}}+{{i}}?"}, {"role": "assistant", "content": "{{2 * i}}"}]}"""));

        string whole = temp["whole"], split = temp["split"];
        Assert.True(CliProcess.Run(Timeout, out _, out var stderr, Sft(model, data, whole, 4)) == 0, stderr);
        Assert.True(CliProcess.Run(Timeout, out _, out stderr, Sft(model, data, split, 2)) == 0, stderr);
        Assert.True(CliProcess.Run(Timeout, out _, out stderr, ["sft", "--out", split, "--resume", "--steps", "4", "--threads", "1", "--device", "cpu"]) == 0, stderr);
        Assert.Contains("resuming from", stderr, StringComparison.Ordinal);

        string a = Checkpoint.LoadLatest(whole).Directory, b = Checkpoint.LoadLatest(split).Directory;
        Assert.Equal("step-000004", Path.GetFileName(b));
        // The step checkpoint keeps the family layout (BF16 weights) and carries float32 masters of every weight.
        var weights = SafeTensors.ReadHeader(Path.Combine(b, Checkpoint.ModelFile));
        Assert.All(weights.Tensors, t => Assert.Equal("BF16", t.Dtype));
        var optimizer = SafeTensors.ReadHeader(Path.Combine(b, Checkpoint.OptimizerFile));
        Assert.All(weights.Tensors, t => Assert.Equal("F32", optimizer.Find(MasterWeights.Prefix + t.Name)?.Dtype));
        foreach (var file in new[] { Checkpoint.ModelFile, Checkpoint.OptimizerFile })
            Assert.True(File.ReadAllBytes(Path.Combine(a, file)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(b, file))), $"{file} differs between the resumed and the uninterrupted run");
        Assert.Null(Checkpoint.Validate(b));
    }
}
