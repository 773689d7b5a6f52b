using System.Globalization;

namespace Aha.Faults;

/// <summary>
/// The tiny runs the kill harness drives, one per trainer, with a checkpoint after every step so kills often land in or
/// near a save. SFT and GRPO start from a tiny pretrained base made by <see cref="BaseModel"/>.
/// </summary>
public static class KillCampaigns
{
    static string S(int v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>Arguments of a one-step pretraining run whose checkpoint serves as the SFT and GRPO base (context 128).</summary>
    public static IReadOnlyList<string> BaseModel(string outDir, int threads) =>
        ["pretrain", "--out", outDir, "--model-size", "tiny", "--batch-size", "1", "--seq-len", "128", "--steps", "1", "--eval-every", "0", "--threads", S(threads), "--device", "cpu"];

    /// <summary>Pretraining with validation every 4 steps and --keep-last 2 pruning.</summary>
    public static KillCampaign Pretrain(int kills, int steps, int threads, int seed) => new("pretrain",
        ["pretrain", "--model-size", "tiny", "--batch-size", "2", "--seq-len", "32", "--steps", S(steps), "--save-every", "1", "--keep-last", "2",
         "--eval-every", "4", "--log-every", "1000", "--threads", S(threads), "--device", "cpu"], kills, seed);

    /// <summary>SFT on the built-in conversations; with <paramref name="lora"/>, LoRA adapters (r 2) whose checkpoints are adapter folders.</summary>
    public static KillCampaign Sft(string baseModel, int kills, int steps, int threads, int seed, bool lora = false) => new(lora ? "sft-lora" : "sft",
        ["sft", "--model", baseModel, "--batch-size", "2", "--seq-len", "64", "--steps", S(steps), "--save-every", "1", "--keep-last", "2",
         "--eval-every", "4", "--log-every", "1000", "--threads", S(threads), "--device", "cpu",
         .. (lora ? new[] { "--lora-rank", "2", "--lora-targets", "q_proj,v_proj,down_proj", "--lr", "1e-2" } : [])], kills, seed);

    /// <summary>
    /// GRPO on the synthetic addition task with a reference reset every 3 steps, so kills land before, inside and after
    /// the save that first carries reference.safetensors, and resumes past a reset must restore the reset reference.
    /// </summary>
    public static KillCampaign Grpo(string baseModel, int kills, int steps, int threads, int seed) => new("grpo",
        ["grpo", "--model", baseModel, "--task", "addition", "--prompts", "2", "--group-size", "2", "--max-tokens", "8", "--steps", S(steps),
         "--save-every", "1", "--ref-reset", "3", "--threads", S(threads), "--device", "cpu"], kills, seed, MeanStepSeconds: 0.6);
}
