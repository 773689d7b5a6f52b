using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Aha.Tokenizer.Hf;

/// <summary>How a <c>Split</c> pre-tokenizer keeps the pieces its pattern matches (Rust's <c>SplitDelimiterBehavior</c>).</summary>
enum SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous }

/// <summary>One <c>Split</c> step: a regex (Oniguruma syntax translated to .NET) and what to do with its matches.</summary>
sealed record SplitStep(Regex Pattern, SplitBehavior Behavior, bool Invert);

/// <summary>
/// The <c>pre_tokenizer</c> of tokenizer.json reduced to what byte-level BPE files use: zero or more <c>Split</c>s, then at
/// most one <c>ByteLevel</c> (its optional GPT-2 regex and prefix space; its byte mapping is applied by the model step).
/// </summary>
sealed class PreTokenizer
{
    // GPT-2's pattern, which ByteLevel uses when use_regex is true (Rust's tokenizers::pre_tokenizers::byte_level).
    const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";
    const RegexOptions Options = RegexOptions.Compiled | RegexOptions.CultureInvariant;

    readonly List<SplitStep> steps = [];
    public bool ByteLevel { get; private set; }
    bool addPrefixSpace;
    int byteLevelStep = -1; // index in steps of ByteLevel's own GPT-2 split (use_regex), or -1

    /// <summary>Reads <c>pre_tokenizer</c> (may be null); <paramref name="where"/> names the file for errors.</summary>
    public static PreTokenizer Parse(JsonElement? node, string where)
    {
        var pre = new PreTokenizer();
        if (node is { ValueKind: not JsonValueKind.Null } n) pre.Add(n, "pre_tokenizer", where);
        return pre;
    }

    void Add(JsonElement node, string path, string where)
    {
        var type = node.TryGetProperty("type", out var t) ? t.GetString() : null;
        if (ByteLevel)
            throw BpeModel.Unsupported(where, path, $"a {type} after ByteLevel", "Split steps followed by one ByteLevel, as Llama 3, Qwen and DeepSeek use");
        switch (type)
        {
            case "Sequence":
                int i = 0;
                foreach (var child in node.GetProperty("pretokenizers").EnumerateArray()) Add(child, $"{path}.pretokenizers[{i++}]", where);
                break;
            case "Split":
                var pattern = node.GetProperty("pattern");
                string regex = pattern.TryGetProperty("Regex", out var r) ? OnigurumaToDotNet(r.GetString()!, where, path)
                    : pattern.TryGetProperty("String", out var s) ? Regex.Escape(s.GetString()!)
                    : throw BpeModel.Unsupported(where, $"{path}.pattern", pattern.GetRawText(), "{\"Regex\": …} or {\"String\": …}");
                var behaviorText = node.GetProperty("behavior").GetString();
                if (!Enum.TryParse<SplitBehavior>(behaviorText, out var behavior))
                    throw BpeModel.Unsupported(where, $"{path}.behavior", $"'{behaviorText}'", string.Join(", ", Enum.GetNames<SplitBehavior>()));
                bool invert = node.TryGetProperty("invert", out var inv) && inv.ValueKind == JsonValueKind.True;
                steps.Add(new SplitStep(new Regex(regex, Options), behavior, invert));
                break;
            case "ByteLevel":
                ByteLevel = true;
                addPrefixSpace = node.TryGetProperty("add_prefix_space", out var aps) && aps.ValueKind == JsonValueKind.True;
                // Rust's default for use_regex is true.
                if (!node.TryGetProperty("use_regex", out var ur) || ur.ValueKind == JsonValueKind.True)
                {
                    byteLevelStep = steps.Count;
                    steps.Add(new SplitStep(new Regex(Gpt2Pattern, Options), SplitBehavior.Isolated, false));
                }
                break;
            default:
                throw BpeModel.Unsupported(where, $"{path}.type", $"'{type}'", "Sequence, Split, ByteLevel");
        }
    }

    /// <summary>Appends the pre-token pieces of <paramref name="text"/> (one normalized stretch between added tokens).</summary>
    public void Split(string text, List<string> output)
    {
        List<string> pieces = [text];
        // Rust's ByteLevel prepends the space to each piece it receives, before its own regex split.
        for (int s = 0; s < steps.Count; s++)
        {
            if (s == byteLevelStep && addPrefixSpace) pieces = [.. pieces.Select(p => p.StartsWith(' ') ? p : " " + p)];
            var next = new List<string>(pieces.Count * 2);
            foreach (var piece in pieces) SplitOne(piece, steps[s], next);
            pieces = next;
        }
        if (ByteLevel && addPrefixSpace && byteLevelStep < 0) pieces = [.. pieces.Select(p => p.StartsWith(' ') ? p : " " + p)];
        output.AddRange(pieces);
    }

