using System.Globalization;
using System.Text.RegularExpressions;

namespace Aha.Eval;

/// <summary>
/// Reflection read from what a completion does, not from the words it uses: in the reasoning (the text before
/// <c>&lt;answer&gt;</c>) every <c>E=V</c> with E numbers joined by + and − is a <b>candidate</b> evaluated; a candidate
/// followed by <c>, not T</c> is an explicit <b>check</b> that rejects it; a candidate that comes after a rejection is a
/// <b>backtrack</b>. <see cref="WrongValues"/> counts candidates whose written value is not what E evaluates to: a
/// check that looks like one but was not done (oat-zero's "superficial" reflection). <see cref="Keywords"/> is the
/// keyword count (<see cref="Training.ReflectiveWords"/>: wait, check, verify, again) for comparison.
/// </summary>
public sealed partial record TraceReflection(int Candidates, int Checks, int Backtracks, int WrongValues, int Keywords)
{
    /// <summary>Behaviour-level reflection: the completion rejected a candidate and tried another.</summary>
    public bool Reflected => Backtracks > 0;

    public static TraceReflection Parse(string completion)
    {
        var end = completion.IndexOf("<answer>", StringComparison.Ordinal);
        var reasoning = end < 0 ? completion : completion[..end];
        int candidates = 0, checks = 0, backtracks = 0, wrong = 0;
        var afterRejection = false;
        foreach (Match m in CandidatePattern().Matches(reasoning))
        {
            candidates++;
            if (afterRejection) backtracks++;
            if (!long.TryParse(m.Groups["v"].Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var written) || Evaluate(m.Groups["e"].Value) != written)
                wrong++;
            afterRejection = m.Groups["not"].Success;
            if (afterRejection) checks++;
        }
        return new TraceReflection(candidates, checks, backtracks, wrong, Training.ReflectiveWords.Count(completion));
    }

    // E is digits joined by + and -, matched by the pattern; a number too long for a long makes the value "wrong", never a throw.
    static long? Evaluate(string expression)
    {
        long value = 0;
        var sign = 1;
        foreach (Match term in TermPattern().Matches(expression))
        {
            if (term.Groups["s"].Success) sign = term.Groups["s"].Value == "-" ? -1 : 1;
            if (!long.TryParse(term.Groups["n"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n > 1_000_000_000) return null;
            value += sign * n;
        }
        return value;
    }

    [GeneratedRegex(@"(?<e>\d+(?:\s*[+-]\s*\d+)+)\s*=\s*(?<v>-?\d+)(?<not>\s*,?\s*not\s+-?\d+)?")]
    private static partial Regex CandidatePattern();

    [GeneratedRegex(@"(?<s>[+-])?\s*(?<n>\d+)")]
    private static partial Regex TermPattern();
}
