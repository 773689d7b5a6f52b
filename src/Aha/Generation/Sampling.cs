using static TorchSharp.torch;

namespace Aha.Generation;

/// <summary>Turns last-position logits into the distribution a row samples from.</summary>
internal static class Sampling
{
    /// <summary>Log-probabilities (B, V) after temperature, top-k and top-p; filtered tokens get −∞.</summary>
    public static Tensor LogProbs(Tensor logits /* (B, V) */, SamplingOptions options)
    {
        using var scope = NewDisposeScope();
        var z = logits.to(float32) / options.Temperature;
        long vocab = z.shape[1];
        if (options.TopK > 0 && options.TopK < vocab)
        {
            var kth = z.topk(options.TopK).values.narrow(-1, options.TopK - 1, 1); // (B, 1)
            z = z.masked_fill(z.lt(kth), double.NegativeInfinity);
        }
        if (options.TopP < 1)
        {
            var (sorted, order) = z.sort(-1, descending: true);        // (B, V)
            var probs = sorted.softmax(-1);
            var before = probs.cumsum(-1) - probs;                     // mass of the strictly more likely tokens
            var dropSorted = before.ge(options.TopP);                  // the most likely token always stays (before = 0)
            var drop = zeros_like(dropSorted).scatter(-1, order, dropSorted); // back to vocabulary order
            z = z.masked_fill(drop, double.NegativeInfinity);
        }
        return scope.MoveToOuter(z.log_softmax(-1));
    }
}