    static void SplitOne(string text, SplitStep step, List<string> output)
    {
        // (start, end, isMatch) over the whole text, as Rust's Pattern::find_matches gives them.
        var parts = new List<(int Start, int End, bool Match)>();
        int last = 0;
        var (subject, offsets) = AstralAsBmp(text);
        foreach (var m in step.Pattern.EnumerateMatches(subject))
        {
            if (m.Length == 0) continue;
            int start = offsets?[m.Index] ?? m.Index, end = offsets?[m.Index + m.Length] ?? m.Index + m.Length;
            if (start > last) parts.Add((last, start, false));
            parts.Add((start, end, true));
            last = end;
        }
        if (last < text.Length) parts.Add((last, text.Length, false));
        if (step.Invert) parts = [.. parts.Select(p => (p.Start, p.End, !p.Match))];

        switch (step.Behavior)
        {
            case SplitBehavior.Isolated:
                foreach (var p in parts) output.Add(text[p.Start..p.End]);
                break;
            case SplitBehavior.Removed:
                foreach (var p in parts) if (!p.Match) output.Add(text[p.Start..p.End]);
                break;
            case SplitBehavior.MergedWithPrevious:
            {
                // A match joins the piece before it unless that piece is itself a match.
                int start = -1, end = 0;
                bool previousMatch = false;
                foreach (var p in parts)
                {
                    if (p.Match && !previousMatch && start >= 0) end = p.End;
                    else
                    {
                        if (start >= 0) output.Add(text[start..end]);
                        (start, end) = (p.Start, p.End);
                    }
                    previousMatch = p.Match;
                }
                if (start >= 0) output.Add(text[start..end]);
                break;
            }
            case SplitBehavior.MergedWithNext:
            {
                int start = -1;
                foreach (var p in parts)
                {
                    if (p.Match) { if (start < 0) start = p.Start; else { output.Add(text[start..p.Start]); start = p.Start; } continue; }
                    output.Add(text[(start >= 0 ? start : p.Start)..p.End]);
                    start = -1;
                }
                if (start >= 0) output.Add(text[start..]);
                break;
            }
            case SplitBehavior.Contiguous:
            {
                int start = -1, end = 0;
                bool match = false;
                foreach (var p in parts)
                {
                    if (start >= 0 && p.Match && match) { end = p.End; continue; }
                    if (start >= 0) output.Add(text[start..end]);
                    (start, end, match) = (p.Start, p.End, p.Match);
                }
                if (start >= 0) output.Add(text[start..end]);
                break;
            }
        }
    }

