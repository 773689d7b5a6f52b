using System.Numerics;

namespace Aha.Tasks.Answers;

/// <summary>A number found in text: where it is, how it was written, and its exact value (null when too long or x/0).</summary>
readonly record struct NumberToken(int Start, int End, string Text, Rational? Value);

/// <summary>
/// Finds number tokens left to right in one pass: <c>-1,234.5</c>, <c>+7</c>, <c>.5</c>, <c>3/4</c>,
/// <c>\frac{3}{4}</c>, <c>\frac34</c>. A sign belongs to the number only when it cannot be a binary operator
/// (<c>3-5</c> is two numbers, <c>x = -5</c> is one). Commas group thousands only in threes after one to three
/// digits (<c>1,234</c>), so <c>3,4</c> stays a list of two numbers.
/// </summary>
static class NumberScanner
{
    const int MaxFracArgument = 1000;

    /// <summary>Tokens in order; digit strings longer than <paramref name="maxDigits"/> are not parsed (value null).</summary>
    public static List<NumberToken> Scan(string s, int maxDigits)
    {
        var tokens = new List<NumberToken>();
        int[]? braces = null;
        var i = 0;
        while (i < s.Length)
        {
            var c = s[i];
            if (c == '\\' && string.CompareOrdinal(s, i, "\\frac", 0, 5) == 0)
            {
                braces ??= BraceMatcher.Match(s);
                if (TryFrac(s, i, braces, maxDigits, out var end, out var value))
                {
                    var start = SignStart(s, i);
                    var signed = value is { } v && start < i && s[start] == '-' ? -v : value;
                    tokens.Add(new NumberToken(start, end, s[start..end], signed));
                    i = end;
                }
                else i += 5;
                continue;
            }
            var leadingPoint = c == '.' && i + 1 < s.Length && char.IsAsciiDigit(s[i + 1]) && (i == 0 || !char.IsAsciiDigit(s[i - 1]));
            if (!char.IsAsciiDigit(c) && !leadingPoint) { i++; continue; }
            {
                var start = SignStart(s, i);
                var end = ReadDecimal(s, i, out var digits, out var scale);
                var value = ToRational(digits, scale, maxDigits);
                if (end + 1 < s.Length && s[end] == '/' && (char.IsAsciiDigit(s[end + 1]) || s[end + 1] == '.'))
                {
                    end = ReadDecimal(s, end + 1, out var denDigits, out var denScale);
                    var denominator = ToRational(denDigits, denScale, maxDigits);
                    value = value is { } n && denominator is { } d && Rational.TryDivide(n, d, out var q) ? q : null;
                }
                if (value is { } v && start < i && s[start] == '-') value = -v;
                tokens.Add(new NumberToken(start, end, s[start..end], value));
                i = end;
            }
        }
        return tokens;
    }

    /// <summary>Parses a whole string as one signed decimal (no fractions), e.g. a \frac argument.</summary>
    public static Rational? ParseDecimal(string s, int maxDigits)
    {
        s = s.Trim();
        var negative = s.StartsWith('-');
        if (negative || s.StartsWith('+')) s = s[1..].TrimStart();
        if (s.Length == 0 || !(char.IsAsciiDigit(s[0]) || s[0] == '.')) return null;
        var end = ReadDecimal(s, 0, out var digits, out var scale);
        if (end != s.Length || ToRational(digits, scale, maxDigits) is not { } value) return null;
        return negative ? -value : value;
    }

    static int SignStart(string s, int i)
    {
        if (i == 0 || (s[i - 1] != '-' && s[i - 1] != '+')) return i;
        if (i >= 2 && (char.IsLetterOrDigit(s[i - 2]) || s[i - 2] is ')' or ']' or '}' or '.' or '_' or '^')) return i;
        return i - 1;
    }

    // Reads digits[,ddd]*[.digits]; returns the end index, the digits without separators and the count after the point.
    static int ReadDecimal(string s, int i, out string digits, out int scale)
    {
        var start = i;
        var buffer = new System.Text.StringBuilder();
        while (i < s.Length && char.IsAsciiDigit(s[i])) buffer.Append(s[i++]);
        if (i - start is >= 1 and <= 3)
        {
            while (i + 3 < s.Length && s[i] == ',' && char.IsAsciiDigit(s[i + 1]) && char.IsAsciiDigit(s[i + 2]) && char.IsAsciiDigit(s[i + 3])
                   && (i + 4 == s.Length || !char.IsAsciiDigit(s[i + 4])))
            {
                buffer.Append(s, i + 1, 3);
                i += 4;
            }
        }
        scale = 0;
        if (i + 1 < s.Length && s[i] == '.' && char.IsAsciiDigit(s[i + 1]))
        {
            i++;
            while (i < s.Length && char.IsAsciiDigit(s[i])) { buffer.Append(s[i++]); scale++; }
        }
        digits = buffer.ToString();
        return i;
    }

    static Rational? ToRational(string digits, int scale, int maxDigits)
    {
        if (digits.Length == 0 || digits.Length > maxDigits) return null;
        return new Rational(BigInteger.Parse(digits, System.Globalization.CultureInfo.InvariantCulture), BigInteger.Pow(10, scale));
    }

    // \frac{a}{b} with decimal arguments, or \frac34 (one digit each, LaTeX's undelimited arguments).
    static bool TryFrac(string s, int i, int[] braces, int maxDigits, out int end, out Rational? value)
    {
        end = i + 5;
        value = null;
        if (end + 1 < s.Length && char.IsAsciiDigit(s[end]) && char.IsAsciiDigit(s[end + 1]))
        {
            value = new Rational(s[end] - '0', 1);
            if (!Rational.TryDivide(value.Value, new Rational(s[end + 1] - '0', 1), out var q)) value = null; else value = q;
            end += 2;
            return true;
        }
        var open = end;
        while (open < s.Length && s[open] == ' ') open++;
        if (open >= s.Length || s[open] != '{' || braces[open] < 0) return false;
        var open2 = braces[open] + 1;
        while (open2 < s.Length && s[open2] == ' ') open2++;
        if (open2 >= s.Length || s[open2] != '{' || braces[open2] < 0) return false;
        // Nested \frac{\frac{…}} would re-read the same text at every level: arguments this long are never numbers.
        if (braces[open] - open > MaxFracArgument || braces[open2] - open2 > MaxFracArgument) return false;
        var numerator = ParseDecimal(s[(open + 1)..braces[open]], maxDigits);
        var denominator = ParseDecimal(s[(open2 + 1)..braces[open2]], maxDigits);
        if (numerator is null && !IsNumberLike(s[(open + 1)..braces[open]])) return false;
        if (denominator is null && !IsNumberLike(s[(open2 + 1)..braces[open2]])) return false;
        end = braces[open2] + 1;
        value = numerator is { } n && denominator is { } d && Rational.TryDivide(n, d, out var quotient) ? quotient : null;
        return true;
    }

    // Too long to parse but still a number: the token exists, its value is unknown.
    static bool IsNumberLike(string s)
    {
        s = s.Trim().TrimStart('-', '+');
        return s.Length > 0 && s.All(ch => char.IsAsciiDigit(ch) || ch is '.' or ',');
    }
}
