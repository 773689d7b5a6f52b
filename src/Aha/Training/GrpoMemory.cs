using Aha.Model;

namespace Aha.Training;

/// <summary>
/// What a GRPO step holds in memory, estimated from the shapes (no run): the policy's weights; for a full fine-tune
/// their gradients, AdamW's two moments and (β > 0) a reference copy; for LoRA only the adapters' weights, gradients and
/// moments (the reference is the base with adapters off); plus the update's activations — per token and layer about
/// 10·hidden + 4·intermediate saved values, and <see cref="VocabCopies"/> vocabulary-wide fp32 tensors per token (logits,
/// log-softmax, the entropy's softmax, their gradients) — and a fixed runtime (libtorch and .NET) of about 400 MiB.
/// Generation's KV cache is counted; it is small next to these. All rollouts of a minibatch are scored at once, so the
/// activations grow with rows × tokens: split a large group with --minibatches.
/// </summary>
public static class GrpoMemory
{
    /// <summary>libtorch, the .NET runtime and the tokenizer, measured as the RSS of a loaded tiny model (rounded up).</summary>
    public const long RuntimeBytes = 400L << 20;

    /// <summary>
    /// Vocabulary-wide fp32 tensors alive per token at the update's peak. 3 (logits, log-softmax, gradient) undershot
    /// `aha bench grpo-memory` by 38% (LoRA) and 22% (full) on Qwen2.5-0.5B's shape; 12 is calibrated on that one
    /// measurement (8 rows × 84 tokens, vocab 151,936), so treat other shapes' estimates as ±20%.
    /// </summary>
    public const int VocabCopies = 12;

    /// <summary>The breakdown in bytes; <paramref name="computeBytes"/> is 4 for float32, 2 for bfloat16.</summary>
    public static Estimate Of(ModelConfig config, LoraConfig? lora, int rows, int tokensPerRow, int computeBytes = 4, bool reference = true)
    {
        long parameters = ModelSize.Of(config).TotalParameters;
        long weights = parameters * computeBytes;
        long adapters = lora is null ? 0 : AdapterParameters(config, lora);
        long training = lora is null
            ? parameters * computeBytes * 3 + (reference ? weights : 0)  // gradients, exp_avg, exp_avg_sq (+ reference copy)
            : adapters * 4 * 4;                                           // fp32 adapters: weights, gradients, two moments
        long tokens = (long)rows * tokensPerRow;
        long activations = tokens * config.NumHiddenLayers * (10L * config.HiddenSize + 4L * config.IntermediateSize) * computeBytes
            + tokens * config.VocabSize * 4L * VocabCopies;
        long cache = (long)rows * tokensPerRow * config.NumHiddenLayers * 2L * config.NumKeyValueHeads * config.HeadDim * computeBytes;
        return new Estimate(weights, training, activations + cache, RuntimeBytes, adapters);
    }

    /// <summary>Parameters of the adapters: r × (in + out) per targeted projection per layer.</summary>
    public static long AdapterParameters(ModelConfig config, LoraConfig lora)
    {
        long c = config.HiddenSize, q = (long)config.NumAttentionHeads * config.HeadDim, kv = (long)config.NumKeyValueHeads * config.HeadDim, i = config.IntermediateSize;
        var sizes = new Dictionary<string, long>
        {
            ["q_proj"] = c + q, ["k_proj"] = c + kv, ["v_proj"] = c + kv, ["o_proj"] = q + c, ["gate_proj"] = c + i, ["up_proj"] = c + i, ["down_proj"] = i + c,
        };
        return lora.Targets.Sum(t => sizes[t]) * lora.Rank * config.NumHiddenLayers;
    }

    /// <summary>Bytes by part; <see cref="Total"/> is what to plan for.</summary>
    public sealed record Estimate(long Weights, long Training, long Activations, long Runtime, long AdapterParameters)
    {
        public long Total => Weights + Training + Activations + Runtime;
    }
}
