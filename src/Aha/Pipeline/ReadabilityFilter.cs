using System.Text;
using Aha.Tasks.Rewards;

namespace Aha.Pipeline;

/// <summary>
/// The readability filters of R1's rejection sampling (stage 3): a kept sample is written in one script, bounded in
/// length and free of runaway repetition. Each rule has a name, so a run can log how many samples each one rejected.
/// </summary>
/// <param name="MaxTokens">Longest completion kept, in tokens; a completion cut at the generation limit is always rejected.</param>
/// <param name="Script">The one script letters may come from (digits, symbols and spaces are free).</param>
/// <param name="MaxRepeats">A unit repeated back to back this many times (or more) is runaway repetition…</param>
/// <param name="MinRepeatChars">…when the repeated stretch is at least this many characters (so "1000000" or "...." pass).</param>
/// <param name="MaxPeriod">Longest repeated unit looked for, in characters.</param>
public sealed record ReadabilityFilter(int MaxTokens = 128, Script Script = Script.Latin, int MaxRepeats = 4, int MinRepeatChars = 16, int MaxPeriod = 40)
{
    public const string TooLong = "too_long";
    public const string MixedScript = "mixed_script";
    public const string Repetition = "repetition";

    /// <summary>The rule names in the order they are applied.</summary>
    public static IReadOnlyList<string> Rules { get; } = [TooLong, MixedScript, Repetition];

    public ReadabilityFilter Validate()
    {
        void Require(bool ok, string message) { if (!ok) throw new ArgumentException($"readability filter: {message}"); }
        Require(MaxTokens > 0, $"max tokens must be positive (got {MaxTokens}).");
        Require(MaxRepeats >= 2, $"max repeats must be at least 2 (got {MaxRepeats}); a unit seen once is not a repeat.");
        Require(MinRepeatChars >= 1, $"min repeat chars must be positive (got {MinRepeatChars}).");
        Require(MaxPeriod >= 1, $"max period must be positive (got {MaxPeriod}).");
        return this;
    }

    /// <summary>The first rule <paramref name="text"/> breaks (<see cref="TooLong"/>, <see cref="MixedScript"/>, <see cref="Repetition"/>), or null when it passes all.</summary>
    public string? Reject(string text, int tokens, bool truncated)
    {
        if (truncated || tokens > MaxTokens) return TooLong;
        if (HasMixedScripts(text)) return MixedScript;
        if (LongestRepeat(text, MaxPeriod, MinRepeatChars) >= MaxRepeats) return Repetition;
        return null;
    }

    /// <summary>True when a letter outside <see cref="Script"/> appears (R1's "mixed languages"); text without letters is not mixed.</summary>
    public bool HasMixedScripts(string text)
    {
        bool anyLetter = text.EnumerateRunes().Any(Rune.IsLetter);
        return anyLetter && new LanguageConsistencyReward(Script).Share(text) < 1f;
    }

    /// <summary>
    /// The most back-to-back copies of any unit of 1…<paramref name="maxPeriod"/> characters whose run spans at least
    /// <paramref name="minChars"/> characters: "ab ab ab ab" has 4 copies of "ab " (the last without its space); 1 when nothing qualifies.
    /// </summary>
    public static int LongestRepeat(string text, int maxPeriod, int minChars)
    {
        int best = 1;
        for (int period = 1; period <= maxPeriod && period < text.Length; period++)
        {
            int run = 0; // positions i with text[i] == text[i + period], consecutively
            for (int i = 0; i + period < text.Length; i++)
            {
                run = text[i] == text[i + period] ? run + 1 : 0;
                int span = run + period; // characters covered by the repeating stretch
                if (span >= minChars) best = Math.Max(best, (span + period - 1) / period); // a last copy may lack its separator
            }
        }
        return best;
    }
}
