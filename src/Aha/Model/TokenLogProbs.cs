using static TorchSharp.torch;

namespace Aha.Model;

/// <summary>Per-token log-probabilities of a sequence under a model, as policy-gradient trainers need them.</summary>
public static class TokenLogProbs
{
    /// <summary>log p(x_t | x_&lt;t) for t = 1..T−1: (B, T−1). Differentiable unless called under no_grad.</summary>
    /// <param name="inputIds">(B, T) prompt and completion, left-padded</param>
    /// <param name="attentionMask">(B, T), 1 = real, 0 = pad; positions follow the real tokens. Entries at pads are meaningless: mask them.</param>
    /// <param name="temperature">divides the logits first, to score samples drawn at that temperature</param>
    public static Tensor Compute(LlamaModel model, Tensor inputIds, Tensor? attentionMask = null, double temperature = 1.0) =>
        Compute(model, inputIds, attentionMask, temperature, withEntropy: false).LogProbs;

    /// <summary>As <see cref="Compute(LlamaModel, Tensor, Tensor?, double)"/>, plus the entropy of each predictive distribution: (B, T−1) each.</summary>
    public static (Tensor LogProbs, Tensor Entropy) ComputeWithEntropy(LlamaModel model, Tensor inputIds, Tensor? attentionMask = null, double temperature = 1.0)
    {
        var (logProbs, entropy) = Compute(model, inputIds, attentionMask, temperature, withEntropy: true);
        return (logProbs, entropy!);
    }

    static (Tensor LogProbs, Tensor? Entropy) Compute(LlamaModel model, Tensor inputIds, Tensor? attentionMask, double temperature, bool withEntropy)
    {
        if (temperature <= 0) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "temperature must be positive to score tokens.");
        using var scope = NewDisposeScope();
        long t = inputIds.shape[1];
        var hidden = model.Hidden(inputIds, attentionMask: attentionMask).narrow(1, 0, t - 1); // (B, T−1, C): the last position predicts nothing here
        var logits = model.Logits(hidden).to(float32);                                         // (B, T−1, V)
        if (temperature != 1.0) logits = logits / temperature;
        var targets = inputIds.narrow(1, 1, t - 1).unsqueeze(-1);                               // (B, T−1, 1)
        // gather − logsumexp equals log_softmax + gather without materialising a second (B, T−1, V) tensor.
        var normaliser = logits.logsumexp(-1);                                                  // (B, T−1)
        var logProbs = logits.gather(-1, targets).squeeze(-1) - normaliser;
        if (!withEntropy) return (scope.MoveToOuter(logProbs), null);
        var entropy = normaliser - (logits.softmax(-1) * logits).sum(-1);                      // H = logZ − E[z]
        return (scope.MoveToOuter(logProbs), scope.MoveToOuter(entropy));
    }
}
