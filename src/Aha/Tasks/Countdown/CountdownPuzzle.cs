using System.Globalization;

namespace Aha.Tasks.Countdown;

/// <summary>
/// Numbers and a target. As a gold answer it is written <c>3 4 5 6 -> 24</c> so that a completions file can carry
/// the whole puzzle in its <c>answer</c> field; <see cref="TryParse"/> also reads <c>[3, 4, 5, 6] -> 24</c>.
/// </summary>
public sealed record CountdownPuzzle(IReadOnlyList<int> Numbers, int Target)
{
    public override string ToString() => $"{string.Join(' ', Numbers)} -> {Target}";

    public static bool TryParse(string? text, out CountdownPuzzle puzzle)
    {
        puzzle = new CountdownPuzzle([], 0);
        if (text is null) return false;
        var arrow = text.IndexOf("->", StringComparison.Ordinal);
        if (arrow < 0) return false;
        var numbers = new List<int>();
        foreach (var part in text[..arrow].Split([' ', ',', '[', ']'], StringSplitOptions.RemoveEmptyEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n <= 0) return false;
            numbers.Add(n);
        }
        if (numbers.Count == 0 || !int.TryParse(text[(arrow + 2)..].Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var target))
            return false;
        puzzle = new CountdownPuzzle(numbers, target);
        return true;
    }
}