    /// <summary>
    /// .NET's regex sees a character outside the BMP as two surrogates (category Cs), where Oniguruma sees one code point
    /// with its own category (<c>𝟙</c> is <c>\p{N}</c>, an emoji <c>\p{S}</c>). Each such code point is stood in for by one
    /// BMP character of the same general category that no pattern names literally; <c>offsets</c> maps indices of the
    /// stand-in string back to <paramref name="text"/> (null when the text has no surrogates, the common case).
    /// </summary>
    static (string Subject, int[]? Offsets) AstralAsBmp(string text)
    {
        if (text.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF') < 0) return (text, null);
        var sb = new StringBuilder(text.Length);
        var offsets = new List<int>(text.Length + 1);
        for (int i = 0; i < text.Length; i++)
        {
            offsets.Add(i);
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                sb.Append(StandIn(CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(text[i], text[i + 1]))));
                i++;
            }
            else sb.Append(text[i]); // a lone surrogate stays Cs, as it cannot occur in Rust's UTF-8 input anyway
        }
        offsets.Add(text.Length);
        return (sb.ToString(), [.. offsets]);
    }

    // Stand-ins outside ASCII and the CJK/kana ranges DeepSeek's pattern names, and not case-foldable to ASCII letters.
    static char StandIn(UnicodeCategory category) => category switch
    {
        UnicodeCategory.UppercaseLetter => '\u00C0', UnicodeCategory.LowercaseLetter => '\u00E0',
        UnicodeCategory.TitlecaseLetter => '\u01C5', UnicodeCategory.ModifierLetter => '\u02B0', UnicodeCategory.OtherLetter => '\u00AA',
        UnicodeCategory.NonSpacingMark => '\u0300', UnicodeCategory.SpacingCombiningMark => '\u0903', UnicodeCategory.EnclosingMark => '\u20DD',
        UnicodeCategory.DecimalDigitNumber => '\u0660', UnicodeCategory.LetterNumber => '\u2160', UnicodeCategory.OtherNumber => '\u00B2',
        UnicodeCategory.ConnectorPunctuation => '\u203F', UnicodeCategory.DashPunctuation => '\u2010',
        UnicodeCategory.OpenPunctuation => '\u2045', UnicodeCategory.ClosePunctuation => '\u2046',
        UnicodeCategory.InitialQuotePunctuation => '\u2039', UnicodeCategory.FinalQuotePunctuation => '\u203A',
        UnicodeCategory.OtherPunctuation => '\u00A1', UnicodeCategory.MathSymbol => '\u00AC', UnicodeCategory.CurrencySymbol => '\u00A2',
        UnicodeCategory.ModifierSymbol => '\u00A8', UnicodeCategory.OtherSymbol => '\u00A9',
        UnicodeCategory.Format => '\u00AD', UnicodeCategory.PrivateUse => '\uE000',
        _ => '\u0378', // unassigned (Cn); no astral code point is a space, control or surrogate
    };

    /// <summary>
    /// Oniguruma (Hugging Face's regex engine) to .NET: identical for what these files use (<c>\p{L}</c>, <c>\s</c>,
    /// <c>(?i:…)</c>, lookahead) except possessive quantifiers, which .NET lacks and which become atomic groups.
    /// </summary>
    internal static string OnigurumaToDotNet(string pattern, string where, string path)
    {
        var sb = new StringBuilder(pattern.Length + 16);
        var groupStarts = new Stack<int>();
        int atomStart = -1;
        for (int i = 0; i < pattern.Length;)
        {
            char c = pattern[i];
            if (c == '\\')
            {
                atomStart = sb.Length;
                int end = i + 2;
                if (end <= pattern.Length && "pPx".Contains(pattern[i + 1]) && end < pattern.Length && pattern[end] == '{')
                    end = pattern.IndexOf('}', end) + 1;
                sb.Append(pattern, i, end - i);
                i = end;
            }
            else if (c == '[')
            {
                atomStart = sb.Length;
                int j = i + 1, depth = 1;
                if (j < pattern.Length && pattern[j] == '^') j++;
                if (j < pattern.Length && pattern[j] == ']') j++;
                for (; j < pattern.Length && depth > 0; j++)
                {
                    if (pattern[j] == '\\') { j++; continue; }
                    if (pattern[j] == '[') depth++;
                    else if (pattern[j] == ']') depth--;
                }
                sb.Append(pattern, i, j - i);
                i = j;
            }
            else if (c == '(')
            {
                groupStarts.Push(sb.Length);
                sb.Append('(');
                i++;
                if (i < pattern.Length && pattern[i] == '?')
                {
                    // Group kind: (?: (?= (?! (?> (?<= (?<! or inline flags (?i: — copy it so its '?' is not read as a quantifier.
                    int j = i + 1;
                    if (j < pattern.Length && pattern[j] == '<') j++;
                    while (j < pattern.Length && pattern[j] is not (':' or ')' or '=' or '!' or '>')) j++;
                    if (j < pattern.Length && pattern[j] != ')') j++;
                    sb.Append(pattern, i, j - i);
                    i = j;
                }
                atomStart = -1;
            }
            else if (c == ')')
            {
                sb.Append(')');
                i++;
                atomStart = groupStarts.Count > 0 ? groupStarts.Pop() : -1;
            }
            else if (c is '?' or '*' or '+' or '{')
            {
                int end = i + 1;
                if (c == '{')
                {
                    int close = pattern.IndexOf('}', i);
                    if (close < 0) { sb.Append(c); i++; atomStart = sb.Length - 1; continue; }
                    end = close + 1;
                }
                if (end < pattern.Length && pattern[end] == '+' && atomStart >= 0)
                {
                    // Possessive: X?+ X*+ X++ X{n,m}+ is (?>X?) (?>X*) (?>X+) (?>X{n,m}).
                    sb.Insert(atomStart, "(?>");
                    sb.Append(pattern, i, end - i).Append(')');
                    i = end + 1;
                }
                else
                {
                    sb.Append(pattern, i, end - i);
                    i = end;
                    if (i < pattern.Length && pattern[i] == '?') { sb.Append('?'); i++; } // lazy
                }
                atomStart = -1;
            }
            else
            {
                if (c == '|') atomStart = -1; else atomStart = sb.Length;
                sb.Append(c);
                i++;
            }
        }
        var translated = sb.ToString();
        try { _ = new Regex(translated, RegexOptions.CultureInvariant); }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{where}: {path}.pattern.Regex \"{pattern}\" is not a pattern .NET can run ({e.Message}); " +
                "Aha translates Oniguruma's possessive quantifiers but no other Oniguruma-only syntax.", e);
        }
        return translated;
    }
}
