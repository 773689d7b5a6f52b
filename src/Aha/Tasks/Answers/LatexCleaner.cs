using System.Text;

namespace Aha.Tasks.Answers;

/// <summary>
/// Removes LaTeX that changes how an answer looks but not what it says. Linear-time string passes only:
/// it runs on every completion and must survive anything a model writes.
/// </summary>
static class LatexCleaner
{
    // Commands whose braced argument is the content: \text{5} is 5.
    static readonly string[] Unwrapped = ["\\boxed", "\\fbox", "\\textbf", "\\textrm", "\\text", "\\mathrm", "\\mathbf", "\\mbox"];

    // Spelling variants and spacing that never change the value.
    static readonly (string From, string To)[] Replacements =
    [
        ("\u2212", "-"), ("\\dfrac", "\\frac"), ("\\tfrac", "\\frac"), ("\\displaystyle", ""),
        ("\\left", ""), ("\\right", ""), ("\\!", ""), ("\\,", ""), ("\\;", ""), ("\\:", ""),
        ("{,}", ","), ("\\%", "%"),
    ];

    /// <summary>Unicode minus, \dfrac, spacing and <c>{,}</c>: safe on any text, used before finding numbers.</summary>
    public static string Simplify(string text)
    {
        foreach (var (from, to) in Replacements)
            if (text.Contains(from, StringComparison.Ordinal)) text = text.Replace(from, to, StringComparison.Ordinal);
        return text;
    }

    /// <summary>Simplify, unwrap <c>\text{}</c>-like commands and math delimiters, drop trailing full stops.</summary>
    public static string Clean(string text)
    {
        text = UnwrapCommands(Simplify(text));
        text = RemoveMathDelimiters(text);
        text = WithoutOuterGroups(text.Replace("\\$", "$", StringComparison.Ordinal).Trim());
        while (text.EndsWith('.')) text = text[..^1].TrimEnd();
        return text;
    }

    /// <summary><c>{42}</c> and <c>{{42}}</c> are 42: a brace group around the whole answer only groups. One pass, however deep.</summary>
    static string WithoutOuterGroups(string text)
    {
        if (!text.StartsWith('{')) return text;
        var match = BraceMatcher.Match(text);
        int start = 0, end = text.Length - 1;
        while (start < end && text[start] == '{' && match[start] == end)
        {
            start++;
            end--;
            while (start <= end && char.IsWhiteSpace(text[start])) start++;
            while (end >= start && char.IsWhiteSpace(text[end])) end--;
        }
        return text[start..(end + 1)];
    }

    static string UnwrapCommands(string text)
    {
        if (!text.Contains('\\')) return text;
        var match = BraceMatcher.Match(text);
        var keep = new bool[text.Length];
        Array.Fill(keep, true);
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] != '\\') continue;
            foreach (var command in Unwrapped)
            {
                var open = i + command.Length;
                if (open >= text.Length || text[open] != '{' || match[open] < 0) continue;
                if (string.CompareOrdinal(text, i, command, 0, command.Length) != 0) continue;
                for (var j = i; j <= open; j++) keep[j] = false;
                keep[match[open]] = false;
                break;
            }
        }
        var result = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
            if (keep[i]) result.Append(text[i]);
        return result.ToString();
    }

    // An even number of unescaped $ are math delimiters ($\frac{1}{2}$); a single one is a currency sign ($5).
    static string RemoveMathDelimiters(string text)
    {
        foreach (var d in new[] { "\\(", "\\)", "\\[", "\\]" })
            if (text.Contains(d, StringComparison.Ordinal)) text = text.Replace(d, " ", StringComparison.Ordinal);
        var dollars = 0;
        for (var i = 0; i < text.Length; i++)
            if (text[i] == '$' && (i == 0 || text[i - 1] != '\\')) dollars++;
        if (dollars == 0 || dollars % 2 == 1) return text;
        var result = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
            if (text[i] != '$' || (i > 0 && text[i - 1] == '\\')) result.Append(text[i]);
        return result.ToString();
    }
}
