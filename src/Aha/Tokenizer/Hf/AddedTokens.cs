namespace Aha.Tokenizer.Hf;

/// <summary>One entry of <c>added_tokens</c> in tokenizer.json.</summary>
sealed record AddedToken(int Id, string Content, bool Special, bool SingleWord, bool LStrip, bool RStrip, bool Normalized);

/// <summary>
/// Finds added tokens inside text as Rust's <c>AddedVocabulary</c> does: leftmost-longest matches over all tokens of one
/// kind (normalized or not), then the <c>single_word</c>, <c>lstrip</c> and <c>rstrip</c> rules on each match.
/// </summary>
sealed class AddedTokenMatcher
{
    sealed class Node
    {
        public Dictionary<char, Node>? Children;
        public AddedToken? Token;
    }

    readonly Node root = new();
    readonly bool[] firstChar = new bool[char.MaxValue + 1];
    public bool IsEmpty { get; }

    public AddedTokenMatcher(IEnumerable<(string Pattern, AddedToken Token)> tokens)
    {
        bool any = false;
        foreach (var (pattern, token) in tokens)
        {
            if (pattern.Length == 0) continue;
            any = true;
            firstChar[pattern[0]] = true;
            var node = root;
            foreach (var c in pattern)
            {
                node.Children ??= [];
                if (!node.Children.TryGetValue(c, out var child)) node.Children[c] = child = new Node();
                node = child;
            }
            // Rust keeps the first pattern registered for identical text; ids differ only in damaged files.
            node.Token ??= token;
        }
        IsEmpty = !any;
    }

    /// <summary>
    /// Splits <paramref name="text"/> into pieces: (null, text) for plain text and (token, "") for a matched added token
    /// (with any whitespace its lstrip/rstrip took). Empty plain pieces are dropped, as Rust drops them.
    /// </summary>
    public void Split(string text, List<(AddedToken? Token, string Text)> output)
    {
        if (IsEmpty) { if (text.Length > 0) output.Add((null, text)); return; }
        int startOffset = 0;
        int i = 0;
        while (i < text.Length)
        {
            if (!firstChar[text[i]]) { i++; continue; }
            var (token, end) = LongestAt(text, i);
            if (token is null) { i++; continue; }
            int start = i, stop = end;
            i = end; // leftmost-longest: matching resumes after this match, whether or not the rules below keep it
            if (token.SingleWord)
            {
                bool startSpace = start == 0 || !IsWordChar(text, start - 1, before: true);
                bool stopSpace = stop == text.Length || !IsWordChar(text, stop, before: false);
                if (!startSpace || !stopSpace) continue;
            }
            if (token.LStrip)
            {
                int s = start;
                while (s > 0 && char.IsWhiteSpace(text[s - 1])) s--;
                start = Math.Max(s, startOffset);
            }
            if (token.RStrip)
                while (stop < text.Length && char.IsWhiteSpace(text[stop])) stop++;
            if (startOffset < start) output.Add((null, text[startOffset..start]));
            output.Add((token, ""));
            startOffset = stop;
        }
        if (startOffset < text.Length) output.Add((null, text[startOffset..]));
    }

    (AddedToken? Token, int End) LongestAt(string text, int start)
    {
        AddedToken? best = null;
        int bestEnd = -1;
        var node = root;
        for (int j = start; j < text.Length; j++)
        {
            if (node.Children is null || !node.Children.TryGetValue(text[j], out node)) break;
            if (node.Token is not null) { best = node.Token; bestEnd = j + 1; }
        }
        return (best, bestEnd);
    }

    // Rust's ends_with_word / starts_with_word: the neighbouring character is alphanumeric or '_'.
    static bool IsWordChar(string text, int index, bool before)
    {
        int cp;
        if (before && index > 0 && char.IsLowSurrogate(text[index]) && char.IsHighSurrogate(text[index - 1]))
            cp = char.ConvertToUtf32(text[index - 1], text[index]);
        else if (!before && char.IsHighSurrogate(text[index]) && index + 1 < text.Length && char.IsLowSurrogate(text[index + 1]))
            cp = char.ConvertToUtf32(text[index], text[index + 1]);
        else cp = text[index];
        if (cp == '_') return true;
        var s = char.ConvertFromUtf32(cp);
        return char.IsLetterOrDigit(s, 0);
    }
}
