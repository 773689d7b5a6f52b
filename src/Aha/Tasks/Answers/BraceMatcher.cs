namespace Aha.Tasks.Answers;

/// <summary>
/// Matches <c>{</c> with <c>}</c> in one pass with an explicit stack, so a model's ten thousand nested braces
/// cost linear time and no recursion. Escaped <c>\{</c> and <c>\}</c> are literal braces in LaTeX and are skipped.
/// </summary>
static class BraceMatcher
{
    /// <summary>For each index holding an opening brace, the index of its closing brace, or -1 (unterminated); other indices -1.</summary>
    public static int[] Match(string text)
    {
        var match = new int[text.Length];
        Array.Fill(match, -1);
        var open = new Stack<int>();
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\\') { i++; continue; }
            if (c == '{') open.Push(i);
            else if (c == '}' && open.Count > 0) match[open.Pop()] = i;
        }
        return match;
    }

    /// <summary>Index of the brace closing the one at <paramref name="openIndex"/>, or -1; for a single lookup.</summary>
    public static int Closing(string text, int openIndex)
    {
        var depth = 0;
        for (var i = openIndex; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\\') { i++; continue; }
            if (c == '{') depth++;
            else if (c == '}' && --depth == 0) return i;
        }
        return -1;
    }
}
