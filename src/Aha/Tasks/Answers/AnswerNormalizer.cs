namespace Aha.Tasks.Answers;

/// <summary>
/// Turns an extracted answer into a <see cref="NormalizedAnswer"/>. Never throws; returns null for nothing usable.
/// An answer is a number when, after LaTeX cleaning, it holds exactly one number token and the text around it is
/// words (<c>18 dollars</c>, <c>x = 5</c>: everything up to the last <c>=</c> is dropped), optional currency before
/// and percent after. A letter touching the number (<c>2x</c>), an operator, a bracket or a second number makes it text.
/// Text keys drop all whitespace; case and everything else is kept.
/// </summary>
public static class AnswerNormalizer
{
    static readonly char[] Currency = ['$', '€', '£', '¥', '₹'];

    public static NormalizedAnswer? Normalize(string? answer, EquivalenceOptions? options = null)
    {
        options ??= EquivalenceOptions.Default;
        if (string.IsNullOrWhiteSpace(answer) || answer.Length > options.MaxLength) return null;
        var cleaned = LatexCleaner.Clean(answer);
        if (cleaned.Length == 0) return null;
        if (AsNumber(cleaned, options) is { } number) return new NormalizedAnswer(number.ToString(), number);
        var key = string.Concat(cleaned.Where(c => !char.IsWhiteSpace(c)));
        return key.Length == 0 ? null : new NormalizedAnswer(key, null);
    }

    static Rational? AsNumber(string text, EquivalenceOptions options)
    {
        // "2 + 3 = 5" states its result last: the value is what follows the last '='.
        var equals = text.LastIndexOf('=');
        if (equals >= 0) text = text[(equals + 1)..];
        var tokens = NumberScanner.Scan(text, options.MaxDigits);
        if (tokens.Count != 1 || tokens[0].Value is not { } value) return null;
        var token = tokens[0];
        var before = text[..token.Start];
        var after = text[token.End..];

        var trimmedBefore = before.TrimEnd();
        if (trimmedBefore.Length > 0 && Currency.Contains(trimmedBefore[^1]))
        {
            if (!options.StripCurrency) return null;
            before = trimmedBefore[..^1];
        }
        var trimmedAfter = after.TrimStart();
        if (trimmedAfter.StartsWith('%'))
        {
            if (!options.StripPercent) return null;
            after = trimmedAfter[1..];
        }
        if (before.Length > 0 && char.IsLetter(before[^1])) return null;
        if (after.Length > 0 && char.IsLetter(after[0])) return null;
        return IsWords(before) && IsWords(after) ? value : null;
    }

    // Surrounding text may be words and sentence punctuation, nothing mathematical.
    static bool IsWords(string text) =>
        text.All(c => char.IsLetter(c) || char.IsWhiteSpace(c) || c is '.' or ',' or ':' or ';' or '!' or '?' or '\'' or '"');
}
