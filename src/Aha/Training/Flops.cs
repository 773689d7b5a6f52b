using Aha.Model;

namespace Aha.Training;

/// <summary>Matmul FLOPs per token, the numerator of MFU (nanochat's estimate).</summary>
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
}
