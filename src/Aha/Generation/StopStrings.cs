using Aha.Tokenizer;

namespace Aha.Generation;

/// <summary>Stop predicates on decoded text, for the <see cref="Engine"/> (which deals in ids only).</summary>
public static class StopStrings
{
    /// <summary>Stops a row as soon as its generated text (special tokens skipped) ends with one of <paramref name="stops"/>; the stop text is kept.</summary>
    public static StopPredicate After(ITokenizer tokenizer, IReadOnlyList<string> stops)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        if (stops.Count == 0 || stops.Any(string.IsNullOrEmpty)) throw new ArgumentException("give at least one non-empty stop string.", nameof(stops));
        // Every token that is not skipped as special decodes to at least one byte (byte-level BPE included), so the newest
        // token can only complete a stop string that lies within the last (its byte length) ids: decoding that tail keeps
        // each check O(stop length), not O(completion).
        int longest = stops.Max(s => System.Text.Encoding.UTF8.GetByteCount(s));
        string[] copy = [.. stops];
        return (_, ids) =>
        {
            int n = Math.Min(ids.Count, longest);
            var tail = new int[n];
            for (int i = 0; i < n; i++) tail[i] = ids[ids.Count - n + i];
            var text = tokenizer.Decode(tail, skipSpecialTokens: true);
            foreach (var stop in copy)
                if (text.EndsWith(stop, StringComparison.Ordinal)) return true;
            return false;
        };
    }
}
