namespace Aha.Tasks.Answers;

/// <summary>
/// Decides whether a predicted answer means the gold answer. A numeric gold needs a numeric prediction of exactly
/// the same rational value (<c>0.75</c> = <c>3/4</c> = <c>\frac{3}{4}</c>, but <c>0.333</c> ≠ <c>1/3</c>); a text gold
/// needs the same text key. Empty or unparseable predictions are wrong, never exceptions.
/// </summary>
public static class AnswerEquivalence
{
    public static bool AreEquivalent(string? predicted, string? gold, EquivalenceOptions? options = null)
    {
        var g = AnswerNormalizer.Normalize(gold, options);
        var p = AnswerNormalizer.Normalize(predicted, options);
        return g is not null && p is not null && p.Matches(g);
    }
}
