using Aha.Preferences;
using Aha.Tokenizer;

namespace Aha.Training;

/// <summary>
/// A preference pair as the reward trainer uses it: its ids (<see cref="EncodedPair"/>), its margin (0 when the data
/// gives none), and, when known, whether each completion is correct by the task's verifier — the truth the reward
/// model's ranking is checked against, independent of the (possibly noisy) label.
/// </summary>
/// <param name="Target">The probability that the chosen completion is the better one: 1 for a hard label, the judge's for a soft one.</param>
public sealed record RewardPair(EncodedPair Ids, double Margin, bool? ChosenCorrect = null, bool? RejectedCorrect = null, double Target = 1)
{
    /// <summary>Encodes <paramref name="pair"/>, keeping its margin, verifier verdicts (<see cref="PreferencePair.Correct"/>) and soft label.</summary>
    public static RewardPair From(ITokenizer tokenizer, PreferencePair pair, int maxLength) =>
        new(EncodedPair.Encode(tokenizer, pair, maxLength), pair.Margin ?? 0, pair.Correct?.Chosen, pair.Correct?.Rejected, pair.ChosenProbability ?? 1);

    /// <summary>Prompt + chosen ids.</summary>
    public int[] ChosenRow => [.. Ids.Prompt, .. Ids.Chosen];
    /// <summary>Prompt + rejected ids.</summary>
    public int[] RejectedRow => [.. Ids.Prompt, .. Ids.Rejected];
    /// <summary>Exactly one of the two completions is correct, so the truth says which should score higher.</summary>
    public bool Decisive => ChosenCorrect is { } c && RejectedCorrect is { } r && c != r;
}
