using System.Text;

namespace Aha.Tasks.Rewards;

/// <summary>
/// DeepSeek-R1's language-consistency reward: the share of letters in the reasoning (inside <c>&lt;think&gt;</c>, or
/// the whole completion when there is no such tag) that belong to the expected script, in [0, 1]. Digits, symbols and
/// spaces do not count. Reasoning with no letters scores 0, so an empty thought is never rewarded.
/// </summary>
public sealed class LanguageConsistencyReward(Script script = Script.Latin) : IRewardFunction
{
    public Script Script { get; } = script;

    public string Name => "language";

    public float[] Score(IReadOnlyList<Completion> batch) => batch.Select(c => Share(Reasoning(c.Prompt, c.Text))).ToArray();

    public float Share(string text)
    {
        int letters = 0, matching = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            if (!Rune.IsLetter(rune)) continue;
            letters++;
            if (InScript(rune.Value)) matching++;
        }
        return letters == 0 ? 0f : (float)matching / letters;
    }

    static string Reasoning(string prompt, string completion)
    {
        var text = prompt.TrimEnd().EndsWith("<think>", StringComparison.Ordinal) ? "<think>" + completion : completion;
        var start = text.IndexOf("<think>", StringComparison.Ordinal);
        if (start < 0) return completion;
        start += "<think>".Length;
        var end = text.IndexOf("</think>", start, StringComparison.Ordinal);
        return end < 0 ? text[start..] : text[start..end];
    }

    bool InScript(int c) => Script switch
    {
        Script.Latin => c < 0x250 || c is >= 0x1E00 and < 0x1F00 || c is >= 0xFF21 and <= 0xFF5A,
        Script.Cyrillic => c is >= 0x400 and < 0x530,
        Script.Greek => c is >= 0x370 and < 0x400 || c is >= 0x1F00 and < 0x2000,
        Script.Arabic => c is >= 0x600 and < 0x700 || c is >= 0x750 and < 0x780,
        Script.Hebrew => c is >= 0x590 and < 0x600,
        Script.Devanagari => c is >= 0x900 and < 0x980,
        Script.Han => IsHan(c),
        Script.Japanese => IsHan(c) || c is >= 0x3040 and < 0x3100 || c is >= 0x31F0 and < 0x3200 || c is >= 0xFF66 and < 0xFFA0,
        Script.Hangul => c is >= 0xAC00 and < 0xD7B0 || c is >= 0x1100 and < 0x1200 || c is >= 0x3130 and < 0x3190,
        _ => false,
    };

    static bool IsHan(int c) => c is >= 0x4E00 and < 0xA000 || c is >= 0x3400 and < 0x4DC0 || c is >= 0x20000 and < 0x2EBF0 || c is >= 0xF900 and < 0xFB00;
}
