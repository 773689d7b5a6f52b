namespace Aha.Tasks.Answers;

/// <summary>
/// Finds the answer in a completion. Rules are tried in a fixed order and the first that finds something wins:
/// <c>&lt;answer&gt;</c> tag, then <c>\boxed{}</c>, then <c>####</c>, then the last number. Within a rule the
/// <em>last</em> occurrence wins, because models restate and correct themselves. A rule that finds an empty answer
/// (<c>&lt;answer&gt;&lt;/answer&gt;</c>) still wins: the model said nothing, which is wrong, and falling through to a
/// stray number would reward it. Unterminated tags and braces are not answers. Never throws.
/// </summary>
public static class AnswerExtractor
{
    const string OpenTag = "<answer>";
    const string CloseTag = "</answer>";

    public static Extraction? Extract(string? text, AnswerSources sources = AnswerSources.All)
    {
        if (string.IsNullOrEmpty(text)) return null;
        if (sources.HasFlag(AnswerSources.AnswerTag) && AnswerTag(text) is { } tagged)
            return new Extraction(LastBoxed(tagged) ?? tagged, AnswerSources.AnswerTag);
        if (sources.HasFlag(AnswerSources.Boxed) && LastBoxed(text) is { } boxed)
            return new Extraction(boxed, AnswerSources.Boxed);
        if (sources.HasFlag(AnswerSources.Hashes) && AfterHashes(text) is { } hashed)
            return new Extraction(hashed, AnswerSources.Hashes);
        if (sources.HasFlag(AnswerSources.LastNumber) && LastNumber(text) is { } number)
            return new Extraction(number, AnswerSources.LastNumber);
        return null;
    }

    /// <summary>Trimmed content of the last complete <c>&lt;answer&gt;…&lt;/answer&gt;</c>, or null.</summary>
    public static string? AnswerTag(string text)
    {
        var close = text.LastIndexOf(CloseTag, StringComparison.Ordinal);
        if (close < 0) return null;
        var open = text.LastIndexOf(OpenTag, close, StringComparison.Ordinal);
        if (open < 0) return null;
        return text[(open + OpenTag.Length)..close].Trim();
    }

    /// <summary>Trimmed content of the last complete <c>\boxed{…}</c> or <c>\fbox{…}</c> (also <c>\boxed 5</c>), or null.</summary>
    public static string? LastBoxed(string text)
    {
        if (!text.Contains("\\boxed", StringComparison.Ordinal) && !text.Contains("\\fbox", StringComparison.Ordinal)) return null;
        var match = BraceMatcher.Match(text);
        string? found = null;
        for (var i = 0; i < text.Length; i++)
        {
            int after;
            if (string.CompareOrdinal(text, i, "\\boxed", 0, 6) == 0) after = i + 6;
            else if (string.CompareOrdinal(text, i, "\\fbox", 0, 5) == 0) after = i + 5;
            else continue;
            if (after < text.Length && text[after] == '{')
            {
                if (match[after] >= 0) found = text[(after + 1)..match[after]].Trim();
            }
            else if (after < text.Length && text[after] == ' ')
            {
                // "\boxed 5": the argument is the next run of non-space characters.
                var start = after + 1;
                var end = start;
                while (end < text.Length && !char.IsWhiteSpace(text[end]) && text[end] != '$') end++;
                if (end > start) found = text[start..end];
            }
        }
        return found;
    }

    /// <summary>Trimmed rest of the line after the last <c>####</c>, or null.</summary>
    public static string? AfterHashes(string text)
    {
        var at = text.LastIndexOf("####", StringComparison.Ordinal);
        if (at < 0) return null;
        var start = at + 4;
        while (start < text.Length && text[start] == '#') start++;
        var end = text.IndexOf('\n', start);
        return (end < 0 ? text[start..] : text[start..end]).Trim();
    }

    /// <summary>The last number token (sign, thousands separators, decimals, <c>a/b</c>, <c>\frac{a}{b}</c>), or null.</summary>
    public static string? LastNumber(string text)
    {
        var prepared = LatexCleaner.Simplify(text);
        var tokens = NumberScanner.Scan(prepared, maxDigits: 0); // text only: no value, so a million digits cost nothing
        return tokens.Count == 0 ? null : tokens[^1].Text;
    }

    /// <summary>
    /// The gold answer inside a dataset's reference text: after <c>####</c> (GSM8K) if present, else the last
    /// <c>\boxed{}</c> (MATH), else the whole text trimmed.
    /// </summary>
    public static string Gold(string text)
    {
        if (AfterHashes(text) is { } hashed) return hashed;
        if (LastBoxed(text) is { } boxed) return boxed;
        return text.Trim();
    }
}
