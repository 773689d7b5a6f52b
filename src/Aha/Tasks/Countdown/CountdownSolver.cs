namespace Aha.Tasks.Countdown;

/// <summary>
/// Exhaustive search for a Countdown solution: repeatedly combine two of the remaining values with one of the six
/// ordered operations. Exact fractions in longs (puzzle values are small; an overflowing branch is skipped, never
/// wrong). A few thousand nodes for four numbers, so 10,000 puzzles solve in about a second.
/// </summary>
public static class CountdownSolver
{
    /// <summary>A fully parenthesised expression reaching the target, or null when none exists.</summary>
    public static string? Solve(IReadOnlyList<int> numbers, int target, bool exactlyOnce)
    {
        var values = numbers.Select(n => new Fraction(n, 1)).ToList();
        var texts = numbers.Select(n => n.ToString()).ToList();
        return Search(values, texts, new Fraction(target, 1), exactlyOnce);
    }

    readonly record struct Fraction(long Numerator, long Denominator)
    {
        public static Fraction Of(long n, long d)
        {
            if (d < 0) (n, d) = (-n, -d);
            var g = Gcd(Math.Abs(n), d);
            return g > 1 ? new Fraction(n / g, d / g) : new Fraction(n, d);
        }

        static long Gcd(long a, long b) { while (b != 0) (a, b) = (b, a % b); return a == 0 ? 1 : a; }
    }

    static string? Search(List<Fraction> values, List<string> texts, Fraction target, bool exactlyOnce)
    {
        if (!exactlyOnce && values.IndexOf(target) is var at and >= 0) return texts[at];
        if (values.Count == 1) return exactlyOnce && values[0] == target ? texts[0] : null;
        for (var i = 0; i < values.Count; i++)
        for (var j = i + 1; j < values.Count; j++)
        {
            var (a, b) = (values[i], values[j]);
            var restValues = new List<Fraction>(values.Count - 1);
            var restTexts = new List<string>(values.Count - 1);
            for (var k = 0; k < values.Count; k++)
                if (k != i && k != j) { restValues.Add(values[k]); restTexts.Add(texts[k]); }
            for (var op = 0; op < 6; op++)
            {
                if (!TryCombine(a, b, op, out var value)) continue;
                var text = op switch
                {
                    0 => $"({texts[i]} + {texts[j]})",
                    1 => $"({texts[i]} - {texts[j]})",
                    2 => $"({texts[j]} - {texts[i]})",
                    3 => $"({texts[i]} * {texts[j]})",
                    4 => $"({texts[i]} / {texts[j]})",
                    _ => $"({texts[j]} / {texts[i]})",
                };
                restValues.Add(value);
                restTexts.Add(text);
                var found = Search(restValues, restTexts, target, exactlyOnce);
                if (found is not null) return found;
                restValues.RemoveAt(restValues.Count - 1);
                restTexts.RemoveAt(restTexts.Count - 1);
            }
        }
        return null;
    }

    static bool TryCombine(Fraction a, Fraction b, int op, out Fraction result)
    {
        result = default;
        try
        {
            checked
            {
                switch (op)
                {
                    case 0: result = Fraction.Of(a.Numerator * b.Denominator + b.Numerator * a.Denominator, a.Denominator * b.Denominator); return true;
                    case 1: result = Fraction.Of(a.Numerator * b.Denominator - b.Numerator * a.Denominator, a.Denominator * b.Denominator); return true;
                    case 2: result = Fraction.Of(b.Numerator * a.Denominator - a.Numerator * b.Denominator, a.Denominator * b.Denominator); return true;
                    case 3: result = Fraction.Of(a.Numerator * b.Numerator, a.Denominator * b.Denominator); return true;
                    case 4: if (b.Numerator == 0) return false; result = Fraction.Of(a.Numerator * b.Denominator, a.Denominator * b.Numerator); return true;
                    default: if (a.Numerator == 0) return false; result = Fraction.Of(b.Numerator * a.Denominator, b.Denominator * a.Numerator); return true;
                }
            }
        }
        catch (OverflowException) { return false; }
    }
}
