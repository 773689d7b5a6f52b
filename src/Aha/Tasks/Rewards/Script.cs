namespace Aha.Tasks.Rewards;

/// <summary>Writing systems the language-consistency reward can ask for.</summary>
public enum Script
{
    Latin,
    Cyrillic,
    Greek,
    Arabic,
    Hebrew,
    Devanagari,
    /// <summary>Chinese characters (also used in Japanese).</summary>
    Han,
    /// <summary>Hiragana, katakana and Han: written Japanese.</summary>
    Japanese,
    Hangul,
}
