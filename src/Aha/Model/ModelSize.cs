namespace Aha.Model;

/// <summary>
/// Sizes derived from a config alone, without building the model (for <c>aha info</c> and benchmark tables).
/// </summary>
/// <param name="TotalParameters">every parameter a checkpoint holds, MTP modules included</param>
/// <param name="ActiveParameters">parameters one token passes through at inference: embedding, attention, dense MLPs, shared
/// experts, routers and its top-k routed experts, final norm and head; MTP modules excluded (they are dropped at inference)</param>
/// <param name="MtpParameters">the part of the total in multi-token-prediction modules</param>
/// <param name="KvCacheBytesPerToken">cache held per position over all layers: 2·Hkv·D per layer, or d_c + d_R under MLA</param>
public sealed record ModelSize(long TotalParameters, long ActiveParameters, long MtpParameters, long KvCacheBytesPerToken)
{
    /// <param name="bytesPerValue">element size of the cache: 4 for float32, 2 for bfloat16</param>
    public static ModelSize Of(ModelConfig config, int bytesPerValue = 4)
    {
        config.Validate();
        long c = config.HiddenSize, v = config.VocabSize;
        long embeddings = v * c + (config.TieWordEmbeddings ? 0 : v * c) + c; // embedding, head, final norm
        long total = embeddings, active = embeddings, mtp = 0;
        for (int layer = 0; layer < config.NumHiddenLayers + config.NumNextnPredictLayers; layer++)
        {
            long shared = Attention(config) + 2 * c; // + input and post-attention norms
            long routed = 0;
            if (config.IsMoeLayer(layer))
            {
                long expert = 3 * c * config.MoeIntermediateSize!.Value;
                shared += expert * config.NSharedExperts + config.NRoutedExperts!.Value * c; // shared experts and router
                routed = expert * config.NRoutedExperts!.Value;
                if (layer < config.NumHiddenLayers) active += expert * config.NumExpertsPerTok!.Value;
            }
            else shared += 3 * c * config.IntermediateSize + (config.MlpBias ? 2 * config.IntermediateSize + c : 0);
            if (layer >= config.NumHiddenLayers)
            {
                long extra = 2 * c + 2 * c * c + c; // enorm, hnorm, eh_proj, shared_head.norm
                mtp += shared + routed + extra;
                total += shared + routed + extra;
            }
            else
            {
                total += shared + routed;
                active += shared;
            }
        }
        long cachePerLayer = config.UsesMla ? config.KvLoraRank!.Value + config.QkRopeHeadDim!.Value : 2L * config.NumKeyValueHeads * config.HeadDim;
        return new ModelSize(total, active, mtp, config.NumHiddenLayers * cachePerLayer * bytesPerValue);
    }

    static long Attention(ModelConfig config)
    {
        long c = config.HiddenSize, h = config.NumAttentionHeads, bias = config.AttentionBias ? 1 : 0;
        if (!config.UsesMla)
        {
            long d = config.HeadDim, kv = config.NumKeyValueHeads;
            long qkvBias = config.QkvBias ? h * d + 2 * kv * d : 0, oBias = config.OutputBias ? c : 0, qkNorm = config.UsesQkNorm ? 2 * d : 0;
            return c * h * d + 2 * c * kv * d + qkvBias + h * d * c + oBias + qkNorm;
        }
        long nope = config.QkNopeHeadDim!.Value, rope = config.QkRopeHeadDim!.Value, dv = config.VHeadDim!.Value, rank = config.KvLoraRank!.Value;
        long query = config.QLoraRank is > 0 and int q
            ? c * q + bias * q + q + q * h * (nope + rope) // q_a_proj, q_a_layernorm, q_b_proj
            : c * h * (nope + rope);
        return query
            + c * (rank + rope) + bias * (rank + rope) + rank // kv_a_proj_with_mqa, kv_a_layernorm
            + rank * h * (nope + dv)                        // kv_b_proj
            + h * dv * c + bias * c;                        // o_proj
    }
}
