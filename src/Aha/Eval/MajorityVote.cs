namespace Aha.Eval;

/// <summary>
/// maj@k (cons@k in the R1 paper): the most frequent normalised answer among the first k samples. Samples with no
/// answer do not vote; a tie goes to the answer that appeared first, so the result is deterministic.
/// </summary>
public static class MajorityVote
{
    /// <summary>Index of a sample holding the winning answer, or -1 when no sample has an answer.</summary>
    public static int Winner(IReadOnlyList<string?> keys, int k)
    {
        var counts = new Dictionary<string, (int Count, int First)>();
        for (var i = 0; i < Math.Min(k, keys.Count); i++)
        {
            if (keys[i] is not { } key) continue;
            counts[key] = counts.TryGetValue(key, out var seen) ? (seen.Count + 1, seen.First) : (1, i);
        }
        if (counts.Count == 0) return -1;
        return counts.Values.OrderByDescending(v => v.Count).ThenBy(v => v.First).First().First;
    }
}
