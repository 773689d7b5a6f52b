using Aha.Model;

namespace Aha.Training;

/// <summary>Matmul FLOPs per token, the numerator of MFU (nanochat's estimate), and per pass over rows of real tokens (the compute budget of <c>aha compare</c>).</summary>
public static class Flops
{
    /// <summary>Parameters that multiply activations: all but the embedding lookup (a tied embedding is the head, so it counts).</summary>
    public static long MatmulParameters(ModelConfig config, long totalParameters) =>
        config.TieWordEmbeddings ? totalParameters : totalParameters - (long)config.VocabSize * config.HiddenSize;

    /// <summary>Forward + backward: 6 per matmul weight, plus attention scores and mixing, 12·L·C·T (T = context length).</summary>
    public static double TrainingPerToken(ModelConfig config, long totalParameters, int sequenceLength) =>
        6.0 * MatmulParameters(config, totalParameters) + 12.0 * config.NumHiddenLayers * config.HiddenSize * sequenceLength;

    /// <summary>Forward only with a KV cache: 2 per matmul weight (attention over the cache ignored, as is usual).</summary>
    public static double InferencePerToken(ModelConfig config, long totalParameters) =>
        2.0 * MatmulParameters(config, totalParameters);

    /// <summary>
    /// The matmul parameters one token of <paramref name="model"/> passes through: every weight of a dense model (a reward
    /// model's score head instead of the LM head), the active experts of an MoE model; the embedding lookup excluded.
    /// </summary>
    public static long MatmulParameters(LlamaModel model)
    {
        var config = model.Config;
        long total = config.UsesMoe ? ModelSize.Of(config).ActiveParameters : model.parameters().Sum(p => p.numel());
        return MatmulParameters(config, total);
    }

    /// <summary>
    /// One forward over rows holding <paramref name="tokens"/> real tokens in all (padding not counted), Σ length² =
    /// <paramref name="squaredTokens"/>: 2 per matmul weight per token, plus 4·L·C·n per token of an n-token row for the
    /// attention scores and mixing (the training count's 12·L·C·T over three). Generation costs the same as one forward over
    /// the finished row (prefill, then one cached step per completion token); a training pass is three forwards.
    /// </summary>
    public static double Forward(ModelConfig config, long matmulParameters, long tokens, double squaredTokens) =>
        2.0 * matmulParameters * tokens + 4.0 * config.NumHiddenLayers * config.HiddenSize * squaredTokens;

    /// <summary>One forward over rows of these lengths, for a model of <paramref name="config"/> with <paramref name="matmulParameters"/> (see <see cref="MatmulParameters(LlamaModel)"/>; trainers count them once).</summary>
    public static double Forward(ModelConfig config, long matmulParameters, IEnumerable<int> rowLengths)
    {
        long tokens = 0;
        double squared = 0;
        foreach (int n in rowLengths) { tokens += n; squared += (double)n * n; }
        return Forward(config, matmulParameters, tokens, squared);
    }
}
