namespace Aha.Generation;

/// <summary>
/// Splits an R1-style completion, as it streams, into its reasoning (the text inside <c>&lt;think&gt;…&lt;/think&gt;</c>) and
/// its answer (the rest), as DeepSeek's API, vLLM's <c>deepseek_r1</c> parser and llama.cpp's server present them. The tags
/// themselves are dropped; a tag split over several pushes is held back until it is whole. One think block: text after
/// <c>&lt;/think&gt;</c> is answer even if it writes the tags again.
/// </summary>
/// <param name="opened">true when the prompt already opened the block (R1 templates end the prompt with <c>&lt;think&gt;\n</c>)</param>
public sealed class ReasoningSplitter(bool opened = false)
{
    const string Open = "<think>", Close = "</think>";
    enum State { Before, Inside, After }
    State _state = opened ? State.Inside : State.Before;
    string _held = "";

    /// <summary>True when a rendered prompt leaves the model inside a think block (it ends with an open <c>&lt;think&gt;</c>).</summary>
    public static bool PromptOpensThinking(string renderedPrompt)
    {
        var text = renderedPrompt.TrimEnd();
        return text.EndsWith(Open, StringComparison.Ordinal);
    }

    /// <summary>The reasoning and answer text that <paramref name="text"/> adds, holding back a possible partial tag.</summary>
    public (string Reasoning, string Content) Push(string text)
    {
        var reasoning = new System.Text.StringBuilder();
        var content = new System.Text.StringBuilder();
        string s = _held + text;
        _held = "";
        while (s.Length > 0)
        {
            if (_state == State.After)
            {
                content.Append(s);
                break;
            }
            string tag = _state == State.Inside ? Close : Open;
            var target = _state == State.Inside ? reasoning : content;
            int at = s.IndexOf(tag, StringComparison.Ordinal);
            if (at >= 0)
            {
                target.Append(s, 0, at);
                s = s[(at + tag.Length)..];
                _state = _state == State.Inside ? State.After : State.Inside;
                continue;
            }
            int partial = PartialTagLength(s, tag);
            target.Append(s, 0, s.Length - partial);
            _held = s[^partial..];
            break;
        }
        return (reasoning.ToString(), content.ToString());
    }

    /// <summary>Whatever is still held back (a partial tag at the very end is text after all).</summary>
    public (string Reasoning, string Content) Flush()
    {
        string held = _held;
        _held = "";
        return _state == State.Inside ? (held, "") : ("", held);
    }

    // The longest suffix of s that is a proper prefix of tag.
    static int PartialTagLength(string s, string tag)
    {
        for (int n = Math.Min(tag.Length - 1, s.Length); n > 0; n--)
            if (string.CompareOrdinal(s, s.Length - n, tag, 0, n) == 0) return n;
        return 0;
    }
}
