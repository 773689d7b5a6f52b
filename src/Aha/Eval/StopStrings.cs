using Aha.Generation;
using Aha.Tokenizer;

namespace Aha.Eval;

/// <summary>
/// Stop predicates on decoded text, for the <see cref="Engine"/> (which deals in ids only). R1-style completions end
/// at <c>&lt;/answer&gt;</c>: what a model writes after it is never read by a verifier, so generating it only costs time.
/// </summary>
public static class StopStrings
{
    /// <summary>The closing answer tag that ends an R1-Zero completion.</summary>
    public const string AnswerEnd = "</answer>";

    /// <summary>Stops a row as soon as its generated text ends with one of <paramref name="stops"/> (the stop text is kept).</summary>
    public static StopPredicate After(params string[] stops)
    {
        if (stops.Length == 0 || stops.Any(string.IsNullOrEmpty)) throw new ArgumentException("give at least one non-empty stop string.", nameof(stops));
        // The byte tokenizer emits one id per byte, so the newest token can only complete a stop string that lies
        // within the last (its byte length) ids: decoding that tail keeps each check O(stop length), not O(completion).
        int longest = stops.Max(s => System.Text.Encoding.UTF8.GetByteCount(s));
        return (_, ids) =>
        {
            int n = Math.Min(ids.Count, longest);
            var tail = new int[n];
            for (int i = 0; i < n; i++) tail[i] = ids[ids.Count - n + i];
            var text = ByteTokenizer.Default.Decode(tail, skipSpecialTokens: true);
            foreach (var stop in stops)
                if (text.EndsWith(stop, StringComparison.Ordinal)) return true;
            return false;
        };
    }
}
