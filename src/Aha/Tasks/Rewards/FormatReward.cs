namespace Aha.Tasks.Rewards;

/// <summary>
/// R1-Zero's format reward: 1 when the completion is exactly <c>&lt;think&gt;…&lt;/think&gt;</c> then
/// <c>&lt;answer&gt;…&lt;/answer&gt;</c> — each tag once, in order, only whitespace around and between them,
/// the answer not blank — else 0. When the prompt already ends with <c>&lt;think&gt;</c> (the short template),
/// the completion is read as if it began with it.
/// </summary>
public sealed class FormatReward : IRewardFunction
{
    /// <summary>Allow text after <c>&lt;/answer&gt;</c> (off: a model that keeps talking after answering is not in format).</summary>
    public bool AllowTrailingText { get; init; }

    public string Name => "format";

    public float[] Score(IReadOnlyList<Completion> batch) =>
        batch.Select(c => IsWellFormed(c.Prompt, c.Text) ? 1f : 0f).ToArray();

    public bool IsWellFormed(string prompt, string completion)
    {
        var text = prompt.TrimEnd().EndsWith("<think>", StringComparison.Ordinal) ? "<think>" + completion : completion;
        text = text.Trim();
        if (!text.StartsWith("<think>", StringComparison.Ordinal)) return false;
        foreach (var tag in new[] { "<think>", "</think>", "<answer>", "</answer>" })
            if (Count(text, tag) != 1) return false;
        var thinkEnd = text.IndexOf("</think>", StringComparison.Ordinal);
        var answerStart = text.IndexOf("<answer>", StringComparison.Ordinal);
        var answerEnd = text.IndexOf("</answer>", StringComparison.Ordinal);
        if (!(thinkEnd < answerStart && answerStart < answerEnd)) return false;
        if (!string.IsNullOrWhiteSpace(text[(thinkEnd + "</think>".Length)..answerStart])) return false;
        if (string.IsNullOrWhiteSpace(text[(answerStart + "<answer>".Length)..answerEnd])) return false;
        return AllowTrailingText || answerEnd + "</answer>".Length == text.Length;
    }

    static int Count(string text, string tag)
    {
        var count = 0;
        for (var at = text.IndexOf(tag, StringComparison.Ordinal); at >= 0; at = text.IndexOf(tag, at + tag.Length, StringComparison.Ordinal))
            count++;
        return count;
    }
}
