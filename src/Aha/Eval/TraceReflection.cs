using System.Globalization;
using System.Text.RegularExpressions;

namespace Aha.Eval;

/// <summary>
/// Reflection read from what a completion does, not from the words it uses. In the reasoning (the text before
/// <c>&lt;answer&gt;</c>) every arithmetic chain ending in a value is a <b>candidate</b> evaluated: a whole sum
/// (<c>3+7-5+2=7</c>) or a running total (<c>3+7=10-5=5+2=7</c>). A candidate followed by <c>, not T</c> is an explicit
/// <b>check</b> that rejects it; a candidate that comes after a rejection is a <b>backtrack</b>. <see cref="WrongValues"/>
/// counts candidates with a wrongly written value (each step checked from the value written before it): a check that
/// looks like one but was not done (oat-zero's "superficial" reflection). <see cref="Keywords"/> is the keyword count
/// (<see cref="Training.ReflectiveWords"/>: wait, check, verify, again) for comparison.
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
        foreach (Match m in ChainPattern().Matches(reasoning))
        {
            if (!Walk(m.Value, out var length, out var correct)) continue; // no "= value": a sum written, not evaluated
            candidates++;
            if (afterRejection) backtracks++;
            if (!correct) wrong++;
            afterRejection = RejectionPattern().Match(reasoning, m.Index + length).Success;
            if (afterRejection) checks++;
        }
        return new TraceReflection(candidates, checks, backtracks, wrong, Training.ReflectiveWords.Count(completion));
    }

    // Steps through "first (op n | = v)*": each "= v" must equal the total so far, then the written v carries on.
    // The candidate ends at its last "= v" (length); numbers too long for a long make it wrong, never a throw.
    static bool Walk(string chain, out int length, out bool correct)
    {
        length = 0;
        correct = true;
        var first = FirstNumber().Match(chain);
        if (!long.TryParse(first.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var total) || total > MaxValue) correct = false;
        foreach (Match step in StepPattern().Matches(chain, first.Length))
        {
            if (step.Groups["v"].Success)
            {
                length = step.Index + step.Length;
                if (!long.TryParse(step.Groups["v"].Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var written) || Math.Abs(written) > MaxValue)
                    correct = false;
                else
                {
                    if (written != total) correct = false;
                    total = written;
                }
            }
            else if (!long.TryParse(step.Groups["n"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n > MaxValue) correct = false;
            else total += step.Groups["op"].Value == "-" ? -n : n;
        }
        return length > 0;
    }

    const long MaxValue = 1_000_000_000;

    [GeneratedRegex(@"(?<!\d)\d+(?:\s*[+-]\s*\d+(?:\s*=\s*-?\d+)?)+")]
    private static partial Regex ChainPattern();

    [GeneratedRegex(@"^\d+")]
    private static partial Regex FirstNumber();

    [GeneratedRegex(@"\s*(?:(?<op>[+-])\s*(?<n>\d+)|=\s*(?<v>-?\d+))")]
    private static partial Regex StepPattern();

    [GeneratedRegex(@"\G\s*,?\s*not\s+-?\d+")]
    private static partial Regex RejectionPattern();
}
